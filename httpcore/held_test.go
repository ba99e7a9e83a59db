package httpcore

import (
	"bufio"
	"crypto/sha256"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// releaseCount counts the Release calls of a held body.
type releaseCount struct {
	n        atomic.Int32
	done     chan struct{} // closed by the first Release
	returned time.Time     // when the handler returned, if heldHandler's
	released time.Time     // when Release was first called
}

func newReleaseCount() *releaseCount { return &releaseCount{done: make(chan struct{})} }

// Release implements WriteHeld's release.
func (r *releaseCount) Release() {
	if r.n.Add(1) == 1 {
		r.released = time.Now()
		close(r.done)
	}
}

// wait waits for the first Release, failing the test after ioTimeout.
func (r *releaseCount) wait(t testing.TB) {
	t.Helper()
	select {
	case <-r.done:
	case <-time.After(ioTimeout):
		t.Fatal("Release not called")
	}
}

// holdBody calls w.WriteHeld with chunks and panics (so the test sees a
// broken response) if it does not report kept as want.
func holdBody(w *ResponseWriter, want bool, chunks ...string) {
	bs := make([][]byte, len(chunks))
	for i, c := range chunks {
		bs[i] = []byte(c)
	}
	if got := w.WriteHeld(bs, newReleaseCount()); got != want {
		panic("WriteHeld kept the chunks: " + map[bool]string{true: "yes", false: "no"}[got])
	}
}

// dialSmallWindow connects to addr with a 4 KiB receive buffer, set before
// the connection is made so that the window stays small: a client that
// does not read then stalls the server's writes after a few megabytes of
// socket buffers.
func dialSmallWindow(t testing.TB, addr string) net.Conn {
	t.Helper()
	d := net.Dialer{Control: func(_, _ string, rc syscall.RawConn) error {
		var serr error
		err := rc.Control(func(fd uintptr) {
			serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096)
		})
		return errors.Join(err, serr)
	}}
	return dialTest(t, &d, "tcp", addr)
}

// heldHandler answers every request with a body of size bytes given to
// WriteHeld in 1 MiB chunks, and reports each return on returned, with the
// response's release counter.
func heldHandler(size int, returned chan<- *releaseCount) HandlerFunc {
	body := []byte(strings.Repeat("0123456789abcdef", size/16))
	return func(w *ResponseWriter, r *Request) {
		w.WriteHeader([]byte("200 OK"), nil)
		var chunks [][]byte
		for p := body; len(p) > 0; p = p[min(len(p), 1<<20):] {
			chunks = append(chunks, p[:min(len(p), 1<<20)])
		}
		rel := newReleaseCount()
		if !w.WriteHeld(chunks, rel) {
			panic("a large body was not held")
		}
		clear(chunks) // the slice of slices is the caller's again
		rel.returned = time.Now()
		returned <- rel
	}
}

// TestWriteHeldSlowReader checks that a handler giving a 10 MB body to
// WriteHeld returns before its client read a byte, that the client gets
// every byte, and that Release is called once, after the last byte.
func TestWriteHeldSlowReader(t *testing.T) {
	const size = 10 << 20
	returned := make(chan *releaseCount, 1)
	_, addr := startServer(t, heldHandler(size, returned), nil)
	nc := dialSmallWindow(t, addr)
	io.WriteString(nc, "GET / HTTP/1.1\r\nHost: h\r\n\r\n")
	var rel *releaseCount
	select {
	case rel = <-returned:
	case <-time.After(ioTimeout):
		t.Fatal("the handler did not return while its client read nothing")
	}
	// 10 MB do not fit the socket buffers: the connection is still writing.
	if n := rel.n.Load(); n != 0 {
		t.Fatalf("Release called %d times before the client read", n)
	}
	resp, err := http.ReadResponse(bufio.NewReader(nc), nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.ContentLength != size {
		t.Errorf("Content-Length %d, want %d", resp.ContentLength, size)
	}
	got := sha256.New()
	buf := make([]byte, 8<<10) // a reader slower than the server
	if _, err := io.CopyBuffer(got, resp.Body, buf); err != nil {
		t.Fatal(err)
	}
	want := sha256.Sum256([]byte(strings.Repeat("0123456789abcdef", size/16)))
	if string(got.Sum(nil)) != string(want[:]) {
		t.Error("body digest differs")
	}
	rel.wait(t)
	// The connection carries the next request: the held body is done.
	io.WriteString(nc, "GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n")
	<-returned
	if n := rel.n.Load(); n != 1 {
		t.Errorf("Release called %d times", n)
	}
}

// TestWriteHeldStalledClient checks that a client that never reads a held
// body has its connection closed after SendTimeout and the body released.
func TestWriteHeldStalledClient(t *testing.T) {
	const sendTimeout = 300 * time.Millisecond
	returned := make(chan *releaseCount, 1)
	_, addr := startServer(t, heldHandler(20<<20, returned), func(s *Server) { s.SendTimeout = sendTimeout })
	nc := dialSmallWindow(t, addr)
	io.WriteString(nc, "GET / HTTP/1.1\r\nHost: h\r\n\r\n")
	rel := <-returned
	rel.wait(t)
	if d := rel.released.Sub(rel.returned); d < sendTimeout-sendTimeout/16 {
		t.Errorf("released %v after the handler returned, before SendTimeout %v", d, sendTimeout)
	}
	// What the socket buffers took comes first, then the end: no more.
	if _, err := io.Copy(io.Discard, nc); err != nil && !errors.Is(err, syscall.ECONNRESET) {
		t.Errorf("connection not closed: %v", err)
	}
	if n := rel.n.Load(); n != 1 {
		t.Errorf("Release called %d times", n)
	}
}

// TestWriteHeldReleased checks that Release is called exactly once on the
// paths that do not send the held body: a client that is gone, a response
// aborted after WriteHeld (the client gets a 500), a server closed.
func TestWriteHeldReleased(t *testing.T) {
	const size = 4 << 20
	tests := []struct {
		name  string
		after func(w *ResponseWriter)
		run   func(t *testing.T, s *Server, addr string, returned <-chan *releaseCount) *releaseCount
	}{
		{name: "client gone", run: func(t *testing.T, s *Server, addr string, returned <-chan *releaseCount) *releaseCount {
			if err := dialAndClose(addr, "GET / HTTP/1.1\r\nHost: h\r\n\r\n"); err != nil {
				t.Fatal(err)
			}
			return <-returned
		}},
		{name: "aborted", after: (*ResponseWriter).Abort,
			run: func(t *testing.T, s *Server, addr string, returned <-chan *releaseCount) *releaseCount {
				resp := readResponses(t, exchange(t, addr, "GET / HTTP/1.1\r\nHost: h\r\n\r\n"), "GET")[0]
				if resp.StatusCode != 500 || bodyOf(resp) != internalError {
					t.Errorf("aborted response: %d", resp.StatusCode)
				}
				return <-returned
			}},
		{name: "server closed", run: func(t *testing.T, s *Server, addr string, returned <-chan *releaseCount) *releaseCount {
			nc := dialSmallWindow(t, addr)
			io.WriteString(nc, "GET / HTTP/1.1\r\nHost: h\r\n\r\n")
			rel := <-returned
			s.Close()
			return rel
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			returned := make(chan *releaseCount, 1)
			held := heldHandler(size, returned)
			s, addr := startServer(t, HandlerFunc(func(w *ResponseWriter, r *Request) {
				held(w, r)
				if tt.after != nil {
					tt.after(w)
				}
			}), nil)
			rel := tt.run(t, s, addr, returned)
			rel.wait(t)
			waitUntil(t, "the connection to end", func() bool { return connsIn(s, stateActive) == 0 })
			if n := rel.n.Load(); n != 1 {
				t.Errorf("Release called %d times", n)
			}
		})
	}
}
