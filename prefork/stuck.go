package prefork

import (
	"syscall"
	"time"
)

// StuckKillMargin is how long past Supervisor.RequestTimeout a request may
// run before the supervisor kills its worker. The worker's own watchdog acts
// first (it gives the request a few seconds' grace, then lets the others
// drain for a few more and exits with ExitStuck), so the supervisor is the
// backstop for a worker that cannot act at all, such as one whose request
// holds the GIL in C code.
const StuckKillMargin = 10 * time.Second

// checkStuck SIGKILLs every worker one of whose executors has run a request
// for longer than the request timeout plus StuckKillMargin; the worker is
// replaced as a crashed one is, and counted under causeTimeout.
func (a *arbiter) checkStuck(now time.Time) {
	if a.stuckAfter <= 0 {
		return
	}
	for _, w := range a.workers {
		if w.killedFor != "" || w.killed {
			continue
		}
		e, start := w.board.oldestExecutor()
		if e < 0 || now.Sub(start) <= a.stuckAfter {
			continue
		}
		request, start := w.board.executors[e].read()
		if request == "" || now.Sub(start) <= a.stuckAfter { // it has just finished
			continue
		}
		age := now.Sub(start).Round(time.Millisecond).String()
		w.killedFor, w.killCause = "request stuck for "+age+": "+request, causeTimeout
		a.log.Error("request stuck past the timeout; killing its worker", "worker", w.id, "pid", w.pid(),
			"request", request, "request_age", age, "limit", a.stuckAfter.String())
		a.signal(w, syscall.SIGKILL)
	}
}
