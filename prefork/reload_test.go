package prefork

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// load is a client that requests a URL in a loop, each request on a new
// connection, and counts what it gets.
type load struct {
	stop chan struct{}
	done chan struct{}
	mu   sync.Mutex
	ok   int
	errs []string
	pids map[int]int // requests answered by each worker pid
}

// startLoad starts requesting url until finish is called.
func startLoad(url string) *load {
	l := &load{stop: make(chan struct{}), done: make(chan struct{}), pids: make(map[int]int)}
	c := httpClient(nil)
	go func() {
		defer close(l.done)
		for {
			select {
			case <-l.stop:
				return
			default:
			}
			pid, err := getPID(c, url)
			l.mu.Lock()
			if err != nil {
				l.errs = append(l.errs, err.Error())
			} else {
				l.ok++
				l.pids[pid]++
			}
			l.mu.Unlock()
		}
	}()
	return l
}

// finish stops the loop and fails the test if any request failed or none
// succeeded.
func (l *load) finish(t *testing.T) {
	t.Helper()
	close(l.stop)
	<-l.done
	t.Logf("load: %d requests answered by pids %v", l.ok, l.pids)
	if len(l.errs) > 0 {
		t.Errorf("%d requests failed; the first: %s", len(l.errs), l.errs[0])
	}
	if l.ok == 0 {
		t.Error("no request succeeded")
	}
}

// served counts the requests pid answered.
func (l *load) served(pid int) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.pids[pid]
}

// awaitServed waits until one of pids has answered a request of the load,
// failing the test if none has within 10 seconds.
func (l *load) awaitServed(t *testing.T, pids ...int) {
	t.Helper()
	await(t, 10*time.Second, func() []int {
		var n []int
		for _, pid := range pids {
			n = append(n, l.served(pid))
		}
		return n
	}, func(n []int) bool { return slices.ContainsFunc(n, func(k int) bool { return k > 0 }) })
}

// getPID fetches url from a test worker's "/" and returns the pid it
// answers with.
func getPID(c *http.Client, url string) (int, error) {
	resp, err := c.Get(url)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, err
	}
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("%s: %q", resp.Status, body)
	}
	var id, pid int
	if _, err := fmt.Sscanf(string(body), "worker %d pid %d", &id, &pid); err != nil {
		return 0, fmt.Errorf("body %q: %v", body, err)
	}
	return pid, nil
}

// pidsOf lists the pids of records.
func pidsOf(recs []logRecord) []int {
	var pids []int
	for _, r := range recs {
		pids = append(pids, r.PID)
	}
	return pids
}

func TestReloadReplacesEveryWorker(t *testing.T) {
	ln, err := Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	url := "http://" + ln.Name() + "/"
	p := startSupervisor(t, ln, 2, false)
	old := pidsOf(p.awaitReady(t, 2))
	l := startLoad(url)
	l.awaitServed(t, old...)

	p.cmd.Process.Signal(syscall.SIGHUP)
	fresh := pidsOf(p.awaitReady(t, 2))
	p.log.await(t, "reload complete", nil, 5*time.Second)
	assertGone(t, old, 5*time.Second)
	for _, pid := range fresh {
		if slices.Contains(old, pid) {
			t.Errorf("pid %d is in both generations", pid)
		}
		l.awaitServed(t, pid) // each new worker serves
	}
	l.finish(t)

	p.cmd.Process.Signal(syscall.SIGTERM)
	p.awaitExit(t, 10*time.Second)
	assertGone(t, p.log.pids(), 2*time.Second)
}

// TestFailedReloadKeepsOldWorkers checks that a new generation that fails
// to boot is stopped while the old one serves on, and that a later reload,
// once the application boots again, succeeds.
func TestFailedReloadKeepsOldWorkers(t *testing.T) {
	tests := []struct {
		name       string
		failure    string // what the test workers do while the application is broken
		wantReason string
	}{
		{name: "application cannot load", failure: "bootfail", wantReason: "exit status 3"},
		{name: "crash before ready", failure: "crash", wantReason: "exit status 2"},
		{name: "boot timeout", failure: "hang", wantReason: "not ready within 1s, killed by signal SIGKILL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ln, err := Listen("127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			url := "http://" + ln.Name() + "/"
			broken := filepath.Join(t.TempDir(), "broken")
			p := startSupervisor(t, ln, 2, false, envTestBootFail+"="+broken, envTestBootTime+"=1s")
			old := pidsOf(p.awaitReady(t, 2))
			l := startLoad(url)

			if err := os.WriteFile(broken, []byte(tt.failure), 0o600); err != nil {
				t.Fatal(err)
			}
			p.cmd.Process.Signal(syscall.SIGHUP)
			rec := p.log.await(t, "reload failed", nil, 10*time.Second)
			if !strings.Contains(rec.Reason, tt.wantReason) {
				t.Errorf("reload failure reason %q, want it to contain %q", rec.Reason, tt.wantReason)
			}
			// The old workers serve on: between them they answer more
			// requests, and neither has exited.
			before := l.served(old[0]) + l.served(old[1])
			await(t, 10*time.Second, func() int { return l.served(old[0]) + l.served(old[1]) }, func(n int) bool { return n > before+10 })
			for _, pid := range old {
				if processGone(pid) {
					t.Errorf("old worker pid %d exited after the failed reload", pid)
				}
			}

			// The application is fixed: the next reload succeeds.
			if err := os.Remove(broken); err != nil {
				t.Fatal(err)
			}
			p.cmd.Process.Signal(syscall.SIGHUP)
			p.log.await(t, "reload complete", nil, 10*time.Second)
			assertGone(t, old, 5*time.Second)
			l.finish(t)

			p.cmd.Process.Signal(syscall.SIGTERM)
			p.awaitExit(t, 10*time.Second)
			assertGone(t, p.log.pids(), 2*time.Second)
		})
	}
}

// TestReloadDuringReloadIsQueued sends SIGHUP three times during a reload
// of slow-booting workers: one more reload follows the first, once.
func TestReloadDuringReloadIsQueued(t *testing.T) {
	ln, err := Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	url := "http://" + ln.Name() + "/"
	p := startSupervisor(t, ln, 2, false, envTestBootDelay+"=500ms")
	first := pidsOf(p.awaitReady(t, 2))
	l := startLoad(url)
	p.cmd.Process.Signal(syscall.SIGHUP)
	p.log.await(t, "reloading: starting a new generation of workers", nil, 5*time.Second)
	for range 2 {
		p.cmd.Process.Signal(syscall.SIGHUP)
		p.log.await(t, "reload in progress; another will follow it", nil, 5*time.Second)
	}
	p.log.await(t, "reload complete", nil, 10*time.Second)
	p.log.await(t, "reload complete", nil, 10*time.Second)
	pids := p.log.pids()
	l.awaitServed(t, pids[len(pids)-2:]...) // the last generation serves
	l.finish(t)
	if n := p.log.count("reload complete"); n != 2 {
		t.Errorf("%d reloads, want 2", n)
	}
	if n := p.log.count("worker started"); n != 6 {
		t.Errorf("%d workers started, want 6 (three generations of 2)", n)
	}
	assertGone(t, first, 5*time.Second)
	p.cmd.Process.Signal(syscall.SIGTERM)
	p.awaitExit(t, 10*time.Second)
	assertGone(t, p.log.pids(), 2*time.Second)
}

// TestReloadReconfigures checks that Reconfigure's Reload applies to the
// new generation (its environment and number of workers), and that its
// error fails the reload before any worker starts, the old ones serving on.
func TestReloadReconfigures(t *testing.T) {
	ln, err := Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + ln.Name()
	reconfig := filepath.Join(t.TempDir(), "reconfig")
	p := startSupervisor(t, ln, 1, false, envTestReconfig+"="+reconfig)
	old := pidsOf(p.awaitReady(t, 1))

	if err := os.WriteFile(reconfig, []byte("2 GENERATION=two"), 0o600); err != nil {
		t.Fatal(err)
	}
	p.cmd.Process.Signal(syscall.SIGHUP)
	fresh := pidsOf(p.awaitReady(t, 2))
	p.log.await(t, "reload complete", nil, 10*time.Second)
	assertGone(t, old, 5*time.Second)
	c := httpClient(nil)
	seen := map[int]bool{}
	await(t, 10*time.Second, func() int {
		if pid, err := getPID(c, base+"/"); err == nil && slices.Contains(fresh, pid) {
			seen[pid] = true
		}
		return len(seen)
	}, func(n int) bool { return n == 2 })
	for range 4 {
		resp, err := c.Get(base + "/env/GENERATION")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if string(b) != "two" {
			t.Errorf("GENERATION = %q in a worker of the new generation, want the reload's \"two\"", b)
		}
	}

	if err := os.WriteFile(reconfig, []byte("broken"), 0o600); err != nil {
		t.Fatal(err)
	}
	p.cmd.Process.Signal(syscall.SIGHUP)
	rec := p.log.await(t, "reload failed", nil, 10*time.Second)
	if !strings.Contains(rec.Reason, "broken") {
		t.Errorf("reload failure reason %q, want the Reconfigure error", rec.Reason)
	}
	if n := p.log.count("worker started"); n != 3 {
		t.Errorf("%d workers started in all, want 3: a failed Reconfigure starts none", n)
	}
	for _, pid := range fresh {
		if processGone(pid) {
			t.Errorf("worker pid %d exited after the failed reload", pid)
		}
	}

	p.cmd.Process.Signal(syscall.SIGTERM)
	p.awaitExit(t, 10*time.Second)
	assertGone(t, p.log.pids(), 2*time.Second)
}
