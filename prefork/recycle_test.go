package prefork

import (
	"strconv"
	"syscall"
	"testing"
	"time"
)

// index returns the position of the first record so far with message msg
// that match accepts, or -1.
func (lt *logTail) index(msg string, match func(logRecord) bool) int {
	lt.mu.Lock()
	defer lt.mu.Unlock()
	for i, rec := range lt.seen {
		if rec.Msg == msg && match(rec) {
			return i
		}
	}
	return -1
}

// TestRecycle checks both causes of a recycle: the replacement is ready
// before the old worker is told to stop, and no request fails.
func TestRecycle(t *testing.T) {
	tests := []struct {
		name       string
		env        []string
		trigger    string // path requested on the worker to recycle
		wantReason string // the start of the recycle's logged reason
	}{
		{name: "Retire", trigger: "/retire", wantReason: "the worker asked to retire"},
		{name: "MaxWorkerMemory", env: []string{envTestMaxMemory + "=" + strconv.Itoa(bloatSize/2)}, trigger: "/bloat", wantReason: "resident memory "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ln, err := Listen("127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			url := "http://" + ln.Name()
			p := startSupervisor(t, ln, 1, false, tt.env...)
			old := p.awaitReady(t, 1)[0]
			l := startLoad(url + "/")

			get(t, httpClient(nil), url+tt.trigger)
			rec := p.log.await(t, "recycling worker", nil, 10*time.Second)
			if rec.PID != old.PID || len(rec.Reason) < len(tt.wantReason) || rec.Reason[:len(tt.wantReason)] != tt.wantReason {
				t.Errorf("recycling pid %d for %q, want pid %d for %q...", rec.PID, rec.Reason, old.PID, tt.wantReason)
			}
			fresh := p.log.await(t, "worker ready", nil, 10*time.Second)
			p.log.await(t, "worker exited", func(r logRecord) bool { return r.PID == old.PID }, 10*time.Second)
			l.awaitServed(t, fresh.PID)
			l.finish(t)

			ready := p.log.index("worker ready", func(r logRecord) bool { return r.PID == fresh.PID })
			stopped := p.log.index("stopping worker", func(r logRecord) bool { return r.PID == old.PID })
			if stopped < 0 || ready > stopped {
				t.Errorf("old worker stopped at log record %d, replacement ready at %d; want the replacement ready first", stopped, ready)
			}
			if n := p.log.count("recycling worker"); n != 1 {
				t.Errorf("%d recycles, want 1", n)
			}
			p.cmd.Process.Signal(syscall.SIGTERM)
			p.awaitExit(t, 10*time.Second)
			assertGone(t, p.log.pids(), 2*time.Second)
		})
	}
}
