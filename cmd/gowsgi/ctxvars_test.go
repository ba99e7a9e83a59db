package main

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestContextVarsPerRequest: a ContextVar a request sets is gone for the
// next request on the same executor thread, and a streamed response's
// generator sees the value its request set in every chunk, though each
// chunk comes from a separate call into the app.
func TestContextVarsPerRequest(t *testing.T) {
	s := startServer(t, "ctxvars:app")
	c := s.dial(t)
	for i := range 20 {
		c.send(t, fmt.Sprintf("GET /leak?r%d HTTP/1.1\r\nHost: t\r\n\r\n", i))
		if _, body := c.response(t, "GET"); !strings.HasPrefix(body, "unset ") {
			t.Fatalf("request %d found %q set by an earlier request", i, body)
		}
		c.send(t, fmt.Sprintf("GET /stream?s%d HTTP/1.1\r\nHost: t\r\n\r\n", i))
		want := strings.Repeat(fmt.Sprintf("s%d;", i), 5)
		if _, body := c.response(t, "GET"); body != want {
			t.Fatalf("streamed request %d: %q, want %q", i, body, want)
		}
	}
}

// TestFlaskStreamWithContextAcrossSuspension: with --threads 1 and
// --suspend-streams, a Flask stream (stream_with_context) to a client that
// stops reading is suspended while other Flask streams run on the one
// slot; each chunk of every stream, the suspended one included once its
// client reads on, names its own request. (Without --suspend-streams the
// quick requests wait for the stalled stream's --send-timeout.)
func TestFlaskStreamWithContextAcrossSuspension(t *testing.T) {
	s := startServer(t, "flaskstream:app", "--threads", "1", "--suspend-streams", "--stream-buffer", "16384")
	const chunks = 2000 // 16 MB: more than the socket buffers take
	slow := stalledReader(t, s.addr, fmt.Sprintf("/s?id=slow&n=%d", chunks))
	c := keepAliveClient()
	for i := range 20 {
		id := fmt.Sprintf("quick%d", i)
		resp, err := c.Get(fmt.Sprintf("http://%s/s?id=%s&n=5", s.addr, id))
		if err != nil {
			t.Fatalf("request %s while a stream is suspended: %v", id, err)
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("request %s while a stream is suspended: %d %v", id, resp.StatusCode, err)
		}
		checkChunks(t, id, string(body), 5)
	}
	slow.SetReadDeadline(time.Now().Add(60 * time.Second))
	resp, err := http.ReadResponse(slow.r, nil)
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("the suspended stream after %d bytes: %v", len(body), err)
	}
	checkChunks(t, "slow", string(body), chunks)
}

// checkChunks checks that body is n chunks of 8 KiB, the i-th naming
// request id and i.
func checkChunks(t *testing.T, id, body string, n int) {
	t.Helper()
	if len(body) != n*8192 {
		t.Fatalf("%s: %d bytes, want %d", id, len(body), n*8192)
	}
	for i := range n {
		chunk := body[i*8192 : (i+1)*8192]
		if want := fmt.Sprintf("%s:%d;", id, i); !strings.HasPrefix(chunk, want) {
			t.Fatalf("%s: chunk %d starts %q, want %q", id, i, chunk[:min(len(chunk), 24)], want)
		}
	}
}
