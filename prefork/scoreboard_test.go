package prefork

import (
	"os"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// writableSlot makes a slot and maps it a second time for writing, as a
// worker does; reads go through the supervisor's read-only mapping.
func writableSlot(t *testing.T) (reader, writer *slot) {
	t.Helper()
	reader, f, err := newSlot()
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	writer, err = mapSlot(int(f.Fd()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		reader.unmap()
		writer.unmap()
	})
	return reader, writer
}

func TestSlot(t *testing.T) {
	long := strings.Repeat("x", 600)
	tests := []struct {
		name     string
		do       func(s *slot)
		request  string
		requests uint64
	}{
		{name: "idle", do: func(s *slot) {}},
		{name: "one request", do: func(s *slot) { s.begin([]byte("GET"), []byte("/a?b=c")) }, request: "GET /a?b=c"},
		{name: "finished", do: func(s *slot) { s.begin([]byte("GET"), []byte("/a")); s.end() }, requests: 1},
		{
			name: "overlapping: the latest shows while any runs",
			do: func(s *slot) {
				s.begin([]byte("GET"), []byte("/first"))
				s.begin([]byte("POST"), []byte("/second"))
				s.end()
			},
			request: "POST /second", requests: 1,
		},
		{name: "long target is cut", do: func(s *slot) { s.begin([]byte("GET"), []byte(long)) }, request: ("GET " + long)[:slotTextSize]},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, w := writableSlot(t)
			tt.do(w)
			st := r.read()
			if st.request != tt.request || st.requests != tt.requests {
				t.Errorf("read() = %q, %d requests; want %q, %d", st.request, st.requests, tt.request, tt.requests)
			}
			if (st.request != "") == st.start.IsZero() {
				t.Errorf("start %v with request %q", st.start, st.request)
			}
		})
	}
}

func TestSlotAllocatesNothing(t *testing.T) {
	_, w := writableSlot(t)
	method, target := []byte("GET"), []byte("/index.html")
	now := time.Now()
	if n := testing.AllocsPerRun(1000, func() {
		w.begin(method, target)
		w.executors[5].busy(now, method, target)
		w.executors[5].idle()
		w.end()
	}); n != 0 {
		t.Errorf("begin, busy, idle and end allocate %v times per request", n)
	}
}

// TestSlotConcurrent writes from several goroutines, each an executor,
// while reading, and checks that every read, of the slot's latest request
// or of an executor's, is a request that was written, never a mix.
func TestSlotConcurrent(t *testing.T) {
	r, w := writableSlot(t)
	targets := []string{"/a", "/bbbbbbbbbbbbbbbbbbbb", "/cccccccccccccccccccccccccccccccccccccccccccccccccc"}
	var wg sync.WaitGroup
	const perWriter = 2000
	for e := range targets {
		wg.Go(func() {
			for i := range perWriter {
				target := []byte(targets[(e+i)%len(targets)])
				w.begin([]byte("GET"), target)
				w.executors[e].busy(time.Now(), []byte("GET"), target)
				w.executors[e].idle()
				w.end()
			}
		})
	}
	done := make(chan struct{})
	go func() {
		wg.Wait()
		close(done)
	}()
	for reading := true; reading; {
		select {
		case <-done:
			reading = false
		default:
		}
		reads := []string{r.read().request}
		for e := range targets {
			req, _ := r.executors[e].read()
			reads = append(reads, req)
		}
		for _, req := range reads {
			if req != "" && !slices.Contains(targets, strings.TrimPrefix(req, "GET ")) {
				t.Fatalf("read a request never written: %q", req)
			}
		}
	}
	if e, _ := r.oldestExecutor(); e != -1 {
		t.Errorf("executor %d busy after every request finished", e)
	}
	if st := r.read(); st.requests != uint64(len(targets)*perWriter) || st.request != "" {
		t.Errorf("after all requests: %q, %d requests; want idle, %d", st.request, st.requests, len(targets)*perWriter)
	}
}

// TestExecutorSlots checks that the oldest busy executor is found whatever
// newer requests run beside it, and that its request line reads back, cut
// to its room.
func TestExecutorSlots(t *testing.T) {
	r, w := writableSlot(t)
	if e, start := r.oldestExecutor(); e != -1 || !start.IsZero() {
		t.Fatalf("idle slot: oldest executor %d since %v, want -1", e, start)
	}
	t0 := time.Unix(1000, 0)
	long := strings.Repeat("y", 200)
	w.executors[3].busy(t0, []byte("GET"), []byte(long))
	w.executors[1].busy(t0.Add(time.Second), []byte("POST"), []byte("/newer"))
	w.executors[7].busy(t0.Add(-time.Second), []byte("GET"), []byte("/finished"))
	w.executors[7].idle()
	e, start := r.oldestExecutor()
	if e != 3 || !start.Equal(t0) {
		t.Fatalf("oldest executor %d since %v, want 3 since %v", e, start, t0)
	}
	if req, start := r.executors[3].read(); req != ("GET " + long)[:executorTextSize] || !start.Equal(t0) {
		t.Errorf("executor 3 reads %q since %v", req, start)
	}
	w.executors[3].idle()
	if e, _ := r.oldestExecutor(); e != 1 {
		t.Errorf("after executor 3 is idle, oldest is %d, want 1", e)
	}
	if req, start := r.executors[3].read(); req != "" || !start.IsZero() {
		t.Errorf("idle executor reads %q since %v", req, start)
	}
}

// TestKilledWorkerLogNamesItsRequest kills a worker in the middle of a
// request and checks that the exit's log line names the request.
func TestKilledWorkerLogNamesItsRequest(t *testing.T) {
	ln, err := Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	url := "http://" + ln.Name() + "/stuck?n=1"
	p := startSupervisor(t, ln, 1, false)
	victim := p.awaitReady(t, 1)[0]
	sent := time.Now()
	resp, err := httpClient(nil).Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	// The headers have come: the request is in the worker.
	if err := syscall.Kill(victim.PID, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	exited := p.log.await(t, "worker exited", func(r logRecord) bool { return r.PID == victim.PID }, 5*time.Second)
	if exited.Request != "GET /stuck?n=1" {
		t.Errorf("exit log names request %q, want %q", exited.Request, "GET /stuck?n=1")
	}
	if age, err := time.ParseDuration(exited.RequestAge); err != nil || age < 0 || age > time.Since(sent) {
		t.Errorf("request_age %q, want at most the %v since the request was sent", exited.RequestAge, time.Since(sent))
	}
	p.cmd.Process.Signal(syscall.SIGTERM)
	p.awaitExit(t, 10*time.Second)
}

// await polls get until ok accepts its result, failing the test if that
// takes longer than timeout.
func await[T any](t *testing.T, timeout time.Duration, get func() T, ok func(T) bool) T {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		v := get()
		if ok(v) {
			return v
		}
		if time.Now().After(deadline) {
			t.Fatalf("got %+v after %v", v, timeout)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestStats(t *testing.T) {
	ln, err := Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	url := "http://" + ln.Name()
	s := &Supervisor{Workers: 2, Listeners: []*os.File{ln}, Env: []string{quickRaceExit}}
	lt, wait := startInProcess(t, s)
	lt.await(t, "worker ready", nil, 10*time.Second)
	lt.await(t, "worker ready", nil, 10*time.Second)

	c := httpClient(nil)
	for range 3 {
		get(t, c, url+"/")
	}
	await(t, 5*time.Second, s.Stats, func(stats []WorkerStats) bool {
		var n uint64
		for _, st := range stats {
			n += st.Requests
		}
		return len(stats) == 2 && n == 3
	})
	resp, err := c.Get(url + "/stuck")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	stats := await(t, 5*time.Second, s.Stats, func(stats []WorkerStats) bool {
		return slices.ContainsFunc(stats, func(st WorkerStats) bool { return st.Request == "GET /stuck" })
	})
	for _, st := range stats {
		if st.ID < 1 || st.ID > 2 || st.PID <= 0 || st.RSS <= 0 {
			t.Errorf("implausible stats %+v", st)
		}
		if (st.Request == "") != st.RequestStart.IsZero() || st.Request != "" && time.Since(st.RequestStart) > 5*time.Second {
			t.Errorf("request %q started at %v", st.Request, st.RequestStart)
		}
	}

	syscall.Kill(os.Getpid(), syscall.SIGINT) // a fast stop: the stuck request is cut off
	if err := wait(10 * time.Second); err != nil {
		t.Fatal(err)
	}
	if stats := s.Stats(); len(stats) != 0 {
		t.Errorf("Stats() after Run = %+v, want none", stats)
	}
}
