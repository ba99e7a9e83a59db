package httpcore

import (
	"log"
	"strings"
	"testing"

	"github.com/gowsgi/gowsgi/internal/syncbuf"
)

// h builds a header list from name, value pairs.
func h(kv ...string) []Header {
	var hs []Header
	for i := 0; i < len(kv); i += 2 {
		hs = append(hs, Header{Name: []byte(kv[i]), Value: []byte(kv[i+1])})
	}
	return hs
}

func TestResponseFraming(t *testing.T) {
	big := strings.Repeat("B", 40<<10)
	tests := []struct {
		name     string
		proto    string // of the request; "HTTP/1.1" if empty
		method   string // "GET" if empty
		handler  func(w *ResponseWriter)
		want     string // the response up to the end of its head, Date excluded
		wantBody string
		close    bool // the connection closes after the response
	}{
		{name: "held-back body gets Content-Length",
			handler: func(w *ResponseWriter) {
				w.WriteHeader([]byte("200 OK"), nil)
				w.Write([]byte("ab"))
				w.Write([]byte("c"))
			},
			want: "HTTP/1.1 200 OK\r\nServer: gowsgi\r\nContent-Length: 3\r\n\r\n", wantBody: "abc"},
		{name: "empty body",
			handler: func(w *ResponseWriter) { w.WriteHeader([]byte("200 OK"), nil) },
			want:    "HTTP/1.1 200 OK\r\nServer: gowsgi\r\nContent-Length: 0\r\n\r\n"},
		{name: "status kept exactly and fields forwarded",
			handler: func(w *ResponseWriter) {
				w.WriteHeader([]byte("299 Fine Thanks"), h("X-A", "1", "x-b", " 2 ", "Set-Cookie", "a", "Set-Cookie", "b"))
			},
			want: "HTTP/1.1 299 Fine Thanks\r\nServer: gowsgi\r\nX-A: 1\r\nx-b: 2\r\nSet-Cookie: a\r\nSet-Cookie: b\r\nContent-Length: 0\r\n\r\n"},
		{name: "handler Date and Server kept",
			handler: func(w *ResponseWriter) {
				w.WriteHeader([]byte("200 OK"), h("Server", "app", "Date", "Thu, 01 Jan 1970 00:00:00 GMT"))
			},
			want: "HTTP/1.1 200 OK\r\nServer: app\r\nDate: Thu, 01 Jan 1970 00:00:00 GMT\r\nContent-Length: 0\r\n\r\n"},
		{name: "hop-by-hop fields dropped",
			handler: func(w *ResponseWriter) {
				w.WriteHeader([]byte("200 OK"), h("Connection", "x-foo", "Keep-Alive", "timeout=5", "Transfer-Encoding", "chunked",
					"TE", "trailers", "Trailer", "X", "Upgrade", "h2c", "Proxy-Connection", "keep-alive", "X-Kept", "1"))
				w.Write([]byte("hi"))
			},
			want: "HTTP/1.1 200 OK\r\nServer: gowsgi\r\nX-Kept: 1\r\nContent-Length: 2\r\n\r\n", wantBody: "hi"},
		{name: "handler Connection close closes",
			handler: func(w *ResponseWriter) { w.WriteHeader([]byte("200 OK"), h("Connection", "Close")) },
			want:    "HTTP/1.1 200 OK\r\nServer: gowsgi\r\nContent-Length: 0\r\nConnection: close\r\n\r\n", close: true},
		{name: "handler Content-Length used",
			handler: func(w *ResponseWriter) {
				w.WriteHeader([]byte("200 OK"), h("Content-Length", "5"))
				w.Write([]byte("12"))
				w.Flush()
				w.Write([]byte("345"))
			},
			want: "HTTP/1.1 200 OK\r\nServer: gowsgi\r\nContent-Length: 5\r\n\r\n", wantBody: "12345"},
		{name: "bytes beyond Content-Length dropped, then close",
			handler: func(w *ResponseWriter) {
				w.WriteHeader([]byte("200 OK"), h("Content-Length", "3"))
				if n, err := w.Write([]byte("12345")); n != 5 || err != nil {
					panic("short write")
				}
			},
			want: "HTTP/1.1 200 OK\r\nServer: gowsgi\r\nContent-Length: 3\r\nConnection: close\r\n\r\n", wantBody: "123", close: true},
		{name: "fewer bytes than Content-Length close",
			handler: func(w *ResponseWriter) {
				w.WriteHeader([]byte("200 OK"), h("Content-Length", "10"))
				w.Write([]byte("123"))
			},
			want: "HTTP/1.1 200 OK\r\nServer: gowsgi\r\nContent-Length: 10\r\n\r\n", wantBody: "123", close: true},
		{name: "flushed body is chunked in HTTP/1.1",
			handler: func(w *ResponseWriter) {
				w.WriteHeader([]byte("200 OK"), nil)
				w.Write([]byte("hello "))
				w.Flush()
				w.Write([]byte("world"))
			},
			want: "HTTP/1.1 200 OK\r\nServer: gowsgi\r\nTransfer-Encoding: chunked\r\n\r\n", wantBody: "6\r\nhello \r\n5\r\nworld\r\n0\r\n\r\n"},
		{name: "flushed body is close-delimited in HTTP/1.0", proto: "HTTP/1.0",
			handler: func(w *ResponseWriter) {
				w.WriteHeader([]byte("200 OK"), nil)
				w.Write([]byte("hello "))
				w.Flush()
				w.Write([]byte("world"))
			},
			want: "HTTP/1.1 200 OK\r\nServer: gowsgi\r\nConnection: close\r\n\r\n", wantBody: "hello world", close: true},
		{name: "body past the threshold is chunked",
			handler: func(w *ResponseWriter) {
				w.WriteHeader([]byte("200 OK"), nil)
				w.Write([]byte("x"))
				w.Write([]byte(big))
			},
			want:     "HTTP/1.1 200 OK\r\nServer: gowsgi\r\nTransfer-Encoding: chunked\r\n\r\n",
			wantBody: "1\r\nx\r\na000\r\n" + big + "\r\n0\r\n\r\n"},
		{name: "HEAD gets the length of what was written, no body", method: "HEAD",
			handler: func(w *ResponseWriter) { w.WriteHeader([]byte("200 OK"), nil); w.Write([]byte(big)) },
			want:    "HTTP/1.1 200 OK\r\nServer: gowsgi\r\nContent-Length: 40960\r\n\r\n"},
		{name: "HEAD keeps the handler's Content-Length", method: "HEAD",
			handler: func(w *ResponseWriter) { w.WriteHeader([]byte("200 OK"), h("Content-Length", "99")) },
			want:    "HTTP/1.1 200 OK\r\nServer: gowsgi\r\nContent-Length: 99\r\n\r\n"},
		{name: "204 has no body or length",
			handler: func(w *ResponseWriter) {
				w.WriteHeader([]byte("204 No Content"), h("Content-Length", "3"))
				w.Write([]byte("abc"))
			},
			want: "HTTP/1.1 204 No Content\r\nServer: gowsgi\r\n\r\n"},
		{name: "304 has no body",
			handler: func(w *ResponseWriter) { w.WriteHeader([]byte("304 Not Modified"), nil); w.Write([]byte("abc")) },
			want:    "HTTP/1.1 304 Not Modified\r\nServer: gowsgi\r\n\r\n"},
		{name: "HTTP/1.0 keep-alive is announced", proto: "HTTP/1.0\r\nConnection: keep-alive",
			handler: func(w *ResponseWriter) { w.WriteHeader([]byte("200 OK"), nil) },
			want:    "HTTP/1.1 200 OK\r\nServer: gowsgi\r\nContent-Length: 0\r\nConnection: keep-alive\r\n\r\n"},
		{name: "no WriteHeader gets 500",
			handler:  func(w *ResponseWriter) {},
			want:     "HTTP/1.1 500 Internal Server Error\r\nServer: gowsgi\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 22\r\nConnection: close\r\n\r\n",
			wantBody: internalError, close: true},
		{name: "Content-Length not digits gets 500",
			handler: func(w *ResponseWriter) {
				w.WriteHeader([]byte("200 OK"), h("Content-Length", "1x"))
				if _, err := w.Write([]byte("a")); err != ErrBadResponse {
					panic(err)
				}
			},
			want:     "HTTP/1.1 500 Internal Server Error\r\nServer: gowsgi\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 22\r\nConnection: close\r\n\r\n",
			wantBody: internalError, close: true},
		{name: "CRLF in a field value gets 500",
			handler:  func(w *ResponseWriter) { w.WriteHeader([]byte("200 OK"), h("X", "a\r\nInjected: 1")) },
			want:     "HTTP/1.1 500 Internal Server Error\r\nServer: gowsgi\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 22\r\nConnection: close\r\n\r\n",
			wantBody: internalError, close: true},
		{name: "malformed status gets 500",
			handler:  func(w *ResponseWriter) { w.WriteHeader([]byte("OK"), nil) },
			want:     "HTTP/1.1 500 Internal Server Error\r\nServer: gowsgi\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 22\r\nConnection: close\r\n\r\n",
			wantBody: internalError, close: true},
		{name: "second WriteHeader before the head is sent replaces it",
			handler: func(w *ResponseWriter) {
				w.WriteHeader([]byte("200 OK"), h("X-First", "1"))
				w.WriteHeader([]byte("500 Oops"), nil)
			},
			want: "HTTP/1.1 500 Oops\r\nServer: gowsgi\r\nContent-Length: 0\r\n\r\n"},
		{name: "panic before the head gets 500",
			handler:  func(w *ResponseWriter) { w.WriteHeader([]byte("200 OK"), nil); panic("boom") },
			want:     "HTTP/1.1 500 Internal Server Error\r\nServer: gowsgi\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 22\r\nConnection: close\r\n\r\n",
			wantBody: internalError, close: true},
		{name: "Abort after the head sends no last chunk",
			handler: func(w *ResponseWriter) {
				w.WriteHeader([]byte("200 OK"), nil)
				w.Write([]byte("part"))
				if w.HeadSent() {
					panic("head sent before Flush")
				}
				w.Flush()
				if !w.HeadSent() {
					panic("head not sent after Flush")
				}
				w.Abort()
				if _, err := w.Write([]byte("more")); err != ErrAborted {
					panic(err)
				}
			},
			want: "HTTP/1.1 200 OK\r\nServer: gowsgi\r\nTransfer-Encoding: chunked\r\n\r\n", wantBody: "4\r\npart\r\n", close: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			handler := HandlerFunc(func(w *ResponseWriter, r *Request) { tt.handler(w) })
			_, addr := startServer(t, handler, nil)
			proto, method := tt.proto, tt.method
			if proto == "" {
				proto = "HTTP/1.1"
			}
			if method == "" {
				method = "GET"
			}
			req := method + " / " + proto + "\r\nHost: h\r\n\r\n"
			got := exchange(t, addr, req+"GET /second HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n")
			got = dropDate(got)
			if !strings.HasPrefix(got, tt.want) {
				t.Fatalf("got  %.300q\nwant %q", got, tt.want)
			}
			rest := got[len(tt.want):]
			second := strings.Index(rest, "HTTP/1.1 ")
			if tt.close != (second < 0) {
				t.Errorf("closed after the response: %v, want %v (%.200q)", second < 0, tt.close, rest)
			}
			if second >= 0 {
				rest = rest[:second]
			}
			if rest != tt.wantBody {
				t.Errorf("body %.100q (%d bytes), want %.100q", rest, len(rest), tt.wantBody)
			}
		})
	}
}

// dropDate removes the Date fields the server added (those from the
// handler name the epoch).
func dropDate(s string) string {
	for {
		i := strings.Index(s, "\r\nDate: ")
		if i < 0 || strings.HasPrefix(s[i+8:], "Thu, 01 Jan 1970") {
			return s
		}
		j := strings.Index(s[i+2:], "\r\n")
		s = s[:i] + s[i+2+j:]
	}
}

func TestWriteBeforeWriteHeader(t *testing.T) {
	errs := make(chan error, 2)
	handler := HandlerFunc(func(w *ResponseWriter, r *Request) {
		_, err := w.Write([]byte("x"))
		errs <- err
		errs <- w.Flush()
		w.WriteHeader([]byte("200 OK"), nil)
	})
	_, addr := startServer(t, handler, nil)
	exchange(t, addr, "GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n")
	for range 2 {
		if err := <-errs; err != ErrNoHeader {
			t.Errorf("got %v, want ErrNoHeader", err)
		}
	}
}

func TestWriteToGoneClient(t *testing.T) {
	errc := make(chan error, 1)
	handler := HandlerFunc(func(w *ResponseWriter, r *Request) {
		w.WriteHeader([]byte("200 OK"), nil)
		chunk := make([]byte, 64<<10)
		for range 1000 {
			if _, err := w.Write(chunk); err != nil {
				errc <- err
				return
			}
		}
		errc <- nil
	})
	_, addr := startServer(t, handler, nil)
	if err := dialAndClose(addr, "GET / HTTP/1.1\r\nHost: h\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	if err := <-errc; err == nil {
		t.Errorf("64 MB written to a closed connection without an error")
	}
}

func TestShortResponseLogged(t *testing.T) {
	logged := &syncbuf.Buffer{}
	handler := HandlerFunc(func(w *ResponseWriter, r *Request) {
		w.WriteHeader([]byte("200 OK"), h("Content-Length", "10"))
		w.Write([]byte("abc"))
	})
	_, addr := startServer(t, handler, func(s *Server) { s.ErrorLog = log.New(logged, "", 0) })
	got := exchange(t, addr, "GET /x HTTP/1.1\r\nHost: h\r\n\r\nGET /y HTTP/1.1\r\nHost: h\r\n\r\n")
	if !strings.HasSuffix(got, "\r\n\r\nabc") {
		t.Errorf("got %q, want one short response and a close", got)
	}
	want := "httpcore: response to GET /x ended after 3 of 10 bytes declared by Content-Length; closing the connection\n"
	if logged.String() != want {
		t.Errorf("logged %q, want %q", logged, want)
	}
}
