package main

// End-to-end tests of process management: reload, scaling, recycling,
// binding forms and process settings, through the real binary.

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/gowsgi/gowsgi/internal/syncbuf"
)

// writeApp writes a module answering body to dir/name.py. Bodies of
// different lengths keep Python from trusting a stale bytecode cache.
func writeApp(t *testing.T, dir, name, source string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name+".py"), []byte(source), 0o644); err != nil {
		t.Fatal(err)
	}
}

func versionApp(v string) string {
	return fmt.Sprintf("def app(environ, start_response):\n"+
		"    start_response('200 OK', [('Content-Type', 'text/plain')])\n"+
		"    return [%q.encode()]\n", v)
}

// loadLoop requests / until stopped and counts failures and bodies seen.
type loadLoop struct {
	failures atomic.Int64
	requests atomic.Int64
	mu       sync.Mutex
	last     string
	firstErr string
	stop     chan struct{}
	done     chan struct{}
}

func startLoad(s *server, path string) *loadLoop {
	l := &loadLoop{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(l.done)
		for {
			select {
			case <-l.stop:
				return
			default:
			}
			resp, err := client.Get("http://" + s.addr + path)
			l.requests.Add(1)
			if err != nil {
				l.fail(err.Error())
				continue
			}
			body, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil || resp.StatusCode != 200 {
				l.fail(fmt.Sprintf("status %d, body %q, %v", resp.StatusCode, body, err))
				continue
			}
			l.mu.Lock()
			l.last = string(body)
			l.mu.Unlock()
		}
	}()
	return l
}

func (l *loadLoop) fail(why string) {
	l.failures.Add(1)
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.firstErr == "" {
		l.firstErr = why
	}
}

func (l *loadLoop) body() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.last
}

func (l *loadLoop) end(t *testing.T) { l.endAllowing(t, 0) }

// endAllowing stops the loop and fails the test if more than allowed
// requests failed.
func (l *loadLoop) endAllowing(t *testing.T, allowed int64) {
	t.Helper()
	close(l.stop)
	<-l.done
	if n := l.failures.Load(); n > allowed {
		t.Errorf("%d of %d requests failed; the first: %s", n, l.requests.Load(), l.firstErr)
	}
}

// eventually polls cond every 50 ms until it holds or limit passes.
func eventually(t *testing.T, limit time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("not within %v: %s", limit, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestHUPReloadsCodeWithoutFailedRequests(t *testing.T) {
	dir := t.TempDir()
	writeApp(t, dir, "reloadapp", versionApp("version one"))
	s := startServer(t, "reloadapp:app", "--chdir", dir, "--workers", "2")
	before := childPIDs(t, s.cmd.Process.Pid)
	load := startLoad(s, "/")
	eventually(t, 30*time.Second, "first answer", func() bool { return load.body() == "version one" })

	writeApp(t, dir, "reloadapp", versionApp("version two!!"))
	s.cmd.Process.Signal(syscall.SIGHUP)
	eventually(t, 30*time.Second, "new code served", func() bool { return load.body() == "version two!!" })
	eventually(t, 30*time.Second, "old workers gone", func() bool {
		now := childPIDs(t, s.cmd.Process.Pid)
		return len(now) == 2 && !slices.Contains(now, before[0]) && !slices.Contains(now, before[1])
	})
	load.end(t)

	// A new generation that cannot import keeps the old one serving.
	serving := childPIDs(t, s.cmd.Process.Pid)
	writeApp(t, dir, "reloadapp", "def app(:\n")
	s.cmd.Process.Signal(syscall.SIGHUP)
	eventually(t, 30*time.Second, "reload failure logged", func() bool {
		return strings.Contains(s.log.String(), "reload failed")
	})
	if code, body := s.get(t, "/"); code != 200 || body != "version two!!" {
		t.Errorf("after a failed reload: %d %q", code, body)
	}
	eventually(t, 30*time.Second, "the failed generation stopped, the old one kept", func() bool {
		return slices.Equal(sorted(childPIDs(t, s.cmd.Process.Pid)), sorted(serving))
	})
	if !strings.Contains(s.log.String(), "SyntaxError") {
		t.Errorf("the reason is not in the log:\n%s", s.log)
	}
}

func sorted(p []int) []int {
	p = slices.Clone(p)
	slices.Sort(p)
	return p
}

func TestTTINAndTTOU(t *testing.T) { inBothModes(t, testTTINAndTTOU) }

func testTTINAndTTOU(t *testing.T, mode []string) {
	s := startServer(t, "e2eapp:app", mode...)
	count := func(n int) func() bool {
		return func() bool { return len(forkedWorkers(t, s)) == n }
	}
	s.cmd.Process.Signal(syscall.SIGTTIN)
	eventually(t, 30*time.Second, "2 workers after TTIN", count(2))
	s.cmd.Process.Signal(syscall.SIGTTOU)
	eventually(t, 30*time.Second, "1 worker after TTOU", count(1))
	s.cmd.Process.Signal(syscall.SIGTTOU) // never below one
	eventually(t, 30*time.Second, "the last TTOU handled", func() bool {
		return strings.Contains(s.log.String(), "not stopping the last worker")
	})
	if n := len(forkedWorkers(t, s)); n != 1 {
		t.Errorf("%d workers after TTOU at one worker", n)
	}
	if code, _ := s.get(t, "/"); code != 200 {
		t.Errorf("GET / = %d", code)
	}
}

func TestMaxRequestsRecyclesWithoutFailedRequests(t *testing.T) {
	inBothModes(t, testMaxRequestsRecyclesWithoutFailedRequests)
}

func testMaxRequestsRecyclesWithoutFailedRequests(t *testing.T, mode []string) {
	s := startServer(t, "e2eapp:app", append(mode, "--max-requests", "20", "--max-requests-jitter", "5")...)
	_, first := s.get(t, "/pid")
	load := startLoad(s, "/pid")
	eventually(t, 30*time.Second, "worker recycled", func() bool { b := load.body(); return b != "" && b != first })
	load.end(t)
}

func TestMaxWorkerMemoryRecycles(t *testing.T) {
	s := startServer(t, "e2eapp:app", "--max-worker-memory", "120")
	_, first := s.get(t, "/pid")
	if code, _ := s.get(t, "/alloc?200"); code != 200 {
		t.Fatalf("alloc: %d", code)
	}
	eventually(t, 30*time.Second, "worker over the memory limit recycled", func() bool {
		_, now := s.get(t, "/pid")
		return now != first
	})
	if !strings.Contains(s.log.String(), "rss") {
		t.Errorf("the log does not say why:\n%s", s.log)
	}
}

func TestExitLogNamesTheRequest(t *testing.T) {
	h := newHolds(t)
	s := startServer(t, "e2eapp:app", h.flags()...)
	c := s.dial(t)
	c.send(t, "GET /hold?killed HTTP/1.1\r\nHost: t\r\n\r\n")
	h.awaitEntered(t, "killed")
	syscall.Kill(childPIDs(t, s.cmd.Process.Pid)[0], syscall.SIGKILL)
	eventually(t, 20*time.Second, "exit logged with the request", func() bool {
		log := s.log.String()
		return strings.Contains(log, "SIGKILL") && strings.Contains(log, "GET /hold?killed")
	})
}

// getOver makes one GET through conn-level dialing of network/addr.
func getOver(t *testing.T, network, addr, path string) (int, string) {
	t.Helper()
	c := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
		DisableKeepAlives: true,
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, network, addr)
		},
	}}
	resp, err := c.Get("http://gowsgi" + path)
	if err != nil {
		t.Fatalf("GET over %s %s: %v", network, addr, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestUnixSocketWithUmask(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "gowsgi.sock")
	s := launch(t, "serve", "--bind", "unix:"+sock, "--umask", "007", "--chdir", "testdata", "e2eapp:app")
	s.waitReady(t)
	fi, err := os.Stat(sock)
	if err != nil {
		t.Fatal(err)
	}
	if mode := fi.Mode().Perm(); mode != 0o770 {
		t.Errorf("socket mode %o, want 770", mode)
	}
	if code, body := getOver(t, "unix", sock, "/"); code != 200 || body != "Hello from e2eapp\n" {
		t.Errorf("over the unix socket: %d %q", code, body)
	}
	s.cmd.Process.Signal(syscall.SIGTERM)
	s.wait(t, 30*time.Second)
	if _, err := os.Stat(sock); !os.IsNotExist(err) {
		t.Errorf("socket file left behind: %v", err)
	}
}

// inheritedListener makes a loopback listener to pass to the binary as fd 3.
func inheritedListener(t *testing.T) (*os.File, string) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f, err := l.(*net.TCPListener).File()
	l.Close()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f, l.Addr().String()
}

func TestFdBind(t *testing.T) {
	f, addr := inheritedListener(t)
	s := &server{log: &syncbuf.Buffer{}, done: make(chan struct{}), addr: addr}
	s.cmd = exec.Command(binary, "serve", "--bind", "fd://3", "--chdir", "testdata", "e2eapp:app")
	s.cmd.ExtraFiles = []*os.File{f}
	s.start(t)
	s.waitReady(t)
	if code, _ := s.get(t, "/"); code != 200 {
		t.Errorf("GET over fd://3: %d", code)
	}
}

func TestSystemdSocketActivation(t *testing.T) {
	f, addr := inheritedListener(t)
	s := &server{log: &syncbuf.Buffer{}, done: make(chan struct{}), addr: addr}
	// LISTEN_PID must be gowsgi's own pid: the shell execs it, keeping $$.
	s.cmd = exec.Command("/bin/sh", "-c", `LISTEN_PID=$$ LISTEN_FDS=1 exec "$0" serve --chdir testdata e2eapp:app`, binary)
	s.cmd.ExtraFiles = []*os.File{f}
	s.start(t)
	s.waitReady(t)
	if code, _ := s.get(t, "/"); code != 200 {
		t.Errorf("GET over the systemd socket: %d", code)
	}
	if !strings.Contains(s.log.String(), "systemd") {
		t.Errorf("log does not mention systemd:\n%s", s.log)
	}
}

func TestPidFile(t *testing.T) {
	pidFile := filepath.Join(t.TempDir(), "gowsgi.pid")
	s := startServer(t, "e2eapp:app", "--pid", pidFile)
	b, err := os.ReadFile(pidFile)
	if err != nil || strings.TrimSpace(string(b)) != fmt.Sprint(s.cmd.Process.Pid) {
		t.Errorf("pid file %q (%v), want %d", b, err, s.cmd.Process.Pid)
	}
	s.cmd.Process.Signal(syscall.SIGTERM)
	s.wait(t, 30*time.Second)
	if _, err := os.Stat(pidFile); !os.IsNotExist(err) {
		t.Errorf("pid file left behind: %v", err)
	}
}

func TestUserDropsWorkerPrivileges(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("needs root to change user")
	}
	s := startServer(t, "e2eapp:app", "--user", "nobody", "--group", "nogroup")
	worker := childPIDs(t, s.cmd.Process.Pid)[0]
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", worker))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(status), "\n") {
		if strings.HasPrefix(line, "Uid:") && !strings.HasPrefix(strings.Join(strings.Fields(line)[1:2], ""), "65534") {
			t.Errorf("worker %s", line)
		}
	}
	if code, _ := s.get(t, "/"); code != 200 {
		t.Errorf("GET / = %d", code)
	}
}

func TestReloadFlagWatchesCode(t *testing.T) {
	dir := t.TempDir()
	writeApp(t, dir, "watched", versionApp("before"))
	s := startServer(t, "watched:app", "--chdir", dir, "--reload")
	if _, body := s.get(t, "/"); body != "before" {
		t.Fatalf("got %q", body)
	}
	writeApp(t, dir, "watched", versionApp("after the edit"))
	eventually(t, 30*time.Second, "edited code served", func() bool {
		_, body := s.get(t, "/")
		return body == "after the edit"
	})
}

func TestBacklogAndReusePort(t *testing.T) {
	s := startServer(t, "e2eapp:app", "--backlog", "64", "--reuse-port")
	if code, _ := s.get(t, "/"); code != 200 {
		t.Errorf("GET / = %d", code)
	}
}

// TestTermAnswersInFlightAndQueuedRequests: at TERM, one request is in the
// app and two more wait for its only thread; all three are answered.
func TestTermAnswersInFlightAndQueuedRequests(t *testing.T) {
	inBothModes(t, testTermAnswersInFlightAndQueuedRequests)
}

func testTermAnswersInFlightAndQueuedRequests(t *testing.T, mode []string) {
	h := newHolds(t)
	maddr := freePort(t)
	s := startServer(t, "e2eapp:app", slices.Concat(mode, h.flags(), []string{"--threads", "1", "--metrics-bind", maddr})...)
	names := []string{"a", "b", "c"}
	results := make(chan string, len(names))
	for _, n := range names {
		go func() {
			c, err := net.DialTimeout("tcp", s.addr, 5*time.Second)
			if err != nil {
				results <- err.Error()
				return
			}
			defer c.Close()
			c.SetDeadline(time.Now().Add(60 * time.Second))
			io.WriteString(c, "GET /hold?"+n+" HTTP/1.1\r\nHost: t\r\n\r\n")
			resp, err := http.ReadResponse(bufio.NewReader(c), nil)
			if err != nil {
				results <- err.Error()
				return
			}
			body, _ := io.ReadAll(resp.Body)
			results <- fmt.Sprintf("%d %s", resp.StatusCode, body)
		}()
	}
	// All three read by the worker, one of them in the app.
	eventually(t, 30*time.Second, "three requests in flight", func() bool {
		return metric(t, maddr, "gowsgi_requests_in_flight") == 3
	})
	eventually(t, 30*time.Second, "one request in the app", func() bool {
		in, _ := filepath.Glob(filepath.Join(h.dir, "entered-*"))
		return len(in) == 1
	})
	s.cmd.Process.Signal(syscall.SIGTERM)
	eventually(t, 20*time.Second, "the worker stopping", func() bool { return strings.Contains(s.log.String(), "stopping gracefully") })
	h.release(t, "all")
	for range names {
		if got := <-results; !strings.HasPrefix(got, "200 held ") {
			t.Errorf("a request in flight or queued at TERM got %q", got)
		}
	}
	if code := s.wait(t, 30*time.Second); code != 0 {
		t.Errorf("exit code %d", code)
	}
}
