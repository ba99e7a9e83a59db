package main

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestPacedRun(t *testing.T) {
	hello := allCases[0]
	const (
		rate     = 100
		duration = 300 * time.Millisecond
		slots    = 30 // rate × duration: the most requests the client may send
		failAt   = 3  // the request the failing (or late) servers fail
	)
	tests := []struct {
		name string
		// fail answers request failAt wrongly, or not at all.
		fail       func(w http.ResponseWriter)
		wantErrors int64
		maxServed  int
	}{
		{name: "every answer right", maxServed: slots},
		// A late answer costs the requests that were due meanwhile: the
		// client does not make them up with a burst.
		{name: "one answer 100 ms late", maxServed: slots - 100*rate/1000 + 2, fail: func(w http.ResponseWriter) {
			time.Sleep(100 * time.Millisecond) // the scenario: an answer 100 ms late
			w.Header().Set("Content-Length", "13")
			w.Write(allCases[0].Want)
		}},
		{name: "status 500", wantErrors: 1, maxServed: slots, fail: func(w http.ResponseWriter) {
			http.Error(w, "boom", http.StatusInternalServerError)
		}},
		{name: "wrong body", wantErrors: 1, maxServed: slots, fail: func(w http.ResponseWriter) {
			w.Header().Set("Content-Length", "13")
			w.Write([]byte("Hello, World?"))
		}},
		{name: "connection closed, no answer", wantErrors: 1, maxServed: slots, fail: func(w http.ResponseWriter) {
			conn, _, err := http.NewResponseController(w).Hijack()
			if err == nil {
				conn.Close()
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var (
				mu       sync.Mutex
				arrivals []time.Time
				conns    atomic.Int64
			)
			srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				mu.Lock()
				arrivals = append(arrivals, time.Now())
				n := len(arrivals)
				mu.Unlock()
				if n == failAt && tt.fail != nil {
					tt.fail(w)
					return
				}
				w.Header().Set("Content-Type", "text/plain")
				w.Header().Set("Content-Length", "13")
				w.Write(hello.Want)
			}))
			srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
				if s == http.StateNew {
					conns.Add(1)
				}
			}
			srv.Start()
			defer srv.Close()

			start := time.Now()
			run := pacedRun{Addr: srv.Listener.Addr().String(), Case: hello, Rate: rate, Duration: duration, Timeout: 5 * time.Second}
			st := run.Run(context.Background())
			mu.Lock()
			defer mu.Unlock()
			served := int64(len(arrivals))

			if st.Errors != tt.wantErrors {
				t.Errorf("%d errors (first: %q), want %d", st.Errors, st.FirstErr, tt.wantErrors)
			}
			if tt.wantErrors > 0 && !strings.HasPrefix(st.FirstErr, "request 2:") {
				t.Errorf("first error %q, want one about request 2 (the third)", st.FirstErr)
			}
			// Every request the server saw is counted once: none retried.
			if st.Requests+st.Errors != served {
				t.Errorf("client counts %d answered + %d failed, the server saw %d requests", st.Requests, st.Errors, served)
			}
			if served < failAt || served > int64(tt.maxServed) {
				t.Errorf("the server saw %d requests, want %d to %d", served, failAt, tt.maxServed)
			}
			// One keep-alive connection, and a new one after each failure.
			if got, want := conns.Load(), 1+tt.wantErrors; got != want || st.Conns != want {
				t.Errorf("the server saw %d connections, the client opened %d, want %d", got, st.Conns, want)
			}
			// Paced: request i is never sent before i/rate from the start.
			for i, at := range arrivals {
				if slot := time.Duration(i) * time.Second / rate; at.Sub(start) < slot {
					t.Errorf("request %d arrived %s after the start, before its slot at %s", i, at.Sub(start), slot)
				}
			}

		})
	}
}

func TestRawRequest(t *testing.T) {
	get := string(rawRequest("127.0.0.1:8000", allCases[0]))
	if get != "GET / HTTP/1.1\r\nHost: 127.0.0.1:8000\r\n\r\n" {
		t.Errorf("GET: %q", get)
	}
	echo := allCases[2]
	post := string(rawRequest("127.0.0.1:8000", echo))
	if !strings.HasPrefix(post, "POST / HTTP/1.1\r\n") || !strings.Contains(post, "\r\nContent-Length: 10240\r\n") ||
		!strings.HasSuffix(post, "\r\n\r\n"+string(echo.Body)) {
		t.Errorf("POST: %q...", post[:80])
	}
}
