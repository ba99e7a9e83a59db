package prefork

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// httpClient makes requests with a bounded time; dial, if not nil, replaces
// the address in the URL.
func httpClient(dial func(ctx context.Context) (net.Conn, error)) *http.Client {
	tr := &http.Transport{DisableKeepAlives: true}
	if dial != nil {
		tr.DialContext = func(ctx context.Context, _, _ string) (net.Conn, error) { return dial(ctx) }
	}
	return &http.Client{Transport: tr, Timeout: 10 * time.Second}
}

// get fetches url and fails the test unless it answers 200.
func get(t *testing.T, c *http.Client, url string) string {
	t.Helper()
	resp, err := c.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s %q %v", url, resp.Status, body, err)
	}
	return string(body)
}

// awaitReady waits for n workers to report ready and returns their records.
func (p *supervisorProc) awaitReady(t *testing.T, n int) []logRecord {
	t.Helper()
	var ready []logRecord
	for range n {
		ready = append(ready, p.log.await(t, "worker ready", nil, 15*time.Second))
	}
	return ready
}

func TestSupervisorReplacesKilledWorker(t *testing.T) {
	ln, err := Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	url := "http://" + ln.Name() + "/"
	p := startSupervisor(t, ln, 2, false)
	victim := p.awaitReady(t, 2)[0]
	c := httpClient(nil)
	get(t, c, url)

	if err := syscall.Kill(victim.PID, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	exited := p.log.await(t, "worker exited", func(r logRecord) bool { return r.PID == victim.PID }, 5*time.Second)
	if want := "killed by signal SIGKILL"; exited.Status != want {
		t.Errorf("exit status logged as %q, want %q", exited.Status, want)
	}
	replacement := p.log.await(t, "worker ready", func(r logRecord) bool { return r.Worker == victim.Worker }, 10*time.Second)
	if replacement.PID == victim.PID {
		t.Errorf("replacement has the dead worker's pid %d", victim.PID)
	}
	for range 20 {
		get(t, c, url)
	}

	p.cmd.Process.Signal(syscall.SIGTERM)
	p.awaitExit(t, 10*time.Second)
	assertGone(t, p.log.pids(), 2*time.Second)
}

// TestSupervisorReplacesWorkerThatCrashesAfterReady checks that a worker
// which reports ready and exits at once counts as ready (the readiness is
// seen before the exit): it is replaced, again and again, rather than taken
// for a failed boot that would end Run.
func TestSupervisorReplacesWorkerThatCrashesAfterReady(t *testing.T) {
	ln, err := Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := startSupervisor(t, ln, 1, false, envTestBehaviour+"=ready-then-crash", envTestMaxDelay+"=200ms")
	for range maxBootFailures + 2 {
		rec := p.log.await(t, "worker exited", nil, 10*time.Second)
		if rec.Status != "exit status 2" {
			t.Errorf("exit status logged as %q, want %q", rec.Status, "exit status 2")
		}
	}
	if n := p.log.count("worker exited before it was ready"); n != 0 {
		t.Errorf("%d workers taken for failed boots", n)
	}
	p.cmd.Process.Signal(syscall.SIGTERM)
	p.awaitExit(t, 10*time.Second)
	assertGone(t, p.log.pids(), 2*time.Second)
}

func TestSupervisorGracefulStop(t *testing.T) {
	ln, err := Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Name()
	p := startSupervisor(t, ln, 2, false)
	p.awaitReady(t, 2)

	resp, err := httpClient(nil).Get("http://" + addr + "/slow")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	// The worker has sent the headers: the request is in flight.
	p.cmd.Process.Signal(syscall.SIGTERM)
	body, err := io.ReadAll(resp.Body)
	if err != nil || string(body) != "slow done" {
		t.Errorf("in-flight request got %q, %v; want %q", body, err, "slow done")
	}
	p.awaitExit(t, 10*time.Second)
	assertGone(t, p.log.pids(), 2*time.Second)
	if n := p.log.count("worker started"); n != 2 {
		t.Errorf("%d workers started, want 2 (none replaced during the stop)", n)
	}
	if conn, err := net.Dial("tcp", addr); err == nil {
		conn.Close()
		t.Error("the address still accepts connections after the supervisor exited")
	}
}

func TestSupervisorFastStop(t *testing.T) {
	tests := []struct {
		name     string
		signals  []syscall.Signal
		toGroup  bool // signal the whole process group, as Ctrl-C does
		inFlight bool // a slow request runs; a fast stop cuts it off
	}{
		{name: "SIGINT", signals: []syscall.Signal{syscall.SIGINT}},
		{name: "SIGQUIT", signals: []syscall.Signal{syscall.SIGQUIT}},
		{name: "Ctrl-C reaches supervisor and workers", signals: []syscall.Signal{syscall.SIGINT}, toGroup: true},
		{name: "SIGINT cuts a graceful stop short", signals: []syscall.Signal{syscall.SIGTERM, syscall.SIGINT}, inFlight: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ln, err := Listen("127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			addr := ln.Name()
			p := startSupervisor(t, ln, 2, true)
			p.awaitReady(t, 2)
			var resp *http.Response
			if tt.inFlight {
				resp, err = httpClient(nil).Get("http://" + addr + "/slow")
				if err != nil {
					t.Fatal(err)
				}
				defer resp.Body.Close()
			}

			target := p.cmd.Process.Pid
			if tt.toGroup {
				target = -target
			}
			for _, sig := range tt.signals {
				if err := syscall.Kill(target, sig); err != nil {
					t.Fatal(err)
				}
				p.log.await(t, "received signal", func(r logRecord) bool { return r.Signal == signalName(sig) }, 5*time.Second)
			}
			if tt.inFlight {
				if body, err := io.ReadAll(resp.Body); err == nil && string(body) == "slow done" {
					t.Error("the in-flight request completed; a fast stop should cut it off")
				}
			}
			p.awaitExit(t, 5*time.Second)
			assertGone(t, p.log.pids(), 2*time.Second)
			if n := p.log.count("worker started"); n != 2 {
				t.Errorf("%d workers started, want 2 (none replaced during the stop)", n)
			}
		})
	}
}

func TestSupervisorUnixSocket(t *testing.T) {
	path := filepath.Join(t.TempDir(), "gowsgi.sock")
	ln, err := Listen("unix:" + path)
	if err != nil {
		t.Fatal(err)
	}
	p := startSupervisor(t, ln, 1, false)
	p.awaitReady(t, 1)
	c := httpClient(func(ctx context.Context) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "unix", path)
	})
	if body := get(t, c, "http://gowsgi/"); !strings.HasPrefix(body, "worker 1 pid ") {
		t.Errorf("body = %q, want it to start with %q", body, "worker 1 pid ")
	}
	p.cmd.Process.Signal(syscall.SIGTERM)
	p.awaitExit(t, 10*time.Second)
	if _, err := os.Lstat(path); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("socket file still there after the supervisor exited: %v", err)
	}
}

func TestWorkersDieWithSupervisor(t *testing.T) {
	ln, err := Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := startSupervisor(t, ln, 2, false)
	p.awaitReady(t, 2)
	p.cmd.Process.Kill()
	<-p.exit
	assertGone(t, p.log.pids(), 5*time.Second)
}

// runInProcess runs s in this process, with its log going to a logTail,
// and fails the test if Run has not returned within timeout.
func runInProcess(t *testing.T, s *Supervisor, timeout time.Duration) (*logTail, error) {
	t.Helper()
	lt, wait := startInProcess(t, s)
	return lt, wait(timeout)
}

// startInProcess starts s.Run in this process, with its log going to a
// logTail. The returned function waits for Run's result, failing the test if
// it has not come within timeout; until then the test stops Run by
// signalling its own process.
func startInProcess(t *testing.T, s *Supervisor) (*logTail, func(timeout time.Duration) error) {
	t.Helper()
	r, w := io.Pipe()
	lt := newLogTail(t, r)
	s.Log = slog.New(slog.NewJSONHandler(w, nil))
	errc := make(chan error, 1)
	go func() { errc <- s.Run() }()
	return lt, func(timeout time.Duration) error {
		t.Helper()
		select {
		case err := <-errc:
			w.Close()
			<-lt.done
			return err
		case <-time.After(timeout):
			t.Fatalf("Run did not return within %v", timeout)
			return nil
		}
	}
}

// assertReaped fails the test unless every pid has exited and been reaped.
func assertReaped(t *testing.T, pids []int) {
	t.Helper()
	for _, pid := range pids {
		if _, err := os.Stat("/proc/" + strconv.Itoa(pid)); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("worker pid %d is still running or unreaped", pid)
		}
	}
}

func TestRunFailures(t *testing.T) {
	tests := []struct {
		name        string
		behaviour   string
		path        string
		workers     int
		bootTimeout time.Duration
		want        string
	}{
		{name: "application cannot load", behaviour: "bootfail", workers: 2, want: "could not load the application (exit status 3)"},
		{name: "workers crash before ready", behaviour: "crash", workers: 2, want: "5 workers in a row exited before they were ready; the last, worker"},
		{name: "workers miss the boot timeout", behaviour: "hang", workers: 2, bootTimeout: 200 * time.Millisecond, want: "not ready within 200ms, killed by signal SIGKILL"},
		{name: "executable missing", path: "/nonexistent/gowsgi", workers: 2, want: "cannot start worker 1"},
		{name: "no workers", workers: 0, want: "Workers is 0, want at least 1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sock := filepath.Join(t.TempDir(), "s.sock")
			ln, err := Listen("unix:" + sock)
			if err != nil {
				t.Fatal(err)
			}
			defer ln.Close()
			s := &Supervisor{
				Workers:         tt.workers,
				Listeners:       []*os.File{ln},
				Path:            tt.path,
				Env:             []string{quickRaceExit, envTestBehaviour + "=" + tt.behaviour},
				BootTimeout:     tt.bootTimeout,
				GracefulTimeout: 5 * time.Second,
			}
			start := time.Now()
			lt, err := runInProcess(t, s, 15*time.Second)
			t.Logf("Run returned after %v: %v", time.Since(start), err)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Run() = %v, want an error containing %q", err, tt.want)
			}
			assertReaped(t, lt.pids())
			if tt.workers == 0 {
				return // Run refused before it took charge of the listeners
			}
			if _, err := os.Lstat(sock); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("socket file still there after Run returned: %v", err)
			}
		})
	}
}
