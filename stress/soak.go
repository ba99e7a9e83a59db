package main

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
)

// soak sends soakRequests GETs to the Flask sample over keep-alive
// connections: no error, and no worker's memory grows by more than 5%
// after the first soakWarmup requests.
func soak(cfg *config) result {
	s, err := startServer(cfg, "pyapps", "flask_app:app", "--workers", "2")
	if err != nil {
		return result{figures: err.Error()}
	}
	defer s.stop()
	pids := s.workerPIDs()
	c := keepAliveClient(cfg.soakConns)
	url := "http://" + s.addr + "/"
	check := func(b []byte) error {
		if !bytes.Equal(b, []byte("Hello from Flask!\n")) {
			return errors.New("wrong body")
		}
		return nil
	}
	warm := load(c, url, cfg.soakConns, int64(cfg.soakWarmup), nil, check)
	before := s.workersRSS()
	rest := load(c, url, cfg.soakConns, int64(cfg.soakRequests-cfg.soakWarmup), nil, check)
	after := s.workersRSS()
	growth := 0.0
	for p, b := range before {
		if a, ok := after[p]; ok && b > 0 {
			growth = max(growth, float64(a-b)/float64(b)*100)
		}
	}
	errs := warm.errs + rest.errs
	samePIDs := slices.Equal(slices.Sorted(slices.Values(pids)), slices.Sorted(slices.Values(s.workerPIDs())))
	pass := errs == 0 && growth <= 5 && samePIDs && warm.ok+rest.ok == int64(cfg.soakRequests)
	return result{pass: pass, figures: fmt.Sprintf(
		"%d requests, %d conns, errors %d, p50 %s p99 %s, worker RSS after %d: %s -> end: %s, max growth %.2f%% (<=5%%), workers unchanged %v%s",
		warm.ok+rest.ok, cfg.soakConns, errs, ms(rest.p(0.5)), ms(rest.p(0.99)), cfg.soakWarmup,
		rssList(before), rssList(after), growth, samePIDs, errText(errors.Join(warm.firstErr, rest.firstErr)))}
}

func rssList(m map[int]int64) string {
	var keys []int
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var b bytes.Buffer
	for i, k := range keys {
		if i > 0 {
			b.WriteByte('+')
		}
		b.WriteString(mb(m[k]))
	}
	return b.String()
}
