package main

// Keep-alive clients that never retry, as Python's http.client, against
// workers that retire, reload, scale down and stop: no request they send
// may fail (issue 11, point 2).

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// keepAliveLoad is a set of clients, each sending GET / on one kept-alive
// connection after another: a client never retries a request and opens a
// new connection only after a response that said close (or, to go on
// counting, after a failure).
type keepAliveLoad struct {
	addr     string
	path     string                           // what each request asks for
	header   string                           // header lines each request adds
	check    func(code int, body []byte) bool // whether its answer is right
	requests atomic.Int64                     // answered
	closes   atomic.Int64                     // responses that said close
	failures atomic.Int64                     // requests sent and not answered

	stop chan struct{}
	wg   sync.WaitGroup
	mu   sync.Mutex
	errs []string // the first failures, for the log
}

// startKeepAliveLoad starts clients against addr. With untilClose, a
// client ends after a response that said close, as the server is stopping:
// it sends requests only on connections open before.
func startKeepAliveLoad(addr string, clients int, untilClose bool) *keepAliveLoad {
	l := &keepAliveLoad{addr: addr, path: "/", stop: make(chan struct{}), check: func(code int, body []byte) bool {
		return code == 200 && string(body) == "Hello from e2eapp\n"
	}}
	return l.start(clients, untilClose)
}

// start starts the clients of l, whose addr, path, header, check and stop
// are set.
func (l *keepAliveLoad) start(clients int, untilClose bool) *keepAliveLoad {
	for range clients {
		l.wg.Add(1)
		go l.client(untilClose)
	}
	return l
}

// client runs one client until the load stops.
func (l *keepAliveLoad) client(untilClose bool) {
	defer l.wg.Done()
	var nc net.Conn
	var br *bufio.Reader
	defer func() {
		if nc != nil {
			nc.Close()
		}
	}()
	for {
		select {
		case <-l.stop:
			return
		default:
		}
		if nc == nil {
			var err error
			if nc, err = net.DialTimeout("tcp", l.addr, 5*time.Second); err != nil {
				l.fail(fmt.Errorf("connecting: %w", err))
				continue
			}
			br = bufio.NewReader(nc)
		}
		nc.SetDeadline(time.Now().Add(20 * time.Second))
		closing, err := l.exchangeOnce(nc, br)
		if err != nil {
			l.fail(err)
			nc.Close()
			nc = nil
			continue
		}
		l.requests.Add(1)
		if closing {
			l.closes.Add(1)
			if untilClose {
				return
			}
			nc.Close()
			nc = nil
		}
	}
}

// exchangeOnce sends GET l.path on nc and reads its response; it reports
// whether the response said close.
func (l *keepAliveLoad) exchangeOnce(nc net.Conn, br *bufio.Reader) (bool, error) {
	if _, err := io.WriteString(nc, "GET "+l.path+" HTTP/1.1\r\nHost: t\r\n"+l.header+"\r\n"); err != nil {
		return false, fmt.Errorf("sending: %w", err)
	}
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		return false, fmt.Errorf("reading the response: %w", err)
	}
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return false, fmt.Errorf("reading the body: %w", err)
	}
	if !l.check(resp.StatusCode, body) {
		return resp.Close, fmt.Errorf("got %d %.200q", resp.StatusCode, body)
	}
	return resp.Close, nil
}

// fail counts a failed request and keeps the first few errors.
func (l *keepAliveLoad) fail(err error) {
	l.failures.Add(1)
	l.mu.Lock()
	if len(l.errs) < 10 {
		l.errs = append(l.errs, err.Error())
	}
	l.mu.Unlock()
}

// awaitRequests waits until n more requests than now were answered.
func (l *keepAliveLoad) awaitRequests(t *testing.T, n int64) {
	t.Helper()
	want := l.requests.Load() + n
	eventually(t, 30*time.Second, fmt.Sprintf("%d requests answered", want), func() bool { return l.requests.Load() >= want })
}

// finish stops the load (if it has not ended by itself), logs its counts
// and fails the test on any failed request.
func (l *keepAliveLoad) finish(t *testing.T, what string, started time.Time) {
	t.Helper()
	close(l.stop)
	l.wg.Wait()
	t.Logf("%s: %d requests in %v, %d failed, %d answered with close",
		what, l.requests.Load(), time.Since(started).Round(time.Millisecond), l.failures.Load(), l.closes.Load())
	if n := l.failures.Load(); n > 0 {
		t.Errorf("%s: %d requests failed:\n%s", what, n, strings.Join(l.errs, "\n"))
	}
}

// TestKeepAliveRetire: workers retired by --max-requests (with jitter)
// answer every request their kept-alive connections carry.
func TestKeepAliveRetire(t *testing.T) {
	s := startServer(t, "e2eapp:app", "--workers", "2", "--max-requests", "150", "--max-requests-jitter", "20")
	started := time.Now()
	l := startKeepAliveLoad(s.addr, 4, false)
	l.awaitRequests(t, 2000)
	eventually(t, 60*time.Second, "ten workers replaced", func() bool { return strings.Count(s.serverLog(), "replacement ready") >= 10 })
	l.finish(t, "max-requests", started)
	took := recycleTimes(s.serverLog())
	t.Logf("%d workers replaced; a recycle, from the decision to the replacement (executed afresh) ready: median %v, fastest %v, slowest %v",
		len(took), took[len(took)/2], took[0], took[len(took)-1])
}

// TestKeepAliveReloadAndScaleDown: five HUPs and a TTOU under load, with
// workers retiring meanwhile, fail no request.
func TestKeepAliveReloadAndScaleDown(t *testing.T) {
	s := startServer(t, "e2eapp:app", "--workers", "2", "--max-requests", "150", "--max-requests-jitter", "20")
	started := time.Now()
	l := startKeepAliveLoad(s.addr, 4, false)
	l.awaitRequests(t, 100)
	for i := 1; i <= 5; i++ {
		s.cmd.Process.Signal(syscall.SIGHUP)
		eventually(t, 30*time.Second, fmt.Sprintf("reload %d complete", i), func() bool {
			return strings.Count(s.serverLog(), "reload complete") >= i
		})
		l.awaitRequests(t, 100)
	}
	s.cmd.Process.Signal(syscall.SIGTTOU)
	eventually(t, 30*time.Second, "one worker left", func() bool {
		return strings.Contains(s.serverLog(), "fewer workers wanted") && len(childPIDs(t, s.cmd.Process.Pid)) == 1
	})
	l.awaitRequests(t, 300)
	l.finish(t, "5 HUP + TTOU", started)
}

// TestKeepAliveGracefulStop: after TERM, every request sent on an open
// connection during --graceful-timeout is answered, the last of each
// connection with close.
func TestKeepAliveGracefulStop(t *testing.T) {
	s := startServer(t, "e2eapp:app", "--workers", "2", "--graceful-timeout", "20")
	started := time.Now()
	l := startKeepAliveLoad(s.addr, 4, true)
	l.awaitRequests(t, 200)
	s.cmd.Process.Signal(syscall.SIGTERM)
	if code := s.wait(t, 30*time.Second); code != 0 {
		t.Errorf("exit code %d after TERM", code)
	}
	l.finish(t, "TERM", started)
	if n := l.closes.Load(); n != 4 {
		t.Errorf("%d connections ended with a close response, want 4", n)
	}
}
