package prefork

import (
	"slices"
	"syscall"
	"testing"
	"time"
)

// live counts the workers the log shows started and not yet exited.
func (lt *logTail) live() int {
	return lt.count("worker started") - lt.count("worker exited") - lt.count("worker exited before it was ready")
}

func TestScaleWithTTINAndTTOU(t *testing.T) {
	ln, err := Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	url := "http://" + ln.Name() + "/"
	p := startSupervisor(t, ln, 2, false)
	first := p.awaitReady(t, 2)
	slices.SortFunc(first, func(a, b logRecord) int { return a.Worker - b.Worker })
	l := startLoad(url)

	p.cmd.Process.Signal(syscall.SIGTTIN)
	added := p.log.await(t, "worker ready", nil, 10*time.Second)
	if added.Worker != 3 {
		t.Errorf("TTIN added worker %d, want 3", added.Worker)
	}
	if n := p.log.live(); n != 3 {
		t.Errorf("%d workers live after TTIN, want 3", n)
	}

	for _, want := range []logRecord{added, first[1]} {
		p.cmd.Process.Signal(syscall.SIGTTOU)
		stopped := p.log.await(t, "stopping worker", nil, 5*time.Second)
		if stopped.Worker != want.Worker || stopped.PID != want.PID {
			t.Errorf("TTOU stopped worker %d (pid %d), want the highest-numbered, %d (pid %d)", stopped.Worker, stopped.PID, want.Worker, want.PID)
		}
		p.log.await(t, "worker exited", func(r logRecord) bool { return r.PID == want.PID }, 10*time.Second)
	}
	p.cmd.Process.Signal(syscall.SIGTTOU)
	p.log.await(t, "not stopping the last worker", nil, 5*time.Second)
	if n := p.log.live(); n != 1 {
		t.Errorf("%d workers live after TTOU x3, want 1", n)
	}
	l.finish(t)
	if processGone(first[0].PID) {
		t.Errorf("worker 1 (pid %d) is gone; TTOU should have left it", first[0].PID)
	}

	p.cmd.Process.Signal(syscall.SIGTERM)
	p.awaitExit(t, 10*time.Second)
	assertGone(t, p.log.pids(), 2*time.Second)
	if n := p.log.count("stopping worker"); n != 2 {
		t.Errorf("%d workers stopped by TTOU, want 2 (never the last)", n)
	}
}

func TestUSR1ReachesWorkers(t *testing.T) {
	ln, err := Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := startSupervisor(t, ln, 2, false)
	want := pidsOf(p.awaitReady(t, 2))
	p.cmd.Process.Signal(syscall.SIGUSR1)
	// The parent's line and the workers' come in any order; await drops
	// what it passes over, so wait for them in one go.
	var got []int
	reopened := false
	for len(got) < len(want) || !reopened {
		rec := p.log.await(t, "", func(r logRecord) bool {
			return r.Msg == "reopening logs" || r.Msg == "test worker got SIGUSR1"
		}, 5*time.Second)
		if rec.Msg == "reopening logs" {
			reopened = true
		} else {
			got = append(got, rec.PID)
		}
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("SIGUSR1 reached pids %v, want %v", got, want)
	}
	if n := p.log.count("worker exited"); n != 0 {
		t.Errorf("%d workers exited on SIGUSR1", n)
	}
	p.cmd.Process.Signal(syscall.SIGTERM)
	p.awaitExit(t, 10*time.Second)
}
