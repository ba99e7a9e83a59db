package prefork

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// pidsIn lists the pids of st's workers in the given states (any, if none).
func pidsIn(st Status, states ...string) []int {
	var pids []int
	for _, w := range st.Workers {
		if len(states) == 0 || slices.Contains(states, w.State) {
			pids = append(pids, w.PID)
		}
	}
	slices.Sort(pids)
	return pids
}

// status polls s.Status until ok accepts it.
func status(t *testing.T, s *Supervisor, what string, ok func(Status) bool) Status {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		st, err := s.Status()
		if err != nil {
			t.Fatalf("Status: %v", err)
		}
		if ok(st) {
			return st
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %s after 20s: %+v", what, st)
		}
		time.Sleep(20 * time.Millisecond) // polling the status, bounded by the deadline
	}
}

// TestControl runs every control method against an in-process supervisor
// of real workers and checks what each changes.
func TestControl(t *testing.T) {
	ln, err := Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	url := "http://" + ln.Name()
	reopened := make(chan struct{}, 1)
	s := &Supervisor{Workers: 2, Listeners: []*os.File{ln}, Env: []string{quickRaceExit}, GracefulTimeout: 10 * time.Second,
		OnReopenLogs: func() { reopened <- struct{}{} }}
	if _, err := s.Status(); !errors.Is(err, ErrNotRunning) {
		t.Errorf("Status before Run: %v, want ErrNotRunning", err)
	}
	lt, wait := startInProcess(t, s)
	lt.await(t, "worker ready", nil, 10*time.Second)
	lt.await(t, "worker ready", nil, 10*time.Second)

	st := status(t, s, "two idle workers", func(st Status) bool { return len(pidsIn(st, "idle")) == 2 })
	if st.PID != os.Getpid() || st.WorkersWanted != 2 || st.Reloading || st.Stopping || time.Since(st.Started) > time.Minute {
		t.Errorf("Status = %+v", st)
	}
	if len(st.Listeners) != 1 || st.Listeners[0] != (ListenerStats{Name: ln.Name(), Known: true, Limit: st.Listeners[0].Limit}) || st.Listeners[0].Limit < 1 {
		t.Errorf("listeners %+v, want %s known, none queued", st.Listeners, ln.Name())
	}
	for _, w := range st.Workers {
		if w.ID < 1 || w.ID > 2 || w.RSS <= 0 || w.Request != "" || time.Since(w.Started) > time.Minute {
			t.Errorf("idle worker %+v", w)
		}
	}
	if len(st.Restarts) != 0 || len(st.RestartCounts) != len(causes) {
		t.Errorf("restarts %+v, counts %v; want none", st.Restarts, st.RestartCounts)
	}

	// A request waiting for a slot: its worker is busy with one request
	// waiting, and the wait is counted once it ends.
	waited := make(chan error, 1)
	go func() {
		resp, err := httpClient(nil).Get(url + "/wait?d=2s")
		if err == nil {
			resp.Body.Close()
		}
		waited <- err
	}()
	st = status(t, s, "a busy worker", func(st Status) bool { return len(pidsIn(st, "busy")) == 1 })
	busy := st.Workers[slices.IndexFunc(st.Workers, func(w WorkerStatus) bool { return w.State == "busy" })]
	if busy.Request != "GET /wait?d=2s" || busy.InFlight != 1 || busy.Waiting != 1 || time.Since(busy.RequestStart) > 5*time.Second {
		t.Errorf("busy worker %+v, want GET /wait?d=2s in flight and waiting", busy)
	}
	if err := <-waited; err != nil {
		t.Fatal(err)
	}
	m := await(t, 5*time.Second, s.Metrics, func(m Snapshot) bool { return m.Wait.Count == 1 })
	if m.Wait.Sum != 2 || m.Wait.Counts[7] != 0 || m.Wait.Counts[8] != 1 || m.Waiting != 0 { // buckets up to 1s and 2.5s
		t.Errorf("wait histogram %+v, waiting %d; want one wait of 2s in the bucket up to 2.5s", m.Wait, m.Waiting)
	}

	// Dump: requests for one worker at once share one answer.
	pids := pidsIn(st)
	var dumps sync.WaitGroup
	for range 3 {
		dumps.Go(func() {
			b, err := s.Dump(pids[0])
			if want := fmt.Sprintf("pid %d\n", pids[0]); err != nil || !strings.HasPrefix(string(b), "dump of worker ") || !strings.HasSuffix(string(b), want) {
				t.Errorf("Dump(%d) = %q, %v; want a dump ending %q", pids[0], b, err, want)
			}
		})
	}
	dumps.Wait()
	if _, err := s.Dump(os.Getpid()); err == nil || !strings.Contains(err.Error(), "not a worker") {
		t.Errorf("Dump of the supervisor's pid: %v, want refused", err)
	}

	// KillWorker replaces that worker and only that one.
	if _, err := s.KillWorker(1); err == nil || !strings.Contains(err.Error(), "not a worker") {
		t.Errorf("KillWorker(1): %v, want refused", err)
	}
	id, err := s.KillWorker(pids[0])
	if err != nil || id < 1 {
		t.Fatalf("KillWorker(%d) = %d, %v", pids[0], id, err)
	}
	st = status(t, s, "the killed worker replaced", func(st Status) bool {
		p := pidsIn(st, "idle")
		return len(st.Workers) == 2 && len(p) == 2 && !slices.Contains(p, pids[0])
	})
	if !slices.Contains(pidsIn(st), pids[1]) {
		t.Errorf("workers %v after killing %d: the other, %d, is gone", pidsIn(st), pids[0], pids[1])
	}
	if last := st.Restarts[len(st.Restarts)-1]; last.PID != pids[0] || last.Cause != "kill" || last.Worker != id || st.RestartCounts["kill"] != 1 {
		t.Errorf("restarts %+v, counts %v; want pid %d killed", st.Restarts, st.RestartCounts, pids[0])
	}

	// SetWorkers up and down.
	if _, err := s.SetWorkers(0); err == nil {
		t.Error("SetWorkers(0) succeeded")
	}
	if was, err := s.SetWorkers(3); was != 2 || err != nil {
		t.Errorf("SetWorkers(3) = %d, %v; want 2", was, err)
	}
	status(t, s, "three idle workers", func(st Status) bool { return st.WorkersWanted == 3 && len(pidsIn(st, "idle")) == 3 })
	if was, err := s.SetWorkers(1); was != 3 || err != nil {
		t.Errorf("SetWorkers(1) = %d, %v; want 3", was, err)
	}
	st = status(t, s, "one worker", func(st Status) bool { return len(st.Workers) == 1 && len(pidsIn(st, "idle")) == 1 })

	// Reload replaces it.
	before := pidsIn(st)
	if err := s.Reload(); err != nil {
		t.Fatal(err)
	}
	status(t, s, "a new generation", func(st Status) bool {
		p := pidsIn(st, "idle")
		return len(st.Workers) == 1 && len(p) == 1 && p[0] != before[0]
	})

	if err := s.ReopenLogs(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-reopened:
	case <-time.After(5 * time.Second):
		t.Error("ReopenLogs did not call OnReopenLogs")
	}

	if err := s.Stop(); err != nil {
		t.Fatal(err)
	}
	if err := wait(20 * time.Second); err != nil {
		t.Fatal(err)
	}
	if err := s.Reload(); !errors.Is(err, ErrNotRunning) {
		t.Errorf("Reload after Run: %v, want ErrNotRunning", err)
	}
}
