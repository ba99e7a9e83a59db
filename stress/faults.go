package main

import (
	"fmt"
	"math/rand/v2"
	"net/http"
	"slices"
	"sync/atomic"
	"syscall"
	"time"
)

// faults injects app exceptions, segfaults, endless loops (ended by
// --timeout) and SIGKILLed workers while a normal load runs: each fault
// fails only its own request (or, for a dying worker, the requests in
// flight on it), the parent lives, and the worker count is back within 2 s
// (plus cfg.loadSlack).
func faults(cfg *config) result { return faultsWith(cfg) }

// faultsPreload is faults with --preload: the workers that die are forked
// again from the zygote.
func faultsPreload(cfg *config) result { return faultsWith(cfg, "--preload") }

// faultsWith runs faults with the server's extra flags.
func faultsWith(cfg *config, flags ...string) result {
	const workers, conc = 2, 4
	s, err := startServer(cfg, "stress/apps", "stressapp:app", append([]string{"--workers", "2", "--threads", "2", "--timeout", "2"}, flags...)...)
	if err != nil {
		return result{figures: err.Error()}
	}
	defer s.stop()
	base := "http://" + s.addr
	oneConn := &http.Client{Timeout: 20 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	stop := make(chan struct{})
	normalDone := make(chan *loadResult)
	var served atomic.Int64 // normal requests answered so far
	count := func([]byte) error { served.Add(1); return nil }
	go func() { normalDone <- load(oneConn, base+"/valid", conc, -1, stop, count) }()

	rng := rand.New(rand.NewPCG(1, 2))
	var (
		raised, looped, segv, killed int
		wrong                        []string
		slowest                      time.Duration
		recovered                    = true
	)
	status := func(path string) int {
		resp, err := oneConn.Get(base + path)
		if err != nil {
			return 0
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	// awaitWorkers waits until a worker of before has gone and the count is
	// back, and notes how long that took.
	awaitWorkers := func(before []int) {
		t0 := time.Now()
		for {
			now := s.workerPIDs()
			if len(now) == workers && !slices.Equal(slices.Sorted(slices.Values(now)), slices.Sorted(slices.Values(before))) {
				break
			}
			if time.Since(t0) > 30*time.Second {
				recovered = false
				break
			}
			time.Sleep(5 * time.Millisecond)
		}
		slowest = max(slowest, time.Since(t0))
	}
	for i := range cfg.faultRounds {
		pids := s.workerPIDs()
		switch i % 4 {
		case 0:
			raised++
			if st := status("/raise"); st != 500 {
				wrong = append(wrong, fmt.Sprintf("raise: %d", st))
			}
		case 1:
			looped++
			if st := status("/loop"); st != 500 {
				wrong = append(wrong, fmt.Sprintf("loop: %d", st))
			}
		case 2:
			segv++
			if st := status("/segfault"); st != 0 {
				wrong = append(wrong, fmt.Sprintf("segfault: %d", st))
			}
			awaitWorkers(pids)
		case 3:
			killed++
			syscall.Kill(pids[rng.IntN(len(pids))], syscall.SIGKILL)
			awaitWorkers(pids)
		}
		// Let the replacement boot before the next fault, so that the
		// boot-failure guard never sees deaths in a row, and the normal
		// load run on the full set of workers for a while.
		s.waitLog("worker ready", workers+segv+killed, 30*time.Second)
		next, t0 := served.Load()+int64(20+rng.IntN(40)), time.Now()
		for served.Load() < next && time.Since(t0) < 30*time.Second {
			time.Sleep(time.Millisecond)
		}
	}
	close(stop)
	normal := <-normalDone
	deaths := segv + killed
	// A normal client has at most one request in flight when a worker dies.
	allowed := int64(deaths * conc)
	parentAlive := s.alive()
	within := 2*time.Second + cfg.loadSlack
	pass := len(wrong) == 0 && normal.errs <= allowed && parentAlive && recovered && slowest <= within && normal.ok > 0
	return result{pass: pass, figures: fmt.Sprintf(
		"%d faults (%d exceptions, %d endless loops, %d segfaults, %d SIGKILLs): fault answers wrong %d %v; normal load %d reqs, %d failed (<= %d in flight on dying workers); parent alive %v; worker count back in <= %v (<=%v)%s",
		cfg.faultRounds, raised, looped, segv, killed, len(wrong), wrong, normal.ok+normal.errs, normal.errs, allowed, parentAlive,
		slowest.Round(time.Millisecond), within, errText(normal.firstErr))}
}
