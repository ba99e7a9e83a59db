package main

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptrace"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// reloadStop sends hups HUPs in a row, each after the previous reload
// completed, while load runs: no request fails. Then TERM under load:
// every request sent before the signal is answered and the exit status is 0.
func reloadStop(cfg *config) result {
	f1, p1 := reloadUnderLoad(cfg)
	f2, p2 := stopUnderLoad(cfg)
	return result{pass: p1 && p2, figures: f1 + "; " + f2}
}

// reloadStopPreload is reloadStop with --preload: each HUP starts a new
// zygote, which imports the app and forks the new generation.
func reloadStopPreload(cfg *config) result {
	f1, p1 := reloadUnderLoad(cfg, "--preload")
	f2, p2 := stopUnderLoad(cfg, "--preload")
	return result{pass: p1 && p2, figures: f1 + "; " + f2}
}

func reloadUnderLoad(cfg *config, flags ...string) (string, bool) {
	s, err := startServer(cfg, "stress/apps", "stressapp:app", append([]string{"--workers", "2"}, flags...)...)
	if err != nil {
		return err.Error(), false
	}
	defer s.stop()
	stop := make(chan struct{})
	done := make(chan *loadResult)
	var served atomic.Int64
	count := func([]byte) error { served.Add(1); return nil }
	go func() { done <- load(keepAliveClient(8), "http://"+s.addr+"/valid", 8, -1, stop, count) }()
	t0 := time.Now()
	var werr error
	for i := 1; i <= cfg.hups && werr == nil; i++ {
		s.cmd.Process.Signal(syscall.SIGHUP)
		werr = s.waitLog("reload complete", i, 60*time.Second)
	}
	took := time.Since(t0)
	// The load goes on until the last old worker has exited and the new
	// ones have served some more: the connections the old ones kept alive
	// are closed meanwhile.
	if werr == nil {
		werr = s.waitLog("worker exited", 2*cfg.hups, 60*time.Second)
	}
	for next, t1 := served.Load()+200, time.Now(); served.Load() < next && time.Since(t1) < 30*time.Second; {
		time.Sleep(time.Millisecond)
	}
	close(stop)
	res := <-done
	pass := werr == nil && res.errs == 0 && res.ok > 0
	return fmt.Sprintf("%d HUPs (each reload complete before the next, %.1fs): %d requests, %d failed%s",
		cfg.hups, took.Seconds(), res.ok+res.errs, res.errs, errText(firstNonNil(werr, res.firstErr))), pass
}

func stopUnderLoad(cfg *config, flags ...string) (string, bool) {
	s, err := startServer(cfg, "stress/apps", "stressapp:app", append([]string{"--workers", "2", "--threads", "4"}, flags...)...)
	if err != nil {
		return err.Error(), false
	}
	defer s.stop()
	var (
		termAt      atomic.Int64 // unix nanos, 0 before TERM
		lateRefused atomic.Int64
		before      atomic.Int64
		beforeFail  atomic.Int64
		after       atomic.Int64
		afterOK     atomic.Int64
		slowOK      atomic.Int64 // slow requests answered before TERM
		mu          sync.Mutex
		firstErr    error
		wg          sync.WaitGroup
	)
	c := keepAliveClient(8)
	url := "http://" + s.addr
	run := func(path string, ok *atomic.Int64) {
		defer wg.Done()
		for {
			sentAfter := termAt.Load() != 0
			// A request whose last attempt went out on a connection
			// dialled after TERM was never accepted by a worker (Go's
			// client retries a GET once when a kept-alive connection
			// closes under it, as RFC 9112 9.3.1 expects of clients);
			// nor was one whose connection was refused outright.
			var lateConn atomic.Bool
			trace := &httptrace.ClientTrace{
				GotConn: func(i httptrace.GotConnInfo) {
					lateConn.Store(!i.Reused && termAt.Load() != 0)
				},
				ConnectDone: func(_, _ string, err error) {
					if err != nil {
						lateConn.Store(true)
					}
				},
			}
			req, _ := http.NewRequestWithContext(httptrace.WithClientTrace(context.Background(), trace), "GET", url+path, nil)
			err := do(c, req)
			if sentAfter {
				after.Add(1)
				if err == nil {
					afterOK.Add(1)
					continue
				}
				return
			}
			before.Add(1)
			if err != nil {
				if lateConn.Load() {
					lateRefused.Add(1)
					return
				}
				beforeFail.Add(1)
				mu.Lock()
				firstErr = firstNonNil(firstErr, err)
				mu.Unlock()
				return
			}
			if ok != nil {
				ok.Add(1)
			}
		}
	}
	for range 8 {
		wg.Add(1)
		go run("/valid", nil)
	}
	for range 4 {
		wg.Add(1)
		go run("/slow?0.5", &slowOK)
	}
	// TERM comes once the load is under way: each slow loop has had about
	// one answer, so slow requests are in the app, and the fast ones have
	// connections kept alive.
	for t0 := time.Now(); (slowOK.Load() < 4 || before.Load() < 100) && time.Since(t0) < 30*time.Second; {
		time.Sleep(time.Millisecond)
	}
	termAt.Store(time.Now().UnixNano())
	s.cmd.Process.Signal(syscall.SIGTERM)
	wg.Wait()
	code := -1
	select {
	case <-s.done:
		code = s.cmd.ProcessState.ExitCode()
	case <-time.After(40 * time.Second):
	}
	pass := beforeFail.Load() == 0 && code == 0 && before.Load() > 0
	return fmt.Sprintf("TERM under load: %d requests sent before it, %d failed (%d more refused or retried onto a connection dialled after TERM: never accepted); %d sent after (%d answered); exit status %d%s",
		before.Load(), beforeFail.Load(), lateRefused.Load(), after.Load(), afterOK.Load(), code, errText(firstErr)), pass
}
