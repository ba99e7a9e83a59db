package prefork

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// writePIDFile writes this process's id to path, replacing the file
// atomically. It refuses if the file names another process that is alive:
// another supervisor probably runs with the same configuration.
func writePIDFile(path string) error {
	if pid, err := readPIDFile(path); err == nil && pid != os.Getpid() && !processGone(pid) {
		return fmt.Errorf("prefork: pid file %s names pid %d, which is running; is another server running?", path, pid)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("prefork: pid file: %w", err)
	}
	_, err = fmt.Fprintf(tmp, "%d\n", os.Getpid())
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(tmp.Name(), 0o644)
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("prefork: pid file: %w", err)
	}
	return nil
}

// removePIDFile removes the pid file at path if it still names this
// process: a file another supervisor has taken over is left alone.
func removePIDFile(path string) error {
	pid, err := readPIDFile(path)
	if errors.Is(err, fs.ErrNotExist) || err == nil && pid != os.Getpid() {
		return nil
	}
	return os.Remove(path)
}

// readPIDFile reads the process id in a pid file.
func readPIDFile(path string) (int, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid < 1 {
		return 0, fmt.Errorf("pid file %s holds %q, not a process id", path, b)
	}
	return pid, nil
}

// processGone reports whether pid has exited (a zombie counts as exited:
// reaping an orphan is its new parent's business).
func processGone(pid int) bool {
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return true
	}
	// The state follows the parenthesised command name.
	fields := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+1:]))
	return len(fields) > 0 && (fields[0] == "Z" || fields[0] == "X")
}
