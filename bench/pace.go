package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"time"
)

// pacedRun is one client making a case's request at a fixed rate, one
// request at a time on one keep-alive connection, as a lightly loaded server
// sees its traffic. wrk cannot pace: it sends the next request as soon as
// the last is answered.
//
// Request slots are 1/Rate apart from the start until Duration has passed,
// and a request is never sent before its slot. When an answer comes later
// than the next slot, the request goes at once; the slots it missed by more
// than one are skipped, so a slow server gets fewer requests, never a burst
// of them, and a client that wakes a little late does not fall behind. A
// request that fails is counted and never sent again; the connection it
// failed on is closed, and the next request opens a new one.
type pacedRun struct {
	Addr     string // host:port
	Case     benchCase
	Rate     int           // requests per second
	Duration time.Duration // how long to send requests
	Timeout  time.Duration // for each request, from its sending to its whole answer
}

// paceStats is a paced run's outcome.
type paceStats struct {
	Requests int64         // answered 200 with the case's body
	Errors   int64         // failed: no connection, no or a wrong answer
	Conns    int64         // connections opened
	Duration time.Duration // the run's length, to the last answer
	FirstErr string        // the first failure, if any
}

// Run makes the requests and returns what came of them. It stops early,
// counting nothing more, when ctx ends.
func (r pacedRun) Run(ctx context.Context) paceStats {
	var st paceStats
	req := rawRequest(r.Addr, r.Case)
	interval := time.Second / time.Duration(r.Rate)
	var conn net.Conn
	var br *bufio.Reader
	defer func() {
		if conn != nil {
			conn.Close()
		}
	}()
	fail := func(err error) {
		st.Errors++
		if st.FirstErr == "" {
			st.FirstErr = err.Error()
		}
		if conn != nil {
			conn.Close()
			conn = nil
		}
	}
	start := time.Now()
	end := start.Add(r.Duration)
	timer := time.NewTimer(0)
	defer timer.Stop()
	for i, slot := 0, start; ; i, slot = i+1, slot.Add(interval) {
		if behind := time.Since(slot); behind > interval {
			slot = slot.Add(behind.Truncate(interval))
		}
		if !slot.Before(end) {
			break
		}
		timer.Reset(time.Until(slot))
		select {
		case <-ctx.Done():
			st.Duration = time.Since(start)
			return st
		case <-timer.C:
		}
		if conn == nil {
			c, err := net.DialTimeout("tcp", r.Addr, r.Timeout)
			if err != nil {
				fail(err)
				continue
			}
			conn, br = c, bufio.NewReader(c)
			st.Conns++
		}
		keep, err := exchange(conn, br, req, r.Case, r.Timeout)
		if err != nil {
			fail(fmt.Errorf("request %d: %w", i, err))
			continue
		}
		st.Requests++
		if !keep {
			conn.Close()
			conn = nil
		}
	}
	st.Duration = time.Since(start)
	return st
}

// exchange writes req on conn and reads its answer from br, which must be
// c's: status 200 and c.Want as the body. keep is false when the server
// said it closes the connection.
func exchange(conn net.Conn, br *bufio.Reader, req []byte, c benchCase, timeout time.Duration) (keep bool, err error) {
	if err := conn.SetDeadline(time.Now().Add(timeout)); err != nil {
		return false, err
	}
	if _, err := conn.Write(req); err != nil {
		return false, err
	}
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		return false, err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return false, fmt.Errorf("reading the body: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return false, fmt.Errorf("status %d", resp.StatusCode)
	}
	if !bytes.Equal(body, c.Want) {
		return false, fmt.Errorf("%d bytes of body, want %d", len(body), len(c.Want))
	}
	return !resp.Close, nil
}

// rawRequest is c's request to addr as HTTP/1.1 bytes on the wire.
func rawRequest(addr string, c benchCase) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "%s / HTTP/1.1\r\nHost: %s\r\n", c.Method, addr)
	if len(c.Body) > 0 {
		b.WriteString("Content-Type: application/octet-stream\r\nContent-Length: " + strconv.Itoa(len(c.Body)) + "\r\n")
	}
	b.WriteString("\r\n")
	b.Write(c.Body)
	return b.Bytes()
}
