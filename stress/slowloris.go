package main

import (
	"fmt"
	"net"
	"strconv"
	"sync"
	"time"
)

// slowloris holds slowConns connections that each send one header byte
// every slowInterval while a normal client runs: the normal client sees no
// error and a p99 within 3x its unloaded p99, and every slow connection is
// closed at --header-timeout (cfg's slack added to the upper bounds).
func slowloris(cfg *config) result {
	s, err := startServer(cfg, "stress/apps", "stressapp:app", "--workers", "2",
		"--header-timeout", strconv.Itoa(cfg.headerTimeout))
	if err != nil {
		return result{figures: err.Error()}
	}
	defer s.stop()
	c := keepAliveClient(4)
	url := "http://" + s.addr + "/valid"
	load(c, url, 4, int64(cfg.slowNormalSample/4), nil, nil) // warm up
	unloaded := load(c, url, 4, int64(cfg.slowNormalSample), nil, nil)

	ht := time.Duration(cfg.headerTimeout) * time.Second
	var (
		mu         sync.Mutex
		closedAt   []time.Duration
		dialErrs   int
		wg         sync.WaitGroup
		opened     sync.WaitGroup // dialled and sent their first byte, or failed
		stopWrites = make(chan struct{})
	)
	for range cfg.slowConns {
		wg.Add(1)
		opened.Add(1)
		go func() {
			defer wg.Done()
			nc, err := net.DialTimeout("tcp", s.addr, 5*time.Second)
			if err != nil {
				mu.Lock()
				dialErrs++
				mu.Unlock()
				opened.Done()
				return
			}
			defer nc.Close()
			start := time.Now()
			head := []byte("GET /valid HTTP/1.1\r\nHost: x\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa")
			go func() {
				t := time.NewTicker(cfg.slowInterval)
				defer t.Stop()
				for i := 0; i < len(head); i++ {
					_, err := nc.Write(head[i : i+1])
					if i == 0 {
						opened.Done()
					}
					if err != nil {
						return
					}
					select {
					case <-t.C:
					case <-stopWrites:
						return
					}
				}
			}()
			nc.SetReadDeadline(start.Add(ht + cfg.loadSlack + 10*time.Second))
			var b [1]byte
			_, err = nc.Read(b[:]) // returns when the server closes
			if ne, ok := err.(net.Error); ok && ne.Timeout() {
				return // never closed
			}
			mu.Lock()
			closedAt = append(closedAt, time.Since(start))
			mu.Unlock()
		}()
	}
	opened.Wait()
	loaded := load(c, url, 4, int64(cfg.slowNormalSample), nil, nil)
	wg.Wait()
	close(stopWrites)

	var lo, hi time.Duration
	for i, d := range closedAt {
		if i == 0 || d < lo {
			lo = d
		}
		hi = max(hi, d)
	}
	p99u, p99l := unloaded.p(0.99), loaded.p(0.99)
	closedRight := len(closedAt) == cfg.slowConns && lo >= ht-100*time.Millisecond && hi <= ht+time.Second+cfg.loadSlack
	pass := loaded.errs == 0 && unloaded.errs == 0 && p99l <= 3*p99u+cfg.latencySlack && closedRight && dialErrs == 0
	return result{pass: pass, figures: fmt.Sprintf(
		"%d slow conns (1 byte/%v): closed %d/%d after %.2f-%.2fs (--header-timeout %ds); normal client %d reqs: errors %d, p99 %s unloaded vs %s loaded (%.1fx, <=3x+%v)%s",
		cfg.slowConns, cfg.slowInterval, len(closedAt), cfg.slowConns, lo.Seconds(), hi.Seconds(), cfg.headerTimeout,
		loaded.ok+loaded.errs, loaded.errs, ms(p99u), ms(p99l), float64(p99l)/float64(max(p99u, 1)), cfg.latencySlack, errText(loaded.firstErr))}
}
