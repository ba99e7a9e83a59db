package prefork

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

func TestRestartDelay(t *testing.T) {
	tests := []struct {
		exits int
		limit time.Duration
		want  time.Duration
	}{
		{exits: 1, limit: maxRestartDelay, want: 100 * time.Millisecond},
		{exits: 2, limit: maxRestartDelay, want: 200 * time.Millisecond},
		{exits: 3, limit: maxRestartDelay, want: 400 * time.Millisecond},
		{exits: 9, limit: maxRestartDelay, want: 25600 * time.Millisecond},
		{exits: 10, limit: maxRestartDelay, want: maxRestartDelay},
		{exits: 1000, limit: maxRestartDelay, want: maxRestartDelay},
		{exits: 4, limit: 500 * time.Millisecond, want: 500 * time.Millisecond},
	}
	for _, tt := range tests {
		if got := restartDelay(tt.exits, tt.limit); got != tt.want {
			t.Errorf("restartDelay(%d, %v) = %v, want %v", tt.exits, tt.limit, got, tt.want)
		}
	}
}

// awaitBackOff waits for the next crash-loop back-off record of worker slot
// id (any slot if id is 0).
func (p *supervisorProc) awaitBackOff(t *testing.T, id int) logRecord {
	t.Helper()
	return p.log.await(t, "restart delayed (crash-loop back-off)", func(r logRecord) bool { return id == 0 || r.Worker == id }, 15*time.Second)
}

// startCrashLoop starts a supervisor of two test workers of which one
// serves and the other's slot crash-loops (each of its workers exits right
// after it is ready), and returns the healthy worker's pid and the looping
// slot's id.
func startCrashLoop(t *testing.T, env ...string) (p *supervisorProc, url string, healthy, looping int) {
	t.Helper()
	ln, err := Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	url = "http://" + ln.Name() + "/"
	claim := filepath.Join(t.TempDir(), "healthy")
	p = startSupervisor(t, ln, 2, false, append(env, envTestBehaviour+"=ready-then-crash", envTestHealthy+"="+claim)...)
	healthy, err = getPID(httpClient(nil), url)
	if err != nil {
		t.Fatal(err)
	}
	first := p.awaitBackOff(t, 0)
	if first.PID == healthy {
		t.Fatalf("the healthy worker, pid %d, exited", healthy)
	}
	if first.ExitsInARow != 1 || first.Delay != "100ms" {
		t.Errorf("first back-off: %d exits, delay %s; want 1, 100ms", first.ExitsInARow, first.Delay)
	}
	return p, url, healthy, first.Worker
}

// TestCrashLoopBackOff checks that a slot whose workers exit as soon as
// they are ready is restarted after delays that double up to the cap,
// while the other slot serves every request.
func TestCrashLoopBackOff(t *testing.T) {
	p, url, healthy, looping := startCrashLoop(t, envTestMaxDelay+"=1600ms")
	l := startLoad(url)
	for _, want := range []string{"200ms", "400ms", "800ms", "1.6s", "1.6s"} {
		rec := p.awaitBackOff(t, looping)
		if rec.Delay != want {
			t.Errorf("worker %d restart delayed %s after %d exits in a row, want %s", looping, rec.Delay, rec.ExitsInARow, want)
		}
		if lived, err := time.ParseDuration(rec.Lived); err != nil || lived <= 0 {
			t.Errorf("lived %q", rec.Lived)
		}
	}
	l.finish(t)
	if l.served(healthy) != l.ok {
		t.Errorf("the healthy worker, pid %d, served %d of %d requests", healthy, l.served(healthy), l.ok)
	}
	if n := p.log.count("restart delayed (crash-loop back-off)"); n != 6 {
		t.Errorf("%d back-offs, want 6 (none for the healthy worker)", n)
	}

	// A stop is not delayed by the 1.6s restart pending, nor starts it.
	started := p.log.count("worker started")
	p.cmd.Process.Signal(syscall.SIGTERM)
	p.awaitExit(t, 10*time.Second)
	if n := p.log.count("worker started"); n != started {
		t.Errorf("%d workers started during the stop", n-started)
	}
	assertGone(t, p.log.pids(), 2*time.Second)
}

// TestCrashLoopBackOffResets kills one worker as soon as it is ready, four
// times, then once after it has outlived the longest delay: the delays grow,
// that worker is replaced at once (it served long enough not to count), and
// the count starts again from the first delay.
func TestCrashLoopBackOffResets(t *testing.T) {
	const longest = 2 * time.Second
	ln, err := Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := startSupervisor(t, ln, 1, false, envTestMaxDelay+"="+longest.String())
	for _, want := range []string{"100ms", "200ms", "400ms", "800ms"} {
		w := p.awaitReady(t, 1)[0]
		syscall.Kill(w.PID, syscall.SIGKILL)
		if rec := p.awaitBackOff(t, w.Worker); rec.Delay != want || rec.Status != "killed by signal SIGKILL" {
			t.Errorf("restart after %s delayed %s, want %s", rec.Status, rec.Delay, want)
		}
	}
	w := p.awaitReady(t, 1)[0]
	// The scenario: this worker lives longer than the longest delay.
	for since := time.Now(); time.Since(since) <= longest; {
		time.Sleep(50 * time.Millisecond)
	}
	syscall.Kill(w.PID, syscall.SIGKILL)
	// (the log rounds the time it lived to the second: 2.02 s is "2s")
	rec := p.log.await(t, "restarting worker", func(r logRecord) bool { return r.Worker == w.Worker }, 15*time.Second)
	if lived, err := time.ParseDuration(rec.Lived); err != nil || lived < longest || rec.Delay != "100ms" || rec.ExitsInARow != 0 {
		t.Errorf("after living %s: delay %s, %d exits in a row; want 100ms, 0", rec.Lived, rec.Delay, rec.ExitsInARow)
	}
	// and the next quick death starts from the first delay again
	w = p.awaitReady(t, 1)[0]
	syscall.Kill(w.PID, syscall.SIGKILL)
	if rec := p.awaitBackOff(t, w.Worker); rec.Delay != "100ms" || rec.ExitsInARow != 1 {
		t.Errorf("after the reset: delay %s, %d exits in a row; want 100ms, 1", rec.Delay, rec.ExitsInARow)
	}
	p.awaitReady(t, 1)
	p.cmd.Process.Signal(syscall.SIGTERM)
	p.awaitExit(t, 10*time.Second)
}

// TestScaleDownCancelsDelayedRestart sends TTOU while the crash-looping
// slot waits out a 1.6s back-off: that restart is cancelled, and the
// healthy worker is left serving.
func TestScaleDownCancelsDelayedRestart(t *testing.T) {
	p, url, healthy, looping := startCrashLoop(t)
	for range 4 {
		p.awaitBackOff(t, looping)
	}
	p.cmd.Process.Signal(syscall.SIGTTOU)
	if rec := p.log.await(t, "delayed restart cancelled", nil, 5*time.Second); rec.Worker != looping {
		t.Errorf("TTOU cancelled the restart of worker %d, want %d", rec.Worker, looping)
	}
	started := p.log.count("worker started")
	if pid, err := getPID(httpClient(nil), url); err != nil || pid != healthy {
		t.Errorf("answered by pid %d (%v), want the healthy worker %d", pid, err, healthy)
	}
	p.cmd.Process.Signal(syscall.SIGTERM)
	p.awaitExit(t, 10*time.Second)
	if n := p.log.count("stopping worker"); n != 0 {
		t.Errorf("TTOU stopped %d serving workers", n)
	}
	if n := p.log.count("worker started"); n != started {
		t.Errorf("%d workers started after the cancel", n-started)
	}
}

// TestImportFailureAfterServingIsBackedOff breaks the application once
// both workers serve and kills one: its replacements fail to load it, and
// the supervisor backs off and retries while the other serves, instead of
// stopping; once the application is fixed, the slot serves again.
func TestImportFailureAfterServingIsBackedOff(t *testing.T) {
	ln, err := Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	url := "http://" + ln.Name() + "/"
	broken := filepath.Join(t.TempDir(), "broken")
	p := startSupervisor(t, ln, 2, false, envTestBootFail+"="+broken)
	victim := p.awaitReady(t, 2)[0]
	if err := os.WriteFile(broken, []byte("bootfail"), 0o600); err != nil {
		t.Fatal(err)
	}
	syscall.Kill(victim.PID, syscall.SIGKILL)
	for i, want := range []string{"killed by signal SIGKILL", "exit status 3", "exit status 3"} {
		if rec := p.awaitBackOff(t, victim.Worker); rec.Status != want || rec.ExitsInARow != i+1 {
			t.Errorf("back-off %d: status %q, %d exits in a row; want %q, %d", i, rec.Status, rec.ExitsInARow, want, i+1)
		}
		get(t, httpClient(nil), url)
	}
	if n := p.log.count("worker could not load the application"); n < 2 {
		t.Errorf("%d load failures logged, want 2 or more", n)
	}
	if err := os.Remove(broken); err != nil {
		t.Fatal(err)
	}
	p.log.await(t, "worker ready", func(r logRecord) bool { return r.Worker == victim.Worker }, 15*time.Second)
	p.cmd.Process.Signal(syscall.SIGTERM)
	p.awaitExit(t, 10*time.Second)
}
