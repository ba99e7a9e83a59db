package accesslog

import (
	"fmt"
	"os"
	"sync"
)

// LogFile is a log destination named by a path that can be reopened in
// place, for log rotation: rename the file, then Reopen (gunicorn does it on
// SIGUSR1). Writes are serialised with Reopen, so each goes wholly to the old
// file or wholly to the new one. The path "-" means the standard stream the
// file was made for (stdout for the access log, stderr for the error log),
// which Reopen and Close leave alone.
type LogFile struct {
	path string
	std  bool // path is "-"

	mu       sync.Mutex
	f        *os.File
	redirect []int // descriptors made duplicates of f (RedirectStderr, CaptureStdout): Reopen re-applies them
}

// openLogFile opens path for appending, creating it with mode 0644; "-"
// means std.
func openLogFile(path string, std *os.File) (*LogFile, error) {
	if path == "-" {
		return &LogFile{path: path, std: true, f: std}, nil
	}
	f, err := openAppend(path)
	if err != nil {
		return nil, err
	}
	return &LogFile{path: path, f: f}, nil
}

// openAppend opens path the way every log file is opened.
func openAppend(path string) (*os.File, error) {
	return os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
}

// Write writes p to the current file.
func (l *LogFile) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.f.Write(p)
}

// Reopen opens the path again and switches writes to the new file, then
// closes the old one. If the open fails, writes continue to the old file.
// It does nothing for "-".
func (l *LogFile) Reopen() error {
	if l.std {
		return nil
	}
	f, err := openAppend(l.path)
	if err != nil {
		return fmt.Errorf("reopen log: %w", err)
	}
	l.mu.Lock()
	for _, fd := range l.redirect {
		if err := redirectFD(f, fd); err != nil {
			l.mu.Unlock()
			f.Close()
			return err
		}
	}
	old := l.f
	l.f = f
	l.mu.Unlock()
	return old.Close()
}

// RedirectStderr makes file descriptor 2 a duplicate of the current file, so
// that what C code and the Python runtime write to stderr lands in the log
// too, and keeps it so across Reopen. It does nothing when the file is
// stderr already.
func (l *LogFile) RedirectStderr() error {
	return l.redirectFD(2)
}

// CaptureStdout makes file descriptor 1 a duplicate of the current file too,
// so that what the application prints lands in the log (gunicorn's
// capture_output), and keeps it so across Reopen. It does nothing when the
// file is "-": the error log is stderr, and stdout stays stdout, as under
// gunicorn.
func (l *LogFile) CaptureStdout() error {
	if l.std {
		return nil
	}
	return l.redirectFD(1)
}

func (l *LogFile) redirectFD(fd int) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := redirectFD(l.f, fd); err != nil {
		return err
	}
	l.redirect = append(l.redirect, fd)
	return nil
}

// Close closes the file; it leaves stdout and stderr open.
func (l *LogFile) Close() error {
	if l.std {
		return nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.f.Close()
}
