package main

// The server hooks of a gunicorn config file (testdata/hooks_conf.py): each
// hook appends a JSON line with its arguments' values and the pid it ran
// in to $HOOKS_LOG, which the tests read.

import (
	"bufio"
	"debug/elf"
	"encoding/json"
	"fmt"
	"io"
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

// hookRecord is one line of $HOOKS_LOG.
type hookRecord map[string]any

// int reads a number; -1 if absent (null).
func (r hookRecord) int(key string) int {
	if f, ok := r[key].(float64); ok {
		return int(f)
	}
	return -1
}

func (r hookRecord) str(key string) string {
	s, _ := r[key].(string)
	return s
}

// hookLog is the file the config file's hooks write.
type hookLog string

// newHookLog makes the file's path and points the servers the test starts
// at it.
func newHookLog(t *testing.T) hookLog {
	path := filepath.Join(t.TempDir(), "hooks.log")
	t.Setenv("HOOKS_LOG", path)
	return hookLog(path)
}

// records returns the records so far of the named hook that match accepts
// (every one if match is nil).
func (l hookLog) records(t *testing.T, hook string, match func(hookRecord) bool) []hookRecord {
	t.Helper()
	f, err := os.Open(string(l))
	if err != nil {
		return nil
	}
	defer f.Close()
	var out []hookRecord
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var r hookRecord
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("hook log line %q: %v", sc.Text(), err)
		}
		if r.str("hook") == hook && (match == nil || match(r)) {
			out = append(out, r)
		}
	}
	return out
}

// await waits until n records of the named hook match, and returns them.
func (l hookLog) await(t *testing.T, hook string, n int, match func(hookRecord) bool) []hookRecord {
	t.Helper()
	var got []hookRecord
	eventually(t, 60*time.Second, fmt.Sprintf("%d %s records", n, hook), func() bool {
		got = l.records(t, hook, match)
		return len(got) >= n
	})
	return got
}

// all returns every record, in order.
func (l hookLog) all(t *testing.T) []hookRecord {
	t.Helper()
	b, _ := os.ReadFile(string(l))
	var out []hookRecord
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		var r hookRecord
		if line != "" && json.Unmarshal([]byte(line), &r) == nil {
			out = append(out, r)
		}
	}
	return out
}

// hookWorkerPIDs maps the records' worker_pid values.
func hookWorkerPIDs(rs []hookRecord) []int {
	var pids []int
	for _, r := range rs {
		pids = append(pids, r.int("worker_pid"))
	}
	return sorted(pids)
}

// inPIDs matches the records whose worker_pid is one of pids.
func inPIDs(pids ...int) func(hookRecord) bool {
	return func(r hookRecord) bool { return slices.Contains(pids, r.int("worker_pid")) }
}

// hooksConfDir is a directory holding testdata/hooks_conf.py as
// ./gunicorn.conf.py, with extra appended.
func hooksConfDir(t *testing.T, extra string) string {
	t.Helper()
	dir := t.TempDir()
	conf, err := os.ReadFile("testdata/hooks_conf.py")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "gunicorn.conf.py"), append(conf, extra...), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// startServerIn starts `gowsgi serve` with dir as its working directory,
// where it finds ./gunicorn.conf.py, and waits until it answers.
func startServerIn(t *testing.T, dir, spec string, flags ...string) *server {
	t.Helper()
	s := &server{log: &syncbuf.Buffer{}, done: make(chan struct{}), addr: freePort(t)}
	s.cmd = exec.Command(binary, append(append([]string{"serve", "--bind", s.addr}, flags...), spec)...)
	s.cmd.Dir = dir
	s.start(t)
	s.waitReady(t)
	return s
}

// testdataDir is testdata as an absolute path.
func testdataDir(t *testing.T) string {
	t.Helper()
	d, err := filepath.Abs("testdata")
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// mapsPython reports whether process pid has a Python extension module
// mapped (one is loaded once an interpreter imports json), and whether it
// has libpython mapped.
func mapsPython(t *testing.T, pid int) (extension, libpython bool) {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/maps", pid))
	if err != nil {
		t.Fatal(err)
	}
	return strings.Contains(string(b), ".cpython-"), strings.Contains(string(b), "libpython")
}

// linksLibpython reports whether the binary under test is linked against
// libpython, which the loader then maps into every process it runs,
// Python or not.
func linksLibpython(t *testing.T) bool {
	t.Helper()
	f, err := elf.Open(binary)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	libs, _ := f.ImportedLibraries()
	return slices.ContainsFunc(libs, func(l string) bool { return strings.HasPrefix(l, "libpython") })
}

// TestServerHooks: ./gunicorn.conf.py is found with no -c, and each of its
// hooks runs at its moment with the right values: the supervisor's in the
// hook runner (a child of the supervisor, never the supervisor itself,
// which maps no Python), the workers' in each worker, pre_request and
// post_request on the request's thread. SIGHUP runs the file again, as
// gunicorn re-reads it.
func TestServerHooks(t *testing.T) {
	log := newHookLog(t)
	dir := hooksConfDir(t, "")
	s := startServerIn(t, dir, "e2eapp:app", "--chdir", testdataDir(t), "--workers", "2")
	parent := s.cmd.Process.Pid

	// The supervisor's hooks at start-up: nworkers_changed, on_starting,
	// when_ready, in gunicorn's order, before any worker starts.
	all := log.all(t)
	if len(all) < 3 {
		t.Fatalf("hook records at start-up: %v", all)
	}
	runner := all[0].int("pid")
	for i, want := range []string{"nworkers_changed", "on_starting", "when_ready"} {
		r := all[i]
		if r.str("hook") != want || r.int("pid") != runner || r.int("server_pid") != parent {
			t.Errorf("record %d: %v, want %s in the hook runner %d for server %d", i, r, want, runner, parent)
		}
	}
	if r := all[0]; r.int("new") != 2 || r["old"] != nil {
		t.Errorf("nworkers_changed at start-up: %v, want new 2, old None", r)
	}
	if r := all[1]; r.int("num_workers") != 2 {
		t.Errorf("on_starting: %v, want num_workers 2", r)
	}
	if runner == parent || !slices.Contains(childPIDs(t, parent), runner) {
		t.Fatalf("supervisor hooks ran in pid %d: want a child of the supervisor %d", runner, parent)
	}

	// post_fork before the app is imported, post_worker_init after, in
	// each worker, with its pid and age.
	forks := log.await(t, "post_fork", 2, nil)
	workers := hookWorkerPIDs(forks)
	want := sorted(slices.DeleteFunc(childPIDs(t, parent), func(p int) bool { return p == runner }))
	if !slices.Equal(workers, want) {
		t.Errorf("post_fork in %v, want the workers %v", workers, want)
	}
	var ages []int
	for _, r := range forks {
		ages = append(ages, r.int("age"))
		if r.int("pid") != r.int("worker_pid") || r.int("ppid") != parent || r.int("server_pid") != parent ||
			r.int("num_workers") != 2 || r["booted"] != false {
			t.Errorf("post_fork: %v", r)
		}
	}
	if slices.Sort(ages); !slices.Equal(ages, []int{1, 2}) {
		t.Errorf("worker ages %v, want [1 2]", ages)
	}
	for _, r := range log.await(t, "post_worker_init", 2, nil) {
		if !slices.Contains(workers, r.int("pid")) || r["booted"] != true || r["app_loaded"] != true {
			t.Errorf("post_worker_init: %v", r)
		}
	}
	if !strings.Contains(s.serverLog(), "post_fork says worker") || !strings.Contains(s.serverLog(), "when_ready says the server") {
		t.Errorf("worker.log and server.log lines are not in the error log:\n%s", s.serverLog())
	}

	// pre_request and post_request around a request, on its thread.
	req, _ := http.NewRequest("GET", "http://"+s.addr+"/path/hooked?a=1&b=2", nil)
	req.Header.Set("X-Hook-Test", "yes")
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	isHooked := func(r hookRecord) bool { return r.str("path") == "/path/hooked" }
	post := log.await(t, "post_request", 1, isHooked)[0]
	pre := log.records(t, "pre_request", isHooked)
	if len(pre) != 1 {
		t.Fatalf("pre_request records for the request: %v", pre)
	}
	if r := pre[0]; r.str("method") != "GET" || r.str("query") != "a=1&b=2" || r.str("uri") != "/path/hooked?a=1&b=2" ||
		r["headers"].(map[string]any)["X-HOOK-TEST"] != "yes" || !slices.Contains(workers, r.int("pid")) {
		t.Errorf("pre_request: %v", r)
	}
	if post.str("status") != "200 OK" || post.int("status_code") != 200 || post.str("path_info") != "/path/hooked" ||
		post.str("method") != "GET" || post.int("sent") != len(body) || post.int("pid") != pre[0].int("pid") ||
		post.int("thread") != pre[0].int("thread") {
		t.Errorf("post_request: %v, want 200 OK for /path/hooked, %d bytes, on pre_request's thread %v", post, len(body), pre[0])
	}

	// The supervisor has no interpreter: no extension module mapped, while
	// the hook runner, which imported json, has; and no libpython either,
	// unless the binary links it (then the loader maps it everywhere).
	if ext, lib := mapsPython(t, parent); ext || (lib && !linksLibpython(t)) {
		t.Errorf("the supervisor maps Python: extension module %v, libpython %v", ext, lib)
	}
	if ext, _ := mapsPython(t, runner); !ext {
		t.Errorf("the hook runner maps no extension module: the check above proves nothing")
	}

	// TTIN: nworkers_changed, and the new worker's post_fork knows the count.
	s.cmd.Process.Signal(syscall.SIGTTIN)
	if r := log.await(t, "nworkers_changed", 2, nil)[1]; r.int("new") != 3 || r.int("old") != 2 || r.int("pid") != runner {
		t.Errorf("nworkers_changed after TTIN: %v, want 3 and 2", r)
	}
	third := log.await(t, "post_fork", 3, nil)[2]
	if third.int("age") != 3 || third.int("num_workers") != 3 {
		t.Errorf("post_fork of the third worker: %v, want age 3, num_workers 3", third)
	}
	s.waitWorkers(t, 3)

	// A worker killed: child_exit with its pid and age.
	victim := forks[0]
	syscall.Kill(victim.int("worker_pid"), syscall.SIGKILL)
	exit := log.await(t, "child_exit", 1, nil)[0]
	if exit.int("worker_pid") != victim.int("worker_pid") || exit.int("age") != victim.int("age") ||
		exit["alive"] != false || exit.int("pid") != runner || exit.int("num_workers") != 3 {
		t.Errorf("child_exit: %v, want worker %v", exit, victim)
	}
	log.await(t, "post_worker_init", 4, nil)
	s.waitWorkers(t, 4) // the replacement is ready too

	// HUP: nworkers_changed (as gunicorn, to the same count), on_reload,
	// then the old generation's worker_exit and child_exit.
	old := hookWorkerPIDs(log.records(t, "post_worker_init", nil))
	old = slices.DeleteFunc(old, func(p int) bool { return p == victim.int("worker_pid") })
	f, err := os.OpenFile(filepath.Join(dir, "gunicorn.conf.py"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString("\nRELOADED = True\n")
	f.Close()
	s.cmd.Process.Signal(syscall.SIGHUP)
	reload := log.await(t, "on_reload", 1, nil)[0]
	if reload.int("pid") != runner || reload.int("num_workers") != 3 || reload["reloaded"] != true {
		t.Errorf("on_reload: %v, want in runner %d, 3 workers, from the file as changed", reload, runner)
	}
	if r := log.await(t, "nworkers_changed", 3, nil)[2]; r.int("new") != 3 || r.int("old") != 3 {
		t.Errorf("nworkers_changed on reload: %v, want 3 and 3", r)
	}
	for _, r := range log.await(t, "worker_exit", 3, inPIDs(old...)) {
		if r.int("pid") != r.int("worker_pid") || r.int("server_pid") != parent || r["alive"] != false {
			t.Errorf("worker_exit: %v", r)
		}
	}
	log.await(t, "child_exit", 3, inPIDs(old...))
	if n := len(log.records(t, "worker_int", nil)); n != 0 {
		t.Errorf("worker_int ran %d times on a graceful stop", n)
	}

	// SIGINT: worker_int and worker_exit in each worker, child_exit for
	// each, and on_exit last, in the same runner, its when_ready thread
	// still running.
	eventually(t, 60*time.Second, "the new generation serves alone", func() bool {
		return len(childPIDs(t, parent)) == 4 // 3 workers and the runner
	})
	current := sorted(slices.DeleteFunc(childPIDs(t, parent), func(p int) bool { return p == runner }))
	s.cmd.Process.Signal(syscall.SIGINT)
	if code := s.wait(t, 30*time.Second); code != 0 {
		t.Errorf("exit status %d after SIGINT", code)
	}
	if got := hookWorkerPIDs(log.records(t, "worker_int", nil)); !slices.Equal(got, current) {
		t.Errorf("worker_int in %v, want %v", got, current)
	}
	if got := hookWorkerPIDs(log.records(t, "worker_exit", inPIDs(current...))); !slices.Equal(got, current) {
		t.Errorf("worker_exit on SIGINT in %v, want %v", got, current)
	}
	if got := hookWorkerPIDs(log.records(t, "child_exit", inPIDs(current...))); !slices.Equal(got, current) {
		t.Errorf("child_exit on SIGINT for %v, want %v", got, current)
	}
	all = log.all(t)
	if last := all[len(all)-1]; last.str("hook") != "on_exit" || last.int("pid") != runner || last["ticker_alive"] != true {
		t.Errorf("last record %v, want on_exit in the runner %d with its thread alive", last, runner)
	}
	if _, err := os.Stat(fmt.Sprintf("/proc/%d", runner)); err == nil {
		t.Errorf("the hook runner %d outlived the server", runner)
	}
}

// waitWorkers waits until n workers have said they are ready.
func (s *server) waitWorkers(t *testing.T, n int) {
	t.Helper()
	eventually(t, 60*time.Second, fmt.Sprintf("%d workers ready", n), func() bool {
		return strings.Count(s.serverLog(), "worker ready") >= n
	})
}

// TestServerHooksThatRaise: a hook that raises has its traceback logged
// and the server goes on: pre_request's request is answered 500 (as
// gunicorn answers it), the others change nothing. A hook runner that dies
// is restarted, which the log says, and told when_ready again.
func TestServerHooksThatRaise(t *testing.T) {
	log := newHookLog(t)
	t.Setenv("HOOKS_RAISE", "on_starting,when_ready,nworkers_changed,on_reload,child_exit,post_request,worker_exit")
	s := startServer(t, "e2eapp:app", "-c", "testdata/hooks_conf.py")
	parent := s.cmd.Process.Pid
	runner := log.await(t, "when_ready", 1, nil)[0].int("pid")

	if code, _ := s.get(t, "/pre-request-raises"); code != 500 {
		t.Errorf("a request whose pre_request raised: %d, want 500", code)
	}
	if code, body := s.get(t, "/"); code != 200 || body != "Hello from e2eapp\n" {
		t.Errorf("a request whose post_request raised: %d %q", code, body)
	}
	log.await(t, "post_request", 2, nil)

	s.cmd.Process.Signal(syscall.SIGHUP)
	log.await(t, "worker_exit", 1, nil)
	worker := log.await(t, "post_worker_init", 2, nil)[1].int("pid")
	s.waitWorkers(t, 2)
	syscall.Kill(worker, syscall.SIGKILL)
	log.await(t, "child_exit", 2, nil)
	s.waitWorkers(t, 3)
	if code, _ := s.get(t, "/"); code != 200 {
		t.Errorf("after the hooks raised: %d", code)
	}

	serverLog := s.serverLog()
	for _, want := range []string{
		"Error handling request GET /pre-request-raises", "RuntimeError: boom in pre_request",
		"Exception in post_request hook", "RuntimeError: boom in post_request",
		"Exception in on_starting hook", "Exception in when_ready hook", "Exception in nworkers_changed hook",
		"Exception in on_reload hook", "Exception in child_exit hook", "RuntimeError: boom in child_exit",
		"Exception in worker_exit hook", "RuntimeError: boom in worker_exit", "hooks_conf.py\\\", line",
	} {
		if !strings.Contains(serverLog, want) {
			t.Errorf("the log lacks %q", want)
		}
	}

	// The runner dies: it is restarted, and when_ready runs again in the
	// new one, which then runs the hooks.
	syscall.Kill(runner, syscall.SIGKILL)
	eventually(t, 30*time.Second, "the runner restarted", func() bool {
		return strings.Contains(s.serverLog(), "hook runner restarted")
	})
	if !strings.Contains(s.serverLog(), "the hook runner exited; restarting it") {
		t.Errorf("the runner's death is not logged:\n%s", s.serverLog())
	}
	again := log.await(t, "when_ready", 2, nil)[1]
	if again.int("pid") == runner || again.int("server_pid") != parent {
		t.Errorf("when_ready after the restart: %v, want a new runner for server %d", again, parent)
	}
	s.cmd.Process.Signal(syscall.SIGTTIN)
	if r := log.await(t, "nworkers_changed", 3, nil)[2]; r.int("pid") != again.int("pid") || r.int("new") != 2 {
		t.Errorf("nworkers_changed after the restart: %v, want new 2 in runner %d", r, again.int("pid"))
	}
}

// TestSlowHookDoesNotHoldTheServer: a hook the supervisor waits for
// (when_ready) that does not return is given up on with a warning after a
// bound, and the server serves; the events after it wait in order and run
// once it returns.
func TestSlowHookDoesNotHoldTheServer(t *testing.T) {
	log := newHookLog(t)
	t.Setenv("HOOKS_HOLD", "when_ready")
	s := startServer(t, "e2eapp:app", "-c", "testdata/hooks_conf.py")
	if !strings.Contains(s.serverLog(), `msg="hook still running; going on without it" hooks=`) ||
		!strings.Contains(s.serverLog(), "hook=when_ready") {
		t.Errorf("no warning for the slow when_ready:\n%s", s.serverLog())
	}
	if code, _ := s.get(t, "/"); code != 200 {
		t.Errorf("GET / while when_ready runs: %d", code)
	}
	s.cmd.Process.Signal(syscall.SIGTTIN)
	s.waitWorkers(t, 2)
	if n := len(log.records(t, "nworkers_changed", nil)); n != 1 {
		t.Errorf("%d nworkers_changed records while when_ready runs, want the one before it", n)
	}
	if err := os.WriteFile(string(log)+".release", nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if r := log.await(t, "nworkers_changed", 2, nil)[1]; r.int("new") != 2 || r.int("old") != 1 {
		t.Errorf("nworkers_changed after when_ready returned: %v, want 2 and 1", r)
	}
}

// TestWorkerAbortHook: a request stuck past --timeout where no exception
// reaches it (a sleep in C, the GIL free) makes its worker run
// worker_abort, then worker_exit, before it exits to be replaced.
func TestWorkerAbortHook(t *testing.T) {
	log := newHookLog(t)
	s := startServer(t, "e2eapp:app", "-c", "testdata/hooks_conf.py", "--timeout", "1")
	_, pid := s.get(t, "/pid")
	if code, _ := s.get(t, "/slow?60"); code != 500 {
		t.Errorf("the stuck request: %d, want 500", code)
	}
	abort := log.await(t, "worker_abort", 1, nil)[0]
	if fmt.Sprint(abort.int("pid")) != pid || abort["alive"] != false || abort["aborted"] != true {
		t.Errorf("worker_abort: %v, want in worker %s, not alive, aborted", abort, pid)
	}
	exit := log.await(t, "worker_exit", 1, nil)[0]
	if fmt.Sprint(exit.int("pid")) != pid {
		t.Errorf("worker_exit: %v, want in worker %s", exit, pid)
	}
	if r := log.await(t, "child_exit", 1, nil)[0]; fmt.Sprint(r.int("worker_pid")) != pid {
		t.Errorf("child_exit: %v, want worker %s", r, pid)
	}
	waitReplaced(t, s, pid)
}

// TestBootHookThatRaises: post_worker_init that raises fails the worker's
// boot, as under gunicorn: before any worker served, the server exits 1
// with the traceback.
func TestBootHookThatRaises(t *testing.T) {
	newHookLog(t)
	t.Setenv("HOOKS_RAISE", "post_worker_init")
	s := launch(t, "serve", "--bind", freePort(t), "--chdir", "testdata", "-c", "testdata/hooks_conf.py", "e2eapp:app")
	if code := s.wait(t, 60*time.Second); code != 1 {
		t.Errorf("exit status %d, want 1", code)
	}
	for _, want := range []string{"RuntimeError: boom in post_worker_init", "the post_worker_init hook of", "could not load the application"} {
		if !strings.Contains(s.log.String(), want) {
			t.Errorf("the output lacks %q:\n%s", want, s.log)
		}
	}
}

// TestHookRunnerOnlyWhenNeeded: a config file with worker hooks only starts
// no hook runner: the supervisor's only child is its worker, whose hook ran.
func TestHookRunnerOnlyWhenNeeded(t *testing.T) {
	log := newHookLog(t)
	conf := filepath.Join(t.TempDir(), "workers_only.py")
	body := "import json, os\n\ndef post_worker_init(worker):\n" +
		"    with open(os.environ['HOOKS_LOG'], 'a') as f:\n" +
		"        f.write(json.dumps({'hook': 'post_worker_init', 'pid': os.getpid()}) + '\\n')\n"
	if err := os.WriteFile(conf, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	s := startServer(t, "e2eapp:app", "-c", conf)
	_, pid := s.get(t, "/pid")
	if r := log.await(t, "post_worker_init", 1, nil)[0]; fmt.Sprint(r.int("pid")) != pid {
		t.Errorf("post_worker_init: %v, want in worker %s", r, pid)
	}
	if children := childPIDs(t, s.cmd.Process.Pid); len(children) != 1 {
		t.Errorf("the supervisor has children %v, want its one worker", children)
	}
	if strings.Contains(s.serverLog(), "process of their own") {
		t.Errorf("a hook runner was kept:\n%s", s.serverLog())
	}
}

// TestBrokenConfigFileStopsTheServer: a config file (with hooks) that does
// not run stops the server at start-up, before any hook or worker, with its
// traceback and exit status 2 (a bad configuration, as a bad flag is), as
// it stops gunicorn.
func TestBrokenConfigFileStopsTheServer(t *testing.T) {
	conf := filepath.Join(t.TempDir(), "gunicorn.conf.py")
	if err := os.WriteFile(conf, []byte("def on_starting(server:\n    pass\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	s := launch(t, "serve", "--bind", freePort(t), "--chdir", "testdata", "-c", conf, "e2eapp:app")
	if code := s.wait(t, 60*time.Second); code != 2 {
		t.Errorf("exit status %d, want 2", code)
	}
	for _, want := range []string{"SyntaxError", "gunicorn.conf.py failed"} {
		if !strings.Contains(s.log.String(), want) {
			t.Errorf("the output lacks %q:\n%s", want, s.log)
		}
	}
}
