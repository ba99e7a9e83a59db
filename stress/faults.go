package main

import (
	"fmt"
	"math/rand/v2"
	"net/http"
	"syscall"
	"time"
)

// faults injects app exceptions, segfaults, endless loops (ended by
// --timeout) and SIGKILLed workers while a normal load runs: each fault
// fails only its own request (or, for a dying worker, the requests in
// flight on it), the parent lives, and the worker count is back within 2 s.
func faults(cfg *config) result {
	const workers, conc = 2, 4
	s, err := startServer(cfg, "stress/apps", "stressapp:app", "--workers", "2", "--threads", "2", "--timeout", "2")
	if err != nil {
		return result{figures: err.Error()}
	}
	defer s.stop()
	base := "http://" + s.addr
	oneConn := &http.Client{Timeout: 20 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	stop := make(chan struct{})
	normalDone := make(chan *loadResult)
	go func() { normalDone <- load(oneConn, base+"/valid", conc, -1, stop, nil) }()

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
	awaitWorkers := func() {
		t0 := time.Now()
		for len(s.workerPIDs()) != workers {
			if time.Since(t0) > 5*time.Second {
				recovered = false
				break
			}
			time.Sleep(5 * time.Millisecond)
		}
		slowest = max(slowest, time.Since(t0))
	}
	for i := range cfg.faultRounds {
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
			awaitWorkers()
		case 3:
			pids := s.workerPIDs()
			killed++
			syscall.Kill(pids[rng.IntN(len(pids))], syscall.SIGKILL)
			time.Sleep(time.Millisecond)
			awaitWorkers()
		}
		// Let the replacement boot before the next fault, so that the
		// boot-failure guard never sees deaths in a row.
		s.waitLog("worker ready", workers+segv+killed, 10*time.Second)
		time.Sleep(time.Duration(100+rng.IntN(200)) * time.Millisecond)
	}
	close(stop)
	normal := <-normalDone
	deaths := segv + killed
	// A normal client has at most one request in flight when a worker dies.
	allowed := int64(deaths * conc)
	parentAlive := s.alive()
	pass := len(wrong) == 0 && normal.errs <= allowed && parentAlive && recovered && slowest <= 2*time.Second && normal.ok > 0
	return result{pass: pass, figures: fmt.Sprintf(
		"%d faults (%d exceptions, %d endless loops, %d segfaults, %d SIGKILLs): fault answers wrong %d %v; normal load %d reqs, %d failed (<= %d in flight on dying workers); parent alive %v; worker count back in <= %v (<=2s)%s",
		cfg.faultRounds, raised, looped, segv, killed, len(wrong), wrong, normal.ok+normal.errs, normal.errs, allowed, parentAlive,
		slowest.Round(time.Millisecond), errText(normal.firstErr))}
}
