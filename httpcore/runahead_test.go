package httpcore

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"strconv"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/gowsgi/gowsgi/internal/syncbuf"
)

// chunkOf returns chunk i of a streamed body: size bytes that differ from
// one chunk to the next, so that a lost or misplaced chunk shows.
func chunkOf(i, size int) []byte {
	b := make([]byte, size)
	for j := range b {
		b[j] = byte('a' + (i+j)%26)
	}
	return b
}

// streamChunks writes count chunks of size bytes, each with Write then
// Flush, as the WSGI layer streams an iterable; it returns the first
// error.
func streamChunks(w *ResponseWriter, count, size int) error {
	for i := range count {
		if _, err := w.Write(chunkOf(i, size)); err != nil {
			return err
		}
		if err := w.Flush(); err != nil {
			return err
		}
	}
	return nil
}

// chunkedBody is what streamChunks sends after the head: one chunk per
// Flush, then the last chunk.
func chunkedBody(count, size int) []byte {
	var b []byte
	for i := range count {
		b = strconv.AppendInt(b, int64(size), 16)
		b = append(b, "\r\n"...)
		b = append(b, chunkOf(i, size)...)
		b = append(b, "\r\n"...)
	}
	return append(b, "0\r\n\r\n"...)
}

// startStreamServer is startServer with a 4 KiB socket send buffer (set
// on the listener, accepted connections inherit it): the socket then takes
// only a few KiB of a response its client does not read, not the
// megabytes loopback's autotuned buffers would, and the rest is the
// run-ahead buffer's.
func startStreamServer(t testing.TB, h Handler, configure func(*Server)) (*Server, string) {
	t.Helper()
	lc := net.ListenConfig{Control: func(_, _ string, rc syscall.RawConn) error {
		var serr error
		err := rc.Control(func(fd uintptr) {
			serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_SNDBUF, 4096)
		})
		return errors.Join(err, serr)
	}}
	l, err := lc.Listen(context.Background(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return serveListener(t, l, h, configure)
}

// unsent returns the bytes waiting in the run-ahead buffer of w's
// connection.
func unsent(w *ResponseWriter) int {
	a := w.c.ahead.Load()
	if a == nil {
		return 0
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.pending
}

// checkStreamed checks that raw is a 200 response whose chunked body is
// streamChunks' count chunks of size bytes, framing and all.
func checkStreamed(t *testing.T, raw []byte, count, size int) {
	t.Helper()
	head, body, ok := bytes.Cut(raw, []byte("\r\n\r\n"))
	if !ok || !bytes.HasPrefix(head, []byte("HTTP/1.1 200 OK\r\n")) || !bytes.Contains(head, []byte("\r\nTransfer-Encoding: chunked")) {
		t.Fatalf("not a chunked 200 response: %.200q", raw)
	}
	resp, err := http.ReadResponse(bufio.NewReader(bytes.NewReader(raw)), nil)
	if err != nil {
		t.Fatal(err)
	}
	decoded, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("decoding the chunked body: %v", err)
	}
	var want []byte
	for i := range count {
		want = append(want, chunkOf(i, size)...)
	}
	if sha256.Sum256(decoded) != sha256.Sum256(want) {
		t.Errorf("body of %d bytes, want %d; digests differ", len(decoded), len(want))
	}
	if !bytes.Equal(body, chunkedBody(count, size)) {
		t.Errorf("chunk framing differs from one chunk per Flush (%d bytes, want %d)", len(body), count*(size+9)+5)
	}
}

// TestStreamRunsAhead checks that a handler streaming 64 KiB in 1 KiB
// chunks to a client that reads nothing (a 4 KiB receive window) returns
// at once, its bytes left to the connection, and that the client then gets
// them all, framed. Over TLS the bytes go through the connection's writer.
func TestStreamRunsAhead(t *testing.T) {
	const count, size = 64, 1 << 10
	pki := newTestPKI(t)
	for _, overTLS := range []bool{false, true} {
		t.Run(map[bool]string{false: "tcp", true: "tls"}[overTLS], func(t *testing.T) {
			type result struct {
				err    error
				unsent int
			}
			done := make(chan result, 1)
			handler := HandlerFunc(func(w *ResponseWriter, r *Request) {
				w.WriteHeader([]byte("200 OK"), nil)
				err := streamChunks(w, count, size)
				done <- result{err, unsent(w)}
			})
			_, addr := startStreamServer(t, handler, func(s *Server) {
				if overTLS {
					s.TLSConfig = pki.serverConfig(t, false)
				}
			})
			nc := dialSmallWindow(t, addr)
			if overTLS {
				tc := tls.Client(nc, pki.clientConfig(false))
				if err := tc.Handshake(); err != nil {
					t.Fatal(err)
				}
				nc = tc
			}
			start := time.Now()
			io.WriteString(nc, "GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n")
			var res result
			select {
			case res = <-done:
			case <-time.After(ioTimeout):
				t.Fatal("the handler did not return while its client read nothing")
			}
			took := time.Since(start)
			if res.err != nil {
				t.Fatalf("streaming: %v", res.err)
			}
			if res.unsent == 0 {
				t.Fatal("the socket took the whole response: the run-ahead buffer was not used")
			}
			t.Logf("the handler returned %v after the request was sent, %d bytes unsent", took, res.unsent)
			raw, err := io.ReadAll(nc)
			if err != nil {
				t.Fatalf("reading the response: %v", err)
			}
			checkStreamed(t, raw, count, size)
		})
	}
}

// TestStreamStalledClient checks that a handler streaming 50 MiB to a
// client that never reads gets a timeout error from Write or Flush within
// a few seconds of SendTimeout 1s, that the connection is closed without
// a log line, and that another connection is served meanwhile.
func TestStreamStalledClient(t *testing.T) {
	const sendTimeout = time.Second
	errc := make(chan error, 1)
	handler := HandlerFunc(func(w *ResponseWriter, r *Request) {
		w.WriteHeader([]byte("200 OK"), nil)
		if string(r.Path) != "/big" {
			w.Write([]byte("small"))
			return
		}
		chunk := make([]byte, 64<<10)
		var err error
		for i := 0; i < 800 && err == nil; i++ {
			if _, err = w.Write(chunk); err == nil {
				err = w.Flush()
			}
		}
		errc <- err
	})
	logged := &syncbuf.Buffer{}
	s, addr := startServer(t, handler, func(s *Server) {
		s.SendTimeout = sendTimeout
		s.ErrorLog = log.New(logged, "", 0)
	})
	nc := dialSmallWindow(t, addr)
	start := time.Now()
	io.WriteString(nc, "GET /big HTTP/1.1\r\nHost: h\r\n\r\n")
	waitUntil(t, "the stalled response to fill its run-ahead buffer, or fail", func() bool {
		s.mu.Lock()
		defer s.mu.Unlock()
		for c := range s.conns {
			a := c.ahead.Load()
			if a == nil {
				continue
			}
			a.mu.Lock()
			full := a.pending >= defaultStreamBuffer || a.err != nil
			a.mu.Unlock()
			if full {
				return true
			}
		}
		return false
	})
	if got := exchange(t, addr, "GET /small HTTP/1.1\r\nHost: h\r\n\r\n"); !bytes.HasSuffix([]byte(got), []byte("\r\n\r\nsmall")) {
		t.Errorf("another connection got %q", got)
	}
	served := time.Since(start)
	var err error
	select {
	case err = <-errc:
	case <-time.After(ioTimeout):
		t.Fatal("the handler's writes to a stalled client never failed")
	}
	failed := time.Since(start)
	if !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Errorf("writing to a stalled client: %v, want a timeout", err)
	}
	t.Logf("another connection served after %v; the stalled handler's write failed after %v", served, failed)
	if failed > 15*sendTimeout {
		t.Errorf("the stalled handler was held %v with SendTimeout %v", failed, sendTimeout)
	}
	waitUntil(t, "the stalled connection to close", func() bool { return connsIn(s, stateActive) == 0 })
	if logged.String() != "" {
		t.Errorf("logged: %s", logged)
	}
}

// TestStreamTransmitsWhileHandlerWaits checks PEP 3333's rule: a block
// the application yielded is transmitted while it produces the next. The
// handler flushes 1 MiB, more than a slow client with a 4 KiB window
// takes at once, then waits; the client must get all of it meanwhile.
func TestStreamTransmitsWhileHandlerWaits(t *testing.T) {
	const size = 1 << 20
	blockA := chunkOf(7, size)
	release := make(chan struct{})
	returned := make(chan error, 1)
	var left atomic.Int64 // unsent when the handler began to wait
	handler := HandlerFunc(func(w *ResponseWriter, r *Request) {
		w.WriteHeader([]byte("200 OK"), nil)
		_, err := w.Write(blockA)
		if err == nil {
			err = w.Flush()
		}
		left.Store(int64(unsent(w)))
		<-release // producing the next block
		returned <- err
	})
	_, addr := startStreamServer(t, handler, nil)
	nc := dialSmallWindow(t, addr)
	io.WriteString(nc, "GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n")
	resp, err := http.ReadResponse(bufio.NewReader(nc), nil)
	if err != nil {
		close(release)
		t.Fatal(err)
	}
	got := make([]byte, 0, size)
	buf := make([]byte, 16<<10)
	for len(got) < size {
		n, err := resp.Body.Read(buf[:min(len(buf), size-len(got))])
		got = append(got, buf[:n]...)
		if err != nil {
			close(release)
			t.Fatalf("after %d bytes of the first block, with the handler waiting: %v", len(got), err)
		}
		time.Sleep(time.Millisecond) // a slow reader
	}
	close(release)
	if left.Load() == 0 {
		t.Error("the socket took the whole block: the run-ahead writer was not tested")
	}
	if !bytes.Equal(got, blockA) {
		t.Error("the first block arrived changed")
	}
	if err := <-returned; err != nil {
		t.Errorf("writing the first block: %v", err)
	}
	if rest, err := io.ReadAll(resp.Body); err != nil || len(rest) != 0 {
		t.Errorf("after the first block: %d bytes, %v; want the end of the body", len(rest), err)
	}
}

// TestCongestedWaitRoom checks the API of suspended streams: a handler
// flushing to a stalled client sees Congested once StreamBuffer bytes are
// unsent, without a Write having waited; WaitRoom, called from another
// goroutine, returns nil once the client reads, or the timeout once it
// took nothing for SendTimeout.
func TestCongestedWaitRoom(t *testing.T) {
	const bound, size = 64 << 10, 8 << 10
	tail := []byte("tail")
	for _, reads := range []bool{true, false} {
		t.Run(map[bool]string{true: "client reads", false: "client stalls"}[reads], func(t *testing.T) {
			sendTimeout := time.Second
			if reads {
				sendTimeout = ioTimeout
			}
			congested := make(chan int, 1) // chunks written, or -1
			type waited struct {
				err       error
				took      time.Duration
				congested bool // after WaitRoom
				writeErr  error
			}
			waitedc := make(chan waited, 1)
			handler := HandlerFunc(func(w *ResponseWriter, r *Request) {
				w.WriteHeader([]byte("200 OK"), nil)
				n := 0
				for ; !w.Congested(); n++ {
					if n == 1<<15 || streamChunks(w, 1, size) != nil {
						congested <- -1
						return
					}
				}
				congested <- n
				start := time.Now()
				errc := make(chan error)
				go func() { errc <- w.WaitRoom() }()
				err := <-errc
				_, werr := w.Write(tail)
				waitedc <- waited{err, time.Since(start), w.Congested(), werr}
			})
			s, addr := startStreamServer(t, handler, func(s *Server) {
				s.StreamBuffer, s.SendTimeout = bound, sendTimeout
			})
			nc := dialSmallWindow(t, addr)
			io.WriteString(nc, "GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n")
			n := <-congested
			if n < 0 {
				t.Fatal("the response never became congested, or a Write failed")
			}
			t.Logf("congested after %d chunks of %d bytes", n, size)
			if !reads {
				w := <-waitedc
				if !errors.Is(w.err, os.ErrDeadlineExceeded) {
					t.Errorf("WaitRoom with a stalled client: %v, want a timeout", w.err)
				}
				if w.took > 15*sendTimeout {
					t.Errorf("WaitRoom held %v with SendTimeout %v", w.took, sendTimeout)
				}
				if w.congested || w.writeErr == nil {
					t.Errorf("after the timeout: Congested %v, Write error %v; want false and an error", w.congested, w.writeErr)
				}
				t.Logf("WaitRoom failed after %v", w.took)
				waitUntil(t, "the connection to close", func() bool { return connsIn(s, stateActive) == 0 })
				return
			}
			resp, err := http.ReadResponse(bufio.NewReader(nc), nil)
			if err != nil {
				t.Fatal(err)
			}
			got, err := io.ReadAll(resp.Body)
			if err != nil {
				t.Fatal(err)
			}
			w := <-waitedc
			if w.err != nil || w.congested || w.writeErr != nil {
				t.Errorf("WaitRoom with a reading client: %v, then Congested %v and Write %v; want nil, false, nil", w.err, w.congested, w.writeErr)
			}
			var want []byte
			for range n {
				want = append(want, chunkOf(0, size)...)
			}
			want = append(want, tail...)
			if sha256.Sum256(got) != sha256.Sum256(want) {
				t.Errorf("body of %d bytes, want %d; digests differ", len(got), len(want))
			}
		})
	}
}

// TestStreamKeepAlive checks that the next request on a connection, sent
// after a response that went through the run-ahead buffer or pipelined
// behind it, is answered behind its last byte, and that the idle
// connection then holds no run-ahead memory.
func TestStreamKeepAlive(t *testing.T) {
	const count, size = 256, 1 << 10
	for _, pipelined := range []bool{false, true} {
		t.Run(map[bool]string{false: "sequential", true: "pipelined"}[pipelined], func(t *testing.T) {
			streamed := make(chan int, 1)
			handler := HandlerFunc(func(w *ResponseWriter, r *Request) {
				w.WriteHeader([]byte("200 OK"), nil)
				if string(r.Path) != "/stream" {
					w.Write(r.Path)
					return
				}
				if err := streamChunks(w, count, size); err != nil {
					streamed <- -1
					return
				}
				streamed <- unsent(w)
			})
			s, addr := startStreamServer(t, handler, nil)
			nc := dialSmallWindow(t, addr)
			req := "GET /stream HTTP/1.1\r\nHost: h\r\n\r\n"
			if pipelined {
				req += "GET /after HTTP/1.1\r\nHost: h\r\n\r\n"
			}
			io.WriteString(nc, req)
			if u := <-streamed; u <= 0 {
				t.Fatalf("after streaming, %d bytes unsent: the run-ahead buffer was not used, or a Write failed", u)
			}
			br := bufio.NewReader(nc)
			resp, err := http.ReadResponse(br, nil)
			if err != nil {
				t.Fatal(err)
			}
			body, err := io.ReadAll(resp.Body)
			if err != nil || resp.Close {
				t.Fatalf("streamed response: %v, close %v", err, resp.Close)
			}
			var want []byte
			for i := range count {
				want = append(want, chunkOf(i, size)...)
			}
			if !bytes.Equal(body, want) {
				t.Errorf("streamed body of %d bytes differs from the %d written", len(body), len(want))
			}
			if !pipelined {
				io.WriteString(nc, "GET /after HTTP/1.1\r\nHost: h\r\n\r\n")
			}
			resp, err = http.ReadResponse(br, nil)
			if err != nil {
				t.Fatal(err)
			}
			if got := bodyOf(resp); got != "/after" {
				t.Errorf("the next response: %q, want /after", got)
			}
			s.mu.Lock()
			for c := range s.conns {
				a := c.ahead.Load()
				if a == nil {
					continue
				}
				a.mu.Lock()
				if len(a.blocks) != 0 || a.pending != 0 || a.running {
					t.Errorf("an idle connection holds %d run-ahead blocks, %d bytes (writer running: %v)",
						len(a.blocks), a.pending, a.running)
				}
				a.mu.Unlock()
			}
			s.mu.Unlock()
		})
	}
}

// TestStreamAbortAfterRunAhead checks that a response aborted while its
// flushed bytes wait in the run-ahead buffer still delivers those bytes,
// then closes the connection without the last chunk.
func TestStreamAbortAfterRunAhead(t *testing.T) {
	const count, size = 256, 1 << 10
	aborted := make(chan int, 1)
	handler := HandlerFunc(func(w *ResponseWriter, r *Request) {
		w.WriteHeader([]byte("200 OK"), nil)
		if err := streamChunks(w, count, size); err != nil {
			aborted <- -1
			return
		}
		u := unsent(w)
		w.Abort()
		aborted <- u
	})
	_, addr := startStreamServer(t, handler, nil)
	nc := dialSmallWindow(t, addr)
	io.WriteString(nc, "GET / HTTP/1.1\r\nHost: h\r\n\r\n")
	if u := <-aborted; u <= 0 {
		t.Fatalf("%d bytes unsent at Abort: the run-ahead buffer was not used, or a Write failed", u)
	}
	raw, err := io.ReadAll(nc)
	if err != nil {
		t.Fatalf("reading until the close: %v", err)
	}
	_, body, _ := bytes.Cut(raw, []byte("\r\n\r\n"))
	want := chunkedBody(count, size)
	want = want[:len(want)-len("0\r\n\r\n")]
	if !bytes.Equal(body, want) {
		t.Errorf("got %d body bytes ending %q; want the %d flushed, without the last chunk", len(body), tailOf(body), len(want))
	}
}

// tailOf returns the last bytes of b, for messages.
func tailOf(b []byte) string { return fmt.Sprintf("%.20q", b[max(0, len(b)-20):]) }

// TestStreamBufferNone checks that a negative StreamBuffer keeps a Flush
// waiting for the client: no run-ahead buffer is used.
func TestStreamBufferNone(t *testing.T) {
	const count, size = 64, 1 << 10
	used := make(chan bool, 1)
	handler := HandlerFunc(func(w *ResponseWriter, r *Request) {
		w.WriteHeader([]byte("200 OK"), nil)
		ahead := false
		for i := range count {
			w.Write(chunkOf(i, size))
			w.Flush()
			ahead = ahead || unsent(w) > 0 || w.Congested()
		}
		used <- ahead
	})
	_, addr := startServer(t, handler, func(s *Server) { s.StreamBuffer = -1 })
	raw := exchange(t, addr, "GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n")
	checkStreamed(t, []byte(raw), count, size)
	if <-used {
		t.Error("the run-ahead buffer was used with StreamBuffer -1")
	}
}

// BenchmarkStream measures streamed responses (a Write and a Flush per
// chunk) to a keep-alive client reading as fast as it can, with the
// run-ahead buffer and without: small chunks, which the socket takes at
// once, and large ones, part of which the connection's writer sends. The
// client runs in the same process: cpu-ns/op (user and system time of the
// process) counts both ends.
func BenchmarkStream(b *testing.B) {
	for _, tc := range []struct {
		name        string
		count, size int
	}{{"64x1KiB", 64, 1 << 10}, {"256x64KiB", 256, 64 << 10}} {
		for _, sb := range []int64{-1, 0} {
			b.Run(fmt.Sprintf("%s/StreamBuffer=%d", tc.name, sb), func(b *testing.B) {
				chunk := chunkOf(0, tc.size)
				handler := HandlerFunc(func(w *ResponseWriter, r *Request) {
					w.WriteHeader([]byte("200 OK"), nil)
					for range tc.count {
						w.Write(chunk)
						w.Flush()
					}
				})
				_, addr := startServer(b, handler, func(s *Server) { s.StreamBuffer = sb })
				nc, err := net.Dial("tcp", addr)
				if err != nil {
					b.Fatal(err)
				}
				defer nc.Close()
				br := bufio.NewReaderSize(nc, 64<<10)
				req := []byte("GET / HTTP/1.1\r\nHost: h\r\n\r\n")
				b.SetBytes(int64(tc.count * tc.size))
				b.ReportAllocs()
				before := cpuTime()
				for b.Loop() {
					nc.Write(req)
					resp, err := http.ReadResponse(br, nil)
					if err != nil {
						b.Fatal(err)
					}
					if n, err := io.Copy(io.Discard, resp.Body); err != nil || n != int64(tc.count*tc.size) {
						b.Fatalf("body: %d bytes, %v", n, err)
					}
				}
				b.ReportMetric(float64(cpuTime()-before)/float64(b.N), "cpu-ns/op")
			})
		}
	}
}

// cpuTime returns the user and system time the process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
