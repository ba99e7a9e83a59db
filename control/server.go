package control

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/gowsgi/gowsgi/prefork"
)

// Target is what a Server operates: a *prefork.Supervisor, whose methods
// of these names run each command on its loop.
type Target interface {
	Status() (prefork.Status, error)
	Reload() error
	SetWorkers(n int) (was int, err error)
	Stop() error
	ReopenLogs() error
	KillWorker(pid int) (id int, err error)
	Dump(pid int) ([]byte, error)
}

// Limits of a connection to the control socket.
const (
	maxRequestSize = 64 << 10
	ioTimeout      = 10 * time.Second // for reading the request, and for writing the reply
)

// Server answers control requests on a unix socket.
type Server struct {
	path   string
	ln     net.Listener
	target Target
	log    *slog.Logger
	conns  sync.WaitGroup
	served chan struct{} // closed when the accept loop has returned
}

// Listen creates the control socket at path, with mode 0600, and serves
// target's commands on it, in a goroutine of their own, until Close. A
// socket file left at path by a server that died is replaced; one a server
// still answers on is an error, and so is a path that is not a socket.
// Linux abstract sockets ("@name") are refused: they have no permissions,
// so any local user could connect. log receives a line per request refused
// for its form.
func Listen(path string, target Target, log *slog.Logger) (*Server, error) {
	if path == "" || strings.HasPrefix(path, "@") {
		return nil, fmt.Errorf("control socket %q: want a file path (an abstract socket has no permissions)", path)
	}
	// umask 0177 for the bind: the file is 0600 from the start.
	f, err := prefork.ListenConfig{Umask: 0o177}.Listen("unix:" + path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	ln, err := net.FileListener(f)
	if err != nil {
		return nil, fmt.Errorf("control socket %s: %w", path, err)
	}
	s := &Server{path: strings.TrimPrefix(f.Name(), "unix:"), ln: ln, target: target, log: log, served: make(chan struct{})}
	go s.serve()
	return s, nil
}

// Path is the absolute path of the socket.
func (s *Server) Path() string { return s.path }

// Close stops accepting, waits for the requests in progress to be answered
// (each is bounded: 10 s to read the request, the command's time, 10 s to
// write the reply) and removes the socket file.
func (s *Server) Close() error {
	err := s.ln.Close()
	<-s.served
	s.conns.Wait()
	if rerr := os.Remove(s.path); rerr != nil && !errors.Is(rerr, os.ErrNotExist) && err == nil {
		err = rerr
	}
	return err
}

// serve accepts connections until the listener is closed.
func (s *Server) serve() {
	defer close(s.served)
	for {
		c, err := s.ln.Accept()
		if err != nil {
			if !errors.Is(err, net.ErrClosed) {
				s.log.Error("control socket: accept failed; no more commands", "path", s.path, "err", err)
			}
			return
		}
		s.conns.Go(func() { s.handle(c) })
	}
}

// handle answers the one request of a connection.
func (s *Server) handle(c net.Conn) {
	defer c.Close()
	c.SetReadDeadline(time.Now().Add(ioTimeout))
	line, err := bufio.NewReaderSize(io.LimitReader(c, maxRequestSize), 4096).ReadBytes('\n')
	var reply Reply
	if err != nil && !(errors.Is(err, io.EOF) && len(line) > 0) {
		s.log.Warn("control socket: no request", "err", err)
		reply = failure(fmt.Errorf("no request line: %w", err))
	} else {
		reply = s.answer(line)
	}
	b, _ := json.Marshal(reply)
	c.SetWriteDeadline(time.Now().Add(ioTimeout))
	c.Write(append(b, '\n'))
}

// answer decodes a request and runs it.
func (s *Server) answer(line []byte) Reply {
	var req Request
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		s.log.Warn("control socket: malformed request", "err", err)
		return failure(fmt.Errorf("malformed request: %w", err))
	}
	if req.Version != Version {
		return failure(fmt.Errorf("protocol version %d; this server speaks %d", req.Version, Version))
	}
	result, err := s.run(req)
	if err != nil {
		return failure(err)
	}
	b, err := json.Marshal(result)
	if err != nil {
		return failure(err)
	}
	return Reply{Version: Version, OK: true, Result: b}
}

// run runs one command on the target.
func (s *Server) run(req Request) (any, error) {
	switch req.Command {
	case CmdStatus:
		st, err := s.target.Status()
		if err != nil {
			return nil, err
		}
		return statusResult(st, time.Now()), nil
	case CmdReload:
		return struct{}{}, s.target.Reload()
	case CmdWorkers:
		if req.N < 1 {
			return nil, fmt.Errorf("workers %d: the number of workers must be at least 1", req.N)
		}
		was, err := s.target.SetWorkers(req.N)
		return WorkersResult{Workers: req.N, Was: was}, err
	case CmdStop:
		return struct{}{}, s.target.Stop()
	case CmdReopen:
		return struct{}{}, s.target.ReopenLogs()
	case CmdKill:
		if req.PID < 1 {
			return nil, fmt.Errorf("kill: pid %d is not a process id", req.PID)
		}
		id, err := s.target.KillWorker(req.PID)
		return KillResult{PID: req.PID, Worker: id}, err
	case CmdDump:
		if req.PID < 1 {
			return nil, fmt.Errorf("dump: pid %d is not a process id", req.PID)
		}
		b, err := s.target.Dump(req.PID)
		return DumpResult{PID: req.PID, Tracebacks: string(b)}, err
	}
	return nil, fmt.Errorf("unknown command %q (commands: %s)", req.Command, strings.Join(Commands, ", "))
}

// failure is the reply for err, without the "prefork: " its messages start
// with, which names a package, not a cause.
func failure(err error) Reply {
	return Reply{Version: Version, Error: strings.TrimPrefix(err.Error(), "prefork: ")}
}
