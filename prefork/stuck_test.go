package prefork

import (
	"io"
	"os"
	"syscall"
	"testing"
	"time"
)

// startStuckSupervisor runs one test worker in this process under a
// supervisor with the given request timeout and kill margin, and returns
// the worker's address, its ready record and the log.
func startStuckSupervisor(t *testing.T, timeout, margin time.Duration) (*Supervisor, string, logRecord, *logTail, func(time.Duration) error) {
	t.Helper()
	ln, err := Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	s := &Supervisor{
		Workers:         1,
		Listeners:       []*os.File{ln},
		Env:             []string{quickRaceExit},
		GracefulTimeout: 5 * time.Second,
		RequestTimeout:  timeout,
		stuckKillMargin: margin,
	}
	lt, wait := startInProcess(t, s)
	ready := lt.await(t, "worker ready", nil, 10*time.Second)
	return s, "http://" + ln.Name(), ready, lt, wait
}

// stopInProcess stops a supervisor that startInProcess started, fast.
func stopInProcess(t *testing.T, wait func(time.Duration) error) {
	t.Helper()
	syscall.Kill(os.Getpid(), syscall.SIGINT)
	if err := wait(10 * time.Second); err != nil {
		t.Fatal(err)
	}
}

// TestStuckExecutorIsKilled marks an executor busy for good, as a request
// stuck in C code holding the GIL leaves it, and checks that the parent
// kills the worker once the request is older than the timeout plus the
// margin, names the request and its age, counts a timeout, and replaces
// the worker.
func TestStuckExecutorIsKilled(t *testing.T) {
	const timeout, margin = time.Second, time.Second
	s, url, victim, lt, wait := startStuckSupervisor(t, timeout, margin)
	// A newer request on another executor must not mask the stuck one.
	sent := time.Now()
	stuck, err := httpClient(nil).Get(url + "/executor/5")
	if err != nil {
		t.Fatal(err)
	}
	defer stuck.Body.Close()
	newer, err := httpClient(nil).Get(url + "/executor/6")
	if err != nil {
		t.Fatal(err)
	}
	defer newer.Body.Close()

	killed := lt.await(t, "request stuck past the timeout; killing its worker", nil, 10*time.Second)
	if killed.PID != victim.PID || killed.Request != "GET /executor/5" {
		t.Errorf("killed pid %d for %q, want pid %d for %q", killed.PID, killed.Request, victim.PID, "GET /executor/5")
	}
	age, err := time.ParseDuration(killed.RequestAge)
	if err != nil || age <= timeout+margin || age > time.Since(sent) {
		t.Errorf("request_age %q, want over %v and under %v", killed.RequestAge, timeout+margin, time.Since(sent))
	}
	exited := lt.await(t, "worker exited", func(r logRecord) bool { return r.PID == victim.PID }, 5*time.Second)
	if exited.Status != "killed by signal SIGKILL" {
		t.Errorf("worker exit logged as %q, want killed by SIGKILL", exited.Status)
	}
	fresh := lt.await(t, "worker ready", nil, 10*time.Second)
	if fresh.Worker != victim.Worker || fresh.PID == victim.PID {
		t.Errorf("replacement is worker %d pid %d, want a new pid for worker %d", fresh.Worker, fresh.PID, victim.Worker)
	}
	if pid, err := getPID(httpClient(nil), url+"/"); err != nil || pid != fresh.PID {
		t.Errorf("answered by pid %d (%v), want the replacement %d", pid, err, fresh.PID)
	}
	if n := s.Metrics().Restarts[string(causeTimeout)]; n != 1 {
		t.Errorf("Restarts[timeout] = %d, want 1", n)
	}
	stopInProcess(t, wait)
}

// TestLongRequestUnderTheBoundIsNotKilled runs a request past the timeout
// but not past the timeout plus the margin: its worker is left alone.
func TestLongRequestUnderTheBoundIsNotKilled(t *testing.T) {
	const timeout = time.Second
	s, url, w, lt, wait := startStuckSupervisor(t, timeout, 0) // StuckKillMargin
	// The request outlives the timeout by several supervisor ticks.
	resp, err := httpClient(nil).Get(url + "/executor/0?hold=" + (timeout + 3*tickInterval).String())
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || string(body) != "done" {
		t.Fatalf("long request got %q, %v; want %q", body, err, "done")
	}
	if pid, err := getPID(httpClient(nil), url+"/"); err != nil || pid != w.PID {
		t.Errorf("answered by pid %d (%v), want the same worker, %d", pid, err, w.PID)
	}
	if n := lt.count("request stuck past the timeout; killing its worker"); n != 0 {
		t.Errorf("%d workers killed for a request under the bound", n)
	}
	if n := s.Metrics().Restarts[string(causeTimeout)]; n != 0 {
		t.Errorf("Restarts[timeout] = %d, want 0", n)
	}
	stopInProcess(t, wait)
}
