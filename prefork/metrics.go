package prefork

import (
	"time"
)

// Workers count their responses, the time each took and the application's
// exceptions in their scoreboard slots (RecordResponse, RecordException);
// Supervisor.Metrics adds them up over every worker, live or gone.

// statusClasses is the number of status classes counted: 1xx to 5xx.
const statusClasses = 5

// durationBounds are the upper bounds of the response-duration histogram's
// buckets, Prometheus's default buckets.
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

// recordResponse records a response; see RecordResponse.
func (s *slot) recordResponse(status int, d time.Duration) {
	if status >= 100 && status < 100*(statusClasses+1) {
		s.responses[status/100-1].Add(1)
	}
	s.durations[durationBucket(d)].Add(1)
	// Microseconds: a sum of nanoseconds over every response of a busy,
	// long-lived server could overflow.
	s.durationSum.Add(uint64((max(d, 0) + time.Microsecond/2) / time.Microsecond))
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
}

// add adds the current values of s's counters to c.
func (c *counters) add(s *slot) {
	for i := range c.responses {
		c.responses[i] += s.responses[i].Load()
	}
	for i := range c.durations {
		c.durations[i] += s.durations[i].Load()
	}
	c.durationSum += s.durationSum.Load()
	c.exceptions += s.exceptions.Load()
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

	// InFlight is the number of requests begun (BeginRequest) and not yet
	// ended (EndRequest) in the live workers.
	InFlight int

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
	//   - "scale_down": stopped by SIGTTOU.
	Restarts map[string]uint64
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
	s.reg.mu.Lock()
	defer s.reg.mu.Unlock()
	total := s.reg.retired
	inFlight := 0
	for _, w := range s.reg.workers {
		total.add(w.board)
		inFlight += max(int(w.board.inFlight.Load()), 0)
	}
	snap := Snapshot{
		Responses:  total.responses,
		Duration:   total.histogram(),
		InFlight:   inFlight,
		Exceptions: total.exceptions,
		Workers:    len(s.reg.workers),
		Restarts:   make(map[string]uint64, len(causes)),
	}
	for _, c := range causes {
		snap.Restarts[string(c)] = s.reg.restarts[c]
	}
	return snap
}

// histogram converts the duration counters to a cumulative Histogram.
func (c *counters) histogram() Histogram {
	h := Histogram{
		Bounds: make([]float64, len(durationBounds)),
		Counts: make([]uint64, len(durationBounds)),
		Sum:    float64(c.durationSum) / 1e6,
	}
	for i, bound := range durationBounds {
		h.Count += c.durations[i]
		h.Bounds[i], h.Counts[i] = bound.Seconds(), h.Count
	}
	h.Count += c.durations[len(durationBounds)]
	return h
}
