package prefork

import (
	"io"
	"os"
	"os/exec"
	"slices"
	"sync"
	"syscall"
	"testing"
	"time"
)

func TestDurationBucket(t *testing.T) {
	tests := []struct {
		d    time.Duration
		want int
	}{
		{-time.Second, 0},
		{0, 0},
		{time.Millisecond, 0},
		{5 * time.Millisecond, 0}, // a bound belongs to its bucket: "le"
		{5*time.Millisecond + 1, 1},
		{10 * time.Millisecond, 1},
		{30 * time.Millisecond, 3},
		{time.Second, 7},
		{time.Second + 1, 8},
		{10 * time.Second, 10},
		{10*time.Second + 1, 11},
		{time.Hour, 11},
	}
	for _, tt := range tests {
		if got := durationBucket(tt.d); got != tt.want {
			t.Errorf("durationBucket(%v) = %d, want %d", tt.d, got, tt.want)
		}
	}
}

// slotCounters reads a slot's counters as the supervisor does.
func slotCounters(s *slot) counters {
	var c counters
	c.add(s)
	return c
}

func TestRecordResponse(t *testing.T) {
	tests := []struct {
		status int
		d      time.Duration
		class  int // index in responses; -1 for none
		bucket int
		sum    uint64 // microseconds
	}{
		{status: 100, d: time.Millisecond, class: 0, bucket: 0, sum: 1000},
		{status: 200, d: 7 * time.Millisecond, class: 1, bucket: 1, sum: 7000},
		{status: 204, d: 1500, class: 1, bucket: 0, sum: 2}, // 1.5µs rounds to 2
		{status: 302, d: 200 * time.Millisecond, class: 2, bucket: 5, sum: 200000},
		{status: 404, d: 3 * time.Second, class: 3, bucket: 9, sum: 3000000},
		{status: 500, d: 11 * time.Second, class: 4, bucket: 11, sum: 11000000},
		{status: 599, d: 0, class: 4, bucket: 0, sum: 0},
		{status: 99, d: time.Millisecond, class: -1, bucket: 0, sum: 1000},
		{status: 600, d: time.Millisecond, class: -1, bucket: 0, sum: 1000},
		{status: 0, d: -time.Second, class: -1, bucket: 0, sum: 0},
	}
	for _, tt := range tests {
		r, w := writableSlot(t)
		w.recordResponse(tt.status, tt.d)
		var want counters
		if tt.class >= 0 {
			want.responses[tt.class] = 1
		}
		want.durations[tt.bucket] = 1
		want.durationSum = tt.sum
		if got := slotCounters(r); got != want {
			t.Errorf("recordResponse(%d, %v): counters %+v, want %+v", tt.status, tt.d, got, want)
		}
	}
}

func TestRecordAllocatesNothing(t *testing.T) {
	_, w := writableSlot(t)
	if n := testing.AllocsPerRun(1000, func() {
		w.recordResponse(200, 3*time.Millisecond)
		w.exceptions.Add(1)
	}); n != 0 {
		t.Errorf("recording a response and an exception allocates %v times", n)
	}
	// Outside a worker the exported functions do nothing, and nothing
	// costs an allocation either.
	if n := testing.AllocsPerRun(1000, func() {
		RecordResponse(200, 3*time.Millisecond)
		RecordException()
	}); n != 0 {
		t.Errorf("RecordResponse and RecordException allocate %v times outside a worker", n)
	}
}

// BenchmarkRecordResponse measures what a worker's executors pay per
// response, all recording at once into one slot.
func BenchmarkRecordResponse(b *testing.B) {
	reader, f, err := newSlot()
	if err != nil {
		b.Fatal(err)
	}
	defer reader.unmap()
	w, err := mapSlot(int(f.Fd()))
	f.Close()
	if err != nil {
		b.Fatal(err)
	}
	defer w.unmap()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			w.recordResponse(200, 30*time.Millisecond)
		}
	})
}

// TestRecordConcurrent records from several goroutines while reading, and
// checks that no read total goes down and that none is lost.
func TestRecordConcurrent(t *testing.T) {
	r, w := writableSlot(t)
	const writers, perWriter = 4, 5000
	var wg sync.WaitGroup
	for i := range writers {
		wg.Go(func() {
			for j := range perWriter {
				w.recordResponse(200+100*(i%4), time.Duration(j)*time.Millisecond)
				w.exceptions.Add(1)
			}
		})
	}
	done := make(chan struct{})
	go func() {
		wg.Wait()
		close(done)
	}()
	var last counters
	for reading := true; reading; {
		select {
		case <-done:
			reading = false
		default:
		}
		now := slotCounters(r)
		if !countersGrew(last, now) {
			t.Fatalf("counters went down: %+v, then %+v", last, now)
		}
		last = now
	}
	c := slotCounters(r)
	var n uint64
	for _, v := range c.durations {
		n += v
	}
	for class := 1; class < statusClasses; class++ {
		if c.responses[class] != perWriter {
			t.Errorf("%dxx responses: %d, want %d", class+1, c.responses[class], perWriter)
		}
	}
	if n != writers*perWriter || c.exceptions != writers*perWriter {
		t.Errorf("%d durations, %d exceptions; want %d of each", n, c.exceptions, writers*perWriter)
	}
	// Each writer records 0ms, 1ms, ..., perWriter-1 ms.
	if want := uint64(writers * perWriter * (perWriter - 1) / 2 * 1000); c.durationSum != want {
		t.Errorf("duration sum %dµs, want %dµs", c.durationSum, want)
	}
}

// countersGrew reports whether no counter in now is below its value in
// before.
func countersGrew(before, now counters) bool {
	for i := range before.responses {
		if now.responses[i] < before.responses[i] {
			return false
		}
	}
	for i := range before.durations {
		if now.durations[i] < before.durations[i] {
			return false
		}
	}
	return now.durationSum >= before.durationSum && now.exceptions >= before.exceptions
}

func TestHistogram(t *testing.T) {
	var c counters
	c.durations[0], c.durations[3], c.durations[11] = 2, 5, 1
	c.durationSum = 12_345_678
	h := histogram(&c.durations, c.durationSum)
	wantCounts := []uint64{2, 2, 2, 7, 7, 7, 7, 7, 7, 7, 7}
	wantBounds := []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}
	if !slices.Equal(h.Counts, wantCounts) || !slices.Equal(h.Bounds, wantBounds) || h.Count != 8 || h.Sum != 12.345678 {
		t.Errorf("histogram() = %+v, want bounds %v, counts %v, count 8, sum 12.345678", h, wantBounds, wantCounts)
	}
}

// TestMetricsKeepsExitedWorkersCounts checks that a removed worker's
// counters stay in the totals and its end counts as a restart.
func TestMetricsKeepsExitedWorkersCounts(t *testing.T) {
	var s Supervisor
	board, f, err := newSlot()
	if err != nil {
		t.Fatal(err)
	}
	writer, err := mapSlot(int(f.Fd()))
	f.Close()
	if err != nil {
		board.unmap()
		t.Fatal(err)
	}
	defer writer.unmap()
	w := &worker{id: 1, proc: &os.Process{Pid: 1}, board: board}
	s.reg.add(w)

	writer.begin([]byte("GET"), []byte("/"))
	writer.recordResponse(404, 20*time.Millisecond)
	writer.exceptions.Add(1)
	live := s.Metrics()
	if live.Workers != 1 || live.InFlight != 1 || live.Responses[3] != 1 || live.Exceptions != 1 || live.Duration.Count != 1 {
		t.Errorf("with the worker live: %+v", live)
	}
	s.reg.remove(w, causeCrash, "exit status 2")
	gone := s.Metrics()
	if gone.Workers != 0 || gone.InFlight != 0 || gone.Responses != live.Responses || gone.Exceptions != 1 || gone.Duration.Count != 1 || gone.Duration.Sum != live.Duration.Sum {
		t.Errorf("after the worker was removed: %+v", gone)
	}
	for _, c := range causes {
		want := uint64(0)
		if c == causeCrash {
			want = 1
		}
		if n, ok := gone.Restarts[string(c)]; !ok || n != want {
			t.Errorf("Restarts[%q] = %d, %v; want %d", c, n, ok, want)
		}
	}
}

func TestExitCause(t *testing.T) {
	exited := func(status string) *os.ProcessState {
		cmd := exec.Command("/bin/sh", "-c", "exit "+status)
		cmd.Run()
		return cmd.ProcessState
	}
	crashed, stuck := exited("2"), exited("70")
	tests := []struct {
		name     string
		stopping bool
		w        *worker
		state    *os.ProcessState
		want     cause
	}{
		{name: "crash after ready", w: &worker{ready: true}, state: crashed, want: causeCrash},
		{name: "stuck request", w: &worker{ready: true}, state: stuck, want: causeTimeout},
		{name: "wait failed", w: &worker{ready: true}, want: causeCrash},
		{name: "exit before ready", w: &worker{}, state: crashed, want: causeBootFailure},
		{name: "missed boot timeout", w: &worker{timedOut: true}, state: crashed, want: causeBootFailure},
		{name: "heartbeat", w: &worker{ready: true, killedFor: "no heartbeat for 31s", killCause: causeHeartbeat}, state: crashed, want: causeHeartbeat},
		{name: "stuck request killed", w: &worker{ready: true, killedFor: "request stuck for 40s: GET /", killCause: causeTimeout}, state: crashed, want: causeTimeout},
		{name: "told to stop", w: &worker{ready: true, stopCause: causeScaleDown}, state: crashed, want: causeScaleDown},
		{name: "told to stop, then Run stops", stopping: true, w: &worker{ready: true, stopCause: causeReload}, want: causeReload},
		{name: "Run stops", stopping: true, w: &worker{ready: true}, state: crashed, want: ""},
	}
	for _, tt := range tests {
		a := &arbiter{stopping: tt.stopping}
		if got := a.exitCause(tt.w, tt.state); got != tt.want {
			t.Errorf("%s: exitCause = %q, want %q", tt.name, got, tt.want)
		}
	}
}

// watchMetrics polls s.Metrics until stop is closed and returns, on the
// channel, the first counter it saw go down ("" if none) and the last
// snapshot.
func watchMetrics(s *Supervisor, stop <-chan struct{}) <-chan string {
	result := make(chan string, 1)
	go func() {
		last := s.Metrics()
		for {
			select {
			case <-stop:
				result <- ""
				return
			case <-time.After(2 * time.Millisecond):
			}
			now := s.Metrics()
			if what := snapshotShrank(last, now); what != "" {
				result <- what
				return
			}
			last = now
		}
	}()
	return result
}

// snapshotShrank names a counter of before that is greater than in now, or
// returns "".
func snapshotShrank(before, now Snapshot) string {
	for i := range before.Responses {
		if now.Responses[i] < before.Responses[i] {
			return "responses " + string(rune('1'+i)) + "xx"
		}
	}
	for i := range before.Duration.Counts {
		if now.Duration.Counts[i] < before.Duration.Counts[i] {
			return "a duration bucket"
		}
	}
	if now.Duration.Count < before.Duration.Count || now.Duration.Sum < before.Duration.Sum {
		return "duration count or sum"
	}
	if now.Exceptions < before.Exceptions {
		return "exceptions"
	}
	for c, n := range before.Restarts {
		if now.Restarts[c] < n {
			return "restarts " + c
		}
	}
	return ""
}

// TestMetrics runs workers that record their responses, kills one in the
// middle of a request, scales down, reloads and recycles, and checks the
// totals, which must never go down, and the restarts by cause.
func TestMetrics(t *testing.T) {
	ln, err := Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	url := "http://" + ln.Name()
	s := &Supervisor{Workers: 2, Listeners: []*os.File{ln}, Env: []string{quickRaceExit}}
	if m := s.Metrics(); m.Workers != 0 || m.Duration.Count != 0 || len(m.Restarts) != len(causes) {
		t.Errorf("Metrics() before Run = %+v", m)
	}
	lt, wait := startInProcess(t, s)
	stopWatching := make(chan struct{})
	shrank := watchMetrics(s, stopWatching)
	defer func() {
		close(stopWatching)
		if what := <-shrank; what != "" {
			t.Errorf("%s went down", what)
		}
	}()
	lt.await(t, "worker ready", nil, 10*time.Second)
	lt.await(t, "worker ready", nil, 10*time.Second)

	c := httpClient(nil)
	statusOf := func(path string) {
		t.Helper()
		resp, err := c.Get(url + path)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	for range 6 {
		statusOf("/")
	}
	statusOf("/status/404")
	statusOf("/status/302")
	statusOf("/exception")
	before := await(t, 5*time.Second, s.Metrics, func(m Snapshot) bool {
		return m.Duration.Count == 9
	})
	if want := [statusClasses]uint64{0, 6, 1, 1, 1}; before.Responses != want || before.Exceptions != 1 || before.Workers != 2 || before.InFlight != 0 {
		t.Errorf("after 9 requests: %+v; want responses %v, 1 exception, 2 workers, none in flight", before, want)
	}
	if before.Duration.Counts[0] == 0 || before.Duration.Sum <= 0 || before.Duration.Sum > 9 {
		t.Errorf("implausible durations of 9 quick requests: %+v", before.Duration)
	}

	// Kill the worker serving a request: the request leaves the in-flight
	// gauge, and its worker's counts stay in the totals.
	resp, err := c.Get(url + "/stuck")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	stats := await(t, 5*time.Second, s.Stats, func(stats []WorkerStats) bool {
		return slices.ContainsFunc(stats, func(st WorkerStats) bool { return st.Request == "GET /stuck" })
	})
	if m := s.Metrics(); m.InFlight != 1 {
		t.Errorf("in flight with /stuck running: %d, want 1", m.InFlight)
	}
	victim := stats[slices.IndexFunc(stats, func(st WorkerStats) bool { return st.Request == "GET /stuck" })]
	if err := syscall.Kill(victim.PID, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	lt.await(t, "worker ready", nil, 10*time.Second)
	after := await(t, 5*time.Second, s.Metrics, func(m Snapshot) bool { return m.Workers == 2 })
	if after.Restarts["crash"] != 1 || after.InFlight != 0 || after.Responses != before.Responses || after.Duration.Count != before.Duration.Count {
		t.Errorf("after a worker was killed: %+v; want 1 crash, none in flight, the counts of %+v", after, before)
	}

	// The other causes, by their real paths.
	syscall.Kill(os.Getpid(), syscall.SIGTTOU)
	await(t, 10*time.Second, s.Metrics, func(m Snapshot) bool { return m.Restarts["scale_down"] == 1 && m.Workers == 1 })
	syscall.Kill(os.Getpid(), syscall.SIGHUP)
	await(t, 10*time.Second, s.Metrics, func(m Snapshot) bool { return m.Restarts["reload"] == 1 && m.Workers == 1 })
	statusOf("/retire")
	await(t, 10*time.Second, s.Metrics, func(m Snapshot) bool { return m.Restarts["max_requests"] == 1 && m.Workers == 1 })
	statusOf("/")
	last := await(t, 5*time.Second, s.Metrics, func(m Snapshot) bool { return m.Duration.Count == 11 })

	syscall.Kill(os.Getpid(), syscall.SIGINT)
	if err := wait(10 * time.Second); err != nil {
		t.Fatal(err)
	}
	final := s.Metrics()
	want := map[string]uint64{"crash": 1, "scale_down": 1, "reload": 1, "max_requests": 1}
	for _, c := range causes {
		if final.Restarts[string(c)] != want[string(c)] {
			t.Errorf("restarts after Run: %v, want %v and the rest 0 (stopping is no restart)", final.Restarts, want)
			break
		}
	}
	if final.Workers != 0 || final.Responses != last.Responses || final.Duration.Count != 11 || final.Exceptions != 1 {
		t.Errorf("Metrics() after Run = %+v; want no workers and the totals of %+v", final, last)
	}
}
