package prefork

import (
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestHeartbeatTimeoutKillsStoppedWorker stops a worker (SIGSTOP), so that
// its heartbeat falls silent, and checks that it is killed and replaced.
func TestHeartbeatTimeoutKillsStoppedWorker(t *testing.T) {
	ln, err := Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	url := "http://" + ln.Name() + "/"
	p := startSupervisor(t, ln, 1, false, envTestHeartbeat+"=1s")
	victim := p.awaitReady(t, 1)[0]
	if err := syscall.Kill(victim.PID, syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	p.log.await(t, "worker stopped heartbeating; killing it", func(r logRecord) bool { return r.PID == victim.PID }, 5*time.Second)
	exited := p.log.await(t, "worker exited", func(r logRecord) bool { return r.PID == victim.PID }, 5*time.Second)
	if exited.Status != "killed by signal SIGKILL" || !strings.HasPrefix(exited.KilledFor, "no heartbeat for ") {
		t.Errorf("exit logged as %q, killed for %q; want SIGKILL for no heartbeat", exited.Status, exited.KilledFor)
	}
	fresh := p.log.await(t, "worker ready", nil, 10*time.Second)
	if pid, err := getPID(httpClient(nil), url); err != nil || pid != fresh.PID {
		t.Errorf("answered by pid %d (%v), want the replacement %d", pid, err, fresh.PID)
	}
	p.cmd.Process.Signal(syscall.SIGTERM)
	p.awaitExit(t, 10*time.Second)
	assertGone(t, p.log.pids(), 2*time.Second)
}

// TestHeartbeatSurvivesBlockedThread checks that a worker whose only P is
// held up by a goroutine blocked in a long system call on a locked thread
// (as an executor in a long cgo call is) still heartbeats.
func TestHeartbeatSurvivesBlockedThread(t *testing.T) {
	ln, err := Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	url := "http://" + ln.Name() + "/"
	p := startSupervisor(t, ln, 1, false, envTestHeartbeat+"=1s", envTestBehaviour+"=block-thread")
	w := p.awaitReady(t, 1)[0]
	// The scenario: the thread stays blocked for three and a half
	// heartbeat timeouts, over which a silent heartbeat would be seen.
	time.Sleep(3500 * time.Millisecond)
	if n := p.log.count("worker stopped heartbeating; killing it"); n != 0 {
		t.Errorf("%d workers killed for a silent heartbeat", n)
	}
	if pid, err := getPID(httpClient(nil), url); err != nil || pid != w.PID {
		t.Errorf("answered by pid %d (%v), want %d", pid, err, w.PID)
	}
	p.cmd.Process.Signal(syscall.SIGTERM)
	p.awaitExit(t, 10*time.Second)
}
