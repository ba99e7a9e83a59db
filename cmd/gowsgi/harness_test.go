package main

// The end-to-end tests run the real binary: TestMain builds it once, and
// each test starts it on a free loopback port and talks HTTP to it.

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gowsgi/gowsgi/internal/syncbuf"
)

var binary string

// testPython is the CPython whose wheel the wheel tests install: Debian's,
// or the one make test-matrix names in GOWSGI_TEST_PYTHON.
var testPython = "/usr/bin/python3"

// TestMain builds the binary under test, or with GOWSGI_TEST_BINARY set
// uses that one (make test-matrix: gowsgi built against another CPython; a
// relative path is taken from this package's directory). The servers the
// tests start put their default control sockets in a directory of the
// tests' own (XDG_RUNTIME_DIR), not in this one.
func TestMain(m *testing.M) {
	os.Exit(runTests(m))
}

// runTests is TestMain's work, with its clean-up deferred.
func runTests(m *testing.M) int {
	runtimeDir, err := os.MkdirTemp("", "gowsgi-test-run")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(runtimeDir)
	os.Setenv("XDG_RUNTIME_DIR", runtimeDir)
	if p := os.Getenv("GOWSGI_TEST_PYTHON"); p != "" {
		testPython = p
		os.Unsetenv("GOWSGI_TEST_PYTHON") // as GOWSGI_TEST_BINARY below
	}
	if b := os.Getenv("GOWSGI_TEST_BINARY"); b != "" {
		// not for the servers the tests start: GOWSGI_ is their settings
		os.Unsetenv("GOWSGI_TEST_BINARY")
		abs, err := filepath.Abs(b)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		binary = abs
		return m.Run()
	}
	dir, err := os.MkdirTemp("", "gowsgi-test")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	// --user tests run workers as nobody, who must be able to exec it.
	os.Chmod(dir, 0o755)
	binary = filepath.Join(dir, "gowsgi")
	build := exec.Command("go", "build", "-o", binary, ".")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building gowsgi:", err)
		return 1
	}
	return m.Run()
}

// server is a running bin/gowsgi serve.
type server struct {
	cmd  *exec.Cmd
	addr string
	log  *syncbuf.Buffer // its output, unless the test set cmd.Stdout or cmd.Stderr
	done chan struct{}
	err  error // from Wait, once done is closed

	readyWorkers int    // how many workers waitReady waits for, when the command line does not say
	errorLog     string // the error log file a configuration file names
}

func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// launch starts the binary with args and returns without waiting for it.
func launch(t *testing.T, args ...string) *server {
	t.Helper()
	s := &server{log: &syncbuf.Buffer{}, done: make(chan struct{})}
	s.cmd = exec.Command(binary, args...)
	s.start(t)
	return s
}

// start starts s.cmd, set up by the caller, and stops it when the test ends.
func (s *server) start(t *testing.T) {
	t.Helper()
	if s.cmd.Stdout == nil {
		s.cmd.Stdout = s.log
	}
	if s.cmd.Stderr == nil {
		s.cmd.Stderr = s.log
	}
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		s.err = s.cmd.Wait()
		close(s.done)
	}()
	t.Cleanup(func() {
		s.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-s.done:
		case <-time.After(15 * time.Second):
			s.cmd.Process.Kill()
			<-s.done
			t.Errorf("server did not stop on SIGTERM; log:\n%s", s.log)
		}
		if t.Failed() {
			t.Logf("server log:\n%s", s.log)
		}
	})
}

// startServer starts `gowsgi serve` on a free port with the test apps'
// directory as --chdir, and waits until it answers.
func startServer(t *testing.T, spec string, flags ...string) *server {
	t.Helper()
	addr := freePort(t)
	args := append([]string{"serve", "--bind", addr, "--chdir", "testdata"}, flags...)
	s := launch(t, append(args, spec)...)
	s.addr = addr
	s.waitReady(t)
	return s
}

// waitReady waits until every worker has said it is ready. The bound is for
// a busy machine: a worker boots in well under a second on a quiet one.
func (s *server) waitReady(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-s.done:
			t.Fatalf("server exited before serving: %v\n%s", s.err, s.log)
		default:
		}
		if strings.Count(s.serverLog(), "worker ready") >= s.workers() {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("server not ready after 60s:\n%s", s.log)
}

// serverLog is what the server logged: its output, or its --error-logfile.
func (s *server) serverLog() string {
	if s.errorLog != "" {
		b, _ := os.ReadFile(s.errorLog)
		return string(b)
	}
	for i, a := range s.cmd.Args {
		if a == "--error-logfile" && i+1 < len(s.cmd.Args) && s.cmd.Args[i+1] != "-" {
			b, _ := os.ReadFile(s.cmd.Args[i+1])
			return string(b)
		}
	}
	return s.log.String()
}

func (s *server) workers() int {
	if s.readyWorkers > 0 {
		return s.readyWorkers
	}
	for i, a := range s.cmd.Args {
		if (a == "--workers" || a == "-w") && i+1 < len(s.cmd.Args) {
			var n int
			fmt.Sscan(s.cmd.Args[i+1], &n)
			return n
		}
	}
	return 1
}

// wait waits for the process to exit by itself and returns its exit code.
func (s *server) wait(t *testing.T, limit time.Duration) int {
	t.Helper()
	select {
	case <-s.done:
	case <-time.After(limit):
		t.Fatalf("still running after %v:\n%s", limit, s.log)
	}
	return s.cmd.ProcessState.ExitCode()
}

// client makes one request per connection, so a request never lands on a
// kept-alive connection of a worker that was killed. Its timeout only ends
// a test that would otherwise hang: no test request takes seconds.
var client = &http.Client{
	Timeout:   30 * time.Second,
	Transport: &http.Transport{DisableKeepAlives: true},
}

func (s *server) get(t *testing.T, path string) (int, string) {
	t.Helper()
	resp, err := client.Get("http://" + s.addr + path)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: reading body: %v", path, err)
	}
	return resp.StatusCode, string(body)
}

// rawConn is a plain TCP connection for exchanges net/http would not make.
type rawConn struct {
	net.Conn
	r *bufio.Reader
}

func (s *server) dial(t *testing.T) *rawConn {
	t.Helper()
	c, err := net.DialTimeout("tcp", s.addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	c.SetDeadline(time.Now().Add(20 * time.Second))
	t.Cleanup(func() { c.Close() })
	return &rawConn{Conn: c, r: bufio.NewReader(c)}
}

func (c *rawConn) send(t *testing.T, raw string) {
	t.Helper()
	if _, err := io.WriteString(c, raw); err != nil {
		t.Fatal(err)
	}
}

// response reads one response off the connection.
func (c *rawConn) response(t *testing.T, method string) (*http.Response, string) {
	t.Helper()
	resp, err := http.ReadResponse(c.r, &http.Request{Method: method})
	if err != nil {
		t.Fatalf("reading response: %v", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("reading body: %v", err)
	}
	return resp, string(body)
}

// childPIDs lists the direct children of pid (the workers of a parent).
func childPIDs(t *testing.T, pid int) []int {
	t.Helper()
	tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/children", pid))
	var pids []int
	for _, f := range tasks {
		b, _ := os.ReadFile(f)
		for _, field := range strings.Fields(string(b)) {
			var p int
			fmt.Sscan(field, &p)
			pids = append(pids, p)
		}
	}
	return pids
}

// holds keeps requests inside e2eapp until the test lets them go: GET
// /hold?NAME creates entered-NAME in dir when it enters the app and answers
// "held NAME" once release-NAME exists. Start the server with flags().
type holds struct{ dir string }

func newHolds(t *testing.T) *holds { return &holds{dir: t.TempDir()} }

// flags tell e2eapp where the marker files are.
func (h *holds) flags() []string { return []string{"--env", "E2E_HOLD_DIR=" + h.dir} }

// awaitEntered waits until every named request is in the app; none has left,
// since none was released. On a timeout (shorter than client's, so that it
// is the failure reported) it releases them all, so that the server can
// stop, and fails the test.
func (h *holds) awaitEntered(t *testing.T, names ...string) {
	t.Helper()
	// polling the files the app makes, bounded by the deadline
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		missing := slices.DeleteFunc(slices.Clone(names), func(n string) bool {
			_, err := os.Stat(filepath.Join(h.dir, "entered-"+n))
			return err == nil
		})
		if len(missing) == 0 {
			return
		}
		if time.Now().After(deadline) {
			h.release(t, "all")
			t.Fatalf("requests %q not in the app after 20s", missing)
		}
	}
}

// release lets the named requests ("all": every one) leave the app.
func (h *holds) release(t *testing.T, names ...string) {
	t.Helper()
	for _, n := range names {
		if err := os.WriteFile(filepath.Join(h.dir, "release-"+n), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// metric scrapes a --metrics-bind address and returns the value of one
// series (0 if absent), e.g. `gowsgi_requests_total{status_class="2xx"}`.
func metric(t *testing.T, addr, series string) float64 {
	t.Helper()
	resp, err := client.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	text, _ := io.ReadAll(resp.Body)
	for _, line := range strings.Split(string(text), "\n") {
		if v, ok := strings.CutPrefix(line, series+" "); ok {
			var f float64
			fmt.Sscan(v, &f)
			return f
		}
	}
	return 0
}
