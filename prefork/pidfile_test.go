package prefork

import (
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestPIDFileLifecycle checks that a supervisor writes its pid file at
// start, over a stale one, and removes it when it stops.
func TestPIDFileLifecycle(t *testing.T) {
	path := filepath.Join(t.TempDir(), "gowsgi.pid")
	if err := os.WriteFile(path, []byte("999999999\n"), 0o644); err != nil { // a pid no process has
		t.Fatal(err)
	}
	ln, err := Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := startSupervisor(t, ln, 1, false, envTestPIDFile+"="+path)
	p.awaitReady(t, 1)
	if pid, err := readPIDFile(path); err != nil || pid != p.cmd.Process.Pid {
		t.Errorf("pid file holds %d (%v), want the supervisor's pid %d", pid, err, p.cmd.Process.Pid)
	}
	p.cmd.Process.Signal(syscall.SIGTERM)
	p.awaitExit(t, 10*time.Second)
	if _, err := os.Stat(path); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("pid file still there after the supervisor exited: %v", err)
	}
}

// TestPIDFileOfLiveProcess checks that Run refuses to start when the pid
// file names another live process, and leaves the file alone.
func TestPIDFileOfLiveProcess(t *testing.T) {
	other := exec.Command("sleep", "60")
	if err := other.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		other.Process.Kill()
		other.Wait()
	}()
	path := filepath.Join(t.TempDir(), "gowsgi.pid")
	content := strconv.Itoa(other.Process.Pid) + "\n"
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	ln, err := Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	s := &Supervisor{Workers: 1, Listeners: []*os.File{ln}, PIDFile: path, Env: []string{quickRaceExit}}
	lt, err := runInProcess(t, s, 5*time.Second)
	if err == nil || !strings.Contains(err.Error(), "is running") {
		t.Errorf("Run() = %v, want an error saying pid %d is running", err, other.Process.Pid)
	}
	if n := lt.count("worker started"); n != 0 {
		t.Errorf("%d workers started", n)
	}
	if b, err := os.ReadFile(path); err != nil || string(b) != content {
		t.Errorf("pid file now holds %q, %v; want it untouched", b, err)
	}
}
