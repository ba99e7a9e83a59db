package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"slices"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/gowsgi/gowsgi/prefork"
)

const (
	// hookWait is how long the supervisor waits for a hook it waits for
	// (on_starting, when_ready, on_reload, on_exit) before it warns and
	// goes on; the hook goes on running in the runner.
	hookWait = 10 * time.Second
	// hookRunnerBoot is how long the runner may take to run the config
	// file (which may import much of a project) and say which hooks it
	// defines.
	hookRunnerBoot = 60 * time.Second
	// hookRunnerStop is how long the runner gets to finish its last
	// events and finalize Python once the supervisor is done with it.
	hookRunnerStop = 5 * time.Second
	// hookQueue is how many events may wait for the runner; more are
	// dropped with a warning rather than hold the supervisor up.
	hookQueue = 256
	// hookRestartMax caps the pause before the runner is restarted, which
	// doubles from a second with each restart, and starts again from a
	// second once a runner has lived this long.
	hookRestartMax = 30 * time.Second
)

// hookClient runs the supervisor hooks of a Python config file in the hook
// runner (hookrunner.go) for the supervisor, which never runs Python: it
// starts the runner, sends it an event per hook (in order, each after the
// ones before it have been written), waits for the hooks gunicorn waits
// for (with hookWait as the bound), restarts the runner if it dies, and
// stops it after on_exit. Its methods are called from one goroutine at a
// time (the supervisor's loop, or serve before and after it).
type hookClient struct {
	log     *slog.Logger
	path    string   // this executable
	argv    []string // the runner's command line
	env     []string
	defined atomic.Pointer[[]string]   // the supervisor hooks the file defines
	workers atomic.Int64               // server.num_workers
	proc    atomic.Pointer[os.Process] // the runner running now
	calls   chan *hookCall             // to run's goroutine
	stop    chan struct{}              // closed by close
	done    chan struct{}              // closed when the runner is stopped
}

// hookCall is one event on its way to the runner.
type hookCall struct {
	event map[string]any // {"hook": NAME, "server": {...}, ...}; "id" is added when it is sent
	done  chan struct{}  // closed once the hook has returned, or the event is lost
}

// runnerProc is one run of the hook runner.
type runnerProc struct {
	cmd     *exec.Cmd
	events  *os.File             // the write end of its events
	replies chan json.RawMessage // its replies, read from its descriptor 4
	exited  chan struct{}        // closed once it has exited and been reaped
}

// startHookClient starts the hook runner for s's Python config file and
// returns a client for it, or nil when there is no such file or it defines
// none of the supervisor hooks (the runner then exits by itself). A file
// the runner cannot run is an error, its reason in the error log.
func startHookClient(s *settings, log *slog.Logger) (*hookClient, error) {
	if s.pyConfig == "" {
		return nil, nil
	}
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("cannot find this executable to run the server hooks: %w", err)
	}
	argv := []string{os.Args[0], hookRunnerCommand, "--error-logfile", s.errorLogfile, "--log-level", s.logLevel}
	if s.logJSON {
		argv = append(argv, "--log-json")
	}
	if s.chdir != "" {
		argv = append(argv, "--chdir", s.chdir)
	}
	for _, p := range s.pythonPath {
		argv = append(argv, "--pythonpath", p)
	}
	if s.virtualenv != "" {
		argv = append(argv, "--virtualenv", s.virtualenv)
	}
	h := &hookClient{
		log:   log.With("hooks", s.pyConfig),
		path:  exe,
		argv:  append(argv, s.pyConfig),
		env:   append(os.Environ(), s.env...),
		calls: make(chan *hookCall, hookQueue),
		stop:  make(chan struct{}),
		done:  make(chan struct{}),
	}
	h.workers.Store(int64(s.workers))
	p, hello, err := h.start()
	if err != nil {
		return nil, err
	}
	if len(hello.Hooks) == 0 {
		p.events.Close()
		<-p.exited
		return nil, nil
	}
	h.defined.Store(&hello.Hooks)
	h.log.Info("running the server hooks in a process of their own", "runner_pid", p.cmd.Process.Pid, "hooks", hello.Hooks)
	go h.run(p)
	return h, nil
}

// start starts the runner and waits for its hello.
func (h *hookClient) start() (*runnerProc, hookReply, error) {
	var hello hookReply
	evR, evW, err := os.Pipe()
	if err != nil {
		return nil, hello, err
	}
	repR, repW, err := os.Pipe()
	if err != nil {
		evR.Close()
		evW.Close()
		return nil, hello, err
	}
	cmd := &exec.Cmd{
		Path:       h.path,
		Args:       h.argv,
		Env:        h.env,
		Stdout:     os.Stdout,
		Stderr:     os.Stderr,
		ExtraFiles: []*os.File{evR, repW},
		// Like a worker, it dies with the supervisor (see prefork's spawn
		// for why the starting thread must live as long).
		SysProcAttr: &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL},
	}
	err = cmd.Start()
	evR.Close()
	repW.Close()
	if err != nil {
		evW.Close()
		repR.Close()
		return nil, hello, fmt.Errorf("cannot start the hook runner: %w", err)
	}
	p := &runnerProc{cmd: cmd, events: evW, replies: make(chan json.RawMessage, hookQueue), exited: make(chan struct{})}
	h.proc.Store(cmd.Process)
	go p.readReplies(repR)
	go func() {
		cmd.Wait()
		close(p.exited)
	}()
	select {
	case line, ok := <-p.replies:
		if ok && json.Unmarshal(line, &hello) == nil {
			return p, hello, nil
		}
		evW.Close()
		<-p.exited
		return nil, hello, fmt.Errorf("the hook runner could not load %s (%s; the reason is in the error log)",
			h.argv[len(h.argv)-1], cmd.ProcessState)
	case <-time.After(hookRunnerBoot):
		cmd.Process.Kill()
		<-p.exited
		evW.Close()
		return nil, hello, fmt.Errorf("the hook runner did not load %s within %v", h.argv[len(h.argv)-1], hookRunnerBoot)
	}
}

// readReplies passes the runner's reply lines on until it closes them.
func (p *runnerProc) readReplies(r *os.File) {
	defer r.Close()
	defer close(p.replies)
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		select {
		case p.replies <- json.RawMessage(slices.Clone(sc.Bytes())):
		case <-p.exited:
			return
		}
	}
}

// run sends the events to the runner p, restarts it whenever it dies, and
// stops it once close is called.
func (h *hookClient) run(p *runnerProc) {
	defer close(h.done)
	var first []*hookCall
	delay := time.Second
	for {
		started := time.Now()
		if h.serve(p, first) {
			h.shutdown(p)
			return
		}
		p.events.Close()
		if time.Since(started) > hookRestartMax {
			delay = time.Second // not a crash loop
		}
		h.log.Error("the hook runner exited; restarting it", "runner_pid", p.cmd.Process.Pid,
			"status", p.cmd.ProcessState.String(), "delay", delay.String())
		for {
			select {
			case <-h.stop:
				return
			case <-time.After(delay):
			}
			delay = min(2*delay, hookRestartMax)
			var err error
			var hello hookReply
			if p, hello, err = h.start(); err == nil {
				h.defined.Store(&hello.Hooks)
				break
			}
			h.log.Error("cannot restart the hook runner", "err", err, "retry_in", delay.String())
		}
		if len(*h.defined.Load()) == 0 { // the file has changed
			h.log.Warn("the config file defines no supervisor hooks any more; the hook runner is not restarted")
			p.events.Close()
			<-h.stop
			return
		}
		h.log.Info("hook runner restarted", "runner_pid", p.cmd.Process.Pid)
		// Threads when_ready started died with the old runner: a new
		// one is told the server is ready, so it can start them again.
		first = nil
		if h.defines("when_ready") {
			first = []*hookCall{h.newCall("when_ready")}
		}
	}
}

// serve sends first and then the events as they come to p, and marks each
// done when p replies, until p exits (false) or close is called (true).
// The events sent that p never answered are marked done: they are lost.
func (h *hookClient) serve(p *runnerProc, first []*hookCall) (stopping bool) {
	pending := make(map[int64]*hookCall)
	defer func() {
		for _, c := range pending {
			close(c.done)
		}
	}()
	var id int64
	send := func(c *hookCall) {
		id++
		if h.send(p, c, id) {
			pending[id] = c
		}
	}
	for _, c := range first {
		send(c)
	}
	for {
		select {
		case c := <-h.calls:
			send(c)
		case line, ok := <-p.replies:
			if !ok {
				<-p.exited
				return false
			}
			var r hookReply
			if json.Unmarshal(line, &r) != nil {
				continue
			}
			h.defined.Store(&r.Hooks) // a reload may change them
			if c := pending[r.ID]; c != nil {
				close(c.done)
				delete(pending, r.ID)
			}
		case <-p.exited:
			return false
		case <-h.stop:
			// what was queued before close runs before the runner ends
			for {
				select {
				case c := <-h.calls:
					send(c)
				default:
					return true
				}
			}
		}
	}
}

// send writes c to p as event id, and reports whether it went. A runner
// that takes no events for hookWait (a hook that never returns) loses this
// one rather than hold the supervisor up.
func (h *hookClient) send(p *runnerProc, c *hookCall, id int64) bool {
	c.event["id"] = id
	b, err := json.Marshal(c.event)
	if err == nil {
		p.events.SetWriteDeadline(time.Now().Add(hookWait))
		_, err = p.events.Write(append(b, '\n'))
	}
	if err != nil {
		h.log.Warn("the hook runner did not take an event; it is lost", "hook", c.event["hook"], "err", err)
		close(c.done)
		return false
	}
	return true
}

// shutdown ends p: once it has read its last events it finalizes Python
// and exits; one that does not within hookRunnerStop is killed.
func (h *hookClient) shutdown(p *runnerProc) {
	p.events.Close()
	select {
	case <-p.exited:
	case <-time.After(hookRunnerStop):
		h.log.Warn("the hook runner did not exit; killing it", "runner_pid", p.cmd.Process.Pid, "waited", hookRunnerStop.String())
		p.cmd.Process.Kill()
		<-p.exited
	}
}

// newCall makes the event of the named hook, with the server's state and
// the key-value pairs kv.
func (h *hookClient) newCall(name string, kv ...any) *hookCall {
	ev := map[string]any{
		"hook":   name,
		"server": map[string]any{"pid": os.Getpid(), "num_workers": h.workers.Load()},
	}
	for i := 0; i+1 < len(kv); i += 2 {
		ev[kv[i].(string)] = kv[i+1]
	}
	return &hookCall{event: ev, done: make(chan struct{})}
}

// defines reports whether the file defines the named hook.
func (h *hookClient) defines(name string) bool { return slices.Contains(*h.defined.Load(), name) }

// call has the runner run the named hook, if the file defines it (see
// enqueue).
func (h *hookClient) call(name string, wait bool, kv ...any) {
	if h != nil && h.defines(name) {
		h.enqueue(h.newCall(name, kv...), wait)
	}
}

// enqueue sends c to the runner; with wait, it returns once the hook has
// returned, or after hookWait with a warning. It never blocks on a full
// queue: the event is dropped, with a warning.
func (h *hookClient) enqueue(c *hookCall, wait bool) {
	name := c.event["hook"]
	select {
	case h.calls <- c:
	default:
		h.log.Warn("too many hook events waiting for the hook runner; this one is dropped", "hook", name)
		return
	}
	if !wait {
		return
	}
	select {
	case <-c.done:
	case <-time.After(hookWait):
		h.log.Warn("hook still running; going on without it", "hook", name, "waited", hookWait.String())
	}
}

// starting runs nworkers_changed (workers, None) and on_starting, as
// gunicorn's arbiter does before it binds: its number of workers is set
// first.
func (h *hookClient) starting(workers int) {
	h.call("nworkers_changed", false, "new", workers, "old", nil)
	h.call("on_starting", true)
}

// ready runs when_ready: the sockets are bound and the workers about to
// start.
func (h *hookClient) ready() { h.call("when_ready", true) }

// exiting runs on_exit: every worker is gone and the server about to exit.
func (h *hookClient) exiting() { h.call("on_exit", true) }

// WorkersChanged implements prefork.Hooks: nworkers_changed.
func (h *hookClient) WorkersChanged(new, old int) {
	h.workers.Store(int64(new))
	h.call("nworkers_changed", false, "new", new, "old", old)
}

// Reloading implements prefork.Hooks: the runner runs the file again, as
// gunicorn re-reads it on SIGHUP, and then nworkers_changed (gunicorn's
// reload sets the number of workers again, even to the same) and
// on_reload, before the new workers start. The event goes whatever the
// file defined before.
func (h *hookClient) Reloading(workers int) {
	old := h.workers.Swap(int64(workers))
	h.enqueue(h.newCall("reload", "new", workers, "old", old), true)
}

// WorkerExited implements prefork.Hooks: child_exit.
func (h *hookClient) WorkerExited(w prefork.ExitedWorker) {
	h.call("child_exit", false, "worker", map[string]any{"pid": w.PID, "age": w.Age, "nr": w.Requests})
}

// reopenLogs has the runner reopen its log files (USR1).
func (h *hookClient) reopenLogs() {
	if h == nil {
		return
	}
	if p := h.proc.Load(); p != nil {
		if err := p.Signal(syscall.SIGUSR1); err != nil && !errors.Is(err, os.ErrProcessDone) {
			h.log.Warn("cannot signal the hook runner", "err", err)
		}
	}
}

// close stops the runner once it has run the events sent so far.
func (h *hookClient) close() {
	if h == nil {
		return
	}
	close(h.stop)
	<-h.done
}
