package main

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"sync"
	"testing"
	"time"
)

// keepAliveClient reuses its connections and never retries: a response
// that is cut or corrupt fails the request that got it.
func keepAliveClient() *http.Client {
	return &http.Client{
		Timeout:   30 * time.Second,
		Transport: &http.Transport{MaxIdleConnsPerHost: 16, DisableCompression: true},
	}
}

// TestResponseBodiesKeptUntilWritten asks for large bodies in every form an
// app may return them, several at once under --threads 4, and checks each
// body's SHA-256 against the one the app computed: the bytes must stay
// alive until Go has written them, whatever object held them (issue 11,
// point 1: a tuple's bytes were freed before they were sent).
func TestResponseBodiesKeptUntilWritten(t *testing.T) {
	s := startServer(t, "bodies:app", "--threads", "4")
	c := keepAliveClient()
	forms := []string{"tuple", "list", "generator", "onechunk", "subclass", "parts", "write", "iterable"}
	sizes := []int{1, 65537, 1 << 20, 3<<20 + 7}
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for round := 0; round < 2; round++ {
		for _, form := range forms {
			for _, n := range sizes {
				wg.Add(1)
				go func() {
					defer wg.Done()
					if err := fetchChecked(c, fmt.Sprintf("http://%s/%s?n=%d", s.addr, form, n), n); err != nil {
						errs <- fmt.Errorf("%s n=%d: %w", form, n, err)
					}
				}()
			}
		}
		wg.Wait()
	}
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// fetchChecked GETs url and checks the body's length and its SHA-256
// against the X-Sha256 header.
func fetchChecked(c *http.Client, url string, n int) error {
	resp, err := c.Get(url)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	h := sha256.New()
	got, err := io.Copy(h, resp.Body)
	if err != nil {
		return fmt.Errorf("after %d bytes: %w", got, err)
	}
	if resp.StatusCode != 200 || got != int64(n) {
		return fmt.Errorf("status %d, %d bytes", resp.StatusCode, got)
	}
	if sum := hex.EncodeToString(h.Sum(nil)); sum != resp.Header.Get("X-Sha256") {
		return fmt.Errorf("body digest %s, app's %s", sum, resp.Header.Get("X-Sha256"))
	}
	return nil
}

// TestThreadsRunTogether sends N requests that each wait inside the app
// until all N are there, to a worker with --threads N: every executor must
// be woken, every time (issue 11, point 6: a job pushed while an executor
// was spinning woke nobody, and the requests ran one after the other).
func TestThreadsRunTogether(t *testing.T) {
	const n = 4
	s := startServer(t, "bodies:app", "--threads", fmt.Sprint(n))
	c := keepAliveClient()
	for trial := 0; trial < 30; trial++ {
		var wg sync.WaitGroup
		codes := make([]int, n)
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				resp, err := c.Get(fmt.Sprintf("http://%s/together?n=%d&id=%d", s.addr, n, trial))
				if err != nil {
					t.Errorf("trial %d: %v", trial, err)
					return
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				codes[i] = resp.StatusCode
			}()
		}
		wg.Wait()
		for _, code := range codes {
			if code != 200 {
				t.Fatalf("trial %d: statuses %v: the requests did not all run at once", trial, codes)
			}
		}
	}
}
