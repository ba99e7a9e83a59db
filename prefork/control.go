package prefork

import (
	"errors"
	"fmt"
	"os"
	"time"
)

// The control methods (Status, Reload, SetWorkers, Stop, ReopenLogs,
// KillWorker, Dump) let another goroutine, such as a control socket's
// server, operate the supervisor while Run runs. Each is queued to the
// supervisor's loop and run there between signals and worker events, as
// gunicorn's arbiter queues signals, so a command never races the loop.

// ErrNotRunning is returned by the control methods when Run is not
// running, or returns before the command is done.
var ErrNotRunning = errors.New("prefork: the supervisor is not running")

// ErrStopping is returned by the control methods that would change the
// workers while the supervisor stops them all.
var ErrStopping = errors.New("prefork: the supervisor is stopping")

// command is a control method's work, run on the loop.
type command func(a *arbiter)

// call runs f on the loop of the Run in progress and waits for it to call
// reply, which it must do once, then or later.
func call[T any](s *Supervisor, f func(a *arbiter, reply func(T, error))) (T, error) {
	type result struct {
		v   T
		err error
	}
	var zero T
	a := s.running.Load()
	if a == nil {
		return zero, ErrNotRunning
	}
	results := make(chan result, 1)
	cmd := func(a *arbiter) {
		f(a, func(v T, err error) { results <- result{v, err} })
	}
	select {
	case a.commands <- cmd:
	case <-a.done:
		return zero, ErrNotRunning
	}
	select {
	case r := <-results:
		return r.v, r.err
	case <-a.done:
		return zero, ErrNotRunning
	}
}

// Status describes the supervisor and its workers at one moment.
type Status struct {
	PID           int               // the supervisor's process id
	Started       time.Time         // when Run started
	WorkersWanted int               // Supervisor.Workers, as TTIN, TTOU and SetWorkers changed it
	Reloading     bool              // a reload is in progress
	Stopping      bool              // Run is stopping every worker
	Workers       []WorkerStatus    // every worker not yet reaped, in order of start
	Zygotes       []ZygoteStatus    // with Preload: every zygote not yet reaped, in order of start
	Listeners     []ListenerStats   // Supervisor.Listeners, in order
	Restarts      []Restart         // the latest restarts (up to 32), oldest first
	RestartCounts map[string]uint64 // every restart, by cause, as Snapshot.Restarts
}

// WorkerStatus describes one worker process.
type WorkerStatus struct {
	WorkerStats
	Started time.Time // when it was started

	// State is "booting" until the worker is ready, "stopping" once it
	// was told to stop, and otherwise "busy" while it serves a request
	// (BeginRequest to EndRequest) and "idle".
	State string

	InFlight int // requests begun and not ended
	Waiting  int // requests waiting for a slot of the application (BeginWait to EndWait)
}

// ZygoteStatus describes one zygote (Supervisor.Preload).
type ZygoteStatus struct {
	PID     int
	Started time.Time
	// State is "loading" until it has loaded the application, "stopping"
	// once it was told to exit, "ready" while new workers fork from it,
	// and "standby" for a ready zygote that no new worker forks from yet
	// (a reload's, until the reload completes).
	State string
}

// Status returns what the supervisor's loop knows of the server: its
// workers, each with its state and the request it serves, the listeners'
// queues and the latest restarts. It returns ErrNotRunning outside Run.
func (s *Supervisor) Status() (Status, error) {
	return call(s, func(a *arbiter, reply func(Status, error)) {
		reply(a.status(s.Listeners), nil)
	})
}

// status builds Status on the loop.
func (a *arbiter) status(listeners []*os.File) Status {
	st := Status{
		PID:           os.Getpid(),
		Started:       a.started,
		WorkersWanted: a.target,
		Reloading:     a.reloading != nil,
		Stopping:      a.stopping,
		Listeners:     listenerStats(listeners),
	}
	for _, w := range a.workers {
		ws := WorkerStatus{
			WorkerStats: w.stats(),
			Started:     w.started,
			InFlight:    max(int(w.board.inFlight.Load()), 0),
			Waiting:     max(int(w.board.waiting.Load()), 0),
		}
		switch {
		case w.role == roleRetiring:
			ws.State = "stopping"
		case !w.ready:
			ws.State = "booting"
		case ws.Request != "":
			ws.State = "busy"
		default:
			ws.State = "idle"
		}
		st.Workers = append(st.Workers, ws)
	}
	for _, z := range a.zygotes {
		zs := ZygoteStatus{PID: z.proc.Pid, Started: z.started}
		switch {
		case z.retired:
			zs.State = "stopping"
		case !z.ready:
			zs.State = "loading"
		case z == a.zygote:
			zs.State = "ready"
		default:
			zs.State = "standby"
		}
		st.Zygotes = append(st.Zygotes, zs)
	}
	a.reg.mu.Lock()
	st.Restarts = append([]Restart(nil), a.reg.recent...)
	st.RestartCounts = a.reg.restartCounts()
	a.reg.mu.Unlock()
	return st
}

// Reload reloads the workers as SIGHUP does (see Run), and returns once the
// reload has begun, or been queued behind the one in progress.
func (s *Supervisor) Reload() error {
	_, err := call(s, func(a *arbiter, reply func(struct{}, error)) {
		a.log.Info("control command", "command", "reload")
		if a.stopping {
			reply(struct{}{}, ErrStopping)
			return
		}
		a.reload("control command")
		reply(struct{}{}, nil)
	})
	return err
}

// SetWorkers sets the number of workers to n (at least 1), as TTIN and
// TTOU repeated would: workers are started, or the highest-numbered ones
// stopped gracefully. It returns the number wanted before, once the change
// has begun.
func (s *Supervisor) SetWorkers(n int) (int, error) {
	return call(s, func(a *arbiter, reply func(int, error)) {
		a.log.Info("control command", "command", "workers", "workers", n)
		switch {
		case n < 1:
			reply(0, fmt.Errorf("prefork: %d workers: want at least 1", n))
		case a.stopping:
			reply(0, ErrStopping)
		default:
			was := a.target
			a.target = n
			a.log.Info("workers wanted", "workers", n, "was", was)
			a.workersChanged(was)
			a.manageWorkers()
			reply(was, nil)
		}
	})
}

// Stop begins a graceful stop, as SIGTERM does, and returns once it has
// begun; Run returns when the workers are gone.
func (s *Supervisor) Stop() error {
	_, err := call(s, func(a *arbiter, reply func(struct{}, error)) {
		a.log.Info("control command", "command", "stop")
		a.stop(true)
		reply(struct{}{}, nil)
	})
	return err
}

// ReopenLogs does what SIGUSR1 does: the workers get SIGUSR1, and
// OnReopenLogs is called.
func (s *Supervisor) ReopenLogs() error {
	_, err := call(s, func(a *arbiter, reply func(struct{}, error)) {
		a.log.Info("control command", "command", "reopen")
		a.handleUsr1()
		reply(struct{}{}, nil)
	})
	return err
}

// KillWorker replaces the worker with process id pid: it is told to stop
// gracefully (SIGTERM, then SIGKILL after GracefulTimeout) and a new worker
// starts at once in another slot. It returns the worker's WorkerID. A pid
// that is no worker of this supervisor, or one already stopping or started
// for a reload or a recycle, is refused.
func (s *Supervisor) KillWorker(pid int) (int, error) {
	return call(s, func(a *arbiter, reply func(int, error)) {
		a.log.Info("control command", "command", "kill", "pid", pid)
		w, err := a.workerByPID(pid)
		switch {
		case err != nil:
		case a.stopping:
			err = ErrStopping
		case w.role == roleRetiring:
			err = fmt.Errorf("prefork: worker %d (pid %d) is already stopping", w.id, pid)
		case w.role == roleStandby:
			err = fmt.Errorf("prefork: worker %d (pid %d) is starting to replace others (reload or recycle)", w.id, pid)
		}
		if err != nil {
			reply(0, err)
			return
		}
		a.retire(w, causeKill, "killed by a control command")
		a.manageWorkers()
		reply(w.id, nil)
	})
}

// workerByPID finds the worker with process id pid.
func (a *arbiter) workerByPID(pid int) (*worker, error) {
	for _, w := range a.workers {
		if w.pid() == pid {
			return w, nil
		}
	}
	return nil, fmt.Errorf("prefork: pid %d is not a worker of this server", pid)
}
