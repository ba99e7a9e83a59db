package static

import (
	"bufio"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gowsgi/gowsgi/httpcore"
)

// fileTime is the modification time of every fixture file; the half second
// checks that dates compare to the second.
var fileTime = time.Date(2024, 1, 2, 3, 4, 5, 500e6, time.UTC)

// fileDate is fileTime as Last-Modified shows it.
const fileDate = "Tue, 02 Jan 2024 03:04:05 GMT"

// dataBin is the content of pub/data.bin, position-revealing.
var dataBin = func() string {
	var b strings.Builder
	for i := 0; b.Len() < 1000; i++ {
		fmt.Fprintf(&b, "%d,", i)
	}
	return b.String()[:1000]
}()

// appStub stands for the application: it records the paths it is called
// for and answers "app".
type appStub struct {
	mu    sync.Mutex
	paths []string
}

func (a *appStub) ServeHTTP(w *httpcore.ResponseWriter, r *httpcore.Request) {
	a.mu.Lock()
	a.paths = append(a.paths, string(r.Path))
	a.mu.Unlock()
	w.WriteHeader([]byte("200 OK"), nil)
	w.Write([]byte("app"))
}

// calls returns how many requests reached the application.
func (a *appStub) calls() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.paths)
}

// fixture builds a tree of files with a secret beside the served
// directory and serves it on a loopback port:
//
//	/static        -> base/pub
//	/static/inner  -> base/inner
//	/linked        -> base/publink, a symbolic link to base/pub
//
// Every other path goes to the returned application stub.
// The server and the Handler last for the test.
func fixture(t *testing.T) (addr string, app *appStub, h *Handler) {
	t.Helper()
	base := t.TempDir()
	pub, inner := filepath.Join(base, "pub"), filepath.Join(base, "inner")
	files := map[string]string{
		"secret":            "TOP SECRET\n",
		"pub/hello.txt":     "hello, world\n",
		"pub/page.html":     "<p>hi</p>\n",
		"pub/data.bin":      dataBin,
		"pub/noext":         "x",
		"pub/empty.txt":     "",
		"pub/a b.txt":       "spaced\n",
		"pub/sub/deep.css":  "p{}\n",
		"pub/noperm.txt":    "private\n",
		"inner/only.txt":    "inner\n",
		"pub/inner-not.txt": "outer\n",
	}
	for name, content := range files {
		p := filepath.Join(base, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(p, fileTime, fileTime); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Chmod(filepath.Join(pub, "noperm.txt"), 0); err != nil {
		t.Fatal(err)
	}
	links := map[string]string{
		"pub/link-in.txt":     "hello.txt",
		"pub/link-dir":        "sub",
		"pub/sub/link-up.txt": "../hello.txt",
		"pub/link-out.txt":    "../secret",
		"pub/link-abs-out":    filepath.Join(base, "secret"),
		"pub/link-abs-in.txt": filepath.Join(pub, "hello.txt"),
		"publink":             "pub",
	}
	for name, target := range links {
		if err := os.Symlink(target, filepath.Join(base, name)); err != nil {
			t.Fatal(err)
		}
	}
	if err := syscall.Mkfifo(filepath.Join(pub, "fifo"), 0o644); err != nil {
		t.Fatal(err)
	}

	h, err := New([]Mount{
		{Prefix: "/static", Dir: pub},
		{Prefix: "/static/inner", Dir: inner},
		{Prefix: "/linked", Dir: filepath.Join(base, "publink")},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	app = &appStub{}
	addr = serve(t, httpcore.HandlerFunc(func(w *httpcore.ResponseWriter, r *httpcore.Request) {
		if h.Match(r.Path) {
			h.ServeHTTP(w, r)
			return
		}
		app.ServeHTTP(w, r)
	}))
	return addr, app, h
}

// serve serves h on a loopback port for the test's duration.
func serve(t *testing.T, h httpcore.Handler) string {
	t.Helper()
	srv := &httpcore.Server{Handler: h, ErrorLog: log.New(io.Discard, "", 0)}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(l) }()
	t.Cleanup(func() {
		srv.Close()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return l.Addr().String()
}

// exchange sends raw on a new connection, half-closes it and returns what
// the server sends until it closes.
func exchange(t *testing.T, addr, raw string) string {
	t.Helper()
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	nc.SetDeadline(time.Now().Add(5 * time.Second))
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

// request builds a request for path with extra header fields
// ("Name: value" each).
func request(method, path string, fields ...string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s HTTP/1.1\r\nHost: test\r\n", method, path)
	for _, f := range fields {
		b.WriteString(f + "\r\n")
	}
	b.WriteString("\r\n")
	return b.String()
}

// response is one parsed response and its body.
type response struct {
	*http.Response
	body string
}

// parseResponses parses transcript into one response per method given,
// failing on bytes left over.
func parseResponses(t *testing.T, transcript string, methods ...string) []response {
	t.Helper()
	br := bufio.NewReader(strings.NewReader(transcript))
	var out []response
	for _, m := range methods {
		resp, err := http.ReadResponse(br, &http.Request{Method: m})
		if err != nil {
			t.Fatalf("response %d: %v in %q", len(out), err, transcript)
		}
		body, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatalf("response %d body: %v in %q", len(out), err, transcript)
		}
		out = append(out, response{resp, string(body)})
	}
	if rest, _ := io.ReadAll(br); len(rest) > 0 {
		t.Errorf("bytes after %d responses: %q", len(out), rest)
	}
	return out
}

// etagOf is the entity tag of a fixture file of size bytes.
func etagOf(size int) string {
	return fmt.Sprintf(`"%x-%x"`, fileTime.UnixNano(), size)
}

func TestNewErrors(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name    string
		mounts  []Mount
		wantErr string
	}{
		{"same prefix twice", []Mount{{"/s", dir}, {"/s/", dir}}, "two mounts"},
		{"missing directory", []Mount{{"/s", filepath.Join(dir, "missing")}}, "no such file or directory"},
		{"relative prefix", []Mount{{"s", dir}}, "does not start with '/'"},
	}
	for _, tt := range tests {
		h, err := New(tt.mounts)
		if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
			t.Errorf("%s: New = %v, %v, want an error with %q", tt.name, h, err, tt.wantErr)
		}
	}
}

// TestMatchLongestPrefix checks that Match accepts paths under any mount,
// and that of two nested mounts the longer prefix serves (see also
// TestServe for the bytes).
func TestMatchLongestPrefix(t *testing.T) {
	outer, inner := t.TempDir(), t.TempDir()
	h, err := New([]Mount{{"/s", outer}, {"/s/in", inner}})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	tests := []struct {
		path string
		dir  string // "" for no match
	}{
		{"/s/a", outer},
		{"/s/inx", outer},
		{"/s/in", inner},
		{"/s/in/a", inner},
		{"/s%2fin/a", inner},
		{"/sx", ""},
		{"/", ""},
	}
	for _, tt := range tests {
		m, _ := h.match([]byte(tt.path))
		got := ""
		if m != nil {
			got = m.root.Name()
		}
		if got != tt.dir || h.Match([]byte(tt.path)) != (tt.dir != "") {
			t.Errorf("match(%q) = %q, want %q", tt.path, got, tt.dir)
		}
	}
}

func TestMatchAllocatesNothing(t *testing.T) {
	h, err := New([]Mount{{"/static", t.TempDir()}, {"/media", t.TempDir()}})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	paths := [][]byte{[]byte("/media/a%20b.png"), []byte("/api/users?x=1")}
	allocs := testing.AllocsPerRun(100, func() {
		for _, p := range paths {
			h.Match(p)
		}
	})
	if allocs != 0 {
		t.Errorf("Match: %v allocations", allocs)
	}
}

func TestServe(t *testing.T) {
	addr, app, _ := fixture(t)
	helloTag := etagOf(len("hello, world\n"))
	tests := []struct {
		name, method, path string
		fields             []string          // request header fields
		status             int               // wanted
		body               string            // wanted
		want               map[string]string // wanted response fields
		absent             []string          // response fields that must be missing
	}{
		{name: "text file", path: "/static/hello.txt", status: 200, body: "hello, world\n",
			want: map[string]string{"Content-Type": "text/plain; charset=utf-8", "Content-Length": "13",
				"Last-Modified": fileDate, "ETag": helloTag, "Accept-Ranges": "bytes"}},
		{name: "html", path: "/static/page.html", status: 200, body: "<p>hi</p>\n",
			want: map[string]string{"Content-Type": "text/html; charset=utf-8"}},
		{name: "css in a subdirectory", path: "/static/sub/deep.css", status: 200, body: "p{}\n",
			want: map[string]string{"Content-Type": "text/css; charset=utf-8"}},
		{name: "no extension", path: "/static/noext", status: 200, body: "x",
			want: map[string]string{"Content-Type": "application/octet-stream"}},
		{name: "encoded name", path: "/static/a%20b.txt", status: 200, body: "spaced\n"},
		{name: "empty file", path: "/static/empty.txt", status: 200, body: "",
			want: map[string]string{"Content-Length": "0"}},
		{name: "binary file", path: "/static/data.bin", status: 200, body: dataBin,
			want: map[string]string{"Content-Length": "1000"}},
		{name: "HEAD", method: "HEAD", path: "/static/hello.txt", status: 200, body: "",
			want: map[string]string{"Content-Length": "13", "ETag": helloTag, "Content-Type": "text/plain; charset=utf-8"}},

		{name: "If-None-Match", path: "/static/hello.txt", fields: []string{"If-None-Match: " + helloTag},
			status: 304, want: map[string]string{"ETag": helloTag, "Last-Modified": fileDate},
			absent: []string{"Content-Length", "Content-Range"}},
		{name: "If-None-Match weak, in a list", path: "/static/hello.txt", fields: []string{`If-None-Match: "x", W/` + helloTag},
			status: 304},
		{name: "If-None-Match *", path: "/static/hello.txt", fields: []string{"If-None-Match: *"}, status: 304},
		{name: "If-None-Match HEAD", method: "HEAD", path: "/static/hello.txt", fields: []string{"If-None-Match: " + helloTag}, status: 304},
		{name: "If-None-Match other", path: "/static/hello.txt", fields: []string{`If-None-Match: "other"`},
			status: 200, body: "hello, world\n"},
		{name: "If-Modified-Since same second", path: "/static/hello.txt", fields: []string{"If-Modified-Since: " + fileDate},
			status: 304, want: map[string]string{"ETag": helloTag, "Last-Modified": fileDate}},
		{name: "If-Modified-Since earlier", path: "/static/hello.txt", fields: []string{"If-Modified-Since: Tue, 02 Jan 2024 03:04:04 GMT"},
			status: 200, body: "hello, world\n"},
		{name: "If-None-Match takes precedence", path: "/static/hello.txt",
			fields: []string{`If-None-Match: "other"`, "If-Modified-Since: " + fileDate}, status: 200, body: "hello, world\n"},

		{name: "range", path: "/static/hello.txt", fields: []string{"Range: bytes=0-4"}, status: 206, body: "hello",
			want: map[string]string{"Content-Range": "bytes 0-4/13", "Content-Length": "5", "ETag": helloTag,
				"Content-Type": "text/plain; charset=utf-8"}},
		{name: "open range", path: "/static/hello.txt", fields: []string{"Range: bytes=7-"}, status: 206, body: "world\n",
			want: map[string]string{"Content-Range": "bytes 7-12/13"}},
		{name: "suffix range", path: "/static/hello.txt", fields: []string{"Range: bytes=-6"}, status: 206, body: "world\n",
			want: map[string]string{"Content-Range": "bytes 7-12/13"}},
		{name: "range past the end is cut", path: "/static/data.bin", fields: []string{"Range: bytes=990-2000"}, status: 206,
			body: dataBin[990:], want: map[string]string{"Content-Range": "bytes 990-999/1000"}},
		{name: "range in the middle", path: "/static/data.bin", fields: []string{"Range: bytes=100-200"}, status: 206,
			body: dataBin[100:201], want: map[string]string{"Content-Range": "bytes 100-200/1000", "Content-Length": "101"}},
		{name: "unsatisfiable range", path: "/static/hello.txt", fields: []string{"Range: bytes=13-"}, status: 416,
			want: map[string]string{"Content-Range": "bytes */13", "Content-Length": "0"}},
		{name: "several ranges: whole file", path: "/static/hello.txt", fields: []string{"Range: bytes=0-1,3-4"},
			status: 200, body: "hello, world\n", absent: []string{"Content-Range"}},
		{name: "malformed range: whole file", path: "/static/hello.txt", fields: []string{"Range: bytes=4-1"},
			status: 200, body: "hello, world\n"},
		{name: "If-Range etag matches", path: "/static/hello.txt", fields: []string{"Range: bytes=0-4", "If-Range: " + helloTag},
			status: 206, body: "hello"},
		{name: "If-Range etag differs", path: "/static/hello.txt", fields: []string{"Range: bytes=0-4", `If-Range: "old"`},
			status: 200, body: "hello, world\n", absent: []string{"Content-Range"}},
		{name: "If-Range weak etag", path: "/static/hello.txt", fields: []string{"Range: bytes=0-4", "If-Range: W/" + helloTag},
			status: 200, body: "hello, world\n"},
		{name: "If-Range date matches", path: "/static/hello.txt", fields: []string{"Range: bytes=0-4", "If-Range: " + fileDate},
			status: 206, body: "hello"},
		{name: "If-Range date differs", path: "/static/hello.txt",
			fields: []string{"Range: bytes=0-4", "If-Range: Tue, 02 Jan 2024 03:04:04 GMT"}, status: 200, body: "hello, world\n"},
		{name: "HEAD ignores Range", method: "HEAD", path: "/static/hello.txt", fields: []string{"Range: bytes=0-4"},
			status: 200, want: map[string]string{"Content-Length": "13"}, absent: []string{"Content-Range"}},
		{name: "empty file ignores Range", path: "/static/empty.txt", fields: []string{"Range: bytes=-5"}, status: 200, body: ""},

		{name: "POST", method: "POST", path: "/static/hello.txt", status: 405, body: "Method Not Allowed\n",
			want: map[string]string{"Allow": "GET, HEAD"}},
		{name: "DELETE of a missing file", method: "DELETE", path: "/static/nothing", status: 405,
			want: map[string]string{"Allow": "GET, HEAD"}},

		{name: "longest prefix", path: "/static/inner/only.txt", status: 200, body: "inner\n"},
		{name: "not in the shorter mount", path: "/static/only.txt", status: 404},
		{name: "prefix-like name in the outer mount", path: "/static/inner-not.txt", status: 200, body: "outer\n"},
		{name: "mount through a symbolic link", path: "/linked/hello.txt", status: 200, body: "hello, world\n"},
		{name: "symbolic link inside", path: "/static/link-in.txt", status: 200, body: "hello, world\n",
			want: map[string]string{"Content-Type": "text/plain; charset=utf-8"}},
		{name: "through a symbolic link to a directory", path: "/static/link-dir/deep.css", status: 200, body: "p{}\n"},
		{name: "symbolic link up, staying inside", path: "/static/sub/link-up.txt", status: 200, body: "hello, world\n"},

		{name: "mount root", path: "/static", status: 404, body: "Not Found\n"},
		{name: "mount root slash", path: "/static/", status: 404},
		{name: "directory", path: "/static/sub", status: 404},
		{name: "directory slash", path: "/static/sub/", status: 404},
		{name: "file with a slash", path: "/static/hello.txt/", status: 404},
		{name: "missing file", path: "/static/missing.txt", status: 404, body: "Not Found\n",
			want: map[string]string{"Content-Type": "text/plain; charset=utf-8"}},
		{name: "below a file", path: "/static/hello.txt/x", status: 404},
		{name: "FIFO", path: "/static/fifo", status: 404},
		{name: "absolute symbolic link, even inside", path: "/static/link-abs-in.txt", status: 404},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			method := tt.method
			if method == "" {
				method = "GET"
			}
			before := app.calls()
			transcript := exchange(t, addr, request(method, tt.path, append(tt.fields, "Connection: close")...))
			resp := parseResponses(t, transcript, method)[0]
			if resp.StatusCode != tt.status {
				t.Errorf("status %d, want %d: %q", resp.StatusCode, tt.status, transcript)
			}
			if (tt.body != "" || tt.status == 200 || tt.status == 206) && resp.body != tt.body {
				t.Errorf("body %q, want %q", resp.body, tt.body)
			}
			for name, want := range tt.want {
				if got := resp.Header.Values(name); len(got) != 1 || got[0] != want {
					t.Errorf("%s: %q, want %q", name, got, want)
				}
			}
			for _, name := range tt.absent {
				if got := resp.Header.Values(name); len(got) > 0 {
					t.Errorf("%s: %q, want none", name, got)
				}
			}
			if app.calls() != before {
				t.Errorf("the application was called for %s", tt.path)
			}
		})
	}
}

func TestTraversal(t *testing.T) {
	addr, app, _ := fixture(t)
	paths := []string{
		"/static/../secret",
		"/static/%2e%2e/secret",
		"/static/%2E%2E/secret",
		"/static/%2E./secret",
		"/static/.%2e/secret",
		"/static/..%2fsecret",
		"/static/%2e%2e%2fsecret",
		"/static%2f..%2fsecret",
		"/static/a/../../secret",
		"/static/sub/../../secret",
		"/static/inner/../../secret",
		`/static/..\secret`,
		"/static/..%5csecret",
		"/static/..%5Csecret",
		"/static/hello.txt%00",
		"/static/%00/../../secret",
		"/static/link-out.txt",
		"/static/link-abs-out",
		"/linked/../secret",
		"/linked/link-out.txt",
	}
	for _, p := range paths {
		transcript := exchange(t, addr, request("GET", p, "Connection: close"))
		resp := parseResponses(t, transcript, "GET")[0]
		if resp.StatusCode != 404 || strings.Contains(transcript, "SECRET") {
			t.Errorf("GET %s: %q, want 404", p, transcript)
		}
	}
	if app.calls() != 0 {
		t.Errorf("the application was called for %q", app.paths)
	}
}

// TestUnreadable checks that a file the server may not read is 404, like a
// missing one.
func TestUnreadable(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("root reads a file of mode 0")
	}
	addr, _, _ := fixture(t)
	resp := parseResponses(t, exchange(t, addr, request("GET", "/static/noperm.txt", "Connection: close")), "GET")[0]
	if resp.StatusCode != 404 {
		t.Errorf("status %d, want 404", resp.StatusCode)
	}
}

// TestApplicationPaths checks that paths outside every mount reach the
// application, prefixes matching on a segment boundary only.
func TestApplicationPaths(t *testing.T) {
	addr, app, _ := fixture(t)
	paths := []string{"/staticx", "/staticx/hello.txt", "/Static/hello.txt", "/", "/app/static/hello.txt", "/linkedx", "*"}
	for _, p := range paths {
		method := "GET"
		if p == "*" {
			method = "OPTIONS"
		}
		resp := parseResponses(t, exchange(t, addr, request(method, p, "Connection: close")), method)[0]
		if resp.StatusCode != 200 || resp.body != "app" {
			t.Errorf("%s %s: %d %q, want the application's answer", method, p, resp.StatusCode, resp.body)
		}
	}
	if got := strings.Join(app.paths, " "); got != strings.Join(paths, " ") {
		t.Errorf("the application saw %q, want %q", app.paths, paths)
	}
}

// TestKeepAlive checks the framing of file responses: several, pipelined
// on one connection, each arrives whole and the connection stays usable.
func TestKeepAlive(t *testing.T) {
	addr, _, _ := fixture(t)
	raw := request("GET", "/static/data.bin") +
		request("GET", "/static/hello.txt", "Range: bytes=-6") +
		request("HEAD", "/static/data.bin") +
		request("GET", "/static/missing") +
		request("GET", "/static/hello.txt", "If-None-Match: *") +
		request("GET", "/static/page.html")
	resps := parseResponses(t, exchange(t, addr, raw), "GET", "GET", "HEAD", "GET", "GET", "GET")
	want := []struct {
		status int
		body   string
	}{{200, dataBin}, {206, "world\n"}, {200, ""}, {404, "Not Found\n"}, {304, ""}, {200, "<p>hi</p>\n"}}
	for i, w := range want {
		if resps[i].StatusCode != w.status || resps[i].body != w.body {
			t.Errorf("response %d: %d %q, want %d %q", i, resps[i].StatusCode, resps[i].body, w.status, w.body)
		}
		if resps[i].Close {
			t.Errorf("response %d closes the connection", i)
		}
	}
}

// TestServeUnmatched checks that the Handler, called for a path Match
// refuses, answers 404 rather than serving from some mount.
func TestServeUnmatched(t *testing.T) {
	_, _, h := fixture(t)
	addr := serve(t, h)
	for _, p := range []string{"/staticx/hello.txt", "/hello.txt", "*"} {
		method := "GET"
		if p == "*" {
			method = "OPTIONS"
		}
		resp := parseResponses(t, exchange(t, addr, request(method, p, "Connection: close")), method)[0]
		if resp.StatusCode != 404 {
			t.Errorf("%s %s: %d, want 404", method, p, resp.StatusCode)
		}
	}
}
