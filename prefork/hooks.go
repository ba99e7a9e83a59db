package prefork

// Hooks is told of a Supervisor's lifecycle events as they happen, on the
// supervisor's loop, which waits for each method to return: a method must
// return soon (queue the work, or wait with a short bound).
type Hooks interface {
	// WorkersChanged reports that the number of workers wanted went from
	// old to new (SIGTTIN, SIGTTOU).
	WorkersChanged(new, old int)
	// Reloading reports that a reload (SIGHUP, WatchPaths) is about to
	// start its new generation of workers.
	Reloading(workers int)
	// WorkerExited reports that a worker process ended and was reaped,
	// whatever the reason.
	WorkerExited(w ExitedWorker)
}

// ExitedWorker describes a worker that has ended.
type ExitedWorker struct {
	ID       int    // its WorkerID
	PID      int    // its process id
	Age      int    // its WorkerAge
	Requests uint64 // the requests it finished
	Status   string // how it ended: "exit status 0", "killed by SIGKILL", ...
}

// workersChanged tells the hooks, if any, that the target went from old.
func (a *arbiter) workersChanged(old int) {
	if a.hooks != nil && a.target != old {
		a.hooks.WorkersChanged(a.target, old)
	}
}

// reloadingHook tells the hooks, if any, that a reload starts.
func (a *arbiter) reloadingHook() {
	if a.hooks != nil {
		a.hooks.Reloading(a.target)
	}
}

// exitedHook tells the hooks, if any, that w ended as how says, having
// finished requests. A worker never forked (see spawn) had no process to
// end.
func (a *arbiter) exitedHook(w *worker, requests uint64, how string) {
	if a.hooks != nil && w.proc != nil {
		a.hooks.WorkerExited(ExitedWorker{ID: w.id, PID: w.pid(), Age: w.age, Requests: requests, Status: how})
	}
}
