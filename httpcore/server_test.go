package httpcore

import (
	"bufio"
	"context"
	"io"
	"log"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gowsgi/gowsgi/internal/race"
	"github.com/gowsgi/gowsgi/internal/syncbuf"
)

// ioTimeout bounds a test client's wait for the server. It only turns a
// hang into a failure, so it is generous: a busy machine running the race
// detector moves megabytes slowly.
const ioTimeout = 30 * time.Second

// startServer serves h on a loopback port for the test's duration.
func startServer(t testing.TB, h Handler, configure func(*Server)) (*Server, string) {
	t.Helper()
	return startServerOn(t, "tcp", "127.0.0.1:0", h, configure)
}

// startServerOn serves h on a listener of network at address for the
// test's duration, and returns the listener's address.
func startServerOn(t testing.TB, network, address string, h Handler, configure func(*Server)) (*Server, string) {
	t.Helper()
	l, err := net.Listen(network, address)
	if err != nil {
		t.Fatal(err)
	}
	return serveListener(t, l, h, configure)
}

// serveListener serves h on l for the test's duration.
func serveListener(t testing.TB, l net.Listener, h Handler, configure func(*Server)) (*Server, string) {
	t.Helper()
	s := &Server{Handler: h, ServerHeader: "gowsgi", ErrorLog: log.New(io.Discard, "", 0)}
	if configure != nil {
		configure(s)
	}
	done := make(chan error, 1)
	go func() { done <- s.Serve(l) }()
	t.Cleanup(func() {
		s.Close()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return s, l.Addr().String()
}

// exchange sends raw on a new connection, half-closes it and returns
// everything the server sends until it closes.
func exchange(t testing.TB, addr, raw string) string {
	t.Helper()
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	nc.SetDeadline(time.Now().Add(ioTimeout))
	if _, err := io.WriteString(nc, raw); err != nil {
		t.Fatal(err)
	}
	nc.(*net.TCPConn).CloseWrite()
	got, err := io.ReadAll(nc)
	if err != nil {
		t.Fatalf("reading response: %v (got %q)", err, got)
	}
	return string(got)
}

// readResponses parses the responses in transcript, one per request method
// given (HEAD responses have no body).
func readResponses(t testing.TB, transcript string, methods ...string) []*http.Response {
	t.Helper()
	br := bufio.NewReader(strings.NewReader(transcript))
	var out []*http.Response
	for _, m := range methods {
		resp, err := http.ReadResponse(br, &http.Request{Method: m})
		if err != nil {
			t.Fatalf("response %d: %v in %q", len(out), err, transcript)
		}
		body, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatalf("response %d body: %v in %q", len(out), err, transcript)
		}
		resp.Body = io.NopCloser(strings.NewReader(string(body)))
		out = append(out, resp)
	}
	if rest, _ := io.ReadAll(br); len(rest) > 0 {
		t.Errorf("unexpected bytes after %d responses: %q", len(out), rest)
	}
	return out
}

// bodyOf returns a response's body.
func bodyOf(resp *http.Response) string {
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// connection returns the response's Connection field (which net/http
// turns into resp.Close for "close").
func connection(resp *http.Response) string {
	if resp.Close {
		return "close"
	}
	return resp.Header.Get("Connection")
}

// textHandler answers 200 with body text.
func textHandler(text string) HandlerFunc {
	status, body := []byte("200 OK"), []byte(text)
	fields := []Header{{Name: []byte("Content-Type"), Value: []byte("text/plain")}}
	return func(w *ResponseWriter, r *Request) {
		w.WriteHeader(status, fields)
		w.Write(body)
	}
}

// pathHandler answers with the request path.
var pathHandler = HandlerFunc(func(w *ResponseWriter, r *Request) {
	w.WriteHeader([]byte("200 OK"), nil)
	w.Write(r.Path)
})

func TestKeepAlive(t *testing.T) {
	_, addr := startServer(t, pathHandler, nil)
	tests := []struct {
		name, proto, connection string
		wantConnection          string // the response's Connection field
		wantResponses           int    // of two pipelined requests
	}{
		{"HTTP/1.1 default", "HTTP/1.1", "", "", 2},
		{"HTTP/1.1 close", "HTTP/1.1", "close", "close", 1},
		{"HTTP/1.1 close in a list", "HTTP/1.1", "TE, Close", "close", 1},
		{"HTTP/1.0 default", "HTTP/1.0", "", "close", 1},
		{"HTTP/1.0 keep-alive", "HTTP/1.0", "keep-alive", "keep-alive", 2},
		{"HTTP/1.0 keep-alive and close", "HTTP/1.0", "keep-alive, close", "close", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := "GET /x " + tt.proto + "\r\nHost: h\r\n"
			if tt.connection != "" {
				req += "Connection: " + tt.connection + "\r\n"
			}
			req += "\r\n"
			got := exchange(t, addr, req+req)
			methods := []string{"GET", "GET"}[:tt.wantResponses]
			resps := readResponses(t, got, methods...)
			if c := connection(resps[0]); c != tt.wantConnection {
				t.Errorf("Connection = %q, want %q", c, tt.wantConnection)
			}
			if !strings.HasPrefix(got, "HTTP/1.1 200 OK\r\n") {
				t.Errorf("status line: %q", got)
			}
		})
	}
}

func TestPipelinedInOrder(t *testing.T) {
	_, addr := startServer(t, pathHandler, nil)
	got := exchange(t, addr, "GET /a HTTP/1.1\r\nHost: h\r\n\r\nGET /b HTTP/1.1\r\nHost: h\r\n\r\n"+
		"GET /c HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n")
	resps := readResponses(t, got, "GET", "GET", "GET")
	for i, want := range []string{"/a", "/b", "/c"} {
		if b := bodyOf(resps[i]); b != want {
			t.Errorf("response %d body %q, want %q", i, b, want)
		}
	}
}

func TestDateAndServer(t *testing.T) {
	_, addr := startServer(t, textHandler("hi"), nil)
	resp := readResponses(t, exchange(t, addr, "GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n"), "GET")[0]
	if resp.Header.Get("Server") != "gowsgi" {
		t.Errorf("Server = %q", resp.Header.Get("Server"))
	}
	d, err := http.ParseTime(resp.Header.Get("Date"))
	if err != nil || time.Since(d) > 5*time.Second {
		t.Errorf("Date = %q (%v)", resp.Header.Get("Date"), err)
	}
}

func TestBadRequestNotHandled(t *testing.T) {
	var called atomic.Int32
	h := HandlerFunc(func(w *ResponseWriter, r *Request) {
		called.Add(1)
		w.WriteHeader([]byte("200 OK"), nil)
	})
	logged := &syncbuf.Buffer{}
	_, addr := startServer(t, h, func(s *Server) {
		s.MaxHeaderBytes = 1024
		s.LimitRequestLine = 300
		s.LimitRequestFields = 4
		s.LimitRequestFieldSize = 200
		s.LimitRequestBody = 10
		s.ErrorLog = log.New(logged, "", 0)
	})
	long := strings.Repeat("a", 2000)
	// field is a field line of n bytes with its CRLF
	field := func(n int) string { return "X: " + strings.Repeat("f", n-5) + "\r\n" }
	tests := []struct{ name, raw, status string }{
		{"NUL in the request line", "GET /\x00 HTTP/1.1\r\nHost: h\r\n\r\n", "400 Bad Request"},
		{"lower-case method", "get / HTTP/1.1\r\nHost: h\r\n\r\n", "400 Bad Request"},
		{"bad percent-encoding", "GET /%zz HTTP/1.1\r\nHost: h\r\n\r\n", "400 Bad Request"},
		{"Content-Type twice", "POST / HTTP/1.1\r\nHost: h\r\nContent-Type: a\r\nContent-Type: a\r\n\r\n", "400 Bad Request"},
		{"differing Content-Length", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab", "400 Bad Request"},
		{"Content-Length with Transfer-Encoding", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", "400 Bad Request"},
		{"gzip then chunked", "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n", "501 Not Implemented"},
		{"request line at LimitRequestLine", "GET /" + strings.Repeat("a", 300-14) + " HTTP/1.1\r\nHost: h\r\n\r\nGET / HTTP/1.1\r\n\r\n", "400 Bad Request"},
		{"request line over LimitRequestLine", "GET /" + strings.Repeat("a", 301-14) + " HTTP/1.1\r\nHost: h\r\n\r\n", "414 URI Too Long"},
		{"request line over LimitRequestLine, incomplete", "GET /" + strings.Repeat("a", 400), "414 URI Too Long"},
		{"fields at LimitRequestFields", "GET / HTTP/1.1\r\nHost: h\r\n" + strings.Repeat(field(10), 3) + "\r\nGET / HTTP/1.1\r\n\r\n", "400 Bad Request"},
		{"fields over LimitRequestFields", "GET / HTTP/1.1\r\nHost: h\r\n" + strings.Repeat(field(10), 4) + "\r\n", "431 Request Header Fields Too Large"},
		{"field at LimitRequestFieldSize", "GET / HTTP/1.1\r\nHost: h\r\n" + field(200) + "\r\nGET / HTTP/1.1\r\n\r\n", "400 Bad Request"},
		{"field over LimitRequestFieldSize", "GET / HTTP/1.1\r\nHost: h\r\n" + field(201) + "\r\n", "431 Request Header Fields Too Large"},
		{"field over LimitRequestFieldSize, incomplete", "GET / HTTP/1.1\r\nHost: h\r\n" + field(300)[:250], "431 Request Header Fields Too Large"},
		{"body at LimitRequestBody", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\n\r\n0123456789GET / HTTP/1.1\r\n\r\n", "400 Bad Request"},
		{"Content-Length over LimitRequestBody", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 11\r\n\r\n0123456789a", "413 Content Too Large"},
		{"Content-Length over LimitRequestBody with Expect", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 11\r\nExpect: 100-continue\r\n\r\n", "413 Content Too Large"},
		{"bare LF", "GET / HTTP/1.1\nHost: h\n\n", "400 Bad Request"},
		{"obsolete folding", "GET / HTTP/1.1\r\nHost: h\r\nX: a\r\n b\r\n\r\n", "400 Bad Request"},
		{"no Host", "GET / HTTP/1.1\r\n\r\n", "400 Bad Request"},
		{"HTTP/2.0", "GET / HTTP/2.0\r\nHost: h\r\n\r\n", "505 HTTP Version Not Supported"},
		{"gzip encoding", "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip\r\n\r\n", "501 Not Implemented"},
		{"request line too long", "GET /" + long + " HTTP/1.1\r\nHost: h\r\n\r\n", "414 URI Too Long"},
		{"head over MaxHeaderBytes", "GET /" + strings.Repeat("a", 290-14) + " HTTP/1.1\r\nHost: " + strings.Repeat("h", 150) + "\r\n" +
			strings.Repeat(field(200), 3) + "\r\n", "431 Request Header Fields Too Large"},
		{"bad request after a good one", "GET / HTTP/1.1\r\nHost: h\r\n\r\nGET / HTTP/1.1\r\n\r\n", "400 Bad Request"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := called.Load()
			got := exchange(t, addr, tt.raw)
			if strings.HasPrefix(got, "HTTP/1.1 200 OK\r\n") {
				got = got[strings.Index(got, "\r\n\r\n")+4:]
				before++
			}
			if !strings.HasPrefix(got, "HTTP/1.1 "+tt.status+"\r\n") {
				t.Fatalf("got %q, want %s", got, tt.status)
			}
			resp := readResponses(t, got, "GET")[0]
			if connection(resp) != "close" || resp.Header.Get("Content-Type") != "text/plain; charset=utf-8" ||
				bodyOf(resp) != tt.status[4:]+"\n" {
				t.Errorf("response %+v", resp)
			}
			if called.Load() != before {
				t.Errorf("handler called for a malformed request")
			}
		})
	}
	if logged.String() != "" {
		t.Errorf("refused requests logged: %s", logged)
	}
}

func TestLimitDefaults(t *testing.T) {
	var s Server
	got := []any{s.keepAlive(), s.headerTimeout(), s.maxHeaderBytes(), s.limitRequestLine(),
		s.limitRequestFields(), s.limitRequestFieldSize()}
	want := []any{5 * time.Second, 10 * time.Second, 64 << 10, 4094, 100, 8190}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("default %d = %v, want %v", i, got[i], want[i])
		}
	}
	s = Server{LimitRequestLine: -1, LimitRequestFields: -1, LimitRequestFieldSize: -1}
	if s.limitRequestLine() != 0 || s.limitRequestFields() != 0 || s.limitRequestFieldSize() != 0 {
		t.Errorf("negative limits are not \"none\"")
	}
}

func TestDefaultLimits(t *testing.T) {
	// The default limits at their exact bounds, and negative settings
	// leaving only MaxHeaderBytes.
	_, addr := startServer(t, pathHandler, nil)
	_, unlimited := startServer(t, pathHandler, func(s *Server) {
		s.LimitRequestLine, s.LimitRequestFields, s.LimitRequestFieldSize = -1, -1, -1
	})
	// Each head ends with a Connection field, counted here.
	line := func(n int) string { return "GET /" + strings.Repeat("a", n-14) + " HTTP/1.1\r\nHost: h\r\n" }
	fields := func(n int) string { return "GET / HTTP/1.1\r\nHost: h\r\n" + strings.Repeat("X: y\r\n", n-2) }
	// field is a head whose X field line is n bytes with its CRLF
	field := func(n int) string { return "GET / HTTP/1.1\r\nHost: h\r\nX: " + strings.Repeat("f", n-5) + "\r\n" }
	tests := []struct {
		name, head string
		status     int // with the defaults
	}{
		{"request line of 4094", line(4094), 200},
		{"request line of 4095", line(4095), 414},
		{"100 fields", fields(100), 200},
		{"101 fields", fields(101), 431},
		{"field line of 8190", field(8190), 200},
		{"field line of 8191", field(8191), 431},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			raw := tt.head + "Connection: close\r\n\r\n"
			if resp := readResponses(t, exchange(t, addr, raw), "GET")[0]; resp.StatusCode != tt.status {
				t.Errorf("status %d, want %d", resp.StatusCode, tt.status)
			}
			if resp := readResponses(t, exchange(t, unlimited, raw), "GET")[0]; resp.StatusCode != 200 {
				t.Errorf("without limits: status %d, want 200", resp.StatusCode)
			}
		})
	}
}

// TestLimitRequestFieldSize checks that LimitRequestFieldSize bounds the
// whole field line, name, colon, whitespace, value and CRLF, as gunicorn
// counts it: at the limit and one over, wherever the line sits and however
// it arrives.
func TestLimitRequestFieldSize(t *testing.T) {
	const limit = 98
	s := &Server{Handler: pathHandler, LimitRequestFieldSize: limit, ErrorLog: log.New(io.Discard, "", 0)}
	// line is a field line of n bytes with its CRLF (which the heads
	// add), with pad spaces around its value.
	line := func(n, pad int) string {
		return "User-Agent:" + strings.Repeat(" ", pad) + strings.Repeat("u", n-len("User-Agent:\r\n")-2*pad) + strings.Repeat(" ", pad)
	}
	heads := map[string]func(field string) string{
		"first": func(f string) string { return "GET / HTTP/1.1\r\n" + f + "\r\nHost: h\r\n\r\n" },
		"last":  func(f string) string { return "GET / HTTP/1.1\r\nHost: h\r\n" + f + "\r\n\r\n" },
	}
	for where, head := range heads {
		for _, pad := range []int{0, 10} {
			for _, tt := range []struct{ n, status int }{{limit, 200}, {limit + 1, 431}} {
				raw := head(line(tt.n, pad))
				for _, trickle := range []bool{false, true} {
					// ServeConn over a pipe: each Write is one read by the server.
					client, server := net.Pipe()
					go s.ServeConn(server)
					client.SetDeadline(time.Now().Add(ioTimeout))
					go func() {
						if !trickle {
							io.WriteString(client, raw)
							return
						}
						for i := range len(raw) {
							if _, err := client.Write([]byte{raw[i]}); err != nil {
								return
							}
						}
					}()
					resp, err := http.ReadResponse(bufio.NewReader(client), nil)
					if err != nil {
						t.Fatalf("%s, pad %d, %d bytes, trickled %v: %v", where, pad, tt.n, trickle, err)
					}
					if resp.StatusCode != tt.status {
						t.Errorf("%s field line of %d bytes (pad %d, trickled %v): status %d, want %d",
							where, tt.n, pad, trickle, resp.StatusCode, tt.status)
					}
					client.Close()
				}
			}
		}
	}
}

// TestExpectContinue checks that a client waiting for 100 Continue is asked
// for its body, before the handler runs for a body within BodyBuffer.
func TestExpectContinue(t *testing.T) {
	var called atomic.Bool
	echo := HandlerFunc(func(w *ResponseWriter, r *Request) {
		called.Store(true)
		b, err := io.ReadAll(r.Body)
		if err != nil {
			t.Errorf("reading body: %v", err)
		}
		w.WriteHeader([]byte("200 OK"), nil)
		w.Write(b)
	})
	_, addr := startServer(t, echo, nil)
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	nc.SetDeadline(time.Now().Add(ioTimeout))
	io.WriteString(nc, "POST / HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n")
	br := bufio.NewReader(nc)
	want := "HTTP/1.1 100 Continue\r\n\r\n"
	got := make([]byte, len(want))
	if _, err := io.ReadFull(br, got); err != nil || string(got) != want {
		t.Fatalf("interim response %q, %v", got, err)
	}
	if called.Load() {
		t.Error("handler called before the body came")
	}
	io.WriteString(nc, "hello")
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	if b := bodyOf(resp); b != "hello" || resp.Close {
		t.Errorf("body %q close %v", b, resp.Close)
	}
}

func TestExpectContinueUnread(t *testing.T) {
	// A handler that answers without reading a streamed body: no 100
	// Continue, and the connection closes since the client still holds
	// the body back. (A body within BodyBuffer is asked for and read.)
	_, addr := startServer(t, textHandler("no"), func(s *Server) { s.BodyBuffer = -1 })
	for _, framing := range []string{"Content-Length: 5", "Transfer-Encoding: chunked"} {
		got := exchange(t, addr, "POST / HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\n"+framing+"\r\n\r\n")
		if strings.Contains(got, "100 Continue") {
			t.Errorf("%s: 100 Continue sent to a handler that did not read: %q", framing, got)
		}
		resp := readResponses(t, got, "POST")[0]
		if connection(resp) != "close" || bodyOf(resp) != "no" {
			t.Errorf("%s: got %q", framing, got)
		}
	}
}

func TestDrainUnreadBody(t *testing.T) {
	_, addr := startServer(t, pathHandler, func(s *Server) { s.BodyBuffer = -1 })
	small := strings.Repeat("x", 100<<10)
	tests := []struct {
		name, first   string
		wantResponses int
		wantClose     string
	}{
		{"small Content-Length body drained", "POST /a HTTP/1.1\r\nHost: h\r\nContent-Length: 102400\r\n\r\n" + small, 2, ""},
		{"chunked body drained", "POST /a HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n", 2, ""},
		{"large Content-Length body closes", "POST /a HTTP/1.1\r\nHost: h\r\nContent-Length: 1048576\r\n\r\n" + small, 1, "close"},
		{"large chunked body closes", "POST /a HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n" +
			"100000\r\n" + strings.Repeat("y", 1<<20) + "\r\n0\r\n\r\n", 1, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := exchange(t, addr, tt.first+"GET /b HTTP/1.1\r\nHost: h\r\n\r\n")
			resps := readResponses(t, got, []string{"POST", "GET"}[:tt.wantResponses]...)
			if c := connection(resps[0]); c != tt.wantClose {
				t.Errorf("Connection %q, want %q", c, tt.wantClose)
			}
			if len(resps) == 2 && bodyOf(resps[1]) != "/b" {
				t.Errorf("second response body %q", bodyOf(resps[1]))
			}
		})
	}
}

func TestTimeouts(t *testing.T) {
	logged := &syncbuf.Buffer{}
	_, addr := startServer(t, pathHandler, func(s *Server) {
		s.KeepAlive = 100 * time.Millisecond
		s.HeaderTimeout = 200 * time.Millisecond
		s.ErrorLog = log.New(logged, "", 0)
	})
	t.Cleanup(func() {
		if logged.String() != "" {
			t.Errorf("timeouts logged: %s", logged)
		}
	})
	tests := []struct {
		name, raw string
		want      string // prefix of what the server sends before closing
	}{
		{"idle after a response", "GET /k HTTP/1.1\r\nHost: h\r\n\r\n", "HTTP/1.1 200 OK\r\n"},
		{"incomplete head", "GET / HTTP/1.1\r\nHost:", ""},
		{"nothing sent", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			nc, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			defer nc.Close()
			nc.SetDeadline(time.Now().Add(ioTimeout))
			io.WriteString(nc, tt.raw)
			start := time.Now()
			got, err := io.ReadAll(nc)
			if err != nil {
				t.Fatalf("connection not closed by the server: %v", err)
			}
			if !strings.HasPrefix(string(got), tt.want) || (tt.want == "" && len(got) > 0) {
				t.Errorf("got %q", got)
			}
			if d := time.Since(start); d > 5*time.Second {
				t.Errorf("closed after %v", d)
			}
		})
	}
}

func TestServeSeveralListeners(t *testing.T) {
	s := &Server{Handler: pathHandler}
	var addrs []string
	done := make(chan error, 2)
	for range 2 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addrs = append(addrs, l.Addr().String())
		go func() { done <- s.Serve(l) }()
	}
	for _, a := range addrs {
		resp := readResponses(t, exchange(t, a, "GET /l HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n"), "GET")[0]
		if bodyOf(resp) != "/l" {
			t.Errorf("%s: body %q", a, bodyOf(resp))
		}
	}
	if err := s.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if err := <-done; err != nil {
			t.Errorf("Serve = %v, want nil", err)
		}
	}
}

func TestConnInfo(t *testing.T) {
	var info ConnInfo
	h := HandlerFunc(func(w *ResponseWriter, r *Request) {
		info = *r.Conn
		w.WriteHeader([]byte("204 No Content"), nil)
	})
	_, addr := startServer(t, h, nil)
	exchange(t, addr, "GET / HTTP/1.1\r\nHost: h\r\n\r\n")
	host, port, _ := net.SplitHostPort(addr)
	if string(info.RemoteAddr) != "127.0.0.1" || len(info.RemotePort) == 0 ||
		string(info.ServerName) != host || string(info.ServerPort) != port || info.TLS {
		t.Errorf("ConnInfo = %q %q %q %q", info.RemoteAddr, info.RemotePort, info.ServerName, info.ServerPort)
	}
}

// dialAndClose sends raw and closes the connection at once, leaving the
// server writing to a client that is gone.
func dialAndClose(addr, raw string) error {
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		return err
	}
	_, err = io.WriteString(nc, raw)
	nc.(*net.TCPConn).SetLinger(0)
	nc.Close()
	return err
}

// benchmarkGet measures GET round trips on one keep-alive connection c
// served by s.
func benchmarkGet(b *testing.B, c net.Conn) {
	req := []byte("GET /hello?name=x HTTP/1.1\r\nHost: localhost\r\nUser-Agent: bench\r\nAccept: */*\r\n\r\n")
	if _, err := c.Write(req); err != nil {
		b.Fatal(err)
	}
	// Every response has the same length (the Date field has a fixed width).
	first := make([]byte, 4096)
	n, err := c.Read(first)
	if err != nil {
		b.Fatal(err)
	}
	resp := make([]byte, n)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.Write(req); err != nil {
			b.Fatal(err)
		}
		if _, err := io.ReadFull(c, resp); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkGetPipe's allocations are net.Pipe's: each SetReadDeadline on a
// pipe starts a timer. BenchmarkGetLoopback shows the server's own (none).
func BenchmarkGetPipe(b *testing.B) {
	s := &Server{Handler: textHandler("Hello, World!"), ServerHeader: "gowsgi"}
	client, server := net.Pipe()
	done := make(chan struct{})
	go func() { s.ServeConn(server); close(done) }()
	benchmarkGet(b, client)
	client.Close()
	<-done
}

func BenchmarkGetLoopback(b *testing.B) {
	_, addr := startServer(b, textHandler("Hello, World!"), nil)
	c, err := net.Dial("tcp", addr)
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	benchmarkGet(b, c)
}

func TestLargeHead(t *testing.T) {
	_, addr := startServer(t, pathHandler, nil)
	big := strings.Repeat("X-Big: "+strings.Repeat("v", 5<<10)+"\r\n", 4)
	got := exchange(t, addr, "GET /big HTTP/1.1\r\nHost: h\r\n"+big+"\r\nPOST /after HTTP/1.1\r\nHost: h\r\n"+
		"Transfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\nGET /small HTTP/1.1\r\nHost: h\r\n\r\n")
	resps := readResponses(t, got, "GET", "POST", "GET")
	for i, want := range []string{"/big", "/after", "/small"} {
		if b := bodyOf(resps[i]); b != want {
			t.Errorf("response %d: %q, want %q", i, b, want)
		}
	}
}

func TestUnixSocketConnInfo(t *testing.T) {
	path := t.TempDir() + "/s.sock"
	l, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	infos := make(chan ConnInfo, 1)
	s := &Server{Handler: HandlerFunc(func(w *ResponseWriter, r *Request) {
		infos <- *r.Conn
		w.WriteHeader([]byte("204 No Content"), nil)
	})}
	done := make(chan error, 1)
	go func() { done <- s.Serve(l) }()
	defer func() { s.Close(); <-done }()
	nc, err := net.Dial("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	io.WriteString(nc, "GET / HTTP/1.1\r\nHost: h\r\n\r\n")
	info := <-infos
	if len(info.RemoteAddr) != 0 || len(info.RemotePort) != 0 || string(info.ServerName) != path || len(info.ServerPort) != 0 {
		t.Errorf("ConnInfo = %q %q %q %q", info.RemoteAddr, info.RemotePort, info.ServerName, info.ServerPort)
	}
}

// TestServerAllocatesNothing asserts what BenchmarkGetLoopback shows: a
// keep-alive GET costs the server (parser, handler call, response writer)
// no allocation, with a body given to Write or a small one to WriteHeld.
// The count covers the whole process, client included.
func TestServerAllocatesNothing(t *testing.T) {
	if race.Enabled {
		t.Skip("the race detector changes allocation counts")
	}
	held := [][]byte{[]byte("Hello, "), []byte("World!")}
	heldText := HandlerFunc(func(w *ResponseWriter, r *Request) {
		w.WriteHeader([]byte("200 OK"), nil)
		if w.WriteHeld(held, nil) {
			panic("a small body was held")
		}
	})
	for name, handler := range map[string]Handler{"Write": textHandler("Hello, World!"), "WriteHeld": heldText} {
		t.Run(name, func(t *testing.T) { checkServerAllocatesNothing(t, handler) })
	}
}

// checkServerAllocatesNothing checks that handler's keep-alive GETs cost
// no allocation.
func checkServerAllocatesNothing(t *testing.T, handler Handler) {
	_, addr := startServer(t, handler, nil)
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	req := []byte("GET /hello?name=x HTTP/1.1\r\nHost: localhost\r\nUser-Agent: bench\r\nAccept: */*\r\n\r\n")
	c.Write(req)
	first := make([]byte, 4096)
	n, err := c.Read(first)
	if err != nil {
		t.Fatal(err)
	}
	resp := make([]byte, n)
	allocs := testing.AllocsPerRun(500, func() {
		if _, err := c.Write(req); err != nil {
			t.Fatal(err)
		}
		if _, err := io.ReadFull(c, resp); err != nil {
			t.Fatal(err)
		}
	})
	// Background runtime work (timers, the date refresh once a second)
	// may show as a fraction; a per-request allocation shows as 1 or more.
	if allocs >= 1 {
		t.Errorf("%v allocations per request", allocs)
	}
}

// TestMaxConnections checks that at MaxConnections open connections the
// server stops accepting, and that a closing connection lets the next one in.
func TestMaxConnections(t *testing.T) {
	_, addr := startServer(t, textHandler("hi"), func(s *Server) { s.MaxConnections = 2 })
	get := "GET / HTTP/1.1\r\nHost: x\r\n\r\n"
	var open []net.Conn
	for range 2 {
		nc, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer nc.Close()
		nc.SetDeadline(time.Now().Add(ioTimeout))
		io.WriteString(nc, get)
		if _, err := http.ReadResponse(bufio.NewReader(nc), nil); err != nil {
			t.Fatalf("connection %d: %v", len(open), err)
		}
		open = append(open, nc)
	}
	third, err := net.Dial("tcp", addr) // completes in the kernel's backlog
	if err != nil {
		t.Fatal(err)
	}
	defer third.Close()
	io.WriteString(third, get)
	third.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
	r := bufio.NewReader(third)
	if _, err := r.ReadByte(); err == nil {
		t.Fatal("a third connection was served over MaxConnections 2")
	}
	open[0].Close()
	third.SetReadDeadline(time.Now().Add(ioTimeout))
	resp, err := http.ReadResponse(r, nil)
	if err != nil {
		t.Fatalf("third connection after one closed: %v", err)
	}
	if got := bodyOf(resp); got != "hi" {
		t.Errorf("third connection got %q", got)
	}
}

// TestRefusedBodyResponseSurvives checks that a client still sending a
// body the server refused gets the 413, rather than a reset that discards
// it: the server must read and discard more than a small fixed amount.
func TestRefusedBodyResponseSurvives(t *testing.T) {
	_, addr := startServer(t, textHandler("hi"), func(s *Server) { s.LimitRequestBody = 1 << 20 })
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	nc.SetDeadline(time.Now().Add(ioTimeout))
	const size = 4 << 20
	sent := make(chan struct{})
	go func() {
		defer close(sent)
		io.WriteString(nc, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 4194304\r\n\r\n")
		nc.Write(make([]byte, size))
	}()
	// Read only once the whole body is sent, as a client that writes
	// before it reads does: the server must have discarded most of it.
	<-sent
	resp, err := http.ReadResponse(bufio.NewReader(nc), nil)
	if err != nil {
		t.Fatalf("reading the response: %v", err)
	}
	if resp.StatusCode != 413 {
		t.Errorf("status %d, want 413", resp.StatusCode)
	}
}

// TestSmallHeadsStayInSmallBuffer: a request head of a few hundred bytes
// (or up to 3 KiB) is served from the connection's small read buffer; only
// a larger one moves to a large buffer (before, every head did: the space
// kept after a head was the whole small buffer, so each request paid two
// copies and held 72 KiB).
func TestSmallHeadsStayInSmallBuffer(t *testing.T) {
	large := make(chan bool, 1)
	_, addr := startServer(t, HandlerFunc(func(w *ResponseWriter, r *Request) {
		large <- w.c.large
		w.WriteHeader([]byte("200 OK"), nil)
	}), nil)
	for _, c := range []struct {
		pad       int
		wantLarge bool
	}{{0, false}, {200, false}, {2800, false}, {6000, true}} {
		exchange(t, addr, "GET / HTTP/1.1\r\nHost: h\r\nX-Pad: "+strings.Repeat("p", c.pad)+"\r\nConnection: close\r\n\r\n")
		if got := <-large; got != c.wantLarge {
			t.Errorf("head with %d bytes of padding: large buffer %v, want %v", c.pad, got, c.wantLarge)
		}
	}
}
