package httpcore

import (
	"io"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// TestBodyBuffer checks that a body within BodyBuffer is read before the
// handler is called (the handler starts after the client's last byte) and
// served from memory, and that a larger one streams: the handler starts
// before its end and still gets every byte.
func TestBodyBuffer(t *testing.T) {
	const size = 64 << 10
	body := strings.Repeat("b", size)
	for _, tt := range []struct {
		name       string
		bodyBuffer int64
		buffered   bool
	}{{"within BodyBuffer", 0, true}, {"over BodyBuffer", size - 1, false}} {
		t.Run(tt.name, func(t *testing.T) {
			var called atomic.Int64 // when the handler started, in ns
			read := make(chan string, 1)
			_, addr := startServer(t, HandlerFunc(func(w *ResponseWriter, r *Request) {
				called.Store(time.Now().UnixNano())
				b, _ := io.ReadAll(r.Body)
				read <- string(b)
				w.WriteHeader([]byte("204 No Content"), nil)
			}), func(s *Server) { s.BodyBuffer = tt.bodyBuffer })
			nc, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			defer nc.Close()
			nc.SetDeadline(time.Now().Add(ioTimeout))
			io.WriteString(nc, "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 65536\r\n\r\n"+body[:size/2])
			if !tt.buffered {
				waitUntil(t, "the handler to start", func() bool { return called.Load() != 0 })
			} else {
				time.Sleep(50 * time.Millisecond) // gives a wrong server time to call the handler early
			}
			last := time.Now().UnixNano()
			io.WriteString(nc, body[size/2:])
			if got := <-read; got != body {
				t.Errorf("handler read %d bytes, want %d", len(got), size)
			}
			if early := called.Load() < last; early == tt.buffered {
				t.Errorf("handler called before the last body byte: %v, want %v", early, !tt.buffered)
			}
		})
	}
}
