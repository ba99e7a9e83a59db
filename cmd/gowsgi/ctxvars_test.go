package main

import (
	"fmt"
	"strings"
	"testing"
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
