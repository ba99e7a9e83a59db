package main

import (
	"context"
	"net/http"
	"path/filepath"
	"testing"
	"time"
)

// TestNginxAnswersHello runs the nginx peer as the benchmark does, with two
// workers, and checks it answers the hello case with the hello app's bytes
// and headers, then that stopping it leaves no process behind.
func TestNginxAnswersHello(t *testing.T) {
	s, err := selectServers("nginx")
	if err != nil {
		t.Fatal(err)
	}
	if err := s[0].Check(nil); err != nil {
		t.Skip(err)
	}
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	cfg := &config{root: root, tmp: t.TempDir(), startTimeout: 30 * time.Second}
	hello := allCases[0]
	srv, err := serve(context.Background(), cfg, s[0], 2, hello)
	if err != nil {
		t.Fatal(err)
	}
	pid := srv.proc.PID()
	stopped := false
	defer func() {
		if !stopped {
			srv.stop(t.Name())
		}
	}()

	// serve has checked the status and body twice on one connection.
	resp, err := http.Get("http://" + srv.addr + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if ct, cl := resp.Header.Get("Content-Type"), resp.ContentLength; ct != "text/plain" || cl != int64(len(hello.Want)) {
		t.Errorf("Content-Type %q, Content-Length %d; want text/plain, %d", ct, cl, len(hello.Want))
	}
	// The master forks its workers while the first already serves.
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		n := len(serverProcs(readProcs("/proc"), pid))
		if n == 3 {
			break
		}
		if n > 3 || time.Now().After(deadline) {
			t.Fatalf("%d nginx processes, want the master and 2 workers", n)
		}
	}

	srv.stop(t.Name())
	stopped = true
	if left := serverProcs(readProcs("/proc"), pid); len(left) != 0 {
		t.Errorf("processes left after stop: %+v", left)
	}
}
