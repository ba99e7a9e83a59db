package prefork

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// unixPrefix marks a unix socket address, in Listen's argument and in the
// name of the file it returns.
const unixPrefix = "unix:"

// Listen binds one address and returns the listening socket as a file ready
// to pass to workers through Supervisor.Listeners.
//
// addr is "HOST:PORT" (HOST may be empty for all interfaces, and PORT 0 for
// any free port), "[IPv6]:PORT", or "unix:PATH". For a unix socket a stale
// socket file left by a dead server is removed first, but a live one (a
// connection to it succeeds) is an "address in use" error, and a path that is
// not a socket is never removed. "unix:@NAME" is a Linux abstract socket.
//
// The returned file's Name is the bound address: "127.0.0.1:41234" with the
// actual port, or "unix:" and the absolute socket path. Supervisor.Run removes
// the socket file of every listener named "unix:/..." when it returns.
func Listen(addr string) (*os.File, error) {
	if path, ok := strings.CutPrefix(addr, unixPrefix); ok {
		return listenUnix(path)
	}
	if _, _, err := net.SplitHostPort(addr); err != nil {
		return nil, fmt.Errorf("prefork: listen on %q: want HOST:PORT, [IPv6]:PORT or unix:PATH: %w", addr, err)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("prefork: listen on %s: %w", addr, err)
	}
	defer ln.Close()
	return passableFile(ln.(*net.TCPListener), ln.Addr().String())
}

// listenUnix binds a unix stream socket at path.
func listenUnix(path string) (*os.File, error) {
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
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		return nil, fmt.Errorf("prefork: listen on %s: %w", unixPrefix+path, err)
	}
	// The socket outlives this listener in the returned file and in workers.
	ln.SetUnlinkOnClose(false)
	defer ln.Close()
	return passableFile(ln, name)
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
