package prefork

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// unixPrefix marks a unix socket address, in Listen's argument and in the
// name of the file it returns.
const unixPrefix = "unix:"

// ListenConfig holds the socket options of Listen. The zero value is
// Listen's defaults.
type ListenConfig struct {
	// Backlog is the length of the queue of connections not yet accepted;
	// 0 keeps Go's default, the system's limit (net.core.somaxconn).
	Backlog int
	// ReusePort sets SO_REUSEPORT on TCP sockets, so that other processes
	// can bind the same address and the kernel spreads connections.
	ReusePort bool
	// Umask is cleared from the mode of unix socket files, which is
	// 0777 &^ Umask, as gunicorn's --umask: the zero value lets every
	// user connect. It is applied by changing the process umask for the
	// moment of the bind, so listen before starting goroutines that create
	// files.
	Umask int
}

// soReusePort is SO_REUSEPORT on Linux (amd64, arm64 and most others),
// which the syscall package does not define.
const soReusePort = 0xf

// fdPrefix marks an address that names an inherited descriptor.
const fdPrefix = "fd://"

// Listen binds one address with the zero ListenConfig's options:
// ListenConfig{}.Listen(addr).
func Listen(addr string) (*os.File, error) {
	return ListenConfig{}.Listen(addr)
}

// Listen binds one address and returns the listening socket as a file ready
// to pass to workers through Supervisor.Listeners.
//
// addr is "HOST:PORT" (HOST may be empty for all interfaces, and PORT 0 for
// any free port), "[IPv6]:PORT", "unix:PATH", or "fd://N" for a socket that
// already listens on descriptor N (opened by a wrapper; Listen takes it
// over and closes N, and the options in lc do not apply). For a unix socket
// a stale socket file left by a dead server is removed first, but a live
// one (a connection to it succeeds) is an "address in use" error, and a path
// that is not a socket is never removed. "unix:@NAME" is a Linux abstract
// socket.
//
// The returned file's Name is the bound address: "127.0.0.1:41234" with the
// actual port, or "unix:" and the absolute socket path; for fd://N, the
// bound address of a TCP socket, else "fd://N". Supervisor.Run removes the
// socket file of every listener named "unix:/..." when it returns.
func (lc ListenConfig) Listen(addr string) (*os.File, error) {
	if path, ok := strings.CutPrefix(addr, unixPrefix); ok {
		return lc.listenUnix(path)
	}
	if n, ok := strings.CutPrefix(addr, fdPrefix); ok {
		return listenFD(n)
	}
	if _, _, err := net.SplitHostPort(addr); err != nil {
		return nil, fmt.Errorf("prefork: listen on %q: want HOST:PORT, [IPv6]:PORT, unix:PATH or fd://N: %w", addr, err)
	}
	nlc := net.ListenConfig{Control: lc.control}
	ln, err := nlc.Listen(context.Background(), "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("prefork: listen on %s: %w", addr, err)
	}
	defer ln.Close()
	if err := lc.setBacklog(ln.(*net.TCPListener)); err != nil {
		return nil, fmt.Errorf("prefork: listen on %s: %w", addr, err)
	}
	return passableFile(ln.(*net.TCPListener), ln.Addr().String())
}

// control sets the socket options wanted before bind.
func (lc ListenConfig) control(network, address string, c syscall.RawConn) error {
	if !lc.ReusePort {
		return nil
	}
	var serr error
	if err := c.Control(func(fd uintptr) {
		serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, soReusePort, 1)
	}); err != nil {
		return err
	}
	return os.NewSyscallError("setsockopt SO_REUSEPORT", serr)
}

// setBacklog applies Backlog by calling listen(2) again, which Linux allows
// on a listening socket to change its queue.
func (lc ListenConfig) setBacklog(c syscall.Conn) error {
	if lc.Backlog <= 0 {
		return nil
	}
	rc, err := c.SyscallConn()
	if err != nil {
		return err
	}
	var lerr error
	if err := rc.Control(func(fd uintptr) { lerr = syscall.Listen(int(fd), lc.Backlog) }); err != nil {
		return err
	}
	return os.NewSyscallError("listen", lerr)
}

// listenUnix binds a unix stream socket at path.
func (lc ListenConfig) listenUnix(path string) (*os.File, error) {
	if path == "" {
		return nil, errors.New("prefork: listen on unix: empty socket path")
	}
	name := unixPrefix + path
	if !isAbstract(path) {
		if err := removeStaleSocket(path); err != nil {
			return nil, err
		}
		abs, err := filepath.Abs(path)
		if err != nil {
			return nil, fmt.Errorf("prefork: listen on %s: %w", name, err)
		}
		// Absolute, so Run can remove it even if the working directory changes.
		name = unixPrefix + abs
	}
	old := syscall.Umask(lc.Umask)
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	syscall.Umask(old)
	if err != nil {
		return nil, fmt.Errorf("prefork: listen on %s: %w", unixPrefix+path, err)
	}
	// The socket outlives this listener in the returned file and in workers.
	ln.SetUnlinkOnClose(false)
	defer ln.Close()
	if err := lc.setBacklog(ln); err != nil {
		return nil, fmt.Errorf("prefork: listen on %s: %w", name, err)
	}
	return passableFile(ln, name)
}

// listenFD takes over the listening socket on descriptor n (decimal).
func listenFD(n string) (*os.File, error) {
	fd, err := strconv.Atoi(n)
	if err != nil || fd < firstInheritedFD {
		return nil, fmt.Errorf("prefork: listen on %s%s: want a descriptor number of at least %d", fdPrefix, n, firstInheritedFD)
	}
	f, err := inheritedSocket(fd, fdPrefix+n)
	if err != nil {
		return nil, fmt.Errorf("prefork: listen on %s%s: %w", fdPrefix, n, err)
	}
	return f, nil
}

// inheritedSocket checks that fd is a listening stream socket and returns
// a passable duplicate of it, named for its TCP address or else name, and
// closes fd.
func inheritedSocket(fd int, name string) (*os.File, error) {
	acc, err := syscall.GetsockoptInt(fd, syscall.SOL_SOCKET, syscall.SO_ACCEPTCONN)
	if err != nil {
		return nil, fmt.Errorf("not a socket: %w", err)
	}
	if acc == 0 {
		return nil, errors.New("the socket does not listen")
	}
	if sa, err := syscall.Getsockname(fd); err == nil {
		switch sa := sa.(type) {
		case *syscall.SockaddrInet4:
			name = net.JoinHostPort(net.IP(sa.Addr[:]).String(), strconv.Itoa(sa.Port))
		case *syscall.SockaddrInet6:
			name = net.JoinHostPort(net.IP(sa.Addr[:]).String(), strconv.Itoa(sa.Port))
		}
	}
	orig := os.NewFile(uintptr(fd), name)
	defer orig.Close()
	return passableFile(orig, name)
}

// isAbstract reports whether a unix socket path names a Linux abstract
// socket, which has no file.
func isAbstract(path string) bool {
	return strings.HasPrefix(path, "@")
}

// removeStaleSocket removes the socket file at path if no server accepts
// connections on it.
func removeStaleSocket(path string) error {
	fi, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("prefork: listen on unix:%s: %w", path, err)
	}
	if fi.Mode().Type() != fs.ModeSocket {
		return fmt.Errorf("prefork: listen on unix:%s: file exists and is not a socket", path)
	}
	conn, err := net.DialTimeout("unix", path, time.Second)
	if err == nil {
		conn.Close()
		return fmt.Errorf("prefork: listen on unix:%s: address in use (a server accepts connections on it)", path)
	}
	if !errors.Is(err, syscall.ECONNREFUSED) {
		return fmt.Errorf("prefork: listen on unix:%s: cannot tell whether the socket is in use: %w", path, err)
	}
	if err := os.Remove(path); err != nil {
		return fmt.Errorf("prefork: listen on unix:%s: removing stale socket: %w", path, err)
	}
	return nil
}

// removeSocketFile removes the socket file of a listener that Listen named
// "unix:/PATH"; other listeners are left alone.
func removeSocketFile(name string) error {
	path, ok := strings.CutPrefix(name, unixPrefix)
	if !ok || isAbstract(path) {
		return nil
	}
	fi, err := os.Lstat(path)
	if err != nil || fi.Mode().Type() != fs.ModeSocket {
		return nil
	}
	return os.Remove(path)
}
