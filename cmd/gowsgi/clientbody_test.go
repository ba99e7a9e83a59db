package main

import (
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestBrokenBodyIsTheClientsFault sends request bodies the client botched
// to an app that reads its body and lets the read error propagate: the
// server answers 400 and closes, and logs no app traceback (issue 11,
// point 9). With the body buffer (the default) the app is never called;
// without it, the app's failed read gives one client-error line.
func TestBrokenBodyIsTheClientsFault(t *testing.T) {
	for _, buffer := range []string{"1048576", "0"} {
		t.Run("body-buffer "+buffer, func(t *testing.T) { testBrokenBodies(t, buffer) })
	}
}

func testBrokenBodies(t *testing.T, bodyBuffer string) {
	t.Setenv("UPLOAD_DIR", t.TempDir())
	s := startServer(t, "upload:app", "--body-buffer", bodyBuffer)
	head := "POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
	cases := map[string]string{
		"negative size":       "-5\r\nhello\r\n0\r\n\r\n",
		"plus sign":           "+5\r\nhello\r\n0\r\n\r\n",
		"space after size":    "5 \r\nhello\r\n0\r\n\r\n",
		"bare LF after size":  "5\nhello\r\n0\r\n\r\n",
		"empty size line":     "\r\nhello\r\n0\r\n\r\n",
		"data without CRLF":   "5\r\nhelloXX0\r\n\r\n",
		"unterminated quote":  "5;a=\"b\r\nhello\r\n0\r\n\r\n",
		"trailer length":      "5\r\nhello\r\n0\r\nContent-Length: 5\r\n\r\n",
		"trailer host":        "5\r\nhello\r\n0\r\nHost: x\r\n\r\n",
		"trailer encoding":    "5\r\nhello\r\n0\r\nTransfer-Encoding: chunked\r\n\r\n",
		"second chunk broken": "5\r\nhello\r\n-1\r\n\r\n",
	}
	for name, body := range cases {
		t.Run(name, func(t *testing.T) {
			c := s.dial(t)
			c.send(t, head+body)
			resp, _ := c.response(t, "POST")
			if resp.StatusCode != 400 || !resp.Close {
				t.Errorf("status %d, close %v; want 400 and the connection closed", resp.StatusCode, resp.Close)
			}
		})
	}
	if log := s.serverLog(); strings.Contains(log, "Error handling request") || strings.Contains(log, "level=ERROR") {
		t.Errorf("a client's broken body was logged as an app error:\n%s", log)
	}
	if n := strings.Count(s.serverLog(), "the client broke the request body"); bodyBuffer == "0" && n == 0 {
		t.Errorf("no client-error line in the log")
	}
}

// TestClientGoneMidUpload: a client that disconnects while the app reads
// its body gets nothing written and causes no ERROR traceback, and the
// worker serves on.
func TestClientGoneMidUpload(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("UPLOAD_DIR", dir)
	s := startServer(t, "upload:app")
	_, pid := s.get(t, "/pid")
	c := s.dial(t)
	// over --body-buffer, so that the app reads it as it comes
	c.send(t, "POST /upload HTTP/1.1\r\nHost: t\r\nContent-Length: 4000000\r\n\r\n"+strings.Repeat("x", 1000))
	eventually(t, 30*time.Second, "the app starts reading the upload", func() bool {
		m, _ := filepath.Glob(filepath.Join(dir, "reading-*"))
		return len(m) > 0
	})
	c.Close()
	eventually(t, 30*time.Second, "a client-error line after the client left", func() bool {
		return strings.Contains(s.serverLog(), "the client broke the request body")
	})
	if log := s.serverLog(); strings.Contains(log, "Error handling request") || strings.Contains(log, "level=ERROR") {
		t.Errorf("a client gone mid-upload was logged as an app error:\n%s", log)
	}
	if _, after := s.get(t, "/pid"); after == "" || after != pid {
		t.Errorf("worker changed after a client left mid-upload: %q -> %q", pid, after)
	}
}

// TestTimeoutCountsOnlyTimeInTheApp: an upload that arrives slowly (but
// steadily) over more than --timeout, read by the app as it comes, is not
// a timed-out request: waiting on the client is not time in the app
// (issue 12).
func TestTimeoutCountsOnlyTimeInTheApp(t *testing.T) {
	t.Setenv("UPLOAD_DIR", t.TempDir())
	s := startServer(t, "upload:app", "--timeout", "1")
	const size = 3 << 20
	c := s.dial(t)
	c.send(t, fmt.Sprintf("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: %d\r\n\r\n", size))
	chunk := strings.Repeat("b", 64<<10)
	start := time.Now()
	for sent := 0; sent < size; sent += len(chunk) {
		c.send(t, chunk[:min(len(chunk), size-sent)])
		if time.Since(start) < 3*time.Second {
			time.Sleep(50 * time.Millisecond) // the scenario: a steady, slow upload
		}
	}
	resp, body := c.response(t, "POST")
	if resp.StatusCode != 200 || strings.TrimSpace(body) != fmt.Sprint(size) {
		t.Errorf("a slow upload over %v with --timeout 1: %d %q", time.Since(start).Round(time.Second), resp.StatusCode, body)
	}
}

// TestTricklingStreamedBodyIsCut: a body larger than --body-buffer streams
// to the app, and once 5 s have passed since it began it must have come at
// 1 KiB/s on average; a client that trickles it (a byte every 100 ms after
// the first 4 KiB) is cut as the client's fault (nothing but the server's
// own answer, one line in the log, no traceback), well before --timeout,
// and the one slot serves the next client.
func TestTricklingStreamedBodyIsCut(t *testing.T) {
	t.Setenv("UPLOAD_DIR", t.TempDir())
	s := startServer(t, "upload:app", "--threads", "1", "--body-buffer", "1024", "--timeout", "60")
	c := s.dial(t)
	const size = 1 << 20
	c.send(t, fmt.Sprintf("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: %d\r\n\r\n%s", size, strings.Repeat("b", 4096)))
	start := time.Now()
	cut := make(chan time.Duration, 1)
	go func() {
		// the scenario: a client sending one byte every 100 ms until the
		// server stops taking them
		for time.Since(start) < 40*time.Second {
			if _, err := c.Write([]byte("b")); err != nil {
				break
			}
			time.Sleep(100 * time.Millisecond) // the scenario: a byte every 100 ms
		}
		cut <- time.Since(start)
	}()
	c.SetReadDeadline(time.Now().Add(40 * time.Second))
	if resp, err := http.ReadResponse(c.r, nil); err == nil {
		if resp.StatusCode < 400 {
			t.Errorf("a trickled body was answered %d", resp.StatusCode)
		}
		resp.Body.Close()
	}
	took := time.Since(start)
	c.Close()
	<-cut
	t.Logf("a trickling body was cut after %v", took.Round(100*time.Millisecond))
	if took < 4*time.Second || took > 20*time.Second {
		t.Errorf("cut after %v, want about 5 s (the minimum rate applies from 5 s)", took)
	}
	if code, body := s.get(t, "/pid"); code != 200 || body == "" {
		t.Errorf("the next request: %d %q", code, body)
	}
	if log := s.serverLog(); strings.Contains(log, "Traceback") {
		t.Errorf("a client's trickle was logged as an app error:\n%s", log)
	}
}
