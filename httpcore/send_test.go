package httpcore

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"testing"
	"time"

	"github.com/gowsgi/gowsgi/internal/syncbuf"
)

// sendBody is 16 MiB: more than the loopback socket buffers of both ends
// take, so its client's reading paces the server.
var sendBody = bytes.Repeat([]byte("0123456789abcdef"), 1<<20)

// sendPaths answer with sendBody through each way a body is written, and
// report what the writing returned on errs (nil for WriteHeld, whose
// errors end at the connection).
func sendPaths(t *testing.T, errs chan<- error) map[string]HandlerFunc {
	f := tempFile(t, sendBody)
	return map[string]HandlerFunc{
		"Write": func(w *ResponseWriter, r *Request) {
			w.WriteHeader([]byte("200 OK"), nil)
			var err error
			for p := sendBody; len(p) > 0 && err == nil; p = p[1<<20:] {
				_, err = w.Write(p[:1<<20])
			}
			errs <- err
		},
		"SendFile": func(w *ResponseWriter, r *Request) {
			w.WriteHeader([]byte("200 OK"), nil)
			errs <- w.SendFile(f, 0, int64(len(sendBody)))
		},
		"WriteHeld": func(w *ResponseWriter, r *Request) {
			w.WriteHeader([]byte("200 OK"), nil)
			w.WriteHeld([][]byte{sendBody}, newReleaseCount())
			errs <- nil
		},
	}
}

// TestSendTimeoutSlowReader checks that SendTimeout bounds the time
// between writes, not the whole response: a client reading steadily but
// slowly gets a body that takes several SendTimeouts to send.
func TestSendTimeoutSlowReader(t *testing.T) {
	// The kernel wakes a writer blocked on a full socket buffer once a
	// third or so of the buffer (megabytes on loopback) has drained: the
	// reader must take that within SendTimeout, even slowed down by the
	// race detector on a busy machine.
	const sendTimeout = 3 * time.Second
	errs := make(chan error, 1)
	for name, handler := range sendPaths(t, errs) {
		t.Run(name, func(t *testing.T) {
			_, addr := startServer(t, handler, func(s *Server) { s.SendTimeout = sendTimeout })
			nc, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			defer nc.Close()
			nc.SetDeadline(time.Now().Add(ioTimeout))
			start := time.Now()
			io.WriteString(nc, "GET / HTTP/1.1\r\nHost: h\r\n\r\n")
			resp, err := http.ReadResponse(bufio.NewReader(nc), nil)
			if err != nil {
				t.Fatal(err)
			}
			var got bytes.Buffer
			buf := make([]byte, 64<<10)
			for {
				n, err := resp.Body.Read(buf)
				got.Write(buf[:n])
				if err != nil {
					break
				}
				time.Sleep(8 * time.Millisecond) // paces the reader, at most 8 MB/s
			}
			if !bytes.Equal(got.Bytes(), sendBody) {
				t.Errorf("got %d bytes, want %d, or they differ", got.Len(), len(sendBody))
			}
			if err := <-errs; err != nil {
				t.Errorf("writing: %v", err)
			}
			if d := time.Since(start); d < sendTimeout {
				t.Logf("the response took %v only: the reader was not slow enough to test SendTimeout", d)
			}
		})
	}
}

// TestSendTimeoutStalledClient checks that a client that takes no bytes
// for SendTimeout is disconnected: the handler's write fails with a
// timeout, nothing is logged, and the connection is closed.
func TestSendTimeoutStalledClient(t *testing.T) {
	const sendTimeout = 300 * time.Millisecond
	errs := make(chan error, 1)
	for name, handler := range sendPaths(t, errs) {
		t.Run(name, func(t *testing.T) {
			logged := &syncbuf.Buffer{}
			s, addr := startServer(t, handler, func(s *Server) {
				s.SendTimeout = sendTimeout
				s.ErrorLog = log.New(logged, "", 0)
			})
			nc := dialSmallWindow(t, addr)
			io.WriteString(nc, "GET / HTTP/1.1\r\nHost: h\r\n\r\n")
			if err := <-errs; name != "WriteHeld" && !errors.Is(err, os.ErrDeadlineExceeded) {
				t.Errorf("writing to a stalled client: %v, want a timeout", err)
			}
			waitUntil(t, "the connection to close", func() bool { return connsIn(s, stateActive) == 0 })
			if logged.String() != "" {
				t.Errorf("logged: %s", logged)
			}
		})
	}
}
