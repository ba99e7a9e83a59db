package main

import (
	"fmt"
	"io"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// keepAliveClient keeps up to conns connections to one host.
func keepAliveClient(conns int) *http.Client {
	return &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
		MaxIdleConnsPerHost: conns, MaxConnsPerHost: conns, DisableCompression: true,
	}}
}

// loadResult counts what a load saw.
type loadResult struct {
	ok, errs  int64
	latencies []time.Duration
	firstErr  error
}

func (r *loadResult) p(q float64) time.Duration {
	if len(r.latencies) == 0 {
		return 0
	}
	s := slices.Clone(r.latencies)
	slices.Sort(s)
	return s[min(len(s)-1, int(q*float64(len(s))))]
}

// load sends total GETs of url over conc goroutines (total < 0: until stop
// is closed) and checks each is a 200; check, if set, also checks the body.
func load(c *http.Client, url string, conc int, total int64, stop <-chan struct{}, check func([]byte) error) *loadResult {
	var (
		issued atomic.Int64
		mu     sync.Mutex
		res    loadResult
		wg     sync.WaitGroup
	)
	for range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var lat []time.Duration
			var ok, errs int64
			var first error
			for {
				if total >= 0 && issued.Add(1) > total {
					break
				}
				if stop != nil {
					select {
					case <-stop:
						goto done
					default:
					}
				}
				t0 := time.Now()
				err := get(c, url, check)
				lat = append(lat, time.Since(t0))
				if err != nil {
					errs++
					if first == nil {
						first = err
					}
				} else {
					ok++
				}
			}
		done:
			mu.Lock()
			res.ok += ok
			res.errs += errs
			res.latencies = append(res.latencies, lat...)
			if res.firstErr == nil {
				res.firstErr = first
			}
			mu.Unlock()
		}()
	}
	wg.Wait()
	return &res
}

// get makes one GET and checks for a 200.
func get(c *http.Client, url string, check func([]byte) error) error {
	req, err := http.NewRequest("GET", url, nil)
	if err != nil {
		return err
	}
	return doCheck(c, req, check)
}

// do makes one request and checks for a 200.
func do(c *http.Client, req *http.Request) error { return doCheck(c, req, nil) }

func doCheck(c *http.Client, req *http.Request, check func([]byte) error) error {
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return err
	}
	if resp.StatusCode != 200 {
		return fmt.Errorf("status %d: %.100q", resp.StatusCode, body)
	}
	if check != nil {
		return check(body)
	}
	return nil
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	s := err.Error()
	if len(s) > 120 {
		s = s[:120]
	}
	return " first error: " + s
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2fms", float64(d.Microseconds())/1000) }
