package main

// The embedded interpreter behaves like Python: threads the app starts keep
// running, finalization runs atexit handlers and weakref finalizers,
// sys.argv, sys.executable and __main__ are sane, multiprocessing's spawn
// works, and a virtualenv's packages win over the system's.

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

func (s *server) ticks(t *testing.T) int {
	t.Helper()
	code, body := s.get(t, "/ticks")
	n, err := strconv.Atoi(body)
	if code != 200 || err != nil {
		t.Fatalf("GET /ticks = %d %q", code, body)
	}
	return n
}

// TestInterpreterAppThreadsRun: a thread started at import (ticking every
// 10 ms) runs while the server is idle, with every executor parked, and
// while requests keep the executors busy.
func TestInterpreterAppThreadsRun(t *testing.T) {
	s := startServer(t, "interpapp:app", "--threads", "2")

	before := s.ticks(t)
	time.Sleep(time.Second)
	if idle := s.ticks(t) - before; idle < 20 {
		t.Errorf("the app's thread ticked %d times in 1 s of idle server, want about 100", idle)
	}

	stop := make(chan struct{})
	var wg sync.WaitGroup
	var served sync.Map
	for i := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			n := 0
			for {
				select {
				case <-stop:
					served.Store(i, n)
					return
				default:
				}
				if code, body := s.get(t, "/spin"); code != 200 || body != "spun" {
					t.Errorf("GET /spin = %d %q", code, body)
					return
				}
				n++
			}
		}()
	}
	before = s.ticks(t)
	time.Sleep(time.Second)
	busy := s.ticks(t) - before
	close(stop)
	wg.Wait()
	total := 0
	served.Range(func(_, v any) bool { total += v.(int); return true })
	if busy < 20 || total < 20 {
		t.Errorf("under load (%d requests in 1 s) the app's thread ticked %d times, want about 100", total, busy)
	}
}

// TestInterpreterFinalizesOnGracefulStop: SIGTERM lets the worker finalize
// Python, so atexit handlers and weakref finalizers run in it.
func TestInterpreterFinalizesOnGracefulStop(t *testing.T) {
	markers := t.TempDir()
	s := startServer(t, "interpapp:app", "--env", "INTERP_MARKERS="+markers)
	workers := childPIDs(t, s.cmd.Process.Pid)
	if len(workers) != 1 {
		t.Fatalf("workers %v, want one", workers)
	}
	if code, _ := s.get(t, "/ticks"); code != 200 {
		t.Fatalf("GET /ticks = %d", code)
	}
	s.cmd.Process.Signal(syscall.SIGTERM)
	if code := s.wait(t, 30*time.Second); code != 0 {
		t.Errorf("exit status %d after SIGTERM, want 0", code)
	}
	for _, name := range []string{"atexit", "finalize"} {
		b, err := os.ReadFile(filepath.Join(markers, name))
		if err != nil {
			t.Errorf("no %s marker: the worker did not run it at finalization (%v)", name, err)
			continue
		}
		if pid, _ := strconv.Atoi(string(b)); pid != workers[0] {
			t.Errorf("%s ran in pid %s, want the worker %d", name, b, workers[0])
		}
	}
}

// sysInfo is interpapp's /sys.
type sysInfo struct {
	Argv                []string `json:"argv"`
	Executable          string   `json:"executable"`
	Version             string   `json:"version"`
	ChildVersion        string   `json:"child_version"`
	Prefix              string   `json:"prefix"`
	Stdlib              string   `json:"stdlib"`
	MainModule          string   `json:"main_module"`
	MainName            string   `json:"main_name"`
	MainThreadName      string   `json:"main_thread_name"`
	LoadedInMainThread  bool     `json:"loaded_in_main_thread"`
	ServingInMainThread bool     `json:"serving_in_main_thread"`
	Threads             []string `json:"threads"`
}

// TestInterpreterSysLooksSane: sys.argv is the server's command line,
// sys.executable is the interpreter gowsgi embeds (the same version, so
// subprocess and multiprocessing run matching code), the standard library
// is that interpreter's, __main__ is a module, and the app was imported on
// Python's main thread but is served from executor threads.
func TestInterpreterSysLooksSane(t *testing.T) {
	s := startServer(t, "interpapp:app")
	code, body := s.get(t, "/sys")
	var info sysInfo
	if err := json.Unmarshal([]byte(body), &info); code != 200 || err != nil {
		t.Fatalf("GET /sys = %d %q (%v)", code, body, err)
	}
	if len(info.Argv) == 0 || !strings.HasPrefix(filepath.Base(info.Argv[0]), "gowsgi") {
		t.Errorf("sys.argv = %q, want the gowsgi command line", info.Argv)
	}
	if fi, err := os.Stat(info.Executable); err != nil || fi.Mode()&0o111 == 0 ||
		strings.HasPrefix(filepath.Base(info.Executable), "gowsgi") {
		t.Errorf("sys.executable = %q, want an executable Python interpreter", info.Executable)
	}
	if info.ChildVersion != info.Version {
		t.Errorf("subprocess [sys.executable] runs Python %q, the app runs %q", info.ChildVersion, info.Version)
	}
	if !strings.HasPrefix(info.Stdlib, info.Prefix+"/") {
		t.Errorf("the standard library %s is not under sys.prefix %s", info.Stdlib, info.Prefix)
	}
	if out, err := exec.Command(binary, "version").Output(); err != nil ||
		!strings.Contains(string(out), "Python "+strings.Fields(info.Version)[0]) {
		t.Errorf("gowsgi version says %q, the app runs Python %q", out, info.Version)
	}
	if info.MainModule != "module" || info.MainName != "__main__" || info.MainThreadName != "MainThread" {
		t.Errorf("__main__ is a %s named %q, main thread %q; want a module named __main__ and MainThread",
			info.MainModule, info.MainName, info.MainThreadName)
	}
	if !info.LoadedInMainThread || info.ServingInMainThread {
		t.Errorf("imported in the main thread %v, served in it %v; want true, false",
			info.LoadedInMainThread, info.ServingInMainThread)
	}
}

// TestInterpreterMultiprocessingSpawn: a spawn-method pool started from a
// request runs sys.executable, imports the app's module in its children
// and returns their results.
func TestInterpreterMultiprocessingSpawn(t *testing.T) {
	s := startServer(t, "interpapp:app")
	if code, body := s.get(t, "/spawn"); code != 200 || body != "1,4,9,16" {
		t.Errorf("GET /spawn = %d %q, want the squares from a spawn pool", code, body)
	}
	// the pool's children are gone; the worker serves on
	if code, _ := s.get(t, "/ticks"); code != 200 {
		t.Errorf("GET /ticks after the pool = %d", code)
	}
}

// TestVenvSystemSitePackages: an app in a virtualenv made with Debian's
// `python3 -m venv --system-site-packages` runs with --virtualenv; a package
// installed in the venv wins over Debian's copy, and the system's packages
// stay importable.
func TestVenvSystemSitePackages(t *testing.T) {
	if xy := pythonXY(t); xy != "python3.11" {
		t.Skipf("gowsgi embeds %s; the venv is made with Debian's python3.11", xy)
	}
	venv := filepath.Join(t.TempDir(), "venv")
	if out, err := exec.Command("/usr/bin/python3", "-m", "venv", "--system-site-packages", "--without-pip", venv).CombinedOutput(); err != nil {
		t.Fatalf("python3 -m venv: %v\n%s (python3-venv is in make deps)", err, out)
	}
	site := filepath.Join(venv, "lib", "python3.11", "site-packages")
	if err := os.WriteFile(filepath.Join(site, "bottle.py"), []byte("# the venv's bottle\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	s := startServer(t, "interpapp:app", "--virtualenv", venv)
	code, body := s.get(t, "/which")
	want := "bottle=" + filepath.Join(site, "bottle.py") + " flask=/usr/lib/python3/dist-packages/flask/__init__.py"
	if code != 200 || body != want {
		t.Errorf("GET /which = %d %q, want %q", code, body, want)
	}
}
