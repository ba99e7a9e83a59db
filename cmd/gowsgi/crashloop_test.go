package main

// End-to-end tests of the crash-loop back-off: a slot whose workers keep
// dying, or keep failing to import the app, is restarted less and less
// often while the other worker serves every request.

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

// backOffMsg is the supervisor's log message for a delayed restart.
const backOffMsg = "restart delayed (crash-loop back-off)"

// logRecord is the part of a --log-json line these tests read.
type logRecord struct {
	Msg    string `json:"msg"`
	Worker int    `json:"worker"`
	PID    int    `json:"pid"`
	Status string `json:"status"`
	Lived  string `json:"lived"`
	Delay  string `json:"delay"`
}

// records returns the server's --log-json records with message msg, in
// order.
func (s *server) records(msg string) []logRecord {
	var recs []logRecord
	for line := range strings.Lines(s.serverLog()) {
		var rec logRecord
		if json.Unmarshal([]byte(line), &rec) == nil && rec.Msg == msg {
			recs = append(recs, rec)
		}
	}
	return recs
}

// ask sends GET / on the kept-alive connection c and returns the body, or
// the error that ended the exchange. It never retries.
func (c *rawConn) ask() (string, error) {
	if _, err := io.WriteString(c, "GET / HTTP/1.1\r\nHost: gowsgi\r\n\r\n"); err != nil {
		return "", err
	}
	resp, err := http.ReadResponse(c.r, &http.Request{Method: "GET"})
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err == nil && resp.StatusCode != http.StatusOK {
		err = fmt.Errorf("%s: %q", resp.Status, body)
	}
	return string(body), err
}

// dialHealthy opens a kept-alive connection to a worker of crashloop.py
// that answers "healthy PID", and returns it with that answer. Connections
// that land on a looping worker are dropped before the test measures
// anything.
func dialHealthy(t *testing.T, s *server) (*rawConn, string) {
	t.Helper()
	for range 50 {
		c := s.dial(t)
		if body, err := c.ask(); err == nil && strings.HasPrefix(body, "healthy ") {
			return c, body
		}
		c.Close()
	}
	t.Fatal("no connection to the healthy worker in 50 tries")
	return nil, ""
}

// assertRunning fails the test if the server has exited.
func (s *server) assertRunning(t *testing.T) {
	t.Helper()
	select {
	case <-s.done:
		t.Fatalf("the server exited: %v", s.err)
	default:
	}
}

// TestCrashLoopBacksOffWhileSiblingServes runs two workers, one of whose
// slots crash-loops (each of its workers exits 0.3 s after loading the
// app): for 10 s every request on a kept-alive connection to the other is
// answered, the looping slot is restarted only a few times, with logged
// delays that double, and the server stays up.
func TestCrashLoopBacksOffWhileSiblingServes(t *testing.T) {
	dir := t.TempDir()
	s := startServer(t, "crashloop:app", "--workers", "2", "--log-json",
		"--env", "CRASHLOOP_DIR="+dir, "--env", "CRASHLOOP_LOOP=1")
	c, healthy := dialHealthy(t, s)

	served := 0
	for began := time.Now(); time.Since(began) < 10*time.Second; served++ {
		if body, err := c.ask(); err != nil || body != healthy {
			t.Fatalf("request %d on the kept-alive connection: %q, %v; want %q", served+1, body, err, healthy)
		}
	}
	starts, err := os.ReadFile(filepath.Join(dir, "starts"))
	if err != nil {
		t.Fatal(err)
	}
	n := strings.Count(string(starts), "\n")
	backOffs := s.records(backOffMsg)
	var delays []string
	for _, rec := range backOffs {
		delays = append(delays, rec.Delay)
	}
	t.Logf("%d requests in 10 s on one kept-alive connection, 0 failed; the looping slot started %d times; delays %v", served, n, delays)
	if n < 3 || n > 8 {
		t.Errorf("the looping slot started %d times since the server started, want 3 to 8", n)
	}
	var want []string // 100ms, doubling: as many as were logged
	for d := 100 * time.Millisecond; len(want) < len(delays); d *= 2 {
		want = append(want, d.String())
	}
	if len(delays) < 3 || !slices.Equal(delays, want) {
		t.Errorf("logged delays %v, want them to double from 100ms", delays)
	}
	for _, rec := range backOffs {
		if rec.Worker != backOffs[0].Worker || "healthy "+fmt.Sprint(rec.PID) == healthy {
			t.Errorf("back-off of worker %d pid %d; want only the looping slot, worker %d", rec.Worker, rec.PID, backOffs[0].Worker)
		}
	}
	s.assertRunning(t)
}

// TestReplacementThatCannotImportIsBackedOff breaks the app once both
// workers serve, then kills one: its replacements fail to import the app,
// the failures are logged and backed off while the other worker answers
// every request, the server stays up, and once the app is fixed the slot
// serves again.
func TestReplacementThatCannotImportIsBackedOff(t *testing.T) {
	dir := t.TempDir()
	s := startServer(t, "crashloop:app", "--workers", "2", "--log-json", "--env", "CRASHLOOP_DIR="+dir)
	c, healthy := dialHealthy(t, s)
	var survivor, victim int
	fmt.Sscanf(healthy, "healthy %d", &survivor)
	for _, pid := range childPIDs(t, s.cmd.Process.Pid) {
		if pid != survivor {
			victim = pid
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "broken"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Kill(victim, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	served := 0
	eventually(t, 20*time.Second, "two failed imports backed off", func() bool {
		if body, err := c.ask(); err != nil || body != healthy {
			t.Fatalf("request %d on the kept-alive connection: %q, %v; want %q", served+1, body, err, healthy)
		}
		served++
		return len(s.records("worker could not load the application")) >= 2 && len(s.records(backOffMsg)) >= 3
	})
	t.Logf("%d requests answered by the surviving worker while its sibling's slot failed to import", served)
	for i, rec := range s.records(backOffMsg)[:3] {
		if want := []string{"killed by signal SIGKILL", "exit status 3", "exit status 3"}[i]; rec.Status != want {
			t.Errorf("back-off %d after %q, want %q", i+1, rec.Status, want)
		}
	}
	if !strings.Contains(s.serverLog(), "RuntimeError: the application is broken") {
		t.Error("the import failure's traceback is not in the log")
	}
	s.assertRunning(t)

	if err := os.Remove(filepath.Join(dir, "broken")); err != nil {
		t.Fatal(err)
	}
	slot := s.records(backOffMsg)[0].Worker
	eventually(t, 20*time.Second, "the slot serves again", func() bool {
		return slices.ContainsFunc(s.records("worker ready"), func(r logRecord) bool { return r.Worker == slot && r.PID != victim })
	})
	if body, err := c.ask(); err != nil || body != healthy {
		t.Errorf("after the slot recovered: %q, %v; want %q", body, err, healthy)
	}
}
