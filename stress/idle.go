package main

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// idleFlood opens idleConns keep-alive connections at once, each making
// one request and then idling: normal clients are still served and the
// idle ones are closed at --keepalive. Then, with --max-connections, the
// same flood of connections leaves the workers' memory flat.
func idleFlood(cfg *config) result {
	figures, pass := idleUnlimited(cfg)
	f2, p2 := idleCapped(cfg)
	return result{pass: pass && p2, figures: figures + "; " + f2}
}

func idleUnlimited(cfg *config) (string, bool) {
	s, err := startServer(cfg, "stress/apps", "stressapp:app", "--workers", "2",
		"--keepalive", strconv.Itoa(cfg.keepalive), "--backlog", "4096")
	if err != nil {
		return err.Error(), false
	}
	defer s.stop()
	base := sumRSS(s.workersRSS())
	stopPeak := make(chan struct{})
	peak := peakRSS(func() int64 { return sumRSS(s.workersRSS()) }, stopPeak)
	ka := time.Duration(cfg.keepalive) * time.Second
	var (
		idleAt  = make([]time.Duration, cfg.idleConns) // from request to close; 0: failed
		failed  atomic.Int64
		firstMu sync.Mutex
		first   error
		ready   sync.WaitGroup
		closed  sync.WaitGroup
		sem     = make(chan struct{}, 500) // dials in flight
	)
	for i := range cfg.idleConns {
		ready.Add(1)
		closed.Add(1)
		go func() {
			defer closed.Done()
			fail := func(err error) {
				failed.Add(1)
				firstMu.Lock()
				if first == nil {
					first = err
				}
				firstMu.Unlock()
				ready.Done()
			}
			sem <- struct{}{}
			nc, err := net.DialTimeout("tcp", s.addr, 10*time.Second)
			<-sem
			if err != nil {
				fail(err)
				return
			}
			defer nc.Close()
			nc.SetDeadline(time.Now().Add(60 * time.Second))
			// The server's keep-alive clock starts after it answered, so
			// after the request was sent: measured from here, the close
			// comes no earlier than --keepalive, however late this
			// goroutine reads the answer.
			sent := time.Now()
			fmt.Fprintf(nc, "GET /valid?%d HTTP/1.1\r\nHost: x\r\n\r\n", i)
			r := bufio.NewReader(nc)
			resp, err := http.ReadResponse(r, nil)
			if err == nil {
				_, err = drain(resp.Body)
				if err == nil && resp.StatusCode != 200 {
					err = fmt.Errorf("status %d", resp.StatusCode)
				}
			}
			if err != nil {
				fail(err)
				return
			}
			ready.Done()
			nc.SetReadDeadline(sent.Add(ka + cfg.loadSlack + 10*time.Second))
			if _, err := r.ReadByte(); err == io.EOF {
				idleAt[i] = time.Since(sent)
			}
		}()
	}
	ready.Wait()
	// Every flood connection is now open and idle: normal clients.
	normal := load(&http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}},
		"http://"+s.addr+"/valid", 8, int64(cfg.idleNormals), nil, nil)
	closed.Wait()
	close(stopPeak)
	top := <-peak
	var lo, hi time.Duration
	n := 0
	for _, d := range idleAt {
		if d == 0 {
			continue
		}
		if n == 0 || d < lo {
			lo = d
		}
		hi = max(hi, d)
		n++
	}
	okClose := n == cfg.idleConns && lo >= ka && hi <= ka+time.Second+cfg.loadSlack
	pass := failed.Load() == 0 && normal.errs == 0 && okClose
	return fmt.Sprintf("%d idle conns: %d failed, closed %d after %.2f-%.2fs (--keepalive %ds); normal %d reqs meanwhile: errors %d, p99 %s; worker RSS %s -> peak %s (+%s)%s",
		cfg.idleConns, failed.Load(), n, lo.Seconds(), hi.Seconds(), cfg.keepalive, normal.ok+normal.errs, normal.errs, ms(normal.p(0.99)),
		mb(base), mb(top), mb(top-base), errText(firstNonNil(first, normal.firstErr))), pass
}

// idleCapped floods a server with --max-connections with connections that
// send nothing: the workers accept only their share, the rest wait in the
// kernel's backlog, and memory stays flat.
func idleCapped(cfg *config) (string, bool) {
	s, err := startServer(cfg, "stress/apps", "stressapp:app", "--workers", "2",
		"--max-connections", strconv.Itoa(cfg.maxConns), "--backlog", "4096", "--header-timeout", "30")
	if err != nil {
		return err.Error(), false
	}
	defer s.stop()
	base := sumRSS(s.workersRSS())
	baseSockets := workerSockets(s)
	stopPeak := make(chan struct{})
	peak := peakRSS(func() int64 { return sumRSS(s.workersRSS()) }, stopPeak)
	var (
		conns  []net.Conn
		mu     sync.Mutex
		wg     sync.WaitGroup
		failed atomic.Int64
		sem    = make(chan struct{}, 500)
	)
	for range cfg.idleConns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			nc, err := net.DialTimeout("tcp", s.addr, 10*time.Second)
			<-sem
			if err != nil {
				failed.Add(1)
				return
			}
			mu.Lock()
			conns = append(conns, nc)
			mu.Unlock()
		}()
	}
	wg.Wait()
	// Each worker takes connections until its --max-connections are open:
	// wait until they hold their share (or more, were the cap broken).
	limit := 2 * cfg.maxConns
	accepted := 0
	for t0 := time.Now(); time.Since(t0) < 30*time.Second; time.Sleep(20 * time.Millisecond) {
		if accepted = workerSockets(s) - baseSockets; accepted >= limit {
			break
		}
	}
	close(stopPeak)
	top := <-peak
	for _, c := range conns {
		c.Close()
	}
	// Once the flood is gone the server serves again: these wait in the
	// backlog behind the closed connections until the workers reach them.
	after := load(&http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}},
		"http://"+s.addr+"/valid", 4, 20, nil, nil)
	// Flat: the growth stays below what 2 MiB buys, far less than the
	// thousands of connections would cost if accepted.
	flat := top-base <= 2<<20
	pass := flat && accepted <= limit && after.errs == 0
	return fmt.Sprintf("--max-connections %d x 2 workers, %d conns opened (%d dials timed out: the kernel's backlog is full): %d accepted (<=%d), worker RSS %s -> peak %s (+%s, <=2MB); served after: %d/%d",
		cfg.maxConns, len(conns), failed.Load(), accepted, limit, mb(base), mb(top), mb(top-base), after.ok, after.ok+after.errs), pass
}

// workerSockets counts the sockets the workers hold open.
func workerSockets(s *server) int {
	n := 0
	for _, p := range s.workerPIDs() {
		fds, _ := filepath.Glob(fmt.Sprintf("/proc/%d/fd/*", p))
		for _, fd := range fds {
			if l, err := os.Readlink(fd); err == nil && strings.HasPrefix(l, "socket:") {
				n++
			}
		}
	}
	return n
}

func firstNonNil(errs ...error) error {
	for _, e := range errs {
		if e != nil {
			return e
		}
	}
	return nil
}
