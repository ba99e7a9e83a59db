package prefork

import "os"

// cause is why a worker process ended, as Snapshot.Restarts counts it.
type cause string

// The causes; Snapshot.Restarts documents them.
const (
	causeCrash       cause = "crash"
	causeTimeout     cause = "timeout"
	causeBootFailure cause = "boot_failure"
	causeHeartbeat   cause = "heartbeat"
	causeMemory      cause = "memory"
	causeRetire      cause = "max_requests"
	causeReload      cause = "reload"
	causeScaleDown   cause = "scale_down"
)

// causes lists every cause, for Snapshot.Restarts.
var causes = []cause{
	causeCrash, causeTimeout, causeBootFailure, causeHeartbeat,
	causeMemory, causeRetire, causeReload, causeScaleDown,
}

// exitCause says why a reaped worker ended, or "" if it was stopped because
// Run is stopping, which is no restart. A worker the supervisor told to stop
// ended for the reason it was told, whatever its exit status.
func (a *arbiter) exitCause(w *worker, state *os.ProcessState) cause {
	switch {
	case w.stopCause != "":
		return w.stopCause
	case a.stopping:
		return ""
	case w.killedFor != "":
		return w.killCause
	case !w.ready:
		return causeBootFailure
	case state != nil && state.ExitCode() == ExitStuck:
		return causeTimeout
	}
	return causeCrash
}
