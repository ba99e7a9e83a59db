package prefork

import (
	"fmt"
	"log/slog"
	"slices"
	"syscall"
	"testing"
	"time"
)

// logHooks logs each of the supervisor's hook calls as a JSON record, for
// the tests to await.
type logHooks struct{ log *slog.Logger }

func (h logHooks) WorkersChanged(new, old int) {
	h.log.Info("hook: workers changed", "new", new, "old", old)
}

func (h logHooks) Reloading(workers int) {
	h.log.Info("hook: reloading", "new", workers)
}

func (h logHooks) WorkerExited(w ExitedWorker) {
	h.log.Info("hook: worker exited", "worker", w.ID, "pid", w.PID, "age", w.Age, "requests", w.Requests, "status", w.Status)
}

// TestSupervisorHooks: Hooks hears of TTIN and TTOU with the counts, of a
// reload before its workers start, and of every worker's exit with its pid,
// its age (the order of its start, which the worker knows too) and the
// requests it finished.
func TestSupervisorHooks(t *testing.T) {
	ln, err := Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + ln.Name()
	p := startSupervisor(t, ln, 1, false)
	first := p.awaitReady(t, 1)[0]
	c := httpClient(nil)
	if got, want := get(t, c, base+"/age"), fmt.Sprintf("pid %d age 1 wanted 1\n", first.PID); got != want {
		t.Errorf("first worker: %q, want %q", got, want)
	}
	get(t, c, base+"/")

	p.cmd.Process.Signal(syscall.SIGTTIN)
	if rec := p.log.await(t, "hook: workers changed", nil, 10*time.Second); rec.New != 2 || rec.Old != 1 {
		t.Errorf("after TTIN: new %d old %d, want 2 and 1", rec.New, rec.Old)
	}
	second := p.log.await(t, "worker ready", nil, 15*time.Second)

	if err := syscall.Kill(first.PID, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	rec := p.log.await(t, "hook: worker exited", nil, 10*time.Second)
	if rec.PID != first.PID || rec.Age != 1 || rec.Requests != 2 || rec.Status != "killed by signal SIGKILL" {
		t.Errorf("killed worker: %+v, want pid %d, age 1, 2 requests, killed by SIGKILL", rec, first.PID)
	}
	third := p.log.await(t, "worker ready", nil, 15*time.Second)

	p.cmd.Process.Signal(syscall.SIGHUP)
	if rec := p.log.await(t, "", func(r logRecord) bool {
		return r.Msg == "hook: reloading" || r.Msg == "worker started"
	}, 10*time.Second); rec.Msg != "hook: reloading" || rec.New != 2 {
		t.Errorf("the reload's first record: %+v, want the hook with 2 workers", rec)
	}
	p.log.await(t, "reload complete", nil, 30*time.Second)
	for range 2 {
		rec := p.log.await(t, "hook: worker exited", nil, 15*time.Second)
		if !slices.Contains([]int{second.PID, third.PID}, rec.PID) || rec.Age < 2 || rec.Age > 3 {
			t.Errorf("reloaded worker's exit: %+v, want pid %d (age 2) or %d (age 3)", rec, second.PID, third.PID)
		}
	}
	p.cmd.Process.Signal(syscall.SIGTTOU)
	if rec := p.log.await(t, "hook: workers changed", nil, 10*time.Second); rec.New != 1 || rec.Old != 2 {
		t.Errorf("after TTOU: new %d old %d, want 1 and 2", rec.New, rec.Old)
	}
	p.cmd.Process.Signal(syscall.SIGTERM)
	p.awaitExit(t, 15*time.Second)
	assertGone(t, p.log.pids(), 2*time.Second)
}
