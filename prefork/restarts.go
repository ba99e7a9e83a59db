package prefork

import (
	"os"
	"time"
)

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
	causeKill        cause = "kill"
)

// causes lists every cause, for Snapshot.Restarts.
var causes = []cause{
	causeCrash, causeTimeout, causeBootFailure, causeHeartbeat,
	causeMemory, causeRetire, causeReload, causeScaleDown, causeKill,
}

// maxRecentRestarts is how many restarts Status lists.
const maxRecentRestarts = 32

// Restart describes a worker process that ended while Run ran, other than
// because Run was stopping.
type Restart struct {
	Worker int           // its WorkerID
	PID    int           // its process id
	Cause  string        // why it ended, as Snapshot.Restarts counts it
	Status string        // how it ended: "exit status 2", "signal SIGKILL", ...
	Ended  time.Time     // when it was reaped
	Lived  time.Duration // from its start to its end
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

// countRestart counts w's end, for cause c, as how says; r.mu is held.
func (r *registry) countRestart(w *worker, c cause, how string) {
	if r.restarts == nil {
		r.restarts = make(map[cause]uint64)
	}
	r.restarts[c]++
	now := time.Now()
	if len(r.recent) == maxRecentRestarts {
		r.recent = append(r.recent[:0], r.recent[1:]...)
	}
	r.recent = append(r.recent, Restart{
		Worker: w.id, PID: w.pid(), Cause: string(c), Status: how, Ended: now, Lived: now.Sub(w.started),
	})
}

// restartCounts returns the restarts by cause, every cause a key; r.mu is
// held.
func (r *registry) restartCounts() map[string]uint64 {
	counts := make(map[string]uint64, len(causes))
	for _, c := range causes {
		counts[string(c)] = r.restarts[c]
	}
	return counts
}
