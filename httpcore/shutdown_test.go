package httpcore

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"testing"
	"time"
)

// waitUntil polls cond until it holds, failing the test after 10 s.
func waitUntil(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond) // polling cond, bounded by the deadline
	}
}

// connsIn returns how many of s's connections are in state.
func connsIn(s *Server, state int32) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for c := range s.conns {
		if c.state.Load() == state {
			n++
		}
	}
	return n
}

// startShutdown runs s.Shutdown in the background once the test is ready,
// and returns its result channel after Shutdown has begun.
func startShutdown(t testing.TB, s *Server) <-chan error {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- s.Shutdown(context.Background()) }()
	waitUntil(t, "Shutdown to begin", s.shutting.Load)
	return done
}

// keptAlive dials addr, has one request answered with keep-alive on the
// connection and returns it with its reader.
func keptAlive(t testing.TB, addr string) (net.Conn, *bufio.Reader) {
	t.Helper()
	nc := dialTest(t, &net.Dialer{}, "tcp", addr)
	br := bufio.NewReader(nc)
	if resp := roundTrip(t, nc, br, "/first"); connection(resp) == "close" {
		t.Fatalf("first response closes the connection")
	}
	return nc, br
}

// roundTrip sends a GET for path on nc and reads the response from br.
func roundTrip(t testing.TB, nc net.Conn, br *bufio.Reader, path string) *http.Response {
	t.Helper()
	if _, err := io.WriteString(nc, "GET "+path+" HTTP/1.1\r\nHost: h\r\n\r\n"); err != nil {
		t.Fatalf("sending %s: %v", path, err)
	}
	return readResponse(t, br, path)
}

// readResponse reads the response to a GET for path, body included.
func readResponse(t testing.TB, br *bufio.Reader, path string) *http.Response {
	t.Helper()
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("response to %s: %v", path, err)
	}
	if b := bodyOf(resp); resp.StatusCode != 200 || b != path {
		t.Fatalf("response to %s: %d %q", path, resp.StatusCode, b)
	}
	return resp
}

// expectEOF checks that the server closes the connection without sending
// more.
func expectEOF(t testing.TB, br *bufio.Reader) {
	t.Helper()
	if b, err := br.ReadByte(); err != io.EOF {
		t.Errorf("read %q, %v; want EOF", b, err)
	}
}

func TestShutdownInFlight(t *testing.T) {
	entered, release := make(chan struct{}), make(chan struct{})
	h := HandlerFunc(func(w *ResponseWriter, r *Request) {
		if string(r.Path) == "/slow" {
			close(entered)
			<-release
		}
		pathHandler(w, r)
	})
	s, addr := startServer(t, h, nil)
	// idle has served a request and waits for the next one.
	idle, idleR := keptAlive(t, addr)
	busy, busyR := keptAlive(t, addr)
	io.WriteString(busy, "GET /slow HTTP/1.1\r\nHost: h\r\n\r\n")
	<-entered

	shutdown := startShutdown(t, s)
	if _, err := net.Dial("tcp", addr); err == nil {
		t.Errorf("still accepting after Shutdown")
	}
	// The idle connection is not closed under its client: a request sent
	// on it now is answered, with close.
	if resp := roundTrip(t, idle, idleR, "/next"); connection(resp) != "close" {
		t.Errorf("response after Shutdown began without Connection: close")
	}
	expectEOF(t, idleR)
	select {
	case err := <-shutdown:
		t.Fatalf("Shutdown returned %v with a request in flight", err)
	default:
	}
	close(release)
	if resp := readResponse(t, busyR, "/slow"); connection(resp) != "close" {
		t.Errorf("in-flight response without Connection: close")
	}
	expectEOF(t, busyR)
	if err := <-shutdown; err != nil {
		t.Errorf("Shutdown: %v", err)
	}
}

// TestShutdownRequestInTransit sends a kept-alive connection's next request
// right before Shutdown: the request may be read before or after shutting
// begins, and either way it is answered. If its response said keep-alive,
// the connection then closes after its keep-alive time.
func TestShutdownRequestInTransit(t *testing.T) {
	for i := range 20 {
		s, addr := startServer(t, pathHandler, func(s *Server) { s.KeepAlive = 200 * time.Millisecond })
		nc, br := keptAlive(t, addr)
		io.WriteString(nc, "GET /next HTTP/1.1\r\nHost: h\r\n\r\n")
		shutdown := make(chan error, 1)
		go func() { shutdown <- s.Shutdown(context.Background()) }()
		readResponse(t, br, "/next")
		expectEOF(t, br)
		if err := <-shutdown; err != nil {
			t.Errorf("round %d: Shutdown: %v", i, err)
		}
	}
}

// TestShutdownAfterKeepAliveHead checks that a response whose head went out
// saying keep-alive before Shutdown began is followed by a wait for the
// next request, which is answered with close.
func TestShutdownAfterKeepAliveHead(t *testing.T) {
	headSent, release := make(chan struct{}), make(chan struct{})
	h := HandlerFunc(func(w *ResponseWriter, r *Request) {
		if string(r.Path) != "/stream" {
			pathHandler(w, r)
			return
		}
		w.WriteHeader([]byte("200 OK"), nil)
		w.Write([]byte("/str"))
		w.Flush()
		close(headSent)
		<-release
		w.Write([]byte("eam"))
	})
	s, addr := startServer(t, h, nil)
	nc, br := keptAlive(t, addr)
	io.WriteString(nc, "GET /stream HTTP/1.1\r\nHost: h\r\n\r\n")
	<-headSent
	shutdown := startShutdown(t, s)
	close(release)
	if resp := readResponse(t, br, "/stream"); connection(resp) == "close" {
		t.Fatalf("streamed response closes: its head went out before Shutdown")
	}
	if resp := roundTrip(t, nc, br, "/after"); connection(resp) != "close" {
		t.Errorf("response after Shutdown began without Connection: close")
	}
	expectEOF(t, br)
	if err := <-shutdown; err != nil {
		t.Errorf("Shutdown: %v", err)
	}
}

// TestShutdownIdleKeepAlive checks that Shutdown closes an idle kept-alive
// connection after its keep-alive time, not before, and returns then.
func TestShutdownIdleKeepAlive(t *testing.T) {
	const keepAlive = time.Second
	s, addr := startServer(t, pathHandler, func(s *Server) { s.KeepAlive = keepAlive })
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	nc.SetDeadline(time.Now().Add(ioTimeout))
	br := bufio.NewReader(nc)
	// The server starts the keep-alive wait after this request was sent.
	sent := time.Now()
	roundTrip(t, nc, br, "/first")
	shutdown := startShutdown(t, s)
	expectEOF(t, br)
	if idle := time.Since(sent); idle < keepAlive {
		t.Errorf("closed %v after the request was sent, before the keep-alive time %v", idle, keepAlive)
	}
	if err := <-shutdown; err != nil {
		t.Errorf("Shutdown: %v", err)
	}
}

// TestShutdownServesNewConnection checks that a connection accepted before
// Shutdown, whose request arrives just after, is answered rather than
// closed: its client would see a failure no retry covers.
func TestShutdownServesNewConnection(t *testing.T) {
	s, addr := startServer(t, pathHandler, nil)
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	nc.SetDeadline(time.Now().Add(ioTimeout))
	waitUntil(t, "the connection to wait for its first request", func() bool { return connsIn(s, stateNew) == 1 })
	shutdown := startShutdown(t, s)
	waitUntil(t, "Shutdown to shorten the wait", func() bool { return connsIn(s, stateNewShutting) == 1 })
	br := bufio.NewReader(nc)
	if resp := roundTrip(t, nc, br, "/new"); connection(resp) != "close" {
		t.Errorf("response without Connection: close")
	}
	if err := <-shutdown; err != nil {
		t.Errorf("Shutdown: %v", err)
	}
	// One that never sends anything holds Shutdown only newConnGrace.
	s2, addr2 := startServer(t, pathHandler, nil)
	silent, err := net.Dial("tcp", addr2)
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	waitUntil(t, "the connection to wait for its first request", func() bool { return connsIn(s2, stateNew) == 1 })
	start := time.Now()
	if err := s2.Shutdown(context.Background()); err != nil || time.Since(start) > newConnGrace+5*time.Second {
		t.Errorf("Shutdown with a silent new connection: %v after %v", err, time.Since(start))
	}
}

func TestShutdownDeadline(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	entered := make(chan struct{})
	h := HandlerFunc(func(w *ResponseWriter, r *Request) {
		close(entered)
		<-release
		w.WriteHeader([]byte("200 OK"), nil)
	})
	s, addr := startServer(t, h, nil)
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	io.WriteString(nc, "GET / HTTP/1.1\r\nHost: h\r\n\r\n")
	<-entered
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := s.Shutdown(ctx); err != context.DeadlineExceeded {
		t.Errorf("Shutdown = %v, want DeadlineExceeded", err)
	}
}

// heldListener hands each connection it accepts to Serve only once the
// test sends on release.
type heldListener struct {
	net.Listener
	accepted, release chan struct{}
}

func (l *heldListener) Accept() (net.Conn, error) {
	nc, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	l.accepted <- struct{}{}
	<-l.release
	return nc, nil
}

// TestShutdownServesAcceptedConnection checks that a connection Accept
// returned as Shutdown began is served, not dropped with its request.
func TestShutdownServesAcceptedConnection(t *testing.T) {
	inner, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l := &heldListener{Listener: inner, accepted: make(chan struct{}), release: make(chan struct{})}
	s := &Server{Handler: pathHandler}
	served := make(chan error, 1)
	go func() { served <- s.Serve(l) }()
	nc, err := net.Dial("tcp", inner.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	nc.SetDeadline(time.Now().Add(ioTimeout))
	io.WriteString(nc, "GET /accepted HTTP/1.1\r\nHost: h\r\n\r\n")
	<-l.accepted
	shutdown := startShutdown(t, s)
	close(l.release)
	br := bufio.NewReader(nc)
	if resp := readResponse(t, br, "/accepted"); connection(resp) != "close" {
		t.Errorf("response without Connection: close")
	}
	expectEOF(t, br)
	if err := <-shutdown; err != nil {
		t.Errorf("Shutdown: %v", err)
	}
	if err := <-served; err != nil {
		t.Errorf("Serve: %v", err)
	}
}
