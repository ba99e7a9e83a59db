package main

import (
	"strings"
	"testing"
)

// TestLimitRequestFieldSize: --limit-request-field-size bounds the whole
// field line, name, colon, whitespace, value and CRLF, as gunicorn counts
// it (issue 11, point 10: a 100-byte User-Agent line passed a limit of 98).
func TestLimitRequestFieldSize(t *testing.T) {
	s := startServer(t, "e2eapp:app", "--limit-request-field-size", "98")
	// userAgent is a User-Agent field line of n bytes with its CRLF.
	userAgent := func(n int) string {
		return "User-Agent: " + strings.Repeat("u", n-len("User-Agent: \r\n")) + "\r\n"
	}
	for _, tt := range []struct {
		line   string
		status int
	}{
		{userAgent(98), 200},
		{userAgent(99), 431},
		{userAgent(100), 431},
		{"User-Agent:" + strings.Repeat(" ", 84) + "u\r\n", 200}, // whitespace counts: 98 bytes
		{"User-Agent:" + strings.Repeat(" ", 85) + "u\r\n", 431},
	} {
		c := s.dial(t)
		c.send(t, "GET / HTTP/1.1\r\nHost: t\r\n"+tt.line+"Connection: close\r\n\r\n")
		if resp, _ := c.response(t, "GET"); resp.StatusCode != tt.status {
			t.Errorf("field line of %d bytes: status %d, want %d", len(tt.line), resp.StatusCode, tt.status)
		}
	}
}
