package prefork

import (
	"fmt"
	"os"
	"syscall"
)

// unlinkedFile creates a file in os.TempDir(), named after pattern as
// os.CreateTemp does, and removes its name at once: it lives as long as a
// descriptor of it is open, in this process or a worker that inherited it.
func unlinkedFile(pattern string) (*os.File, error) {
	f, err := os.CreateTemp("", pattern)
	if err != nil {
		return nil, err
	}
	os.Remove(f.Name())
	return f, nil
}

// passableFile returns a close-on-exec duplicate of c's descriptor, named
// name, that can be handed to exec.Cmd.ExtraFiles any number of times.
//
// os/exec calls Fd on every extra file, and for a file that came from the net
// package (net.TCPListener.File and friends) Fd switches the descriptor to
// blocking mode. The mode belongs to the open file description, which the
// parent shares with every running worker, so starting a replacement worker
// would make the other workers' listening sockets blocking; a worker then
// stuck in accept(2) cannot close its listener during a graceful stop. A file
// made by os.NewFile is never switched by Fd, so we duplicate the descriptor
// and wrap it that way.
func passableFile(c syscall.Conn, name string) (*os.File, error) {
	rc, err := c.SyscallConn()
	if err != nil {
		return nil, fmt.Errorf("prefork: %s: %w", name, err)
	}
	var dup uintptr
	var errno syscall.Errno
	if err := rc.Control(func(fd uintptr) {
		dup, _, errno = syscall.Syscall(syscall.SYS_FCNTL, fd, syscall.F_DUPFD_CLOEXEC, 0)
	}); err != nil {
		return nil, fmt.Errorf("prefork: %s: %w", name, err)
	}
	if errno != 0 {
		return nil, fmt.Errorf("prefork: %s: %w", name, os.NewSyscallError("fcntl", errno))
	}
	return os.NewFile(dup, name), nil
}
