package main

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// disconnects makes requests for streamed responses whose clients vanish
// (reset) after the first bytes: the app's close() runs for each, and the
// worker's goroutine count and Python's gc object count return to their
// baselines.
func disconnects(cfg *config) result {
	debugAddr := freeAddr()
	s, err := startServer(cfg, "stress/apps", "stressapp:app", "--workers", "1", "--threads", "2",
		"--env", "GOWSGI_DEBUG_ADDR="+debugAddr)
	if err != nil {
		return result{figures: err.Error()}
	}
	defer s.stop()
	goroutines := func() int {
		resp, err := oneShot.Get("http://" + debugAddr + "/debug/goroutines")
		if err != nil {
			return -1
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		n, _ := strconv.Atoi(strings.TrimSpace(string(b)))
		return n
	}
	var failed atomic.Int64
	vanish := func(n int) {
		var next atomic.Int64
		var wg sync.WaitGroup
		for range 16 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for next.Add(1) <= int64(n) {
					if err := vanishingRequest(s.addr); err != nil {
						failed.Add(1)
					}
				}
			}()
		}
		wg.Wait()
	}
	warm := min(200, cfg.disconnects)
	vanish(warm)
	settle := func(st0 appStats, want int64) appStats {
		var st appStats
		for t0 := time.Now(); time.Since(t0) < 30*time.Second; time.Sleep(50 * time.Millisecond) {
			if st, err = s.stats(); err == nil && st.Closed-st0.Closed >= want {
				break
			}
		}
		return st
	}
	base := settle(appStats{}, int64(warm))
	baseG := settleGoroutines(goroutines, -1)
	vanish(cfg.disconnects)
	end := settle(base, int64(cfg.disconnects))
	endG := settleGoroutines(goroutines, baseG)
	streams, closes := end.Stream-base.Stream, end.Closed-base.Closed
	objDelta := end.Objects - base.Objects
	// A per-request leak would add at least one object per request: allow
	// less than one per hundred for the interpreter's own churn.
	objLimit := int64(cfg.disconnects / 100)
	pass := failed.Load() == 0 && streams == int64(cfg.disconnects) && closes == streams &&
		baseG > 0 && endG <= baseG && objDelta <= objLimit
	return result{pass: pass, figures: fmt.Sprintf(
		"%d vanishing clients (%d failed to start): app calls %d, close() %d; goroutines %d -> %d; gc objects %d -> %d (%+d, <=%d)",
		cfg.disconnects, failed.Load(), streams, closes, baseG, endG, base.Objects, end.Objects, objDelta, objLimit)}
}

// settleGoroutines polls the count until it is at most want (or, with want
// < 0, until it stops changing) for up to 20 s, and returns the last value.
func settleGoroutines(count func() int, want int) int {
	last := count()
	for t0 := time.Now(); time.Since(t0) < 20*time.Second; {
		time.Sleep(100 * time.Millisecond)
		n := count()
		if (want >= 0 && n <= want) || (want < 0 && n == last) {
			return n
		}
		last = n
	}
	return last
}

// vanishingRequest asks for a 4 MiB streamed response, reads its head and
// resets the connection.
func vanishingRequest(addr string) error {
	nc, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return err
	}
	defer nc.Close()
	nc.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(nc, "GET /stream?64 HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
		return err
	}
	resp, err := http.ReadResponse(bufio.NewReader(nc), nil)
	if err != nil {
		return err
	}
	if resp.StatusCode != 200 {
		return fmt.Errorf("status %d", resp.StatusCode)
	}
	nc.(*net.TCPConn).SetLinger(0) // vanish: RST, not FIN
	return nil
}
