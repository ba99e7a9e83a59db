package main

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// A garbage case is what one connection sends; valid cases end in a
// request to /valid?ID, whose answer must be "ok ID". No invalid request
// may reach the app: they all name paths other than /valid, and the app
// counts those.
type garbageCase struct {
	name  string
	valid bool
	make  func(id int, rng *rand.Rand) []byte
}

var garbageCases = []garbageCase{
	{"valid", true, func(id int, _ *rand.Rand) []byte {
		return fmt.Appendf(nil, "GET /valid?%d HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", id)
	}},
	{"valid-post", true, func(id int, _ *rand.Rand) []byte {
		return fmt.Appendf(nil, "POST /valid?%d HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello", id)
	}},
	{"valid-chunked", true, func(id int, _ *rand.Rand) []byte {
		return fmt.Appendf(nil, "POST /valid?%d HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n5\r\nhello\r\n0\r\n\r\n", id)
	}},
	{"random", false, func(_ int, rng *rand.Rand) []byte {
		b := make([]byte, 1+rng.IntN(4096))
		for i := range b {
			b[i] = byte(rng.UintN(256))
		}
		return b
	}},
	{"random-after-method", false, func(_ int, rng *rand.Rand) []byte {
		b := []byte("GET /evil")
		for range 1 + rng.IntN(200) {
			b = append(b, byte(rng.UintN(256)))
		}
		return append(b, "\r\n\r\n"...)
	}},
	{"truncated-head", false, func(_ int, rng *rand.Rand) []byte {
		full := "GET /evil HTTP/1.1\r\nHost: x\r\nX-A: b\r\n\r\n"
		return []byte(full[:rng.IntN(len(full)-1)])
	}},
	{"oversized-head", false, func(_ int, _ *rand.Rand) []byte {
		return []byte("GET /evil HTTP/1.1\r\nHost: x\r\n" + strings.Repeat("X-Pad: "+strings.Repeat("a", 8000)+"\r\n", 10) + "\r\n")
	}},
	{"long-request-line", false, func(_ int, _ *rand.Rand) []byte {
		return []byte("GET /evil?" + strings.Repeat("a", 70000) + " HTTP/1.1\r\nHost: x\r\n\r\n")
	}},
	{"too-many-fields", false, func(_ int, _ *rand.Rand) []byte {
		return []byte("GET /evil HTTP/1.1\r\n" + strings.Repeat("X-A: b\r\n", 200) + "\r\n")
	}},
	{"cl-and-te", false, func(_ int, _ *rand.Rand) []byte {
		return []byte("POST /evil HTTP/1.1\r\nHost: x\r\nContent-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /evil-smuggled HTTP/1.1\r\nHost: x\r\n\r\n")
	}},
	{"two-content-lengths", false, func(_ int, _ *rand.Rand) []byte {
		return []byte("POST /evil HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nContent-Length: 44\r\n\r\nGET /evil-smuggled HTTP/1.1\r\nHost: x\r\n\r\n")
	}},
	{"te-obfuscated", false, func(_ int, _ *rand.Rand) []byte {
		return []byte("POST /evil HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: xchunked\r\n\r\n0\r\n\r\n")
	}},
	{"te-space-before-colon", false, func(_ int, _ *rand.Rand) []byte {
		return []byte("POST /evil HTTP/1.1\r\nHost: x\r\nTransfer-Encoding : chunked\r\n\r\n0\r\n\r\n")
	}},
	{"te-obs-fold", false, func(_ int, _ *rand.Rand) []byte {
		return []byte("POST /evil HTTP/1.1\r\nHost: x\r\nTransfer-Encoding:\r\n chunked\r\n\r\n0\r\n\r\n")
	}},
	{"te-chunked-not-last", false, func(_ int, _ *rand.Rand) []byte {
		return []byte("POST /evil HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n")
	}},
	{"cl-plus-sign", false, func(_ int, _ *rand.Rand) []byte {
		return []byte("POST /evil HTTP/1.1\r\nHost: x\r\nContent-Length: +5\r\n\r\nhello")
	}},
	{"bare-lf", false, func(_ int, _ *rand.Rand) []byte {
		return []byte("GET /evil HTTP/1.1\nHost: x\n\n")
	}},
	{"nul-in-header", false, func(_ int, _ *rand.Rand) []byte {
		return []byte("GET /evil HTTP/1.1\r\nHost: x\r\nX-A: a\x00b\r\n\r\n")
	}},
	{"http2-preface", false, func(_ int, _ *rand.Rand) []byte {
		return []byte("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")
	}},
	{"bad-version", false, func(_ int, _ *rand.Rand) []byte {
		return []byte("GET /evil HTTP/1.7\r\nHost: x\r\n\r\n")
	}},
	{"valid-then-garbage", true, func(id int, rng *rand.Rand) []byte {
		b := fmt.Appendf(nil, "GET /valid?%d HTTP/1.1\r\nHost: x\r\n\r\n", id)
		for range 1 + rng.IntN(100) {
			b = append(b, byte(rng.UintN(256)))
		}
		return append(b, "\r\n\r\n"...)
	}},
}

// garbage sends garbageConns connections of the cases above, mixed: every
// valid request gets its answer, the app is never called for an invalid
// one, and no worker dies.
func garbage(cfg *config) result {
	s, err := startServer(cfg, "stress/apps", "stressapp:app", "--workers", "1", "--header-timeout", "5")
	if err != nil {
		return result{figures: err.Error()}
	}
	defer s.stop()
	pids := s.workerPIDs()
	before, err := s.stats()
	if err != nil {
		return result{figures: "stats: " + err.Error()}
	}
	var (
		next      atomic.Int64
		validSent atomic.Int64
		validOK   atomic.Int64
		invalid2x atomic.Int64
		mu        sync.Mutex
		problems  = map[string]int{}
		wg        sync.WaitGroup
	)
	note := func(what string) {
		mu.Lock()
		problems[what]++
		mu.Unlock()
	}
	for w := range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w), 7))
			for {
				id := int(next.Add(1))
				if id > cfg.garbageConns {
					return
				}
				gc := garbageCases[id%len(garbageCases)]
				if gc.valid {
					validSent.Add(1)
				}
				status, body, err := exchangeRaw(s.addr, gc.make(id, rng))
				switch {
				case gc.valid && err == nil && status == 200 && body == fmt.Sprintf("ok %d", id):
					validOK.Add(1)
				case gc.valid:
					note(fmt.Sprintf("%s: status %d body %.40q err %v", gc.name, status, body, err))
				case status >= 200 && status < 300:
					invalid2x.Add(1)
					note(gc.name + fmt.Sprintf(": answered %d", status))
				}
			}
		}()
	}
	wg.Wait()
	after, err := s.stats()
	if err != nil {
		return result{figures: "stats: " + err.Error()}
	}
	appValid := after.Valid - before.Valid
	appOther := after.Other - before.Other
	samePIDs := slices.Equal(pids, s.workerPIDs())
	pass := validOK.Load() == validSent.Load() && appValid == validSent.Load() && appOther == 0 &&
		invalid2x.Load() == 0 && samePIDs
	var probs []string
	for k, v := range problems {
		probs = append(probs, fmt.Sprintf("%dx %s", v, k))
	}
	slices.Sort(probs)
	if len(probs) > 5 {
		probs = probs[:5]
	}
	return result{pass: pass, figures: fmt.Sprintf(
		"%d conns (%d kinds): valid answered right %d/%d, app calls valid %d / invalid %d, invalid answered 2xx %d, worker unchanged %v %s",
		cfg.garbageConns, len(garbageCases), validOK.Load(), validSent.Load(), appValid, appOther, invalid2x.Load(), samePIDs, strings.Join(probs, "; "))}
}

// exchangeRaw sends raw on a new connection, half-closes it, and reads the
// first response, if any.
func exchangeRaw(addr string, raw []byte) (int, string, error) {
	nc, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return 0, "", err
	}
	defer nc.Close()
	nc.SetDeadline(time.Now().Add(15 * time.Second))
	go func() {
		// A server refusing a long head early may reset the rest of it.
		nc.Write(raw)
		nc.(*net.TCPConn).CloseWrite()
	}()
	r := bufio.NewReader(nc)
	if _, err := r.Peek(1); err != nil {
		if err == io.EOF {
			return 0, "", nil // closed without an answer
		}
		return 0, "", err
	}
	resp, err := http.ReadResponse(r, nil)
	if err != nil {
		return 0, "", err
	}
	var body bytes.Buffer
	_, err = io.Copy(&body, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, body.String(), err
}
