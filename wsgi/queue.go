package wsgi

import (
	"sync"
	"sync/atomic"
	"time"
)

// Spinning replaces thread wake-ups, which on a virtualised machine cost tens
// of microseconds each: far more than a hello-world request's Python work.
// Handing a request to a parked executor and back costs two of them, on top
// of the one that brings the request in; with a spinning executor and a
// spinning waiter a lone keep-alive client is answered with none (measured
// with wrk -c1 on hello: p50 22 µs, against 110-170 µs parked and 97 µs for
// Go's net/http serving the same bytes). The spins must outlast a client's
// round trip to pay off; they cost at most executorSpin + waiterSpin of CPU
// per idle period.
const (
	// executorSpin is how long an idle executor polls for the next request
	// before it parks: longer than a keep-alive client's round trip.
	executorSpin = 200 * time.Microsecond
	// waiterSpin is how long Serve polls for its response before it parks,
	// when its request went straight to an idle executor.
	waiterSpin = 100 * time.Microsecond
)

// jobQueue hands requests from connection goroutines to executors. At most
// one idle executor spins at a time (on a 2-core machine two spinners would
// starve the connection goroutines); the others park until woken.
type jobQueue struct {
	mu      sync.Mutex
	jobs    []*job // FIFO; jobs[head:] are waiting
	head    int
	parked  []*executor // idle executors waiting on their wake channel
	spinner bool        // an executor is polling pending
	closed  bool
	refused bool // refuse was called: jobs are answered 503, not run

	pending  atomic.Int32 // len(jobs) - head, for lock-free polling
	waiting  atomic.Bool  // a Serve caller is polling for its response
	inFlight atomic.Int32 // requests between push and the end of wait
}

// lone reports whether at most one request is in flight: a single client
// whose next request comes only after this response. Only then do spins
// pay; under concurrent load they would take the CPU the connections need,
// and the queue seldom runs dry anyway.
func (q *jobQueue) lone() bool { return q.inFlight.Load() <= 1 }

// push queues j and wakes a parked executor unless a spinning one will
// take it: a spinner takes one job, so any job beyond the first waiting
// wakes a parked executor too (waking one too many costs a futex; one too
// few leaves a request queued behind another while an executor sleeps). It
// reports whether an executor was idle, so the caller knows its request
// will start at once.
func (q *jobQueue) push(j *job) (idle bool) {
	q.inFlight.Add(1)
	q.mu.Lock()
	if q.refused {
		q.mu.Unlock()
		j.outcome.Store(outcomeRefused)
		j.done <- struct{}{}
		return false
	}
	q.jobs = append(q.jobs, j)
	waiting := q.pending.Add(1)
	idle = q.spinner || len(q.parked) > 0
	var wake *executor
	if (!q.spinner || waiting > 1) && len(q.parked) > 0 {
		wake = q.parked[len(q.parked)-1]
		q.parked = q.parked[:len(q.parked)-1]
	}
	q.mu.Unlock()
	if wake != nil {
		wake.wake <- struct{}{}
	}
	return idle
}

// popLocked takes the oldest job; the caller holds q.mu.
func (q *jobQueue) popLocked() *job {
	if q.head == len(q.jobs) {
		return nil
	}
	j := q.jobs[q.head]
	q.jobs[q.head] = nil
	q.head++
	if q.head == len(q.jobs) {
		q.jobs, q.head = q.jobs[:0], 0
	}
	q.pending.Add(-1)
	return j
}

// take returns the next job for e, spinning then parking while there is
// none; nil once the queue is closed and drained.
func (q *jobQueue) take(e *executor) *job {
	for {
		q.mu.Lock()
		if j := q.popLocked(); j != nil {
			q.mu.Unlock()
			return j
		}
		if q.closed {
			q.mu.Unlock()
			return nil
		}
		if !q.spinner && q.lone() {
			q.spinner = true
			q.mu.Unlock()
			found := q.spin()
			q.mu.Lock()
			q.spinner = false
			if found {
				q.mu.Unlock()
				continue
			}
			// a job may have come while spinning ended: look once more
			if q.pending.Load() > 0 || q.closed {
				q.mu.Unlock()
				continue
			}
		}
		q.parked = append(q.parked, e)
		q.mu.Unlock()
		<-e.wake
	}
}

// spin polls for a pending job for up to executorSpin, or until another
// request shows up elsewhere (no longer a lone client).
func (q *jobQueue) spin() bool {
	deadline := time.Now().Add(executorSpin)
	for i := 0; ; i++ {
		if q.pending.Load() > 0 {
			return true
		}
		// the clock is read rarely: it costs more than many polls
		if i%1024 == 1023 && (time.Now().After(deadline) || !q.lone()) {
			return false
		}
	}
}

// refuse takes every waiting job off the queue, and refuses every later
// one, signalling each as outcomeRefused for its waiter to answer.
func (q *jobQueue) refuse() {
	q.mu.Lock()
	q.refused = true
	var refused []*job
	for j := q.popLocked(); j != nil; j = q.popLocked() {
		refused = append(refused, j)
	}
	q.mu.Unlock()
	for _, j := range refused {
		j.outcome.Store(outcomeRefused)
		j.done <- struct{}{}
	}
}

// close makes take return nil to every executor once the queue is empty.
func (q *jobQueue) close() {
	q.mu.Lock()
	q.closed = true
	parked := q.parked
	q.parked = nil
	q.mu.Unlock()
	for _, e := range parked {
		e.wake <- struct{}{}
	}
}

// wait blocks until the executor has finished j. When the job started at
// once and no other caller is polling, it polls first: a short request's
// response is then microseconds away, and a parked goroutine would be paced
// by a thread wake-up. (Many pollers would only take CPU from the
// connections that have work.)
func (j *job) wait(q *jobQueue, spin bool) {
	defer q.inFlight.Add(-1)
	if spin && q.lone() && q.waiting.CompareAndSwap(false, true) {
		defer q.waiting.Store(false)
		deadline := time.Now().Add(waiterSpin)
		for i := 0; ; i++ {
			select {
			case <-j.done:
				return
			default:
			}
			if i%256 == 255 && time.Now().After(deadline) {
				break
			}
		}
	}
	<-j.done
}
