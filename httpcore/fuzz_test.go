package httpcore

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httputil"
	"testing"
	"time"
)

// memConn is a connection whose client sent a fixed input and then
// half-closed; what the server writes is collected. It lets the fuzz and
// differential tests run a whole exchange without sockets or goroutines.
type memConn struct {
	in  *bytes.Reader
	out bytes.Buffer
}

func newMemConn(in []byte) *memConn { return &memConn{in: bytes.NewReader(in)} }

func (m *memConn) Read(p []byte) (int, error)       { return m.in.Read(p) }
func (m *memConn) Write(p []byte) (int, error)      { return m.out.Write(p) }
func (m *memConn) Close() error                     { return nil }
func (m *memConn) LocalAddr() net.Addr              { return nil }
func (m *memConn) RemoteAddr() net.Addr             { return nil }
func (m *memConn) SetDeadline(time.Time) error      { return nil }
func (m *memConn) SetReadDeadline(time.Time) error  { return nil }
func (m *memConn) SetWriteDeadline(time.Time) error { return nil }

// parsed is what the server made of one request: its head as strings,
// the body read to its end, and the error that refused the head or the
// body, if any.
type parsed struct {
	method, uri, path, query, proto string
	headers                         [][2]string
	length                          int64
	chunked                         bool
	body                            []byte
	err                             error
	rest                            int // input bytes left unread after the body
}

// readOne reads the first request of raw as a connection of s would:
// the head (with the server's limits), then the whole body.
func readOne(s *Server, raw []byte) parsed {
	s.init()
	mc := newMemConn(raw)
	c := newConn(s, mc)
	defer c.shut()
	var p parsed
	if p.err = c.readHead(); p.err != nil {
		return p
	}
	r := &c.req
	p.method, p.uri, p.path, p.query, p.proto = string(r.Method), string(r.URI), string(r.Path), string(r.Query), string(r.Proto)
	for _, h := range r.Headers {
		p.headers = append(p.headers, [2]string{string(h.Name), string(h.Value)})
	}
	p.length, p.chunked = r.ContentLength, r.Chunked
	c.body.reset(r)
	c.resp.reset()
	p.body, p.err = io.ReadAll(&c.body)
	p.rest = c.w - c.r + mc.in.Len()
	return p
}

// serialize writes the request head back in the canonical form: single
// spaces, "Name: Value" fields, CRLF line ends.
func (p *parsed) serialize() []byte {
	b := []byte(p.method + " " + p.uri + " " + p.proto + "\r\n")
	for _, h := range p.headers {
		b = append(b, h[0]+": "+h[1]+"\r\n"...)
	}
	return append(b, "\r\n"...)
}

// headOf returns p without its body and read position, for comparing heads.
func headOf(p parsed) string {
	return fmt.Sprintf("%q %q %q %q %q %q %d %v", p.method, p.uri, p.path, p.query, p.proto, p.headers, p.length, p.chunked)
}

// fuzzServer is the Server the fuzz targets run requests through.
func fuzzServer(h Handler) *Server {
	return &Server{Handler: h, ErrorLog: log.New(io.Discard, "", 0), MaxHeaderBytes: 16 << 10}
}

func FuzzParseRequest(f *testing.F) {
	for _, seed := range []string{
		"GET / HTTP/1.1\r\nHost: h\r\n\r\n",
		"GET http://h:80/p?q HTTP/1.1\r\nHost: h\r\n\r\n",
		"OPTIONS * HTTP/1.0\r\n\r\n",
		"CONNECT [::1]:443 HTTP/1.1\r\nHost: h\r\n\r\n",
		"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhelloGET /2 HTTP/1.1\r\nHost: h\r\n\r\n",
		"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n5;a=b\r\nhello\r\n0\r\nT: v\r\n\r\n",
		"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
		"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n",
		"\r\nGET / HTTP/1.1\r\nHost: h\r\nX: a\r\n b\r\n\r\n",
	} {
		f.Add([]byte(seed))
	}
	var methods []string // of the requests the handler served, in order
	handler := HandlerFunc(func(w *ResponseWriter, r *Request) {
		methods = append(methods, string(r.Method))
		b, err := io.ReadAll(r.Body)
		if err != nil {
			w.WriteHeader([]byte("400 Bad Body"), nil)
			return
		}
		if !r.Chunked && int64(len(b)) != r.ContentLength {
			panic(fmt.Sprintf("read %d body bytes of %d", len(b), r.ContentLength))
		}
		w.WriteHeader([]byte("200 OK"), nil)
		w.Write(b)
	})
	s := fuzzServer(handler)
	f.Fuzz(func(t *testing.T, data []byte) {
		// The head parser alone: an error is a protoError; an accepted head
		// serialized canonically parses to the same request.
		var r Request
		if err := parseHead(&r, data); err != nil {
			var pe *protoError
			if !errors.As(err, &pe) {
				t.Fatalf("parseHead error %T %v", err, err)
			}
		} else {
			first := readOne(s, data)
			if first.err == nil || !errors.As(first.err, new(*protoError)) {
				again := readOne(s, first.serialize())
				if again.err != nil && errors.As(again.err, new(*protoError)) {
					t.Fatalf("canonical form %q of an accepted head refused: %v", first.serialize(), again.err)
				}
				if headOf(again) != headOf(first) {
					t.Fatalf("canonical form parses differently:\n%s\n%s", headOf(first), headOf(again))
				}
			}
		}

		// The whole exchange: the server's output is a sequence of
		// well-formed responses (the handler panics, and so fails the
		// property, if a Content-Length body is read short or long).
		methods = methods[:0]
		mc := newMemConn(data)
		s.ServeConn(mc)
		br := bufio.NewReader(&mc.out)
		for i := 0; ; {
			if _, err := br.Peek(1); err == io.EOF {
				break
			}
			method := "GET" // a refusal, after the served requests
			if i < len(methods) {
				method = methods[i]
			}
			resp, err := http.ReadResponse(br, &http.Request{Method: method})
			if err != nil {
				t.Fatalf("malformed response: %v in %q", err, mc.out.String())
			}
			if _, err := io.Copy(io.Discard, resp.Body); err != nil {
				t.Fatalf("malformed response body: %v", err)
			}
			if resp.StatusCode == 500 {
				t.Fatalf("handler failed: %q", mc.out.String())
			}
			if resp.StatusCode != 100 {
				i++
			}
		}
	})
}

// chunkedHead is the head FuzzChunked puts before its input.
const chunkedHead = "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"

// refChunked decodes a chunked body with net/http's decoder and reads the
// trailer section as net/http's framing does (lines up to an empty one).
// It returns the data and how many input bytes the body took.
func refChunked(in []byte) ([]byte, int, error) {
	src := bytes.NewReader(in)
	br := bufio.NewReader(src)
	data, err := io.ReadAll(httputil.NewChunkedReader(br))
	if err != nil {
		return nil, 0, err
	}
	for {
		line, err := br.ReadSlice('\n')
		if err != nil {
			return nil, 0, err
		}
		if string(line) == "\r\n" {
			break
		}
	}
	return data, len(in) - src.Len() - br.Buffered(), nil
}

// refStricter lists net/http decoder errors on input ours accepts: it limits
// chunk sizes to 16 hex digits (ours takes any number of leading zeros),
// refuses the whitespace RFC 9112 allows before a chunk extension's ';',
// and refuses bodies with much framing and little data.
var refStricter = []string{"http chunk length too large", "invalid byte in chunk length", "too much non-data"}

func FuzzChunked(f *testing.F) {
	for _, seed := range []string{
		"5\r\nhello\r\n0\r\n\r\n",
		"5;a=\"b\\\"c\" ; d\r\nhello\r\n0\r\nX: y\r\n\r\n",
		"000a\r\n0123456789\r\n0\r\n\r\n",
		"5\r\nhello\n0\r\n\r\n",
		"ffffffffffffffff\r\n",
		"0\r\nContent-Length: 5\r\n\r\nhello",
		"3\r\nabcdef\r\n0\r\n\r\n",
	} {
		f.Add([]byte(seed))
	}
	s := fuzzServer(nil)
	f.Fuzz(func(t *testing.T, data []byte) {
		// Another request follows the body, as on a kept-alive connection.
		next := "GET / HTTP/1.1\r\nHost: h\r\n\r\n"
		raw := append(append([]byte(chunkedHead), data...), next...)
		got := readOne(s, raw)
		if got.err != nil {
			return // refusing is always allowed: ours is the stricter decoder
		}
		want, used, err := refChunked(raw[len(chunkedHead):])
		if err != nil {
			if netHTTPStricter(err) {
				return
			}
			t.Fatalf("accepted %q, which net/http refuses: %v", data, err)
		}
		if !bytes.Equal(got.body, want) {
			t.Fatalf("decoded %q, net/http %q", got.body, want)
		}
		if rest := len(raw) - len(chunkedHead) - used; got.rest != rest {
			t.Fatalf("left %d bytes unread after the body, want %d", got.rest, rest)
		}
	})
}
