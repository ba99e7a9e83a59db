package control

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// DefaultPath is where the server with process id pid puts its control
// socket unless told: gowsgi-PID.ctl in $XDG_RUNTIME_DIR (a per-user
// directory), or gowsgi.ctl in the working directory when that is unset.
func DefaultPath(pid int) string {
	if dir := os.Getenv("XDG_RUNTIME_DIR"); dir != "" {
		return filepath.Join(dir, "gowsgi-"+strconv.Itoa(pid)+".ctl")
	}
	return "gowsgi.ctl"
}

// FindSocket finds the control socket of the one server running with
// DefaultPath: gowsgi-PID.ctl in $XDG_RUNTIME_DIR whose PID is alive, or
// gowsgi.ctl in the working directory. None, or more than one, is an error
// that says to give the path.
func FindSocket() (string, error) {
	var found []string
	dir := os.Getenv("XDG_RUNTIME_DIR")
	if dir != "" {
		paths, _ := filepath.Glob(filepath.Join(dir, "gowsgi-*.ctl"))
		for _, p := range paths {
			pid, err := strconv.Atoi(strings.TrimSuffix(strings.TrimPrefix(filepath.Base(p), "gowsgi-"), ".ctl"))
			if err == nil && syscall.Kill(pid, 0) != syscall.ESRCH {
				found = append(found, p)
			}
		}
	}
	if fi, err := os.Stat("gowsgi.ctl"); err == nil && fi.Mode().Type() == os.ModeSocket {
		found = append(found, "gowsgi.ctl")
	}
	switch len(found) {
	case 1:
		return found[0], nil
	case 0:
		where := "./gowsgi.ctl"
		if dir != "" {
			where = filepath.Join(dir, "gowsgi-PID.ctl") + " or " + where
		}
		return "", fmt.Errorf("no control socket found at %s: is gowsgi serve running? Give its --control-socket with --socket", where)
	}
	return "", fmt.Errorf("several servers' control sockets: %s; choose one with --socket", strings.Join(found, ", "))
}

// Call sends req to the control socket at path and returns the result of
// its reply, decoded into result (unless nil). The version is set for the
// caller. Errors say what went wrong in a user's terms: no server at the
// socket, permission denied, or the server's refusal.
func Call(path string, req Request, result any, timeout time.Duration) error {
	req.Version = Version
	c, err := net.DialTimeout("unix", path, timeout)
	if err != nil {
		return dialError(path, err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(timeout))
	b, err := json.Marshal(req)
	if err != nil {
		return err
	}
	if _, err := c.Write(append(b, '\n')); err != nil {
		return fmt.Errorf("sending to %s: %w", path, err)
	}
	line, err := bufio.NewReader(c).ReadBytes('\n')
	if len(line) == 0 {
		if errors.Is(err, io.EOF) {
			return fmt.Errorf("the server at %s closed the connection without an answer", path)
		}
		return fmt.Errorf("waiting for the answer from %s: %w", path, err)
	}
	var reply Reply
	if err := json.Unmarshal(line, &reply); err != nil {
		return fmt.Errorf("the answer from %s is not a control reply: %w", path, err)
	}
	if !reply.OK {
		return &ServerError{Message: reply.Error}
	}
	if result != nil {
		if err := json.Unmarshal(reply.Result, result); err != nil {
			return fmt.Errorf("the result from %s: %w", path, err)
		}
	}
	return nil
}

// ServerError is a command the server refused, with its reason.
type ServerError struct{ Message string }

func (e *ServerError) Error() string { return e.Message }

// dialError says why connecting to the control socket failed.
func dialError(path string, err error) error {
	switch {
	case errors.Is(err, syscall.ENOENT):
		return fmt.Errorf("no control socket at %s: is gowsgi serve running, with this --control-socket?", path)
	case errors.Is(err, syscall.ECONNREFUSED):
		return fmt.Errorf("no server listens at %s (a socket left by a server that died?)", path)
	case errors.Is(err, syscall.EACCES), errors.Is(err, syscall.EPERM):
		return fmt.Errorf("permission denied connecting to %s: the control socket (mode 0600) is for the user who started the server", path)
	case errors.Is(err, syscall.ENOTSOCK):
		return fmt.Errorf("%s is not a socket", path)
	}
	return fmt.Errorf("connecting to %s: %w", path, err)
}
