package prefork

import (
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestCredentialDropsPrivileges runs the workers as nobody while the
// supervisor stays root.
func TestCredentialDropsPrivileges(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to change user")
	}
	const nobody = 65534
	// nobody must be able to run the executable: the go tool's build
	// directory is private.
	dir, err := os.MkdirTemp("", "prefork-credential-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	exe := filepath.Join(dir, "worker")
	if err := copyExecutable(exe); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	ln, err := Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	s := &Supervisor{
		Workers:    1,
		Listeners:  []*os.File{ln},
		Path:       exe,
		Env:        []string{quickRaceExit},
		Credential: &syscall.Credential{Uid: nobody, Gid: nobody},
	}
	lt, wait := startInProcess(t, s)
	w := lt.await(t, "worker ready", nil, 10*time.Second)
	status, err := os.ReadFile("/proc/" + strconv.Itoa(w.PID) + "/status")
	if err != nil {
		t.Fatal(err)
	}
	checked := 0
	for _, line := range strings.Split(string(status), "\n") {
		if strings.HasPrefix(line, "Uid:") || strings.HasPrefix(line, "Gid:") {
			checked++
			if ids := strings.Fields(line)[1:]; len(ids) != 4 || strings.Count(strings.Join(ids, " "), "65534") != 4 {
				t.Errorf("worker %s, want 65534 throughout", line)
			}
		}
	}
	if checked != 2 {
		t.Errorf("found %d Uid and Gid lines in the worker's status, want 2", checked)
	}
	if pid, err := getPID(httpClient(nil), "http://"+ln.Name()+"/"); err != nil || pid != w.PID {
		t.Errorf("answered by pid %d (%v), want %d", pid, err, w.PID)
	}
	if os.Geteuid() != 0 {
		t.Error("the supervisor lost root")
	}
	syscall.Kill(os.Getpid(), syscall.SIGTERM)
	if err := wait(10 * time.Second); err != nil {
		t.Fatal(err)
	}
}

// copyExecutable copies the running test binary to path, executable by
// everyone.
func copyExecutable(path string) error {
	src, err := os.Open("/proc/self/exe")
	if err != nil {
		return err
	}
	defer src.Close()
	dst, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_EXCL, 0o755)
	if err != nil {
		return err
	}
	_, err = io.Copy(dst, src)
	if cerr := dst.Close(); err == nil {
		err = cerr
	}
	return err
}
