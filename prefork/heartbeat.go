package prefork

import (
	"syscall"
	"time"
)

// checkHeartbeats kills the ready workers whose heartbeat has been silent
// for longer than the heartbeat timeout; they are replaced as crashed
// workers are.
func (a *arbiter) checkHeartbeats(now time.Time) {
	if a.heartbeatTimeout <= 0 {
		return
	}
	for _, w := range a.workers {
		if !w.ready || w.role == roleRetiring || w.killedFor != "" {
			continue
		}
		silent := now.Sub(time.Unix(0, w.lastBeat.Load()))
		if silent <= a.heartbeatTimeout {
			continue
		}
		w.killedFor, w.killCause = "no heartbeat for "+silent.Round(time.Millisecond).String(), causeHeartbeat
		a.log.Error("worker stopped heartbeating; killing it", "worker", w.id, "pid", w.pid(), "silent", silent.Round(time.Millisecond).String(), "heartbeat_timeout", a.heartbeatTimeout.String())
		a.signal(w, syscall.SIGKILL)
	}
}
