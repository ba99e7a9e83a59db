package httpcore

import (
	"bytes"
	"io"
	"log"
	"net"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

// tempFile writes data to a file that is removed with the test.
func tempFile(t testing.TB, data []byte) *os.File {
	t.Helper()
	f, err := os.CreateTemp(t.TempDir(), "body")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write(data); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

// fileData is 8 MiB of a repeating, position-revealing pattern.
var fileData = func() []byte {
	var b bytes.Buffer
	for i := 0; b.Len() < 8<<20; i++ {
		b.WriteString(strconv.Itoa(i))
		b.WriteByte(' ')
	}
	return b.Bytes()[:8<<20]
}()

func TestSendFile(t *testing.T) {
	f := tempFile(t, fileData)
	mid := fileData[1000 : 1000+5<<20]
	tests := []struct {
		name, method, proto string
		handler             func(w *ResponseWriter) error
		wantHead            string // fields of the head that must be present
		wantBody            []byte
		wantErr             error
		close               bool
	}{
		{name: "whole file gets Content-Length",
			handler: func(w *ResponseWriter) error {
				w.WriteHeader([]byte("200 OK"), nil)
				return w.SendFile(f, 0, int64(len(fileData)))
			},
			wantHead: "Content-Length: 8388608\r\n", wantBody: fileData},
		{name: "range from an offset",
			handler: func(w *ResponseWriter) error {
				w.WriteHeader([]byte("200 OK"), nil)
				return w.SendFile(f, 1000, 5<<20)
			},
			wantHead: "Content-Length: 5242880\r\n", wantBody: mid},
		{name: "after buffered bytes, chunked",
			handler: func(w *ResponseWriter) error {
				w.WriteHeader([]byte("200 OK"), nil)
				w.Write([]byte("head:"))
				return w.SendFile(f, 1000, 5<<20)
			},
			wantHead: "Transfer-Encoding: chunked\r\n", wantBody: append([]byte("head:"), mid...)},
		{name: "after Flush, twice, chunked",
			handler: func(w *ResponseWriter) error {
				w.WriteHeader([]byte("200 OK"), nil)
				w.Flush()
				w.SendFile(f, 0, 10)
				w.Write([]byte("|"))
				return w.SendFile(f, 1000, 5<<20)
			},
			wantHead: "Transfer-Encoding: chunked\r\n", wantBody: append(append(append([]byte{}, fileData[:10]...), '|'), mid...)},
		{name: "HTTP/1.0 after buffered bytes is close-delimited", proto: "HTTP/1.0",
			handler: func(w *ResponseWriter) error {
				w.WriteHeader([]byte("200 OK"), nil)
				w.Write([]byte("head:"))
				return w.SendFile(f, 1000, 5<<20)
			},
			wantHead: "Connection: close\r\n", wantBody: append([]byte("head:"), mid...), close: true},
		{name: "handler Content-Length honoured",
			handler: func(w *ResponseWriter) error {
				w.WriteHeader([]byte("200 OK"), h("Content-Length", "15"))
				w.Write([]byte("head:"))
				return w.SendFile(f, 0, 1000)
			},
			wantHead: "Content-Length: 15\r\n", wantBody: append([]byte("head:"), fileData[:10]...), close: true},
		{name: "HEAD sends no body",
			method: "HEAD",
			handler: func(w *ResponseWriter) error {
				w.WriteHeader([]byte("200 OK"), nil)
				return w.SendFile(f, 0, 1234)
			},
			wantHead: "Content-Length: 1234\r\n"},
		{name: "file shorter than the range",
			handler: func(w *ResponseWriter) error {
				w.WriteHeader([]byte("200 OK"), nil)
				return w.SendFile(f, int64(len(fileData))-5, 10)
			},
			wantHead: "Content-Length: 10\r\n", wantBody: fileData[len(fileData)-5:], wantErr: io.ErrUnexpectedEOF, close: true},
		{name: "negative count",
			handler: func(w *ResponseWriter) error {
				w.WriteHeader([]byte("200 OK"), nil)
				return w.SendFile(f, 0, -1)
			},
			wantHead: "Content-Length: 0\r\n", wantErr: errSendFileRange},
		{name: "before WriteHeader",
			handler: func(w *ResponseWriter) error {
				err := w.SendFile(f, 0, 1)
				w.WriteHeader([]byte("204 No Content"), nil)
				return err
			},
			wantErr: ErrNoHeader},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			errc := make(chan error, 1)
			handler := HandlerFunc(func(w *ResponseWriter, r *Request) {
				if string(r.Path) == "/next" {
					w.WriteHeader([]byte("200 OK"), nil)
					return
				}
				errc <- tt.handler(w)
			})
			_, addr := startServer(t, handler, nil)
			method, proto := tt.method, tt.proto
			if method == "" {
				method = "GET"
			}
			if proto == "" {
				proto = "HTTP/1.1"
			}
			got := exchange(t, addr, method+" / "+proto+"\r\nHost: h\r\n\r\nGET /next HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n")
			if err := <-errc; err != tt.wantErr {
				t.Errorf("SendFile = %v, want %v", err, tt.wantErr)
			}
			end := strings.Index(got, "\r\n\r\n") + 4
			if head := got[:end]; !strings.Contains(head, tt.wantHead) {
				t.Fatalf("head %q lacks %q", head, tt.wantHead)
			}
			body := got[end:]
			next := strings.LastIndex(body, "HTTP/1.1 ")
			if next >= 0 && tt.close {
				t.Errorf("second response after a response that closes")
			}
			if next >= 0 {
				body = body[:next]
			}
			if strings.Contains(got[:end], "chunked") {
				resp := readResponses(t, got[:end]+body, method)[0]
				body = bodyOf(resp)
			}
			if body != string(tt.wantBody) {
				t.Errorf("body of %d bytes, want %d (starts %.40q)", len(body), len(tt.wantBody), body)
			}
		})
	}
}

func TestSendFileToGoneClient(t *testing.T) {
	f := tempFile(t, fileData)
	errc := make(chan error, 1)
	handler := HandlerFunc(func(w *ResponseWriter, r *Request) {
		w.WriteHeader([]byte("200 OK"), nil)
		var err error
		for i := 0; i < 100 && err == nil; i++ {
			err = w.SendFile(f, 0, int64(len(fileData)))
		}
		errc <- err
	})
	_, addr := startServer(t, handler, func(s *Server) { s.ErrorLog = log.New(io.Discard, "", 0) })
	if err := dialAndClose(addr, "GET / HTTP/1.1\r\nHost: h\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	if err := <-errc; err == nil {
		t.Errorf("800 MB sent to a closed connection without an error")
	}
}

func TestSendFileUnixSocket(t *testing.T) {
	f := tempFile(t, fileData)
	path := t.TempDir() + "/s.sock"
	l, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	s := &Server{Handler: HandlerFunc(func(w *ResponseWriter, r *Request) {
		w.WriteHeader([]byte("200 OK"), nil)
		w.SendFile(f, 0, int64(len(fileData)))
	})}
	done := make(chan error, 1)
	go func() { done <- s.Serve(l) }()
	defer func() { s.Close(); <-done }()
	nc, err := net.Dial("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	nc.SetDeadline(time.Now().Add(ioTimeout))
	io.WriteString(nc, "GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n")
	got, err := io.ReadAll(nc)
	if err != nil {
		t.Fatal(err)
	}
	if resp := readResponses(t, string(got), "GET")[0]; bodyOf(resp) != string(fileData) {
		t.Errorf("body differs from the file")
	}
}

// BenchmarkSendFile's allocations per operation show that the bytes do not
// pass through a user-space buffer (io.Copy's fallback allocates 32 KiB).
func BenchmarkSendFile(b *testing.B) {
	data := fileData[:1<<20]
	f := tempFile(b, data)
	_, addr := startServer(b, HandlerFunc(func(w *ResponseWriter, r *Request) {
		w.WriteHeader([]byte("200 OK"), nil)
		w.SendFile(f, 0, int64(len(data)))
	}), nil)
	c, err := net.Dial("tcp", addr)
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	req := []byte("GET / HTTP/1.1\r\nHost: h\r\n\r\n")
	c.Write(req)
	buf := make([]byte, 2<<20)
	n, err := io.ReadAtLeast(c, buf, len(data))
	if err != nil {
		b.Fatal(err)
	}
	resp := buf[:n]
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		c.Write(req)
		if _, err := io.ReadFull(c, resp); err != nil {
			b.Fatal(err)
		}
	}
}
