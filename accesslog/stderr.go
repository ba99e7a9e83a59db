package accesslog

import (
	"os"
	"syscall"
)

// RedirectStderr makes file descriptor 2 a duplicate of f (dup3), for output
// written to fd 2 directly rather than through a Go logger, such as
// wsgi.errors. Prefer LogFile.RedirectStderr, which survives Reopen. It does
// nothing when f is fd 2.
func RedirectStderr(f *os.File) error {
	return redirectFD(f, 2)
}

// redirectFD makes file descriptor fd a duplicate of f, unless it is f.
func redirectFD(f *os.File, fd int) error {
	if int(f.Fd()) == fd {
		return nil
	}
	if err := syscall.Dup3(int(f.Fd()), fd, 0); err != nil {
		return os.NewSyscallError("dup3", err)
	}
	return nil
}
