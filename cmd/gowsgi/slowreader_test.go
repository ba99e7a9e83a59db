package main

import (
	"context"
	"fmt"
	"net"
	"syscall"
	"testing"
	"time"
)

// stalledReader asks for path on a connection with a 4 KiB receive buffer
// and never reads the answer: a client that holds a large response.
func stalledReader(t *testing.T, addr, path string) net.Conn {
	t.Helper()
	d := net.Dialer{Timeout: 5 * time.Second, Control: func(_, _ string, rc syscall.RawConn) error {
		var err error
		rc.Control(func(fd uintptr) { err = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096) })
		return err
	}}
	c, err := d.DialContext(context.Background(), "tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if _, err := fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: t\r\n\r\n", path); err != nil {
		t.Fatal(err)
	}
	return c
}

// TestSlowReadersHoldNoExecutor: with --threads 1, clients that sit on
// unread 20 MB responses (a list body, gathered whole) do not hold the
// worker's one executor: the connection writes them while the executor
// serves others, and 50 sequential small requests are each answered
// quickly (issue 12: the executor never waits on a client for a response
// it has whole).
func TestSlowReadersHoldNoExecutor(t *testing.T) {
	s := startServer(t, "bodies:app", "--threads", "1")
	c := keepAliveClient()
	for _, stalled := range []int{1, 8} {
		for range stalled {
			stalledReader(t, s.addr, "/big?n=20000000")
		}
		var slowest time.Duration
		for i := range 50 {
			start := time.Now()
			if err := fetchChecked(c, fmt.Sprintf("http://%s/tuple?n=%d", s.addr, 100+i), 100+i); err != nil {
				t.Fatalf("%d stalled readers, request %d: %v", stalled, i, err)
			}
			slowest = max(slowest, time.Since(start))
		}
		t.Logf("%d stalled readers of 20 MB: slowest of 50 small requests %v", stalled, slowest)
		// the bar is 1 s; room for a busy machine
		if slowest > 3*time.Second {
			t.Errorf("%d stalled readers: a small request took %v", stalled, slowest)
		}
	}
}
