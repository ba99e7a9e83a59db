package prefork

import (
	"net"
	"syscall"
	"testing"
)

// TestPassableFileKeepsSocketNonblocking checks that handing a listener to
// os/exec (which calls Fd) does not switch the socket the workers share to
// blocking mode.
func TestPassableFileKeepsSocketNonblocking(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	f, err := ln.(*net.TCPListener).File() // a file whose own Fd would switch the mode
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	p, err := passableFile(f, "listener")
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if p.Name() != "listener" {
		t.Errorf("Name() = %q, want %q", p.Name(), "listener")
	}
	p.Fd() // what os/exec does for each ExtraFiles entry

	rc, err := ln.(*net.TCPListener).SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var flags uintptr
	var errno syscall.Errno
	rc.Control(func(fd uintptr) {
		flags, _, errno = syscall.Syscall(syscall.SYS_FCNTL, fd, syscall.F_GETFL, 0)
	})
	if errno != 0 {
		t.Fatal(errno)
	}
	if flags&syscall.O_NONBLOCK == 0 {
		t.Error("the shared socket became blocking")
	}
}
