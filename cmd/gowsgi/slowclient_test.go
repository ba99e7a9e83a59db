package main

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"
)

// TestTrickledBodiesHoldNoExecutor checks --body-buffer: with --threads 1,
// while 20 clients trickle 64 KiB bodies a byte every 100 ms, a normal
// client's small POSTs are each answered in under a second, as the
// trickled bodies wait in the connections, not on the executor.
func TestTrickledBodiesHoldNoExecutor(t *testing.T) {
	s := startServer(t, "slowclient:app", "--threads", "1")
	ctx, stop := context.WithCancel(context.Background())
	var trickling sync.WaitGroup
	defer func() { stop(); trickling.Wait() }()
	for range 20 {
		c := s.dial(t)
		c.send(t, "POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 65536\r\n\r\n")
		trickling.Add(1)
		go func() {
			defer trickling.Done()
			tick := time.NewTicker(100 * time.Millisecond)
			defer tick.Stop()
			for range 65536 {
				select {
				case <-ctx.Done():
					return
				case <-tick.C:
				}
				if _, err := c.Write([]byte("x")); err != nil {
					return
				}
			}
		}()
	}
	c := s.dial(t)
	for i := range 20 {
		body := fmt.Sprintf("request %d", i)
		start := time.Now()
		c.send(t, fmt.Sprintf("POST / HTTP/1.1\r\nHost: t\r\nContent-Length: %d\r\n\r\n%s", len(body), body))
		resp, got := c.response(t, "POST")
		if d := time.Since(start); resp.StatusCode != 200 || got != fmt.Sprint(len(body)) || d > time.Second {
			t.Errorf("POST %d: %d %q after %v", i, resp.StatusCode, got, d)
		}
	}
}
