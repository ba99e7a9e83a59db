package prefork

import (
	"slices"
	"time"
)

// The crash-loop back-off: a worker slot (a worker id) whose workers keep
// dying waits longer before each restart, so a worker that dies soon after
// it starts is not restarted ten times a second forever, while the other
// slots serve on.
const (
	// minRestartDelay is the first delay of a slot, and the delay after a
	// worker that lived long. It also lets a stop signal sent to the whole
	// process group (Ctrl-C) reach the supervisor before it takes its
	// workers' exits for crashes.
	minRestartDelay = 100 * time.Millisecond
	// maxRestartDelay caps the delay, which doubles with each exit in a
	// row; a worker that outlives it resets its slot's count.
	maxRestartDelay = 30 * time.Second
	// crashLoopLife is how long a worker must have served for its death
	// not to count as part of a crash loop: one that dies later (a
	// segfault in one request, a kill) is replaced after minRestartDelay
	// without adding to its slot's count, so that faults spread over time
	// do not slow the recovery from each.
	crashLoopLife = time.Second
)

// slotBackoff is the back-off state of one worker slot.
type slotBackoff struct {
	exits int       // consecutive short-lived exits of the slot's workers
	due   time.Time // when the slot's next worker starts; zero if none is waiting
}

// restartDelay is the delay before the next start of a slot whose workers
// exited exits times in a row (exits >= 1): minRestartDelay doubled for
// each exit after the first, capped at limit.
func restartDelay(exits int, limit time.Duration) time.Duration {
	d := minRestartDelay
	for range exits - 1 {
		if d >= limit {
			break
		}
		d *= 2
	}
	return min(d, limit)
}

// backOff schedules the restart of the slot of w, a worker that ended
// without being told to, and logs the delay: exits in a row soon after
// start double it, a worker that served for crashLoopLife is replaced
// after minRestartDelay, and one that lived longer than the longest delay
// resets the count.
func (a *arbiter) backOff(w *worker, how string) {
	st := a.slots[w.id]
	if st == nil {
		st = &slotBackoff{}
		a.slots[w.id] = st
	}
	now := time.Now()
	lived := now.Sub(w.started)
	if lived > a.maxRestartDelay {
		st.exits = 0
	}
	if w.ready && now.Sub(w.readyAt) >= crashLoopLife {
		st.due = now.Add(minRestartDelay)
		a.log.Info("restarting worker", "worker", w.id, "pid", w.pid(),
			"lived", roundDuration(lived).String(), "status", how, "delay", minRestartDelay.String(), "exits_in_a_row", st.exits)
		return
	}
	st.exits++
	delay := restartDelay(st.exits, a.maxRestartDelay)
	st.due = now.Add(delay)
	a.log.Warn("restart delayed (crash-loop back-off)", "worker", w.id, "pid", w.pid(),
		"lived", roundDuration(lived).String(), "status", how, "delay", delay.String(), "exits_in_a_row", st.exits)
}

// roundDuration rounds d for a log: to milliseconds under a second, else
// to tenths of a second.
func roundDuration(d time.Duration) time.Duration {
	if d < time.Second {
		return d.Round(time.Millisecond)
	}
	return d.Round(100 * time.Millisecond)
}

// waitingSlots lists the slots whose restart is pending, in order of id.
func (a *arbiter) waitingSlots() []int {
	var ids []int
	for id, st := range a.slots {
		if !st.due.IsZero() {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	return ids
}

// cancelRestart forgets the pending restart of slot id: fewer workers are
// wanted.
func (a *arbiter) cancelRestart(id int) {
	a.log.Info("delayed restart cancelled", "worker", id, "reason", "fewer workers wanted")
	delete(a.slots, id)
}

// restartsDue reports whether a pending restart is due at now.
func (a *arbiter) restartsDue(now time.Time) bool {
	for _, st := range a.slots {
		if !st.due.IsZero() && !now.Before(st.due) {
			return true
		}
	}
	return false
}

// nextRestart is the earliest pending restart, or next if that is sooner.
func (a *arbiter) nextRestart(next time.Time) time.Time {
	for _, st := range a.slots {
		if !st.due.IsZero() && st.due.Before(next) {
			next = st.due
		}
	}
	return next
}
