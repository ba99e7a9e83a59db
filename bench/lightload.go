package main

import (
	"context"
	"fmt"
	"time"
)

// lightResult is one light-load measurement of a server with one worker
// serving the hello case: a paced client at Rate requests a second, or, for
// Rate 0, no request at all (idle).
type lightResult struct {
	Server string
	Rate   int           // requests per second; 0: idle
	Stats  paceStats     // idle: only Duration, the window's length
	CPU    time.Duration // user + system time of the server's process tree over the window
	Err    string        // why there is no figure
}

// CPUPerRequest is the server's CPU time per request answered.
func (l lightResult) CPUPerRequest() time.Duration {
	return perRequest(l.CPU, l.Stats.Requests)
}

// failure is what the result shows instead of a figure, or "" (see
// result.failure).
func (l lightResult) failure() string {
	return failureText(l.Err, l.Stats.Errors)
}

// loadLabel names the load: "idle" or "100/s".
func (l lightResult) loadLabel() string {
	if l.Rate == 0 {
		return "idle"
	}
	return fmt.Sprintf("%d/s", l.Rate)
}

// runLight starts s with one worker serving hello, then measures its CPU
// time while one paced keep-alive client sends requests at each of
// cfg.lightRates for cfg.lightDuration, and then over cfg.idle with no
// request at all.
func runLight(ctx context.Context, cfg *config, s serverKind, hello benchCase) []lightResult {
	label := s.Name + " light load"
	var out []lightResult
	for _, rate := range cfg.lightRates {
		out = append(out, lightResult{Server: s.Name, Rate: rate})
	}
	out = append(out, lightResult{Server: s.Name})

	srv, err := serve(ctx, cfg, s, 1, hello)
	if err != nil {
		progress("%s: %v", label, err)
		for i := range out {
			out[i].Err = err.Error()
		}
		return out
	}
	defer srv.stop(label)
	pid := srv.proc.PID()
	for i := range out {
		l := &out[i]
		if ctx.Err() != nil {
			l.Err = "interrupted"
			continue
		}
		before := treeCPU(pid)
		if l.Rate > 0 {
			l.Stats = pacedRun{Addr: srv.addr, Case: hello, Rate: l.Rate, Duration: cfg.lightDuration, Timeout: 2 * time.Second}.Run(ctx)
		} else {
			l.Stats.Duration = idleFor(ctx, cfg.idle)
		}
		l.CPU = treeCPU(pid) - before
		if l.Rate > 0 {
			progress("%s %s: %d requests, %d errors, %d connections, CPU %s/request",
				label, l.loadLabel(), l.Stats.Requests, l.Stats.Errors, l.Stats.Conns, formatCPU(l.CPUPerRequest()))
		} else {
			progress("%s idle: CPU %s in %s", label, formatIdle(l.CPU), l.Stats.Duration.Round(time.Millisecond))
		}
	}
	return out
}

// idleFor waits d, or until ctx ends, and returns how long it waited.
func idleFor(ctx context.Context, d time.Duration) time.Duration {
	start := time.Now()
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
	return time.Since(start)
}
