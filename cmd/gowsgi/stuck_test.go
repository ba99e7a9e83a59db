package main

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// startStuckServer serves testdata/stuck.py with --timeout 2 and returns
// the directory where the app marks that a /regex request has begun.
func startStuckServer(t *testing.T, flags ...string) (*server, string) {
	t.Helper()
	dir := t.TempDir()
	t.Setenv("STUCK_DIR", dir)
	return startServer(t, "stuck:app", append([]string{"--timeout", "2"}, flags...)...), dir
}

// waitEntered waits until the app has begun a /regex request in pid.
func waitEntered(t *testing.T, dir, pid string) {
	t.Helper()
	eventually(t, 30*time.Second, "the /regex request reaches the app in worker "+pid, func() bool {
		_, err := os.Stat(filepath.Join(dir, "entered-"+pid))
		return err == nil
	})
}

// waitReplaced waits until a new connection is answered by a worker other
// than pid.
func waitReplaced(t *testing.T, s *server, pid string) {
	t.Helper()
	eventually(t, 60*time.Second, "worker "+pid+" replaced", func() bool {
		code, body := s.get(t, "/pid")
		return code == 200 && strings.TrimSpace(body) != pid
	})
}

// pidOn asks for the worker's pid on a kept-alive connection.
func (c *rawConn) pidOn(t *testing.T) string {
	t.Helper()
	c.send(t, "GET /pid HTTP/1.1\r\nHost: t\r\n\r\n")
	resp, body := c.response(t, "GET")
	if resp.StatusCode != 200 {
		t.Fatalf("GET /pid: %d", resp.StatusCode)
	}
	return strings.TrimSpace(body)
}

// TestStuckHoldingGILIsAnswered: a request stuck in C code that holds the
// GIL (where RequestTimeout cannot be raised, and the old watchdog, which
// needed the GIL, could not act) is answered 500 after --timeout and its
// grace, the request queued behind it on the same worker is answered 503
// with Retry-After, the log names the request and its age, and a new
// worker serves (issue 11, point 3).
func TestStuckHoldingGILIsAnswered(t *testing.T) { inBothModes(t, testStuckHoldingGILIsAnswered) }

func testStuckHoldingGILIsAnswered(t *testing.T, mode []string) {
	s, dir := startStuckServer(t, mode...)
	stuckConn, queuedConn := s.dial(t), s.dial(t)
	pid := stuckConn.pidOn(t)
	if queuedConn.pidOn(t) != pid {
		t.Fatal("one worker, two pids")
	}
	start := time.Now()
	stuckConn.send(t, "GET /regex HTTP/1.1\r\nHost: t\r\n\r\n")
	waitEntered(t, dir, pid)
	queuedConn.send(t, "GET /pid HTTP/1.1\r\nHost: t\r\n\r\n")

	resp, _ := stuckConn.response(t, "GET")
	if resp.StatusCode != 500 {
		t.Errorf("stuck request: %d, want 500", resp.StatusCode)
	}
	// --timeout 2 plus the 3 s grace, with room for a busy machine
	if took := time.Since(start); took > 20*time.Second {
		t.Errorf("the stuck request was answered after %v", took)
	}
	resp, body := queuedConn.response(t, "GET")
	if resp.StatusCode != 503 || resp.Header.Get("Retry-After") == "" {
		t.Errorf("request queued behind the stuck one: %d %q (Retry-After %q), want 503 with Retry-After",
			resp.StatusCode, body, resp.Header.Get("Retry-After"))
	}
	waitReplaced(t, s, pid)
	log := s.serverLog()
	for _, want := range []string{"request stuck outside Python bytecode", "GET /regex (running ", "most recent call first", "stuck.py"} {
		if !strings.Contains(log, want) {
			t.Errorf("log lacks %q", want)
		}
	}
}

// TestStuckWorkerOthersNeverNotice: while one worker is stuck holding its
// GIL and then replaced, a keep-alive client of the other worker is served
// throughout, on the same connection, by the same process.
func TestStuckWorkerOthersNeverNotice(t *testing.T) {
	s, dir := startStuckServer(t, "--workers", "2")
	// Find one connection to each worker (the kernel spreads them).
	conns := map[string]*rawConn{}
	for i := 0; len(conns) < 2; i++ {
		if i == 200 {
			t.Fatal("200 connections all went to one worker")
		}
		c := s.dial(t)
		if pid := c.pidOn(t); conns[pid] == nil {
			conns[pid] = c
		} else {
			c.Close()
		}
	}
	var stuckPid, otherPid string
	for pid := range conns {
		if stuckPid == "" {
			stuckPid = pid
		} else {
			otherPid = pid
		}
	}
	stuck, other := conns[stuckPid], conns[otherPid]
	stuck.send(t, "GET /regex HTTP/1.1\r\nHost: t\r\n\r\n")
	waitEntered(t, dir, stuckPid)
	answered := make(chan int, 1)
	go func() {
		resp, err := http.ReadResponse(stuck.r, nil)
		if err != nil {
			answered <- 0
			return
		}
		answered <- resp.StatusCode
	}()
	served := 0
	for done := false; !done; {
		if pid := other.pidOn(t); pid != otherPid {
			t.Fatalf("the other worker's connection was answered by %s, want %s", pid, otherPid)
		}
		served++
		select {
		case code := <-answered:
			if code != 500 {
				t.Errorf("stuck request: %d, want 500", code)
			}
			done = true
		default:
		}
	}
	t.Logf("the other worker served %d requests on one connection while worker %s was stuck", served, stuckPid)
}

// TestParentKillsWorkerStuckWithoutItsHelp: a worker that cannot act at
// all (stopped with SIGSTOP while its request is inside the app, so its own
// watchdog never runs) is killed by the parent once the request has been
// inside the app past --timeout plus the parent's margin, the parent's log
// names the request and its age, and a new worker serves.
func TestParentKillsWorkerStuckWithoutItsHelp(t *testing.T) {
	s, dir := startStuckServer(t)
	c := s.dial(t)
	pid := c.pidOn(t)
	c.send(t, "GET /regex HTTP/1.1\r\nHost: t\r\n\r\n")
	waitEntered(t, dir, pid)
	var p int
	fmt.Sscan(pid, &p)
	if err := syscall.Kill(p, syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Kill(p, syscall.SIGKILL) })
	// Until the parent acts, new connections wait in the listen backlog.
	eventually(t, 60*time.Second, "the parent kills stopped worker "+pid, func() bool {
		return strings.Contains(s.serverLog(), "killing its worker")
	})
	waitReplaced(t, s, pid)
	log := s.serverLog()
	for _, want := range []string{"request stuck past the timeout; killing its worker", "GET /regex"} {
		if !strings.Contains(log, want) {
			t.Errorf("log lacks %q", want)
		}
	}
}
