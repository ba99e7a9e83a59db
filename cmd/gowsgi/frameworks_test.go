package main

// The framework tests: one table of requests and expectations, run over
// HTTP through the binary against the same application written in each
// framework Debian packages (pyapps/features_*). Every app implements this
// contract:
//
//	GET  /items/{item}?q=&tag=&tag=  "item=ITEM q=Q tags=T1,T2"
//	GET  /grüße                      "grüße" (a non-ASCII route)
//	POST /form (urlencoded name, n)  "form name=NAME n=N"
//	POST /upload (multipart title, file)
//	                                 "upload title=T filename=F size=N sha256=HEX"
//	POST /json                       {"received": BODY}
//	GET  /session/set?v=V            "set", storing V in the framework's session
//	GET  /session/get                "session v=V plain=COOKIE" (the plain cookie)
//	GET  /redirect                   302 to /items/7
//	GET  /stream                     "chunk 0\n" … "chunk 4\n", streamed (chunked)
//	GET  /error                      raises; the framework's 500 handler
//	                                 answers "error handled by FRAMEWORK"
//	anything else                    the framework's 404

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"mime/multipart"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// frameworkApps are the specs of the features apps, one per framework.
var frameworkApps = []struct{ name, spec string }{
	{"flask", "features_flask:app"},
	{"django", "features_django:app"},
	{"pyramid", "features_pyramid:app"},
	{"falcon", "features_falcon:app"},
	{"bottle", "features_bottle:app"},
}

// frameworkRequest is one row of the table: a request, and what the
// response must be. Body and Contains may hold FRAMEWORK, replaced by the
// framework's name.
type frameworkRequest struct {
	name        string
	method      string
	path        string
	contentType string
	body        func() []byte
	cookie      string // a Cookie header sent with the session jar's

	status   int
	want     string // the whole body, if set
	contains string // a part of the body, if set
	wantJSON any    // the body as JSON, if set
	location string // the Location header's path, if set
	chunked  bool   // the response is streamed with chunked framing
}

// uploadSize is the size of the multipart POST's file.
const uploadSize = 5 << 20

// multipartUpload is a multipart/form-data body with a text field and a
// uploadSize file of random bytes; it returns the body, its Content-Type and
// the file's SHA-256.
func multipartUpload() (body []byte, contentType, sum string) {
	data := make([]byte, uploadSize)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range data {
		data[i] = byte(rng.Uint32())
	}
	var b bytes.Buffer
	w := multipart.NewWriter(&b)
	w.WriteField("title", "big")
	f, _ := w.CreateFormFile("file", "big.bin")
	f.Write(data)
	w.Close()
	h := sha256.Sum256(data)
	return b.Bytes(), w.FormDataContentType(), hex.EncodeToString(h[:])
}

func frameworkTable() []frameworkRequest {
	upload, uploadType, uploadSum := multipartUpload()
	bytesOf := func(s string) func() []byte { return func() []byte { return []byte(s) } }
	return []frameworkRequest{
		{name: "path parameter and query string", method: "GET", path: "/items/42?q=hello%20world&tag=a&tag=b",
			status: 200, want: "item=42 q=hello world tags=a,b"},
		{name: "non-ASCII path parameter", method: "GET", path: "/items/caf%C3%A9",
			status: 200, want: "item=café q= tags="},
		{name: "non-ASCII route", method: "GET", path: "/gr%C3%BC%C3%9Fe", status: 200, want: "grüße"},
		{name: "urlencoded form POST", method: "POST", path: "/form",
			contentType: "application/x-www-form-urlencoded", body: bytesOf("name=Zo%C3%AB&n=3"),
			status: 200, want: "form name=Zoë n=3"},
		{name: "multipart POST of 5 MB", method: "POST", path: "/upload",
			contentType: uploadType, body: func() []byte { return upload },
			status: 200, want: fmt.Sprintf("upload title=big filename=big.bin size=%d sha256=%s", uploadSize, uploadSum)},
		{name: "JSON body", method: "POST", path: "/json",
			contentType: "application/json", body: bytesOf(`{"a": 1, "b": ["ü", null]}`),
			status: 200, wantJSON: map[string]any{"received": map[string]any{"a": 1.0, "b": []any{"ü", nil}}}},
		{name: "session set", method: "GET", path: "/session/set?v=abc", status: 200, want: "set"},
		{name: "session and cookie read back", method: "GET", path: "/session/get", cookie: "plain=choc",
			status: 200, want: "session v=abc plain=choc"},
		{name: "redirect", method: "GET", path: "/redirect", status: 302, location: "/items/7"},
		{name: "streamed response", method: "GET", path: "/stream",
			status: 200, want: "chunk 0\nchunk 1\nchunk 2\nchunk 3\nchunk 4\n", chunked: true},
		{name: "404 from the framework", method: "GET", path: "/no/such/page", status: 404},
		{name: "500 from the framework's handler", method: "GET", path: "/error",
			status: 500, contains: "error handled by FRAMEWORK"},
	}
}

func TestFrameworks(t *testing.T) {
	table := frameworkTable()
	for _, fw := range frameworkApps {
		t.Run(fw.name, func(t *testing.T) {
			s := startServer(t, fw.spec, "--chdir", "../../pyapps")
			jar, _ := cookiejar.New(nil)
			c := &http.Client{
				Timeout:       20 * time.Second,
				Jar:           jar,
				Transport:     &http.Transport{DisableKeepAlives: true},
				CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
			}
			// rows run in order: the session is set before it is read
			for _, tt := range table {
				t.Run(tt.name, func(t *testing.T) { tt.check(t, c, s, fw.name) })
			}
		})
	}
}

// check sends the row's request and compares the response.
func (tt frameworkRequest) check(t *testing.T, c *http.Client, s *server, framework string) {
	t.Helper()
	var body io.Reader
	if tt.body != nil {
		body = bytes.NewReader(tt.body())
	}
	req, err := http.NewRequest(tt.method, "http://"+s.addr+tt.path, body)
	if err != nil {
		t.Fatal(err)
	}
	if tt.contentType != "" {
		req.Header.Set("Content-Type", tt.contentType)
	}
	if tt.cookie != "" {
		req.Header.Set("Cookie", tt.cookie)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", tt.method, tt.path, err)
	}
	defer resp.Body.Close()
	got, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("reading the body: %v", err)
	}
	if resp.StatusCode != tt.status {
		t.Fatalf("status %d, want %d; body %.300q", resp.StatusCode, tt.status, got)
	}
	fill := func(s string) string { return strings.ReplaceAll(s, "FRAMEWORK", framework) }
	if tt.want != "" && string(got) != fill(tt.want) {
		t.Errorf("body %.300q, want %q", got, fill(tt.want))
	}
	if tt.contains != "" && !strings.Contains(string(got), fill(tt.contains)) {
		t.Errorf("body %.300q does not contain %q", got, fill(tt.contains))
	}
	if tt.wantJSON != nil {
		var v any
		if err := json.Unmarshal(got, &v); err != nil || !reflect.DeepEqual(v, tt.wantJSON) {
			t.Errorf("JSON body %q (%v), want %v", got, err, tt.wantJSON)
		}
		if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
			t.Errorf("Content-Type %q, want application/json", ct)
		}
	}
	if tt.location != "" {
		loc, err := url.Parse(resp.Header.Get("Location"))
		if err != nil || loc.Path != tt.location {
			t.Errorf("Location %q, want a URL with path %q", resp.Header.Get("Location"), tt.location)
		}
	}
	if tt.chunked && (len(resp.TransferEncoding) != 1 || resp.TransferEncoding[0] != "chunked") {
		t.Errorf("Transfer-Encoding %v, want chunked (a streamed response)", resp.TransferEncoding)
	}
}

// TestFlaskSendFileAndStreamWithContext: send_file goes out through
// wsgi.file_wrapper, and stream_with_context keeps the request context
// while the response streams.
func TestFlaskSendFileAndStreamWithContext(t *testing.T) {
	s := startServer(t, "features_flask:app", "--chdir", "../../pyapps")
	want, err := os.ReadFile(filepath.Join("..", "..", "pyapps", "hello.py"))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := client.Get("http://" + s.addr + "/file")
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !bytes.Equal(got, want) || resp.ContentLength != int64(len(want)) {
		t.Errorf("GET /file: %d, Content-Length %d, body %q; want the %d bytes of hello.py",
			resp.StatusCode, resp.ContentLength, got, len(want))
	}
	if code, body := s.get(t, "/stream-ctx?name=z%C3%B6e"); code != 200 || body != "hello zöe\n" {
		t.Errorf("GET /stream-ctx = %d %q", code, body)
	}
}
