package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"
)

// stopGrace is how long a server has to exit after SIGTERM before its whole
// process group is killed.
const stopGrace = 10 * time.Second

// serverProc is a running server: the leader of its own process group, so
// that stopping it reaches every worker it forked or spawned.
type serverProc struct {
	cmd     *exec.Cmd
	logPath string
	exited  chan struct{} // closed when the leader has exited
	waitErr error
}

// startServer starts argv in dir as the leader of a new process group, with
// stdout and stderr going to logPath.
func startServer(argv []string, dir string, env []string, logPath string) (*serverProc, error) {
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	defer logFile.Close()
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Dir = dir
	cmd.Env = env
	cmd.Stdout = logFile
	cmd.Stderr = logFile
	// Pdeathsig: should the benchmark itself be killed, the leader goes too
	// (and takes its workers: each server here ends them when it dies).
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	p := &serverProc{cmd: cmd, logPath: logPath, exited: make(chan struct{})}
	go func() {
		p.waitErr = cmd.Wait()
		close(p.exited)
	}()
	return p, nil
}

// PID is the leader's process id, which is also the process group id.
func (p *serverProc) PID() int { return p.cmd.Process.Pid }

// Stop sends SIGTERM to the process group, and SIGKILL to whatever of it is
// still alive stopGrace later. It returns once no process of the group is
// left (zombies aside: they hold no memory and no port).
func (p *serverProc) Stop() error {
	pgid := p.PID()
	syscall.Kill(-pgid, syscall.SIGTERM)
	if waitGroupGone(pgid, p.exited, stopGrace) {
		return nil
	}
	syscall.Kill(-pgid, syscall.SIGKILL)
	if waitGroupGone(pgid, p.exited, 5*time.Second) {
		return fmt.Errorf("did not stop within %s of SIGTERM; killed", stopGrace)
	}
	return fmt.Errorf("process group %d still alive after SIGKILL", pgid)
}

// waitGroupGone waits up to timeout for the leader to be reaped and every
// other live process of the group to end.
func waitGroupGone(pgid int, exited <-chan struct{}, timeout time.Duration) bool {
	deadline := time.Now().Add(timeout)
	for {
		select {
		case <-exited:
			if len(serverProcs(readProcs("/proc"), pgid)) == 0 {
				return true
			}
		default:
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// LogTail is the end of the server's log, for error reports.
func (p *serverProc) LogTail() string {
	b, _ := os.ReadFile(p.logPath)
	b = bytes.TrimSpace(b)
	lines := strings.Split(string(b), "\n")
	if len(lines) > 8 {
		lines = lines[len(lines)-8:]
	}
	return strings.Join(lines, "\n")
}

// WaitReady waits until the server answers the case correctly and, if the
// server logs readyLine per worker, until all workers have logged it. The
// probe asks twice on one keep-alive connection, as wrk does; a server that
// answers but with the wrong status or body, or never ends its response,
// fails at once rather than at the timeout.
func (p *serverProc) WaitReady(ctx context.Context, url string, c benchCase, readyLine string, workers int, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var last error
	for {
		select {
		case <-p.exited:
			return fmt.Errorf("exited before serving (%v)", p.waitErr)
		case <-ctx.Done():
			if last == nil {
				last = ctx.Err()
			}
			return fmt.Errorf("not ready within %s: %w", timeout, last)
		case <-time.After(100 * time.Millisecond):
		}
		if last = probeTwice(ctx, url, c); last != nil {
			if errors.Is(last, errWrongAnswer) {
				return last
			}
			continue
		}
		if readyLine != "" {
			if n := p.countLogLines(readyLine); n < workers {
				last = fmt.Errorf("%d of %d workers ready", n, workers)
				continue
			}
		}
		return nil
	}
}

func (p *serverProc) countLogLines(s string) int {
	b, _ := os.ReadFile(p.logPath)
	return bytes.Count(b, []byte(s))
}

// errWrongAnswer marks a server that answers, but not as the case requires.
var errWrongAnswer = errors.New("wrong answer")

// probeTwice makes the case's request twice on a keep-alive client.
func probeTwice(ctx context.Context, url string, c benchCase) error {
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{}}
	defer client.CloseIdleConnections()
	for range 2 {
		if err := probe(ctx, client, url, c); err != nil {
			return err
		}
	}
	return nil
}

// probe makes the case's request once and checks the status and body. Once
// the response head has come, every failure is errWrongAnswer.
func probe(ctx context.Context, client *http.Client, url string, c benchCase) error {
	req, err := http.NewRequestWithContext(ctx, c.Method, url, bytes.NewReader(c.Body))
	if err != nil {
		return err
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return fmt.Errorf("%w: reading the body (%d bytes so far, want %d): %v", errWrongAnswer, len(body), len(c.Want), err)
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%w: status %d", errWrongAnswer, resp.StatusCode)
	}
	if !bytes.Equal(body, c.Want) {
		return fmt.Errorf("%w: %d bytes of body, want %d", errWrongAnswer, len(body), len(c.Want))
	}
	return nil
}

// freePort asks the kernel for a free loopback port.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// waitPortFree waits until addr can be bound again.
func waitPortFree(addr string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		l, err := net.Listen("tcp", addr)
		if err == nil {
			return l.Close()
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("port %s still in use: %w", addr, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
