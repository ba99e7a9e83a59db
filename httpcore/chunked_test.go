package httpcore

import (
	"errors"
	"io"
	"log"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gowsgi/gowsgi/internal/syncbuf"
)

// echoHandler answers 200 with the request body, or 500 with the read
// error once its head can still be chosen.
var echoHandler = HandlerFunc(func(w *ResponseWriter, r *Request) {
	b, err := io.ReadAll(r.Body)
	echo(w, b, err)
})

// echo answers 200 with body b, or 500 with read error err, as an app that
// lets a read error propagate.
func echo(w *ResponseWriter, b []byte, err error) {
	if err != nil {
		w.WriteHeader([]byte("500 Internal Server Error"), nil)
		w.Write([]byte("read error: " + err.Error()))
		return
	}
	w.WriteHeader([]byte("200 OK"), nil)
	w.Write(b)
}

// bodyErrorHandler is echoHandler that also records the POST body's read
// error in *last.
func bodyErrorHandler(last *atomic.Pointer[error]) HandlerFunc {
	return func(w *ResponseWriter, r *Request) {
		b, err := io.ReadAll(r.Body)
		if string(r.Method) == "POST" {
			last.Store(&err)
		}
		echo(w, b, err)
	}
}

// TestChunkedBody checks the chunked grammar. A malformed body within
// BodyBuffer is answered 400 without calling the handler. A streamed one
// reaches the handler only as a read error, and the handler's 500 for it is
// replaced by the server's 400.
func TestChunkedBody(t *testing.T) {
	for _, mode := range []struct {
		name       string
		bodyBuffer int64
	}{{"buffered", 0}, {"streamed", -1}} {
		t.Run(mode.name, func(t *testing.T) { testChunkedBody(t, mode.bodyBuffer) })
	}
}

// testChunkedBody is TestChunkedBody with a server's BodyBuffer.
func testChunkedBody(t *testing.T, bodyBuffer int64) {
	var last atomic.Pointer[error]
	logged := &syncbuf.Buffer{}
	_, addr := startServer(t, bodyErrorHandler(&last), func(s *Server) {
		s.ErrorLog = log.New(logged, "", 0)
		s.BodyBuffer = bodyBuffer
	})
	tests := []struct {
		name, body string
		want       string // echoed body; empty: 400 and close
	}{
		{"one chunk", "5\r\nhello\r\n0\r\n\r\n", "hello"},
		{"several chunks", "5\r\nhello\r\n1\r\n \r\n5\r\nworld\r\n0\r\n\r\n", "hello world"},
		{"upper and lower hex", "A\r\n0123456789\r\na\r\n0123456789\r\n0\r\n\r\n", strings.Repeat("0123456789", 2)},
		{"leading zeros", "0005\r\nhello\r\n000\r\n\r\n", "hello"},
		{"extensions ignored", "5;name=value\r\nhello\r\n6 ; a=\"b\"\t;c\r\n world\r\n0;last\r\n\r\n", "hello world"},
		{"trailers discarded", "5\r\nhello\r\n0\r\nX-Checksum: abc\r\nX-Other: d\r\n\r\n", "hello"},
		{"large chunk", "10000\r\n" + strings.Repeat("z", 0x10000) + "\r\n0\r\n\r\n", strings.Repeat("z", 0x10000)},
		{"not hex", "zz\r\nhello\r\n0\r\n\r\n", ""},
		{"empty size line", "\r\nhello\r\n0\r\n\r\n", ""},
		{"negative size", "-5\r\nhello\r\n0\r\n\r\n", ""},
		{"size overflow", "10000000000000000\r\n", ""},
		{"whitespace without extension", "5 \r\nhello\r\n0\r\n\r\n", ""},
		{"junk after size", "5x\r\nhello\r\n0\r\n\r\n", ""},
		{"bare CR in extension", "5;a\rb\r\nhello\r\n0\r\n\r\n", ""},
		{"bare LF after size", "5\nhello\r\n0\r\n\r\n", ""},
		{"data not followed by CRLF", "5\r\nhelloXX0\r\n\r\n", ""},
		{"data followed by bare LF", "5\r\nhello\n0\r\n\r\n", ""},
		{"data longer than size", "3\r\nhello\r\n0\r\n\r\n", ""},
		{"Content-Length trailer", "5\r\nhello\r\n0\r\nContent-Length: 5\r\n\r\n", ""},
		{"Transfer-Encoding trailer", "5\r\nhello\r\n0\r\nTransfer-Encoding: chunked\r\n\r\n", ""},
		{"Host trailer", "5\r\nhello\r\n0\r\nHost: evil\r\n\r\n", ""},
		{"malformed trailer", "5\r\nhello\r\n0\r\nno colon\r\n\r\n", ""},
		{"many leading zeros", "00000000000000000000000005\r\nhello\r\n0\r\n\r\n", "hello"},
		{"whitespace around ; and =", "5 \t; a = b ;\tc= \"q \\\" d\"\r\nhello\r\n0\r\n\r\n", "hello"},
		{"whitespace before the size", " 5\r\nhello\r\n0\r\n\r\n", ""},
		{"HTAB after the size", "5\t\r\nhello\r\n0\r\n\r\n", ""},
		{"whitespace after an extension", "5;a=b \r\nhello\r\n0\r\n\r\n", ""},
		{"empty extension name", "5;=b\r\nhello\r\n0\r\n\r\n", ""},
		{"extension without name", "5;\r\nhello\r\n0\r\n\r\n", ""},
		{"extension value not a token", "5;a=b/c\r\nhello\r\n0\r\n\r\n", ""},
		{"unterminated quoted extension", "5;a=\"b\r\nhello\r\n0\r\n\r\n", ""},
		{"NUL in a quoted extension", "5;a=\"\x00\"\r\nhello\r\n0\r\n\r\n", ""},
		{"size overflow with sixteen digits", "ffffffffffffffff\r\n", ""},
		{"size with 0x prefix", "0x5\r\nhello\r\n0\r\n\r\n", ""},
		{"size with underscore", "1_0\r\nhello\r\n0\r\n\r\n", ""},
		{"bare CR after the size", "5\rhello\r\n0\r\n\r\n", ""},
		{"data followed by bare CR", "5\r\nhello\r0\r\n\r\n", ""},
		{"last chunk without CRLF after trailers", "5\r\nhello\r\n0\r\n", ""},
		{"obs-fold in trailers", "5\r\nhello\r\n0\r\nX-T: a\r\n b\r\n\r\n", ""},
		{"whitespace before colon in a trailer", "5\r\nhello\r\n0\r\nX-T : a\r\n\r\n", ""},
		{"bare CR in a trailer value", "5\r\nhello\r\n0\r\nX-T: a\rb\r\n\r\n", ""},
		{"truncated body", "5\r\nhel", ""},
		{"missing last chunk", "5\r\nhello\r\n", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n" + tt.body
			next := "GET /next HTTP/1.1\r\nHost: h\r\n\r\n"
			last.Store(nil)
			got := exchange(t, addr, req+next)
			errp := last.Load()
			switch {
			case bodyBuffer >= 0 && tt.want == "" && errp != nil:
				t.Fatalf("handler called for a malformed body within BodyBuffer")
			case (bodyBuffer < 0 || tt.want != "") && errp == nil:
				t.Fatalf("handler not called")
			}
			if tt.want == "" {
				if errp != nil && !IsBodyError(*errp) {
					t.Errorf("read error %v is not a body error", *errp)
				}
				resp := readResponses(t, got, "POST")[0]
				if resp.StatusCode != 400 || connection(resp) != "close" || bodyOf(resp) != "Bad Request\n" {
					t.Errorf("got %q, want 400 and close", got)
				}
				return
			}
			if *errp != nil {
				t.Errorf("read error %v", *errp)
			}
			resps := readResponses(t, got, "POST", "GET")
			if b := bodyOf(resps[0]); b != tt.want {
				t.Errorf("body %.40q (%d bytes), want %.40q", b, len(b), tt.want)
			}
		})
	}
	if logged.String() != "" {
		t.Errorf("client body errors logged: %s", logged)
	}
}

func TestContentLengthBody(t *testing.T) {
	_, addr := startServer(t, echoHandler, nil)
	tests := []struct {
		name, raw string
		want      []string // bodies of the responses
	}{
		{"body then pipelined request", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhelloPOST / HTTP/1.1\r\nHost: h\r\nContent-Length: 2\r\n\r\nok",
			[]string{"hello", "ok"}},
		{"empty body", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\nConnection: close\r\n\r\n", []string{""}},
		{"no framing means no body", "POST / HTTP/1.1\r\nHost: h\r\n\r\nGET / HTTP/1.1\r\nHost: h\r\n\r\n", []string{"", ""}},
		{"large body", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 300000\r\n\r\n" + strings.Repeat("b", 300000),
			[]string{strings.Repeat("b", 300000)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			methods := make([]string, len(tt.want))
			for i := range methods {
				methods[i] = "POST"
			}
			resps := readResponses(t, exchange(t, addr, tt.raw), methods...)
			for i, want := range tt.want {
				if b := bodyOf(resps[i]); b != want {
					t.Errorf("response %d body %.40q, want %.40q", i, b, want)
				}
			}
		})
	}
}

// TestBodyClientGone checks that a client that stops sending mid-body, by
// closing its side or resetting, gets nothing: the handler of a streamed
// body sees a body error, its 500 is not sent, and nothing is logged.
func TestBodyClientGone(t *testing.T) {
	var last atomic.Pointer[error]
	logged := &syncbuf.Buffer{}
	streamed := func(s *Server) { s.ErrorLog = log.New(logged, "", 0); s.BodyBuffer = -1 }
	_, addr := startServer(t, bodyErrorHandler(&last), streamed)
	chunked := "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
	tests := []struct{ name, raw string }{
		{"short Content-Length body", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\n\r\nhello"},
		{"chunk data cut", chunked + "5\r\nhel"},
		{"chunk size line cut", chunked + "5\r\nhello\r\n1"},
		{"missing last chunk", chunked + "5\r\nhello\r\n"},
		{"trailers cut", chunked + "5\r\nhello\r\n0\r\nX-T: 1\r\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			last.Store(nil)
			if got := exchange(t, addr, tt.raw); got != "" {
				t.Errorf("got %q, want nothing", got)
			}
			if errp := last.Load(); errp == nil || !IsBodyError(*errp) || !errors.Is(*errp, io.ErrUnexpectedEOF) {
				t.Errorf("read error %v, want a body error wrapping io.ErrUnexpectedEOF", errp)
			}
		})
	}
	t.Run("reset mid-upload", func(t *testing.T) {
		read := make(chan error, 1)
		_, addr := startServer(t, HandlerFunc(func(w *ResponseWriter, r *Request) {
			_, err := io.ReadAll(r.Body)
			read <- err
			w.WriteHeader([]byte("500 Internal Server Error"), nil)
		}), streamed)
		if err := dialAndClose(addr, "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 100000\r\n\r\nhello"); err != nil {
			t.Fatal(err)
		}
		if err := <-read; !IsBodyError(err) {
			t.Errorf("read error %v is not a body error", err)
		}
	})
	if logged.String() != "" {
		t.Errorf("logged %q", logged)
	}
}

func TestParseChunkSize(t *testing.T) {
	tests := []struct {
		line string
		want int64
		err  error
	}{
		{"0", 0, nil},
		{"1f", 31, nil},
		{"7fffffffffffffff", 1<<63 - 1, nil},
		{"8000000000000000", 0, errChunkOverflow},
		{"5;x=y", 5, nil},
		{"5 ;x", 5, nil},
		{"5;\x00", 0, errChunkExt},
		{"", 0, errChunkSize},
		{";x", 0, errChunkSize},
		{"5 ", 0, errChunkSize},
		{"0x5", 0, errChunkSize},
		{" 5", 0, errChunkSize},
		{"5\t", 0, errChunkSize},
		{"5 ; a = b", 5, nil},
		{"5;a=\"b\\\"c\";d", 5, nil},
		{"5;a ", 0, errChunkExt},
		{"5;a=", 0, errChunkExt},
		{"5;a=\"b", 0, errChunkExt},
		{"5;a=\"b\\", 0, errChunkExt},
		{"5;a\rb", 0, errChunkExt},
		{"5;;a", 0, errChunkExt},
		{"00000000000000000000000000000001", 1, nil},
	}
	for _, tt := range tests {
		got, err := parseChunkSize([]byte(tt.line))
		if got != tt.want || err != tt.err {
			t.Errorf("parseChunkSize(%q) = %d, %v; want %d, %v", tt.line, got, err, tt.want, tt.err)
		}
	}
}

func TestChunkedBodyTrickled(t *testing.T) {
	// One byte per read exercises every refill of the head scanner and the
	// chunk framing reader.
	s := &Server{Handler: echoHandler}
	client, server := net.Pipe()
	defer client.Close()
	go s.ServeConn(server)
	client.SetDeadline(time.Now().Add(ioTimeout))
	req := "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n" +
		"5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nX-T: 1\r\n\r\n"
	go func() {
		for i := range len(req) {
			if _, err := client.Write([]byte{req[i]}); err != nil {
				return
			}
		}
	}()
	got, err := io.ReadAll(client)
	if err != nil {
		t.Fatal(err)
	}
	if resp := readResponses(t, string(got), "POST")[0]; bodyOf(resp) != "hello world" {
		t.Errorf("got %q", got)
	}
}

func TestChunkLineTooLong(t *testing.T) {
	_, addr := startServer(t, echoHandler, nil)
	got := exchange(t, addr, "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"+
		"5;"+strings.Repeat("e", maxChunkLine)+"\r\nhello\r\n0\r\n\r\n")
	resp := readResponses(t, got, "POST")[0]
	if resp.StatusCode != 400 || connection(resp) != "close" {
		t.Errorf("got %q", got)
	}
}

func TestChunkedBodyLimit(t *testing.T) {
	// received is how many body bytes the handler got before an error.
	var received atomic.Int64
	reader := HandlerFunc(func(w *ResponseWriter, r *Request) {
		b, err := io.ReadAll(r.Body)
		if string(r.Method) == "POST" {
			received.Store(int64(len(b)))
		}
		if err != nil {
			w.WriteHeader([]byte("500 Internal Server Error"), nil)
			w.Write([]byte(err.Error()))
			return
		}
		w.WriteHeader([]byte("200 OK"), nil)
		w.Write(b)
	})
	_, addr := startServer(t, reader, func(s *Server) { s.LimitRequestBody, s.BodyBuffer = 10, -1 })
	tests := []struct {
		name, body string
		status     int
		received   int64
	}{
		{"at the limit", "5\r\nhello\r\n5\r\nworld\r\n0\r\n\r\n", 200, 10},
		{"one chunk over", "b\r\nhello world\r\n0\r\n\r\n", 413, 0},
		{"second chunk over", "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n", 413, 5},
		{"huge chunk size", "7fffffffffffffff\r\nhello\r\n", 413, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := exchange(t, addr, "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"+tt.body+
				"GET / HTTP/1.1\r\nHost: h\r\n\r\n")
			methods := []string{"POST", "GET"}
			if tt.status != 200 {
				methods = methods[:1]
			}
			resp := readResponses(t, got, methods...)[0]
			if resp.StatusCode != tt.status || received.Load() != tt.received {
				t.Errorf("status %d after %d bytes, want %d after %d: %q", resp.StatusCode, received.Load(), tt.status, tt.received, got)
			}
			if tt.status == 413 && (connection(resp) != "close" || bodyOf(resp) != "Content Too Large\n") {
				t.Errorf("413 response %q", got)
			}
		})
	}
}

func TestChunkedBodyLimitAfterHead(t *testing.T) {
	// A handler that sent its head before the body passed the limit: the
	// response stands, is cut short and the connection closes.
	errc := make(chan error, 1)
	h := HandlerFunc(func(w *ResponseWriter, r *Request) {
		w.WriteHeader([]byte("200 OK"), nil)
		w.Flush()
		_, err := io.ReadAll(r.Body)
		errc <- err
		w.Abort()
	})
	_, addr := startServer(t, h, func(s *Server) { s.LimitRequestBody, s.BodyBuffer = 4, -1 })
	got := exchange(t, addr, "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n")
	if err := <-errc; !errors.Is(err, ErrBodyTooLarge) || !IsBodyError(err) {
		t.Errorf("Read error %v, want ErrBodyTooLarge", err)
	}
	if !strings.HasPrefix(got, "HTTP/1.1 200 OK\r\n") || strings.Contains(got, "413") {
		t.Errorf("got %q", got)
	}
}
