package prefork

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"runtime"
	"slices"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Defaults and limits of supervision.
const (
	defaultGracefulTimeout = 30 * time.Second
	defaultBootTimeout     = 60 * time.Second
	fastStopGrace          = time.Second     // SIGINT to SIGKILL in a fast stop
	killWait               = 5 * time.Second // how long SIGKILLed workers get to be reaped
	tickInterval           = time.Second     // how often heartbeats, stuck requests, memory and pending recycles are checked
	maxBootFailures        = 5               // consecutive workers dying before ready, before any was
)

// DefaultHeartbeatTimeout is the heartbeat timeout to use unless told
// otherwise (Supervisor.HeartbeatTimeout is off when zero).
const DefaultHeartbeatTimeout = 30 * time.Second

// Supervisor starts and watches worker processes. Set its fields, then call
// Run; a Supervisor runs one Run at a time.
type Supervisor struct {
	Workers         int           // number of worker processes (>=1); TTIN and TTOU change it while Run runs
	Listeners       []*os.File    // passed to every worker, in order, as fds 3, 4, ...
	Path            string        // executable to start (default: os.Executable())
	Args            []string      // arguments after argv[0] (default os.Args[1:])
	Env             []string      // extra environment entries added to os.Environ()
	GracefulTimeout time.Duration // how long a worker told to stop (SIGTERM) gets to finish before SIGKILL (default 30s)
	BootTimeout     time.Duration // how long a new worker may take to report ready (default 60s); past it, it is killed and counts as a failed boot

	// HeartbeatTimeout is how long a ready worker may go without a
	// heartbeat (NotifyReady sends one a second) before it is SIGKILLed
	// and replaced; 0 turns the check off. Keep it at several seconds:
	// DefaultHeartbeatTimeout is the value a command line should offer.
	HeartbeatTimeout time.Duration

	// MaxWorkerMemory is the resident set size, in bytes, above which a
	// worker is recycled (see Run). Zero turns the check off.
	MaxWorkerMemory int64

	// RequestTimeout is the workers' request timeout: a worker with a
	// request (see ExecutorBusy) running longer than RequestTimeout plus
	// StuckKillMargin is SIGKILLed and replaced. Zero turns the check off.
	RequestTimeout time.Duration

	// OnReopenLogs, if not nil, is called on the supervisor's loop when it
	// receives SIGUSR1, after the signal is passed on to the workers.
	OnReopenLogs func()

	// PIDFile, if not empty, is the path of a file that holds the
	// supervisor's process id while Run runs. Run refuses to start if the
	// file names another process that is alive.
	PIDFile string

	// Credential, if not nil, is the user and groups the workers run as.
	// The supervisor keeps its own, so it binds before and signals after.
	Credential *syscall.Credential

	// WatchPaths are directories whose *.py files (recursively, skipping
	// hidden directories and __pycache__) are polled for changes every
	// WatchInterval (default 1s); a change reloads the workers as SIGHUP
	// does. For development.
	WatchPaths    []string
	WatchInterval time.Duration

	// Reconfigure, if not nil, is called on the supervisor's loop at the
	// start of each reload (SIGHUP, WatchPaths), before the new generation
	// starts, and what it returns applies from then on (see Reload). An
	// error abandons the reload: "reload failed" is logged with it, and the
	// workers serve on as they were.
	Reconfigure func() (Reload, error)

	Log *slog.Logger // nil: slog.Default()

	// Preload, if set, forks every worker from a zygote that has loaded
	// the application once, instead of starting each afresh (see
	// zygote.go): the workers share the memory the import filled, and a
	// worker replacing another is ready in milliseconds. The executable
	// must load the app when IsZygote and fork from it (wsgi.Preload).
	// The supervisor becomes a child subreaper, so that the workers are
	// its children; it reaps the orphans that come to it too.
	Preload bool

	// Hooks, if not nil, is told of workers exiting, of changes to the
	// number of workers wanted and of reloads (see Hooks).
	Hooks Hooks

	reg     registry                // the live workers, for Stats, and the exited ones' totals, for Metrics
	running atomic.Pointer[arbiter] // the Run in progress, for the control methods (control.go)

	// Knobs for this package's tests, which cannot wait for the real
	// values; zero means the constant.
	maxRestartDelay time.Duration // maxRestartDelay
	stuckKillMargin time.Duration // StuckKillMargin
}

// arbiter is the state of one Run. Only the loop's goroutine touches it,
// except events and done, through which watcher goroutines report, commands
// and done, through which the control methods reach the loop, and reg,
// which Stats reads.
type arbiter struct {
	log              *slog.Logger
	path             string
	argv             []string
	env              []string
	listeners        []*os.File // passable duplicates of Supervisor.Listeners
	credential       *syscall.Credential
	gracefulTimeout  time.Duration
	bootTimeout      time.Duration
	heartbeatTimeout time.Duration // 0: off
	maxMemory        int64         // 0: off
	stuckAfter       time.Duration // how long a request may run before its worker is killed; 0: off
	stuckMargin      time.Duration // stuckAfter less the request timeout
	reconfigure      func() (Reload, error)
	maxRestartDelay  time.Duration
	onReopenLogs     func()
	hooks            Hooks // nil: none
	reg              *registry

	started   time.Time // when Run started
	target    int       // how many active workers to keep: Workers, changed by TTIN, TTOU and SetWorkers
	spawned   int       // workers started so far: the last one's age
	workers   []*worker // every worker not yet reaped, in order of start
	events    chan event
	signals   chan os.Signal
	commands  chan command         // from the control methods
	done      chan struct{}        // closed when Run returns
	failures  int                  // workers in a row that died before ready, before any was
	everReady bool                 // a worker has served: failures no longer stop Run
	slots     map[int]*slotBackoff // the crash-loop back-off of worker slots, by id
	nextTick  time.Time            // when the periodic checks run next

	preload        bool              // Supervisor.Preload
	zygote         *zygote           // with preload: the zygote workers fork from, nil until one is started
	nextZygote     *zygote           // the zygote of a reload in progress, which forks the new generation
	zygotes        []*zygote         // every zygote not yet reaped
	zygoteFailures int               // zygotes in a row that ended unasked
	zygoteDue      time.Time         // when a zygote that ended unasked is replaced; zero if none is due
	orphans        map[int]time.Time // unknown zombie children, and when each was first seen (orphans.go)

	reloading    []*worker // the new generation of a reload in progress, nil if none
	reloadQueued bool      // a reload was asked for during the one in progress

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
// Signals, handled one at a time on one loop, as gunicorn's arbiter does:
//   - SIGTERM stops gracefully: every worker gets SIGTERM and
//     GracefulTimeout to finish its requests, then SIGKILL.
//   - SIGINT and SIGQUIT stop fast: every worker gets SIGINT and one
//     second, then SIGKILL; either also cuts a graceful stop in progress
//     short. After a stop by signal Run returns nil.
//   - SIGHUP reloads without failing a request: a new generation of
//     workers starts, and once all of them are ready the old ones stop
//     gracefully. If a new worker fails to boot, the new generation is
//     stopped, the old one keeps serving, and "reload failed" is logged
//     with the reason. A SIGHUP during a reload queues one more reload,
//     which starts when the current one ends. WatchPaths reloads the same
//     way.
//   - SIGTTIN adds a worker; SIGTTOU stops the highest-numbered one
//     gracefully, never the last.
//   - SIGUSR1 is passed on to every worker (which must handle it: its
//     default action ends a process), then OnReopenLogs is called.
//
// The control methods (Status, Reload, SetWorkers, Stop, ReopenLogs,
// KillWorker, Dump) are handled on the same loop, between signals.
//
// A worker is recycled, that is replaced by a new one which, once ready,
// lets the old one stop gracefully, when it calls Retire or when its
// resident memory exceeds MaxWorkerMemory; if the replacement fails to
// boot, the old worker keeps serving and the recycle is tried again a
// second later. A ready worker whose heartbeat
// stops for HeartbeatTimeout is killed, and so is one with a request (see
// ExecutorBusy) older than RequestTimeout plus StuckKillMargin. When a
// worker dies, the log says which request it was serving.
//
// A worker that exits or is killed without being told to is replaced after
// a crash-loop back-off of its slot (its worker id), which the log states
// with how long the worker lived: 100ms after the first exit, doubling with
// each exit in a row up to 30s; a worker that outlives 30s resets its
// slot's count. The pause also lets a stop signal sent to the whole process
// group (Ctrl-C) reach the supervisor first. The other slots serve on.
// Stops, reloads, TTIN, TTOU and recycles are never delayed by it; a
// restart still waiting is cancelled by a stop, and by TTOU before any
// serving worker is stopped.
//
// Until a worker (not one started for a reload or a recycle) has become
// ready, one that exits with ExitBootFailed means the application cannot
// be loaded: Run stops the other workers gracefully and returns an error
// (the worker has already printed the reason to its stderr, which is the
// supervisor's). Five workers in a row dying before ready for any other
// reason, including missing BootTimeout, are an error too. Once a worker
// has served, such failures are backed off like crashes while the other
// workers serve on. Failing to start a worker process at all is an error.
//
// Workers are killed if the supervisor dies (Linux parent-death signal
// SIGKILL), so they never outlive it. Their stdin is /dev/null; stdout and
// stderr are the supervisor's. When Run returns, it has reaped every worker,
// stopped handling the signals above, removed PIDFile and the socket files
// of listeners named "unix:/PATH" (see Listen). It closes no listener: the
// caller owns them.
func (s *Supervisor) Run() error {
	a, err := s.newArbiter()
	if err != nil {
		return err
	}
	defer a.close()
	s.running.Store(a)
	defer s.running.Store(nil)
	defer func() {
		for _, f := range s.Listeners {
			if err := removeSocketFile(f.Name()); err != nil {
				a.log.Warn("cannot remove socket file", "listener", f.Name(), "err", err)
			}
		}
	}()
	if s.PIDFile != "" {
		if err := writePIDFile(s.PIDFile); err != nil {
			return err
		}
		defer func() {
			if err := removePIDFile(s.PIDFile); err != nil {
				a.log.Warn("cannot remove the pid file", "path", s.PIDFile, "err", err)
			}
		}()
	}
	if len(s.WatchPaths) > 0 {
		go a.watch(s.WatchPaths, orDefault(s.WatchInterval, time.Second))
	}

	// Workers get their parent-death signal from this thread; see spawn.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	if a.preload {
		// Workers forked from a zygote become this process's children.
		if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
			return fmt.Errorf("prefork: cannot become a child subreaper for --preload: %w", err)
		}
	}
	signal.Notify(a.signals, syscall.SIGTERM, syscall.SIGINT, syscall.SIGQUIT,
		syscall.SIGHUP, syscall.SIGTTIN, syscall.SIGTTOU, syscall.SIGUSR1)
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
		log:              s.Log,
		path:             s.Path,
		argv:             append([]string{s.Path}, s.Args...),
		env:              append(os.Environ(), s.Env...),
		credential:       s.Credential,
		bootTimeout:      orDefault(s.BootTimeout, defaultBootTimeout),
		heartbeatTimeout: max(s.HeartbeatTimeout, 0),
		stuckMargin:      orDefault(s.stuckKillMargin, StuckKillMargin),
		reconfigure:      s.Reconfigure,
		maxRestartDelay:  orDefault(s.maxRestartDelay, maxRestartDelay),
		onReopenLogs:     s.OnReopenLogs,
		hooks:            s.Hooks,
		preload:          s.Preload,
		orphans:          make(map[int]time.Time),
		reg:              &s.reg,
		started:          time.Now(),
		target:           s.Workers,
		events:           make(chan event, 2*s.Workers),
		signals:          make(chan os.Signal, 8),
		commands:         make(chan command),
		done:             make(chan struct{}),
		slots:            make(map[int]*slotBackoff),
		nextTick:         time.Now().Add(tickInterval),
	}
	if a.log == nil {
		a.log = slog.Default()
	}
	a.setLimits(s.GracefulTimeout, s.RequestTimeout, s.MaxWorkerMemory)
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

// setLimits applies Supervisor.GracefulTimeout, RequestTimeout and
// MaxWorkerMemory, at start or from a Reload.
func (a *arbiter) setLimits(graceful, request time.Duration, memory int64) {
	a.gracefulTimeout = orDefault(graceful, defaultGracefulTimeout)
	a.stuckAfter = 0
	if request > 0 {
		a.stuckAfter = request + a.stuckMargin
	}
	a.maxMemory = memory
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
	a.reg.clear()
	for _, f := range a.listeners {
		f.Close()
	}
	for _, w := range a.workers {
		w.dumpFile.Close()
		if w.boardFile != nil {
			w.boardFile.Close()
		}
	}
	for _, z := range a.zygotes {
		z.conn.Close()
	}
}

// loop handles signals, worker events and deadlines until the workers are
// gone after a stop.
func (a *arbiter) loop() error {
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for !a.stopping || ((len(a.workers) > 0 || len(a.zygotes) > 0) && !a.abandoned) {
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
		case cmd := <-a.commands:
			cmd(a)
		case now := <-timer.C:
			a.checkDeadlines(now)
		}
	}
	return a.err
}

// active lists the workers that count towards the target, in order of id.
func (a *arbiter) active() []*worker {
	var ws []*worker
	for _, w := range a.workers {
		if w.role == roleActive {
			ws = append(ws, w)
		}
	}
	slices.SortFunc(ws, func(v, w *worker) int { return v.id - w.id })
	return ws
}

// freeID is the lowest worker number that no live worker has and no
// delayed restart waits for.
func (a *arbiter) freeID() int {
	for id := 1; ; id++ {
		if st := a.slots[id]; st != nil && !st.due.IsZero() {
			continue
		}
		if !slices.ContainsFunc(a.workers, func(w *worker) bool { return w.id == id }) {
			return id
		}
	}
}

// nextDeadline is the earliest time checkDeadlines has something to do.
func (a *arbiter) nextDeadline() time.Time {
	if a.stopping {
		return a.deadline
	}
	next := a.nextRestart(a.nextTick)
	for _, z := range a.zygotes {
		if due := z.started.Add(a.bootTimeout); !z.ready && !z.retired && due.Before(next) {
			next = due
		}
	}
	if !a.zygoteDue.IsZero() && a.zygoteDue.Before(next) {
		next = a.zygoteDue
	}
	for _, w := range a.workers {
		if w.proc != nil && !w.ready && !w.timedOut && w.bootDeadline.Before(next) {
			next = w.bootDeadline
		}
		if w.role == roleRetiring && !w.killed && w.stopDeadline.Before(next) {
			next = w.stopDeadline
		}
	}
	return next
}

// checkDeadlines escalates stops, kills workers that missed their boot
// deadline, restarts the slots whose back-off is over, and runs the
// periodic checks.
func (a *arbiter) checkDeadlines(now time.Time) {
	if a.stopping {
		a.escalateStop(now)
		return
	}
	for _, w := range a.workers {
		switch {
		case w.proc != nil && !w.ready && !w.timedOut && !now.Before(w.bootDeadline):
			a.log.Warn("worker did not report ready in time; killing it", "worker", w.id, "pid", w.pid(), "boot_timeout", a.bootTimeout.String())
			w.timedOut = true
			a.signal(w, syscall.SIGKILL)
		case w.role == roleRetiring && !w.killed && !now.Before(w.stopDeadline):
			a.log.Warn("worker did not stop in time; killing it", "worker", w.id, "pid", w.pid(), "graceful_timeout", a.gracefulTimeout.String())
			w.killed = true
			a.signal(w, syscall.SIGKILL)
		}
	}
	a.checkZygotes(now)
	if a.restartsDue(now) {
		a.manageWorkers()
	}
	if !now.Before(a.nextTick) {
		a.nextTick = now.Add(tickInterval)
		a.checkHeartbeats(now)
		a.checkStuck(now)
		a.checkMemory()
		a.retryRecycles()
		a.expireDumps(now)
		if a.preload {
			a.reapOrphans(now)
		}
	}
}

// escalateStop SIGKILLs the workers that outlive a stop's grace, and gives
// up on them if even that does not end them.
func (a *arbiter) escalateStop(now time.Time) {
	if now.Before(a.deadline) {
		return
	}
	if !a.killed {
		a.log.Warn("killing workers that did not stop in time", "workers", len(a.workers))
		a.signalAll(syscall.SIGKILL)
		for _, z := range a.zygotes {
			a.killZygote(z)
		}
		a.killed = true
		a.deadline = now.Add(killWait)
		return
	}
	a.log.Error("workers did not exit after SIGKILL; giving up on them", "workers", len(a.workers))
	a.abandoned = true
	if a.err == nil {
		a.err = fmt.Errorf("prefork: %d workers did not exit after SIGKILL", len(a.workers))
	}
}

// manageWorkers brings the number of active workers, counting the slots
// whose restart waits out a back-off, to the target. Above it, it cancels
// the waiting restarts first, then stops the highest-numbered workers
// gracefully; below it, it starts workers in new slots. It also restarts
// the waiting slots whose back-off is over.
func (a *arbiter) manageWorkers() {
	if a.stopping {
		return
	}
	active, waiting := a.active(), a.waitingSlots()
	excess := len(active) + len(waiting) - a.target
	for ; excess > 0 && len(waiting) > 0; excess-- {
		a.cancelRestart(waiting[len(waiting)-1])
		waiting = waiting[:len(waiting)-1]
	}
	for i := len(active) - 1; excess > 0; i, excess = i-1, excess-1 {
		a.retire(active[i], causeScaleDown, "fewer workers wanted")
	}
	now := time.Now()
	for _, id := range waiting {
		if st := a.slots[id]; !now.Before(st.due) {
			st.due = time.Time{}
			if _, err := a.spawn(id, roleActive); err != nil {
				a.fail(err)
				return
			}
		}
	}
	for n := len(active) + len(waiting); n < a.target; n++ {
		if _, err := a.spawn(a.freeID(), roleActive); err != nil {
			a.fail(err)
			return
		}
	}
}

// workerReady records that a worker serves, and completes the reload or
// recycle that waited for it.
func (a *arbiter) workerReady(w *worker) {
	if a.stopping || w.role == roleRetiring {
		return
	}
	w.ready, w.readyAt = true, time.Now()
	w.lastBeat.Store(w.readyAt.UnixNano())
	a.log.Info("worker ready", "worker", w.id, "pid", w.pid())
	switch {
	case w.replaces != nil:
		a.recycled(w)
	case slices.Contains(a.reloading, w):
		a.reloadProgress()
	default:
		a.failures, a.everReady = 0, true
	}
}

// workerExited forgets a reaped worker and decides what its end means.
//
// An active worker that ends without being told to is replaced after its
// slot's crash-loop back-off (see backOff), never at once: Ctrl-C signals
// the supervisor and its workers together, and the supervisor must see its
// SIGINT before it takes the workers' exits for crashes. Until a worker has
// served, though, failing to boot stops Run: at once if the application
// cannot be loaded, after maxBootFailures in a row otherwise.
func (a *arbiter) workerExited(w *worker, state *os.ProcessState, waitErr error) {
	a.workers = slices.DeleteFunc(a.workers, func(v *worker) bool { return v == w })
	how := describeExit(state, waitErr)
	if w.timedOut {
		how = fmt.Sprintf("not ready within %v, %s", a.bootTimeout, how)
	}
	a.answerDumps(w, nil, fmt.Errorf("prefork: worker %d (pid %d) exited before it answered: %s", w.id, w.pid(), how))
	w.dumpFile.Close()
	if w.boardFile != nil { // never forked
		w.boardFile.Close()
	}
	// the slot is unmapped by remove
	defer a.exitedHook(w, w.board.requests.Load(), how)
	attrs := append([]any{"worker", w.id, "pid", w.pid(), "status", how}, a.reg.remove(w, a.exitCause(w, state), how)...)
	if w.killedFor != "" {
		attrs = append(attrs, "killed_for", w.killedFor)
	}
	bootFailed := state != nil && state.ExitCode() == ExitBootFailed
	switch {
	case a.stopping, w.role == roleRetiring:
		a.log.Info("worker exited", attrs...)
	case w.replaces != nil:
		a.log.Warn("worker exited", attrs...)
		a.recycleFailed(w, how)
	case slices.Contains(a.reloading, w):
		a.log.Warn("worker exited", attrs...)
		a.reloadFailed(fmt.Sprintf("new worker %d (pid %d) exited: %s", w.id, w.pid(), how))
	case w.ready:
		a.log.Warn("worker exited", attrs...)
		if !a.replacementTakesOver(w) {
			a.backOff(w, how)
		}
	case bootFailed && !a.everReady:
		a.log.Error("worker could not load the application", attrs...)
		a.fail(fmt.Errorf("prefork: worker %d (pid %d) could not load the application (%s)", w.id, w.pid(), how))
	case bootFailed:
		a.log.Error("worker could not load the application", attrs...)
		a.backOff(w, how)
	default:
		a.log.Warn("worker exited before it was ready", attrs...)
		if !a.everReady {
			a.failures++
			if a.failures >= maxBootFailures {
				a.fail(fmt.Errorf("prefork: %d workers in a row exited before they were ready; the last, worker %d (pid %d): %s", a.failures, w.id, w.pid(), how))
				return
			}
		}
		a.backOff(w, how)
	}
}

// describeExit says how a worker ended, for logs and errors.
func describeExit(state *os.ProcessState, waitErr error) string {
	if state == nil {
		if errors.Is(waitErr, errNotForked) {
			return waitErr.Error()
		}
		return fmt.Sprintf("unknown: %v", waitErr)
	}
	if ws, ok := state.Sys().(syscall.WaitStatus); ok {
		return exitReason(ws)
	}
	return state.String()
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
	a.log.Info("stopping workers", "graceful", graceful, "workers", len(a.workers), "timeout", grace.String())
	a.stopping, a.graceful, a.deadline = true, graceful, deadline
	a.signalAll(sig)
	for _, z := range a.zygotes {
		a.retireZygote(z)
	}
}

// retire stops one worker gracefully: SIGTERM, and SIGKILL if it has not
// exited after GracefulTimeout. A replacement being started for it is
// stopped too. c is why, for Metrics; why says it for the log.
func (a *arbiter) retire(w *worker, c cause, why string) {
	if w.role == roleRetiring {
		return
	}
	a.log.Info("stopping worker", "worker", w.id, "pid", w.pid(), "reason", why)
	w.role, w.stopCause = roleRetiring, c
	w.stopDeadline = time.Now().Add(a.gracefulTimeout)
	a.signal(w, syscall.SIGTERM)
	if r := w.replacement; r != nil {
		w.replacement, r.replaces = nil, nil
		a.retire(r, c, why)
	}
}

// signalAll sends sig to every worker not yet reaped.
func (a *arbiter) signalAll(sig syscall.Signal) {
	for _, w := range a.workers {
		a.signal(w, sig)
	}
}

// signal sends sig to one worker. A worker that has exited but is not yet
// reported is no error: its exit event is on the way. A pending worker
// (see spawn) is cancelled, whatever the signal.
func (a *arbiter) signal(w *worker, sig syscall.Signal) {
	if w.proc == nil {
		a.cancel(w, "stopped first")
		return
	}
	if err := w.proc.Signal(sig); err != nil && !errors.Is(err, os.ErrProcessDone) {
		a.log.Warn("cannot signal worker", "worker", w.id, "pid", w.pid(), "signal", signalName(sig), "err", err)
	}
}
