package prefork

import (
	"sync/atomic"
	"time"
)

// Workers count their responses, the time each took, the time requests
// waited for a slot of the application and the application's exceptions in
// their scoreboard slots (RecordResponse, BeginWait and EndWait,
// RecordException); Supervisor.Metrics adds them up over every worker, live
// or gone.

// statusClasses is the number of status classes counted: 1xx to 5xx.
const statusClasses = 5

// durationBounds are the upper bounds of the buckets of the histograms of
// response durations and of waits, Prometheus's default buckets.
var durationBounds = [...]time.Duration{
	5 * time.Millisecond,
	10 * time.Millisecond,
	25 * time.Millisecond,
	50 * time.Millisecond,
	100 * time.Millisecond,
	250 * time.Millisecond,
	500 * time.Millisecond,
	time.Second,
	2500 * time.Millisecond,
	5 * time.Second,
	10 * time.Second,
}

// durationBuckets is the number of histogram buckets: one per bound, and
// one for the durations above the last.
const durationBuckets = len(durationBounds) + 1

// RecordResponse records in this worker's scoreboard slot a response with
// HTTP status code status that took d, from the start of the request to the
// end of the response. A status from 100 to 599 counts in its class (1xx to
// 5xx); any other counts only in the durations. Like BeginRequest it makes
// no system call, allocates nothing and is safe for concurrent use; in a
// process that is not a worker it does nothing.
func RecordResponse(status int, d time.Duration) {
	if s := inherited().board; s != nil {
		s.recordResponse(status, d)
	}
}

// RecordException records in this worker's scoreboard slot that the
// application raised an exception that failed a request (answered 500, or
// broke a response already under way). Like RecordResponse it is cheap and
// safe for concurrent use, and does nothing outside a worker.
func RecordException() {
	if s := inherited().board; s != nil {
		s.exceptions.Add(1)
	}
}

// BeginWait records in this worker's scoreboard slot that a request has
// begun waiting for a slot of the application (--threads). Pair each call
// with EndWait. Like RecordResponse it is cheap, safe for concurrent use and
// does nothing outside a worker.
func BeginWait() {
	if s := inherited().board; s != nil {
		s.waiting.Add(1)
	}
}

// EndWait records that a request begun with BeginWait has stopped waiting,
// after waited: it got its slot, or was refused. Supervisor.Metrics counts
// waited in Snapshot.Wait. Like BeginWait it is cheap and safe for
// concurrent use.
func EndWait(waited time.Duration) {
	if s := inherited().board; s != nil {
		s.endWait(waited)
	}
}

// recordResponse records a response; see RecordResponse.
func (s *slot) recordResponse(status int, d time.Duration) {
	if status >= 100 && status < 100*(statusClasses+1) {
		s.responses[status/100-1].Add(1)
	}
	observe(&s.durations, &s.durationSum, d)
}

// endWait records a wait that ended; see EndWait.
func (s *slot) endWait(waited time.Duration) {
	observe(&s.waits, &s.waitSum, waited)
	s.waiting.Add(-1)
}

// observe counts d in a histogram's buckets and adds it to its sum.
func observe(buckets *[durationBuckets]atomic.Uint64, sum *atomic.Uint64, d time.Duration) {
	buckets[durationBucket(d)].Add(1)
	// Microseconds: a sum of nanoseconds over every response of a busy,
	// long-lived server could overflow.
	sum.Add(uint64((max(d, 0) + time.Microsecond/2) / time.Microsecond))
}

// durationBucket returns the index of the histogram bucket d falls in: the
// first whose bound is at least d, as Prometheus's "le" says.
func durationBucket(d time.Duration) int {
	for i, bound := range durationBounds {
		if d <= bound {
			return i
		}
	}
	return len(durationBounds)
}

// counters holds the totals of the counters in scoreboard slots.
type counters struct {
	responses   [statusClasses]uint64
	durations   [durationBuckets]uint64
	durationSum uint64 // microseconds
	exceptions  uint64
	waits       [durationBuckets]uint64
	waitSum     uint64 // microseconds
}

// add adds the current values of s's counters to c.
func (c *counters) add(s *slot) {
	for i := range c.responses {
		c.responses[i] += s.responses[i].Load()
	}
	for i := range c.durations {
		c.durations[i] += s.durations[i].Load()
		c.waits[i] += s.waits[i].Load()
	}
	c.durationSum += s.durationSum.Load()
	c.exceptions += s.exceptions.Load()
	c.waitSum += s.waitSum.Load()
}

// Snapshot is a supervisor's metrics at one moment. Its counters add up
// every worker the Supervisor has started, those still running and those
// that have exited, so they never go down; its gauges describe the live
// workers.
type Snapshot struct {
	// Responses counts the responses workers recorded with RecordResponse
	// by status class: Responses[0] is 1xx, ..., Responses[4] is 5xx.
	Responses [statusClasses]uint64

	// Duration is the histogram of those responses' durations.
	Duration Histogram

	// Wait is the histogram of the time requests waited for a slot of the
	// application (BeginWait to EndWait).
	Wait Histogram

	// InFlight is the number of requests begun (BeginRequest) and not yet
	// ended (EndRequest) in the live workers.
	InFlight int

	// Waiting is the number of requests waiting for a slot of the
	// application (BeginWait, not yet EndWait) in the live workers.
	Waiting int

	// Exceptions counts the RecordException calls of workers.
	Exceptions uint64

	// Workers is the number of live worker processes, including those
	// booting and those stopping: during a reload or a recycle there are
	// more than Supervisor.Workers.
	Workers int

	// Restarts counts the worker processes that ended while Run ran (not
	// those stopped because Run was stopping), by cause; every cause is a
	// key, with 0 if no worker ended for it:
	//   - "crash": a ready worker exited or was killed, not by the
	//     supervisor;
	//   - "timeout": a ready worker exited with ExitStuck;
	//   - "boot_failure": a worker exited before it was ready, or missed
	//     Supervisor.BootTimeout;
	//   - "heartbeat": killed for missing Supervisor.HeartbeatTimeout;
	//   - "memory": recycled for exceeding Supervisor.MaxWorkerMemory;
	//   - "max_requests": recycled because it called Retire;
	//   - "reload": stopped by a reload (SIGHUP or WatchPaths): the old
	//     generation after a reload, the new one after a failed reload;
	//   - "scale_down": stopped by SIGTTOU or SetWorkers;
	//   - "kill": stopped by KillWorker.
	Restarts map[string]uint64

	// Listeners describes the queue of connections waiting to be accepted
	// on each of Supervisor.Listeners, in order.
	Listeners []ListenerStats
}

// Histogram is a cumulative histogram, in the shape Prometheus exposes.
type Histogram struct {
	Bounds []float64 // the buckets' upper bounds, in seconds, ascending; the bucket +Inf is implicit
	Counts []uint64  // Counts[i] is the number of observations at most Bounds[i]
	Count  uint64    // the number of observations: the bucket +Inf
	Sum    float64   // the sum of the observations, in seconds
}

// Metrics returns the supervisor's metrics. It is safe to call from any
// goroutine, while Run runs or not; the counters keep their totals from one
// Run to the next.
func (s *Supervisor) Metrics() Snapshot {
	listeners := listenerStats(s.Listeners)
	s.reg.mu.Lock()
	defer s.reg.mu.Unlock()
	total := s.reg.retired
	inFlight, waiting := 0, 0
	for _, w := range s.reg.workers {
		total.add(w.board)
		inFlight += max(int(w.board.inFlight.Load()), 0)
		waiting += max(int(w.board.waiting.Load()), 0)
	}
	return Snapshot{
		Responses:  total.responses,
		Duration:   histogram(&total.durations, total.durationSum),
		Wait:       histogram(&total.waits, total.waitSum),
		InFlight:   inFlight,
		Waiting:    waiting,
		Exceptions: total.exceptions,
		Workers:    len(s.reg.workers),
		Restarts:   s.reg.restartCounts(),
		Listeners:  listeners,
	}
}

// histogram converts the counts of a histogram's buckets (not cumulative)
// and their sum in microseconds to a cumulative Histogram.
func histogram(buckets *[durationBuckets]uint64, sum uint64) Histogram {
	h := Histogram{
		Bounds: make([]float64, len(durationBounds)),
		Counts: make([]uint64, len(durationBounds)),
		Sum:    float64(sum) / 1e6,
	}
	for i, bound := range durationBounds {
		h.Count += buckets[i]
		h.Bounds[i], h.Counts[i] = bound.Seconds(), h.Count
	}
	h.Count += buckets[len(durationBounds)]
	return h
}
