package prefork

import (
	"fmt"
	"os"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"
)

// The scoreboard lets the supervisor see what each worker is doing without
// a system call on the worker's request path. Every worker has a slot: a
// small file in os.TempDir(), unlinked at once, that the supervisor and the
// worker both map (the worker inherits it as a descriptor). The worker
// writes with atomic operations and plain copies into shared memory; the
// supervisor reads the request in progress under a sequence lock, and the
// counters behind Supervisor.Metrics (see metrics.go) without it.

// slotTextSize is the room for the current request line ("GET /path"); a
// longer one is cut.
const slotTextSize = 480

// slot is the layout of a scoreboard slot; its size is a multiple of 8 and
// it sits at the start of a page, so its atomics are aligned.
//
// seq is a sequence lock over start, length and text: odd while a writer
// changes them. Writers take it with a compare-and-swap (executors in one
// worker may write concurrently); readers retry until they see the same
// even value before and after copying.
//
// The counters after text only grow, each on its own, by atomic addition:
// a reader wants each total, not a set consistent with one another, so they
// are outside the lock.
type slot struct {
	seq      atomic.Uint64
	requests atomic.Uint64 // requests finished
	start    atomic.Int64  // when the latest request began, Unix nanoseconds; 0 while idle
	inFlight atomic.Int32  // requests begun and not ended
	length   atomic.Uint32 // bytes of text in use
	text     [slotTextSize]byte

	responses   [statusClasses]atomic.Uint64   // by status class: 1xx at 0 ... 5xx at 4
	durations   [durationBuckets]atomic.Uint64 // responses by durationBucket (not cumulative)
	durationSum atomic.Uint64                  // of response durations, in microseconds
	exceptions  atomic.Uint64                  // RecordException calls
	waits       [durationBuckets]atomic.Uint64 // waits for an app slot by durationBucket (not cumulative); see EndWait
	waitSum     atomic.Uint64                  // of those waits, in microseconds
	waiting     atomic.Int32                   // requests waiting for an app slot now

	executors [maxExecutors]executorSlot // the request each executor runs; see ExecutorBusy
}

// maxExecutors is how many executors of a worker the scoreboard follows;
// ExecutorBusy ignores the others.
const maxExecutors = 64

// executorTextSize is the room for an executor's request line; a longer
// one is cut.
const executorTextSize = 112

// executorSlot is what one executor runs. Its executor is its only writer,
// so seq, a sequence lock over start, length and text as in slot, needs no
// compare-and-swap.
type executorSlot struct {
	seq    atomic.Uint32
	length atomic.Uint32 // bytes of text in use
	start  atomic.Int64  // when the request began, Unix nanoseconds; 0 while idle
	text   [executorTextSize]byte
}

// slotSize is the size of the file behind a slot.
const slotSize = int(unsafe.Sizeof(slot{}))

// newSlot creates a zeroed slot, maps it for the supervisor (read-only) and
// returns the file to pass to the worker; the caller closes the file.
func newSlot() (*slot, *os.File, error) {
	f, err := unlinkedFile("gowsgi-scoreboard-*")
	if err != nil {
		return nil, nil, err
	}
	if err := f.Truncate(int64(slotSize)); err != nil {
		f.Close()
		return nil, nil, err
	}
	mem, err := syscall.Mmap(int(f.Fd()), 0, slotSize, syscall.PROT_READ, syscall.MAP_SHARED)
	if err != nil {
		f.Close()
		return nil, nil, fmt.Errorf("mmap: %w", err)
	}
	return (*slot)(unsafe.Pointer(&mem[0])), f, nil
}

// mapSlot maps the slot a worker inherited as fd for writing.
func mapSlot(fd int) (*slot, error) {
	mem, err := syscall.Mmap(fd, 0, slotSize, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_SHARED)
	if err != nil {
		return nil, err
	}
	return (*slot)(unsafe.Pointer(&mem[0])), nil
}

// unmap removes the mapping; s must not be used after.
func (s *slot) unmap() {
	syscall.Munmap(unsafe.Slice((*byte)(unsafe.Pointer(s)), slotSize))
}

// lock takes the sequence lock for writing and returns the odd value to
// pass to unlock.
func (s *slot) lock() uint64 {
	for {
		if v := s.seq.Load(); v&1 == 0 && s.seq.CompareAndSwap(v, v+1) {
			return v + 1
		}
		runtime.Gosched()
	}
}

// unlock releases the sequence lock taken by lock.
func (s *slot) unlock(v uint64) {
	s.seq.Store(v + 1)
}

// BeginRequest records in this worker's scoreboard slot that it has begun
// serving a request, shown as method and target separated by a space (cut
// to 480 bytes). It makes no system call and allocates nothing, and
// concurrent executors may call it: the slot shows the latest request begun
// while any is in flight. Pair each call with EndRequest. In a process that
// is not a worker it does nothing.
func BeginRequest(method, target []byte) {
	if s := inherited().board; s != nil {
		s.begin(method, target)
	}
}

// EndRequest records that a request begun with BeginRequest is finished.
// Like BeginRequest it is cheap and safe for concurrent use.
func EndRequest() {
	if s := inherited().board; s != nil {
		s.end()
	}
}

// ExecutorBusy records in this worker's scoreboard slot that executor
// (0, 1, ...) began running a request at started, shown as method and
// target separated by a space (cut to 112 bytes). The supervisor kills a
// worker one of whose executors stays busy past Supervisor.RequestTimeout
// plus StuckKillMargin. Like BeginRequest it makes no system call and
// allocates nothing; each executor must be one goroutine at a time, and
// executors may call it concurrently. Pair each call with ExecutorIdle. It
// does nothing in a process that is not a worker, and for an executor
// numbered 64 or more.
func ExecutorBusy(executor int, started time.Time, method, target []byte) {
	if s := inherited().board; s != nil && executor >= 0 && executor < maxExecutors {
		s.executors[executor].busy(started, method, target)
	}
}

// ExecutorIdle records that executor has finished the request recorded by
// ExecutorBusy. It is as cheap as ExecutorBusy.
func ExecutorIdle(executor int) {
	if s := inherited().board; s != nil && executor >= 0 && executor < maxExecutors {
		s.executors[executor].idle()
	}
}

// putRequestLine writes method, a space and target to dst, as much as
// fits, and returns the length written.
func putRequestLine(dst, method, target []byte) int {
	n := copy(dst, method)
	if n < len(dst) {
		dst[n] = ' '
		n++
	}
	return n + copy(dst[n:], target)
}

// busy records a request begun; see ExecutorBusy.
func (e *executorSlot) busy(started time.Time, method, target []byte) {
	v := e.seq.Add(1)
	e.length.Store(uint32(putRequestLine(e.text[:], method, target)))
	e.start.Store(started.UnixNano())
	e.seq.Store(v + 1)
}

// idle records the request finished; see ExecutorIdle. Clearing start is
// enough, and needs no lock: a reader that saw it set before copied the
// finished request's own text, since only busy changes the text.
func (e *executorSlot) idle() {
	e.start.Store(0)
}

// read copies the executor's request under the sequence lock; "" and zero
// while idle. Like slot.read it gives up waiting when givenUp says so.
func (e *executorSlot) read() (string, time.Time) {
	var buf [executorTextSize]byte
	var since time.Time
	for try := 0; ; try++ {
		v := e.seq.Load()
		start := e.start.Load()
		n := min(int(e.length.Load()), len(buf))
		copy(buf[:], e.text[:n])
		if v&1 == 0 && e.seq.Load() == v || givenUp(try, &since) {
			if start == 0 {
				return "", time.Time{}
			}
			return string(buf[:n]), time.Unix(0, start)
		}
		runtime.Gosched()
	}
}

// oldestExecutor returns the executor that has been busy longest and when
// its request began, or -1 if every executor is idle. It reads only
// atomics, so the supervisor can ask every tick.
func (s *slot) oldestExecutor() (int, time.Time) {
	oldest, first := -1, int64(0)
	for i := range s.executors {
		if start := s.executors[i].start.Load(); start != 0 && (oldest < 0 || start < first) {
			oldest, first = i, start
		}
	}
	if oldest < 0 {
		return -1, time.Time{}
	}
	return oldest, time.Unix(0, first)
}

// begin records a request begun; see BeginRequest.
func (s *slot) begin(method, target []byte) {
	v := s.lock()
	s.length.Store(uint32(putRequestLine(s.text[:], method, target)))
	s.start.Store(time.Now().UnixNano())
	s.inFlight.Add(1)
	s.unlock(v)
}

// end records a request finished; see EndRequest.
func (s *slot) end() {
	v := s.lock()
	if s.inFlight.Add(-1) <= 0 {
		s.inFlight.Store(0)
		s.start.Store(0)
		s.length.Store(0)
	}
	s.requests.Add(1)
	s.unlock(v)
}

// slotState is a consistent copy of a slot.
type slotState struct {
	requests uint64
	request  string    // "" while idle
	start    time.Time // zero while idle
}

// read copies the slot. A worker killed while it held the lock leaves seq
// odd for good; read takes what is there once givenUp says so.
func (s *slot) read() slotState {
	var buf [slotTextSize]byte
	var since time.Time
	for try := 0; ; try++ {
		v := s.seq.Load()
		st := slotState{requests: s.requests.Load()}
		start := s.start.Load()
		n := min(int(s.length.Load()), len(buf))
		copy(buf[:], s.text[:n])
		if v&1 == 0 && s.seq.Load() == v || givenUp(try, &since) {
			if start != 0 {
				st.start = time.Unix(0, start)
				st.request = string(buf[:n])
			}
			return st
		}
		runtime.Gosched()
	}
}

// readPatience is how long a reader waits for a writer to release a
// sequence lock before it takes what is there: far longer than a writer
// holds it, even one descheduled on a busy machine, so that only a writer
// killed while holding it is given up on.
const readPatience = 100 * time.Millisecond

// givenUp reports whether a reader on its try-th attempt (since holding
// the time of its 1000th) has waited readPatience for a sequence lock.
func givenUp(try int, since *time.Time) bool {
	switch {
	case try < 1000:
		return false
	case try == 1000:
		*since = time.Now()
		return false
	}
	return time.Since(*since) >= readPatience
}

// WorkerStats is a snapshot of one live worker.
type WorkerStats struct {
	ID           int       // WorkerID of the worker
	PID          int       // process id
	Requests     uint64    // requests it has finished (EndRequest calls)
	Request      string    // the request in progress ("GET /path"), "" if idle
	RequestStart time.Time // when Request began; zero if idle
	RSS          int64     // resident memory in bytes; 0 if unknown
}

// Stats returns a snapshot of every live worker, in order of start. It is
// safe to call from any goroutine while Run runs; outside Run it returns
// nothing.
func (s *Supervisor) Stats() []WorkerStats {
	s.reg.mu.Lock()
	defer s.reg.mu.Unlock()
	stats := make([]WorkerStats, 0, len(s.reg.workers))
	for _, w := range s.reg.workers {
		stats = append(stats, w.stats())
	}
	return stats
}

// stats reads w's scoreboard slot and resident memory. Its slot must stay
// mapped meanwhile: the caller holds the registry's lock, or is the loop,
// which alone removes workers.
func (w *worker) stats() WorkerStats {
	st := w.board.read()
	rss, _ := residentMemory(w.pid())
	return WorkerStats{
		ID:           w.id,
		PID:          w.pid(),
		Requests:     st.requests,
		Request:      st.request,
		RequestStart: st.start,
		RSS:          rss,
	}
}

// registry is the list of live workers that Stats and Metrics read from
// other goroutines; it also owns the supervisor's mappings of their
// scoreboard slots, which it unmaps when a worker is removed, after adding
// the slot's counters to retired.
type registry struct {
	mu       sync.Mutex
	workers  []*worker
	retired  counters         // the counters of every removed worker, added up
	restarts map[cause]uint64 // removed workers by why they ended
	recent   []Restart        // the latest restarts, oldest first, at most maxRecentRestarts
}

// add makes a new worker visible to Stats and Metrics.
func (r *registry) add(w *worker) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.workers = append(r.workers, w)
}

// remove takes a reaped worker out of the registry, keeps its counters in
// the retired totals, counts it as a restart for c (unless c is ""), which
// ended as how says, unmaps its slot, and returns log attributes naming the
// request it was serving, if any. All of that happens under the lock, so
// Metrics never sees the worker's counts twice or not at all.
func (r *registry) remove(w *worker, c cause, how string) []any {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.workers = slices.DeleteFunc(r.workers, func(v *worker) bool { return v == w })
	r.retired.add(w.board)
	if c != "" {
		r.countRestart(w, c, how)
	}
	st := w.board.read()
	w.board.unmap()
	if st.request == "" {
		return nil
	}
	return []any{"request", st.request, "request_age", time.Since(st.start).Round(time.Millisecond).String()}
}

// clear forgets every worker, keeping their counters in the retired totals
// and unmapping their slots: Run is returning, and any worker left has been
// abandoned.
func (r *registry) clear() {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, w := range r.workers {
		r.retired.add(w.board)
		w.board.unmap()
	}
	r.workers = nil
}
