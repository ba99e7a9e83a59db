package main

import (
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gowsgi/gowsgi/control"
	"github.com/gowsgi/gowsgi/internal/syncbuf"
)

// runCtl runs `gowsgi ctl ARGS...` with env added to the test's
// environment and cred (if not nil) as its user, and returns its combined
// output and exit status.
func runCtl(t *testing.T, env []string, cred *syscall.Credential, args ...string) (string, int) {
	t.Helper()
	cmd := exec.Command(binary, append([]string{"ctl"}, args...)...)
	cmd.Env = append(os.Environ(), env...)
	if cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	}
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		t.Fatalf("gowsgi ctl %q: %v", args, err)
	}
	return string(out), cmd.ProcessState.ExitCode()
}

// ctlAt runs a ctl command on the socket at path and fails the test unless
// it succeeds.
func ctlAt(t *testing.T, path string, args ...string) string {
	t.Helper()
	out, code := runCtl(t, nil, nil, append([]string{"--socket", path}, args...)...)
	if code != 0 {
		t.Fatalf("gowsgi ctl %q: exit %d: %s", args, code, out)
	}
	return out
}

// statusJSON runs status --json.
func statusJSON(t *testing.T, path string) control.StatusResult {
	t.Helper()
	var st control.StatusResult
	out := ctlAt(t, path, "status", "--json")
	if err := json.Unmarshal([]byte(out), &st); err != nil || strings.Count(strings.TrimSpace(out), "\n") != 0 {
		t.Fatalf("status --json printed %q, not one JSON object: %v", out, err)
	}
	return st
}

// awaitStatus polls status --json until ok accepts it.
func awaitStatus(t *testing.T, path, what string, ok func(control.StatusResult) bool) control.StatusResult {
	t.Helper()
	var st control.StatusResult
	eventually(t, 30*time.Second, what, func() bool {
		st = statusJSON(t, path)
		return ok(st)
	})
	return st
}

// workerPIDs lists the pids of the workers in the given states (any, if
// none), sorted.
func workerPIDs(st control.StatusResult, states ...string) []int {
	var pids []int
	for _, w := range st.Workers {
		if len(states) == 0 || slices.Contains(states, w.State) {
			pids = append(pids, w.PID)
		}
	}
	slices.Sort(pids)
	return pids
}

// TestCtl operates one server through every command of gowsgi ctl, and
// checks the metrics of waiting: the server has one thread per worker, so a
// second request waits behind a held one.
func TestCtl(t *testing.T) {
	dir := t.TempDir()
	os.Chmod(dir, 0o755) // so that only the socket's own mode keeps others out
	sock := filepath.Join(dir, "server.ctl")
	access := filepath.Join(dir, "access.log")
	metricsAddr := freePort(t)
	h := newHolds(t)
	s := startServer(t, "e2eapp:app", append(h.flags(), "--workers", "1", "--threads", "1", "--control-socket", sock,
		"--bind", "unix:"+filepath.Join(dir, "app.sock"), "--metrics-bind", metricsAddr, "--access-logfile", access)...)

	if fi, err := os.Lstat(sock); err != nil || fi.Mode() != os.ModeSocket|0o600 {
		t.Fatalf("control socket %s: %v, mode %v; want a socket of mode 0600", sock, err, fi.Mode())
	}

	// A held request, and one waiting behind it for the worker's thread.
	held := s.dial(t)
	held.send(t, "GET /hold?first HTTP/1.1\r\nHost: t\r\n\r\n")
	h.awaitEntered(t, "first")
	waiter := s.dial(t)
	waiter.send(t, "GET /hold?second HTTP/1.1\r\nHost: t\r\n\r\n")
	st := awaitStatus(t, sock, "a request waiting for the thread", func(st control.StatusResult) bool {
		return len(st.Workers) == 1 && st.Workers[0].Waiting == 1
	})
	waiting := time.Now() // the second request has been waiting since before this
	w := st.Workers[0]
	if st.PID != s.cmd.Process.Pid || st.WorkersWanted != 1 || w.State != "busy" || w.Current == nil || w.InFlight != 2 ||
		w.PID <= 0 || w.RSSBytes <= 0 || w.AgeSeconds <= 0 || w.Current.RunningSeconds <= 0 || w.Current.RunningSeconds > 60 {
		t.Errorf("status %+v, worker %+v, current %+v", st, w, w.Current)
	}
	if w.Current != nil && !strings.HasPrefix(w.Current.Request, "GET /hold?") {
		t.Errorf("current request %q, want a held one", w.Current.Request)
	}
	if len(st.Listeners) != 2 || st.Listeners[0].Address != s.addr || st.Listeners[0].Backlog == nil || *st.Listeners[0].BacklogMax < 1 ||
		st.Listeners[1].Address != "unix:"+filepath.Join(dir, "app.sock") || st.Listeners[1].Backlog == nil {
		t.Errorf("listeners %+v", st.Listeners)
	}
	table := ctlAt(t, sock, "status")
	for _, want := range []string{"WORKER", strconv.Itoa(w.PID), "busy", "GET /hold?", "LISTENER", s.addr, "1 waiting for a thread", "restarts: 0"} {
		if !strings.Contains(table, want) {
			t.Errorf("status table lacks %q:\n%s", want, table)
		}
	}

	// dump: the held request's Python function, and the worker serves on.
	dump := ctlAt(t, sock, "dump", strconv.Itoa(w.PID))
	if !strings.Contains(dump, "in hold") || !strings.Contains(dump, "e2eapp.py") {
		t.Errorf("dump of worker %d does not show the held request in hold():\n%s", w.PID, dump)
	}

	// The second request waits behind the first as long as it is held.
	const hold = time.Second
	time.Sleep(hold - time.Since(waiting)) // the scenario: the first request keeps the only thread this long
	h.release(t, "first")
	h.awaitEntered(t, "second")
	h.release(t, "second")
	for _, c := range []*rawConn{held, waiter} {
		if resp, _ := c.response(t, "GET"); resp.StatusCode != 200 {
			t.Errorf("held request: %d", resp.StatusCode)
		}
	}
	eventually(t, 10*time.Second, "two waits counted", func() bool { return metric(t, metricsAddr, "gowsgi_request_wait_seconds_count") >= 2 })
	if sum := metric(t, metricsAddr, "gowsgi_request_wait_seconds_sum"); sum < hold.Seconds() || sum > 30 {
		t.Errorf("gowsgi_request_wait_seconds_sum = %v, want at least the hold, %v", sum, hold.Seconds())
	}
	if quick := metric(t, metricsAddr, `gowsgi_request_wait_seconds_bucket{le="0.5"}`); quick < 1 || quick >= metric(t, metricsAddr, "gowsgi_request_wait_seconds_count") {
		t.Errorf("waits of at most 0.5s: %v; want the first request's, not the second's", quick)
	}
	for _, l := range st.Listeners {
		if series := `gowsgi_listen_backlog_max{listener="` + l.Address + `"}`; metric(t, metricsAddr, series) < 1 {
			t.Errorf("no %s", series)
		}
	}

	// workers N, both ways.
	if out := ctlAt(t, sock, "workers", "3"); !strings.Contains(out, "workers: 3, were 1") {
		t.Errorf("workers 3: %q", out)
	}
	st = awaitStatus(t, sock, "three idle workers", func(st control.StatusResult) bool { return len(workerPIDs(st, "idle")) == 3 })
	ctlAt(t, sock, "workers", "2")
	st = awaitStatus(t, sock, "two workers", func(st control.StatusResult) bool {
		return len(st.Workers) == 2 && len(workerPIDs(st, "idle")) == 2 && st.WorkersWanted == 2
	})
	pids := workerPIDs(st)

	// kill replaces that pid only.
	if out := ctlAt(t, sock, "kill", strconv.Itoa(pids[0])); !strings.Contains(out, "pid "+strconv.Itoa(pids[0])+") is stopping") {
		t.Errorf("kill: %q", out)
	}
	st = awaitStatus(t, sock, "the killed worker replaced", func(st control.StatusResult) bool {
		p := workerPIDs(st, "idle")
		return len(st.Workers) == 2 && len(p) == 2 && !slices.Contains(p, pids[0])
	})
	if !slices.Contains(workerPIDs(st), pids[1]) {
		t.Errorf("after kill %d the workers are %v: %d is gone too", pids[0], workerPIDs(st), pids[1])
	}
	if last := st.Restarts[len(st.Restarts)-1]; last.PID != pids[0] || last.Cause != "kill" || st.RestartCounts["kill"] != 1 {
		t.Errorf("restarts %+v, counts %v", st.Restarts, st.RestartCounts)
	}

	// reload: a new generation.
	before := workerPIDs(st)
	if out := ctlAt(t, sock, "reload"); strings.TrimSpace(out) != "reloading" {
		t.Errorf("reload: %q", out)
	}
	awaitStatus(t, sock, "a new generation", func(st control.StatusResult) bool {
		p := workerPIDs(st, "idle")
		return len(st.Workers) == 2 && len(p) == 2 && !slices.Contains(p, before[0]) && !slices.Contains(p, before[1])
	})

	// reopen: the access log, renamed by a rotation, is written anew.
	if err := os.Rename(access, access+".1"); err != nil {
		t.Fatal(err)
	}
	ctlAt(t, sock, "reopen")
	eventually(t, 20*time.Second, "a request logged in the reopened access log", func() bool {
		s.get(t, "/reopened")
		b, _ := os.ReadFile(access)
		return strings.Contains(string(b), "GET /reopened")
	})

	// Refusals and usage errors.
	refusals := []struct {
		args []string
		code int
		want string
	}{
		{[]string{"frobnicate"}, 2, `unknown command "frobnicate"`},
		{[]string{}, 2, "ctl needs a command"},
		{[]string{"workers", "0"}, 2, "N must be a whole number of at least 1"},
		{[]string{"workers", "many"}, 2, "N must be a whole number of at least 1"},
		{[]string{"workers"}, 2, "workers takes one argument, N"},
		{[]string{"status", "--bogus"}, 2, "see gowsgi ctl status --help"},
		{[]string{"kill", strconv.Itoa(s.cmd.Process.Pid)}, 1, "the server refused: pid " + strconv.Itoa(s.cmd.Process.Pid) + " is not a worker of this server"},
		{[]string{"dump", "1"}, 1, "pid 1 is not a worker of this server"},
	}
	for _, r := range refusals {
		out, code := runCtl(t, nil, nil, append([]string{"--socket", sock}, r.args...)...)
		if code != r.code || !strings.Contains(out, r.want) {
			t.Errorf("ctl %q: exit %d, %q; want exit %d saying %q", r.args, code, out, r.code, r.want)
		}
	}
	if out, code := runCtl(t, nil, nil, "--socket", filepath.Join(dir, "none.ctl"), "status"); code != 1 || !strings.Contains(out, "no control socket at") {
		t.Errorf("ctl on a missing socket: exit %d, %q", code, out)
	}
	if os.Getuid() == 0 {
		nobody := &syscall.Credential{Uid: 65534, Gid: 65534}
		switch out, code := runCtl(t, nil, nobody, "--socket", sock, "status"); {
		case code == 127 && strings.Contains(out, "error while loading shared libraries"):
			// a build against a Python under /root (pyenv's, in the
			// matrix): nobody cannot even load it
			t.Logf("ctl as nobody not checked: %s", strings.TrimSpace(out))
		case code != 1 || !strings.Contains(out, "permission denied"):
			t.Errorf("ctl as nobody: exit %d, %q; want permission denied", code, out)
		}
	}

	// stop: acknowledged, then the server ends with status 0 and takes its
	// socket with it.
	if out := ctlAt(t, sock, "stop"); strings.TrimSpace(out) != "stopping" {
		t.Errorf("stop: %q", out)
	}
	if code := s.wait(t, 30*time.Second); code != 0 {
		t.Errorf("exit status %d after ctl stop", code)
	}
	if _, err := os.Lstat(sock); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("control socket after the stop: %v", err)
	}
	if out, code := runCtl(t, nil, nil, "--socket", sock, "status"); code != 1 || !strings.Contains(out, "no control socket at") {
		t.Errorf("ctl after the stop: exit %d, %q", code, out)
	}
}

// TestCtlSocketDefaults checks where the control socket goes unless told,
// that gowsgi ctl finds it there, and --no-control-socket.
func TestCtlSocketDefaults(t *testing.T) {
	testdata, err := filepath.Abs("testdata")
	if err != nil {
		t.Fatal(err)
	}
	// start runs a server with XDG_RUNTIME_DIR set to xdg ("" unset) in
	// the directory wd.
	start := func(xdg, wd string, flags ...string) *server {
		t.Helper()
		s := &server{log: &syncbuf.Buffer{}, done: make(chan struct{}), addr: freePort(t)}
		args := append([]string{"serve", "--bind", s.addr, "--chdir", testdata}, flags...)
		s.cmd = exec.Command(binary, append(args, "e2eapp:app")...)
		s.cmd.Dir = wd
		s.cmd.Env = append(slices.DeleteFunc(os.Environ(), func(kv string) bool { return strings.HasPrefix(kv, "XDG_RUNTIME_DIR=") }),
			"XDG_RUNTIME_DIR="+xdg)
		s.start(t)
		s.waitReady(t)
		return s
	}

	xdg := t.TempDir()
	s := start(xdg, t.TempDir())
	want := filepath.Join(xdg, "gowsgi-"+strconv.Itoa(s.cmd.Process.Pid)+".ctl")
	if fi, err := os.Lstat(want); err != nil || fi.Mode() != os.ModeSocket|0o600 {
		t.Fatalf("default control socket %s: %v", want, err)
	}
	if out, code := runCtl(t, []string{"XDG_RUNTIME_DIR=" + xdg, "GOWSGI_CONTROL_SOCKET="}, nil, "status", "--json"); code != 0 || !strings.Contains(out, `"pid":`+strconv.Itoa(s.cmd.Process.Pid)) {
		t.Errorf("ctl status finding %s: exit %d, %q", want, code, out)
	}

	wd := t.TempDir()
	s2 := start("", wd)
	if fi, err := os.Lstat(filepath.Join(wd, "gowsgi.ctl")); err != nil || fi.Mode() != os.ModeSocket|0o600 {
		t.Fatalf("./gowsgi.ctl without XDG_RUNTIME_DIR: %v", err)
	}
	cmd := exec.Command(binary, "ctl", "status", "--json")
	cmd.Dir = wd
	cmd.Env = append(os.Environ(), "XDG_RUNTIME_DIR=", "GOWSGI_CONTROL_SOCKET=")
	if out, err := cmd.CombinedOutput(); err != nil || !strings.Contains(string(out), `"pid":`+strconv.Itoa(s2.cmd.Process.Pid)) {
		t.Errorf("ctl status in %s: %v, %q", wd, err, out)
	}

	noneDir := t.TempDir()
	s3 := start(noneDir, t.TempDir(), "--no-control-socket")
	if entries, _ := os.ReadDir(noneDir); len(entries) != 0 {
		t.Errorf("--no-control-socket made %v", entries)
	}
	if out, code := runCtl(t, []string{"XDG_RUNTIME_DIR=" + noneDir, "GOWSGI_CONTROL_SOCKET="}, nil, "status"); code != 1 || !strings.Contains(out, "no control socket found") {
		t.Errorf("ctl with no socket: exit %d, %q", code, out)
	}
	for _, srv := range []*server{s, s2, s3} {
		srv.cmd.Process.Signal(syscall.SIGTERM)
		if code := srv.wait(t, 30*time.Second); code != 0 {
			t.Errorf("exit status %d", code)
		}
	}
	if _, err := os.Lstat(want); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("%s after the stop: %v", want, err)
	}
	if _, err := os.Lstat(filepath.Join(wd, "gowsgi.ctl")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("./gowsgi.ctl after the stop: %v", err)
	}
}

// TestCtlDumpWhileHoldingGIL dumps a worker whose request is stuck in C
// code holding the GIL: faulthandler needs no GIL, so the dump shows where.
func TestCtlDumpWhileHoldingGIL(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "server.ctl")
	s, dir := startStuckServer(t, "--graceful-timeout", "3", "--control-socket", sock)
	c := s.dial(t)
	pid := c.pidOn(t)
	c.send(t, "GET /regex HTTP/1.1\r\nHost: t\r\n\r\n")
	waitEntered(t, dir, pid)
	// The watchdog gives up on the request 5 s after it entered (--timeout
	// 2 and 3 s of grace); until then it holds the GIL in re.match.
	dump := ctlAt(t, sock, "dump", pid)
	if !strings.Contains(dump, "stuck.py") || !strings.Contains(dump, "in app") {
		t.Errorf("dump of worker %s stuck in re.match does not show the app:\n%s", pid, dump)
	}
}
