package prefork

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"runtime"
	"syscall"
	"time"
)

// Defaults and limits of supervision.
const (
	defaultGracefulTimeout = 30 * time.Second
	defaultBootTimeout     = 60 * time.Second
	fastStopGrace          = time.Second            // SIGINT to SIGKILL in a fast stop
	killWait               = 5 * time.Second        // how long SIGKILLed workers get to be reaped
	respawnDelay           = 100 * time.Millisecond // see workerExited
	maxBootFailures        = 5                      // consecutive workers dying before ready
)

// Supervisor starts and watches worker processes. Set its fields, then call
// Run; a Supervisor runs one Run at a time.
type Supervisor struct {
	Workers         int           // number of worker processes (>=1)
	Listeners       []*os.File    // passed to every worker, in order, as fds 3, 4, ...
	Path            string        // executable to start (default: os.Executable())
	Args            []string      // arguments after argv[0] (default os.Args[1:])
	Env             []string      // extra environment entries added to os.Environ()
	GracefulTimeout time.Duration // on TERM: how long workers get to finish before SIGKILL (default 30s)
	BootTimeout     time.Duration // how long a new worker may take to report ready (default 60s); past it, it is killed and counts as a failed boot
	Log             *slog.Logger  // nil: slog.Default()
}

// arbiter is the state of one Run. Only the loop's goroutine touches it,
// except events and done, through which watcher goroutines report.
type arbiter struct {
	log             *slog.Logger
	path            string
	argv            []string
	env             []string
	listeners       []*os.File // passable duplicates of Supervisor.Listeners
	gracefulTimeout time.Duration
	bootTimeout     time.Duration

	workers  []*worker // by slot: workers[id-1]; nil while a slot is empty
	events   chan event
	signals  chan os.Signal
	done     chan struct{} // closed when Run returns
	failures int           // workers in a row that died before ready
	respawn  time.Time     // when to refill empty slots; zero if not due

	stopping  bool
	graceful  bool      // the stop in progress lets requests finish
	deadline  time.Time // when the stop escalates: SIGKILL, then giving up
	killed    bool      // SIGKILL sent to all workers
	abandoned bool      // workers survived SIGKILL; Run returns anyway
	err       error     // why Run stops, if not a signal
}

// Run starts the workers and supervises them until the process receives a
// signal to stop, then stops them and returns.
//
// SIGTERM stops gracefully: every worker gets SIGTERM and GracefulTimeout to
// finish its requests, then SIGKILL. SIGINT and SIGQUIT stop fast: every
// worker gets SIGINT and one second, then SIGKILL; either also cuts a
// graceful stop in progress short. After a stop by signal Run returns nil.
//
// A worker that exits or is killed after it was ready is replaced in its
// slot, after a short pause that lets a stop signal sent to the whole process
// group (Ctrl-C) reach the supervisor first. A worker that exits with
// ExitBootFailed before it is ready means the application cannot be loaded:
// Run stops the other workers gracefully and returns an error (the worker has
// already printed the reason to its stderr, which is the supervisor's). Five
// workers in a row dying before ready for any other reason, including
// missing BootTimeout, are an error too, as is failing to start a worker at
// all.
//
// Workers are killed if the supervisor dies (Linux parent-death signal
// SIGKILL), so they never outlive it. Their stdin is /dev/null; stdout and
// stderr are the supervisor's. When Run returns, it has reaped every worker,
// stopped handling the signals above, and removed the socket files of
// listeners named "unix:/PATH" (see Listen). It closes no listener: the
// caller owns them.
func (s *Supervisor) Run() error {
	a, err := s.newArbiter()
	if err != nil {
		return err
	}
	defer a.close()
	defer func() {
		for _, f := range s.Listeners {
			if err := removeSocketFile(f.Name()); err != nil {
				a.log.Warn("cannot remove socket file", "listener", f.Name(), "err", err)
			}
		}
	}()

	// Workers get their parent-death signal from this thread; see spawn.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	signal.Notify(a.signals, syscall.SIGTERM, syscall.SIGINT, syscall.SIGQUIT)
	defer signal.Stop(a.signals)

	a.log.Info("starting workers", "workers", s.Workers, "listeners", listenerNames(s.Listeners))
	a.manageWorkers()
	return a.loop()
}

// newArbiter checks the configuration and applies its defaults.
func (s *Supervisor) newArbiter() (*arbiter, error) {
	if s.Workers < 1 {
		return nil, fmt.Errorf("prefork: Workers is %d, want at least 1", s.Workers)
	}
	a := &arbiter{
		log:             s.Log,
		path:            s.Path,
		argv:            append([]string{s.Path}, s.Args...),
		env:             append(os.Environ(), s.Env...),
		gracefulTimeout: orDefault(s.GracefulTimeout, defaultGracefulTimeout),
		bootTimeout:     orDefault(s.BootTimeout, defaultBootTimeout),
		workers:         make([]*worker, s.Workers),
		events:          make(chan event, 2*s.Workers),
		signals:         make(chan os.Signal, 8),
		done:            make(chan struct{}),
	}
	if a.log == nil {
		a.log = slog.Default()
	}
	if a.path == "" {
		exe, err := os.Executable()
		if err != nil {
			return nil, fmt.Errorf("prefork: cannot find this executable to start workers: %w", err)
		}
		a.path = exe
		a.argv[0] = os.Args[0]
	}
	if s.Args == nil {
		a.argv = append(a.argv[:1], os.Args[1:]...)
	}
	for i, f := range s.Listeners {
		if f == nil {
			a.close()
			return nil, fmt.Errorf("prefork: Listeners[%d] is nil", i)
		}
		p, err := passableFile(f, f.Name())
		if err != nil {
			a.close()
			return nil, err
		}
		a.listeners = append(a.listeners, p)
	}
	return a, nil
}

// orDefault returns d, or def if d is not positive.
func orDefault(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}

// listenerNames lists the listeners' addresses for the log.
func listenerNames(files []*os.File) []string {
	names := make([]string, len(files))
	for i, f := range files {
		names[i] = f.Name()
	}
	return names
}

// close releases what newArbiter acquired and stops the watcher goroutines'
// deliveries.
func (a *arbiter) close() {
	close(a.done)
	for _, f := range a.listeners {
		f.Close()
	}
}

// loop handles signals, worker events and deadlines until the workers are
// gone after a stop.
func (a *arbiter) loop() error {
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for !a.stopping || (a.live() > 0 && !a.abandoned) {
		// Signals first: a stop decided now keeps a worker's exit from
		// being mistaken for a crash.
		select {
		case sig := <-a.signals:
			a.handleSignal(sig)
			continue
		default:
		}
		timer.Reset(time.Until(a.nextDeadline()))
		select {
		case sig := <-a.signals:
			a.handleSignal(sig)
		case ev := <-a.events:
			ev.apply(a)
		case now := <-timer.C:
			a.checkDeadlines(now)
		}
	}
	return a.err
}

// live counts the workers not yet reaped.
func (a *arbiter) live() int {
	n := 0
	for _, w := range a.workers {
		if w != nil {
			n++
		}
	}
	return n
}

// nextDeadline is the earliest time checkDeadlines has something to do.
func (a *arbiter) nextDeadline() time.Time {
	if a.stopping {
		return a.deadline
	}
	next := time.Now().Add(time.Hour)
	if !a.respawn.IsZero() && a.respawn.Before(next) {
		next = a.respawn
	}
	for _, w := range a.workers {
		if w != nil && !w.ready && !w.timedOut && w.bootDeadline.Before(next) {
			next = w.bootDeadline
		}
	}
	return next
}

// checkDeadlines escalates a stop, kills workers that missed their boot
// deadline, and refills empty slots when due.
func (a *arbiter) checkDeadlines(now time.Time) {
	if a.stopping {
		if now.Before(a.deadline) {
			return
		}
		if !a.killed {
			a.log.Warn("killing workers that did not stop in time", "workers", a.live())
			a.signalAll(syscall.SIGKILL)
			a.killed = true
			a.deadline = now.Add(killWait)
			return
		}
		a.log.Error("workers did not exit after SIGKILL; giving up on them", "workers", a.live())
		a.abandoned = true
		if a.err == nil {
			a.err = fmt.Errorf("prefork: %d workers did not exit after SIGKILL", a.live())
		}
		return
	}
	for _, w := range a.workers {
		if w != nil && !w.ready && !w.timedOut && !now.Before(w.bootDeadline) {
			a.log.Warn("worker did not report ready in time; killing it", "worker", w.id, "pid", w.proc.Pid, "boot_timeout", a.bootTimeout.String())
			w.timedOut = true
			a.signal(w, syscall.SIGKILL)
		}
	}
	if !a.respawn.IsZero() && !now.Before(a.respawn) {
		a.respawn = time.Time{}
		a.manageWorkers()
	}
}

// manageWorkers starts a worker in every empty slot.
func (a *arbiter) manageWorkers() {
	for i, w := range a.workers {
		if w != nil || a.stopping {
			continue
		}
		if err := a.spawn(i + 1); err != nil {
			a.fail(err)
		}
	}
}

// workerReady records that a worker serves.
func (a *arbiter) workerReady(w *worker) {
	if a.stopping {
		return
	}
	w.ready = true
	a.failures = 0
	a.log.Info("worker ready", "worker", w.id, "pid", w.proc.Pid)
}

// workerExited forgets a reaped worker and decides what its end means.
//
// Empty slots are refilled after respawnDelay rather than at once: Ctrl-C
// signals the supervisor and its workers together, and the supervisor must
// see its SIGINT before it takes the workers' exits for crashes.
func (a *arbiter) workerExited(w *worker, state *os.ProcessState, waitErr error) {
	a.workers[w.id-1] = nil
	how := describeExit(state, waitErr)
	attrs := []any{"worker", w.id, "pid", w.proc.Pid, "status", how}
	switch {
	case a.stopping:
		a.log.Info("worker exited", attrs...)
	case w.ready:
		a.log.Warn("worker exited", attrs...)
		a.scheduleRespawn()
	case state != nil && state.ExitCode() == ExitBootFailed:
		a.log.Error("worker could not load the application", attrs...)
		a.fail(fmt.Errorf("prefork: worker %d (pid %d) could not load the application (%s)", w.id, w.proc.Pid, how))
	default:
		a.failures++
		if w.timedOut {
			how = fmt.Sprintf("not ready within %v, %s", a.bootTimeout, how)
		}
		a.log.Warn("worker exited before it was ready", attrs...)
		if a.failures >= maxBootFailures {
			a.fail(fmt.Errorf("prefork: %d workers in a row exited before they were ready; the last, worker %d (pid %d): %s", a.failures, w.id, w.proc.Pid, how))
			return
		}
		a.scheduleRespawn()
	}
}

// describeExit says how a worker ended, for logs and errors.
func describeExit(state *os.ProcessState, waitErr error) string {
	if state == nil {
		return fmt.Sprintf("unknown: %v", waitErr)
	}
	if ws, ok := state.Sys().(syscall.WaitStatus); ok {
		return exitReason(ws)
	}
	return state.String()
}

// scheduleRespawn arranges for empty slots to be refilled soon.
func (a *arbiter) scheduleRespawn() {
	if a.respawn.IsZero() {
		a.respawn = time.Now().Add(respawnDelay)
	}
}

// fail records why Run will return an error and stops the workers
// gracefully, so that ready workers finish their requests.
func (a *arbiter) fail(err error) {
	if a.err == nil {
		a.err = err
	}
	a.stop(true)
}

// stop begins stopping every worker: gracefully with SIGTERM and
// GracefulTimeout, or fast with SIGINT and fastStopGrace. A fast stop
// overrides a graceful one in progress; nothing else changes a stop.
func (a *arbiter) stop(graceful bool) {
	if a.stopping && (graceful || !a.graceful) {
		return
	}
	sig, grace := syscall.Signal(syscall.SIGINT), fastStopGrace
	if graceful {
		sig, grace = syscall.SIGTERM, a.gracefulTimeout
	}
	deadline := time.Now().Add(grace)
	if a.stopping && a.deadline.Before(deadline) {
		deadline = a.deadline
	}
	a.log.Info("stopping workers", "graceful", graceful, "workers", a.live(), "timeout", grace.String())
	a.stopping, a.graceful, a.deadline = true, graceful, deadline
	a.signalAll(sig)
}

// signalAll sends sig to every worker not yet reaped.
func (a *arbiter) signalAll(sig syscall.Signal) {
	for _, w := range a.workers {
		if w != nil {
			a.signal(w, sig)
		}
	}
}

// signal sends sig to one worker. A worker that has exited but is not yet
// reported is no error: its exit event is on the way.
func (a *arbiter) signal(w *worker, sig syscall.Signal) {
	if err := w.proc.Signal(sig); err != nil && !errors.Is(err, os.ErrProcessDone) {
		a.log.Warn("cannot signal worker", "worker", w.id, "pid", w.proc.Pid, "signal", signalName(sig), "err", err)
	}
}
