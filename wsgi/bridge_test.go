package wsgi

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/gowsgi/gowsgi/internal/syncbuf"
)

// The tests share one interpreter and one app (testdata/bridgeapp.py),
// started on the main thread as a worker does.
var (
	testApp *App
	errLog  syncbuf.Buffer
)

func init() { runtime.LockOSThread() }

func TestMain(m *testing.M) {
	var err error
	testApp, err = Start(Config{
		Spec:           "bridgeapp:app",
		PythonPath:     []string{"testdata"},
		Threads:        2,
		ServerSoftware: "gowsgi/test",
		ErrorLog:       log.New(&errLog, "", 0),
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, "cannot start the test app:", err)
		os.Exit(1)
	}
	code := m.Run()
	if err := testApp.Close(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		code = 1
	}
	os.Exit(code)
}

// recorder is a ResponseSink that keeps what it is given.
type recorder struct {
	status   string
	headers  []string // "Name: value"
	heads    int
	body     bytes.Buffer
	flushes  int
	aborted  bool
	sent     bool
	failFrom int // fail writes once the body has this many bytes; 0: never
	files    int // SendFile calls
	finished bool

	keep    bool     // WriteHeld keeps the chunks instead of copying them
	held    [][]byte // what WriteHeld kept
	release interface{ Release() }
}

func (r *recorder) WriteHeader(status []byte, headers []Header) {
	r.heads++
	r.status = string(status)
	r.headers = r.headers[:0]
	for _, h := range headers {
		r.headers = append(r.headers, string(h.Name)+": "+string(h.Value))
	}
}

func (r *recorder) Write(p []byte) (int, error) {
	if r.failFrom > 0 && r.body.Len() >= r.failFrom {
		return 0, io.ErrClosedPipe
	}
	return r.body.Write(p)
}

func (r *recorder) Flush() error {
	r.flushes++
	r.sent = true
	if r.failFrom > 0 && r.body.Len() >= r.failFrom {
		return io.ErrClosedPipe
	}
	return nil
}
func (r *recorder) HeadSent() bool { return r.sent }

// SendFile records the file's bytes as body, and that it came as a file.
func (r *recorder) SendFile(f *os.File, offset, n int64) error {
	r.files++
	r.sent = true
	_, err := io.Copy(&r.body, io.NewSectionReader(f, offset, n))
	return err
}
func (r *recorder) Abort() { r.aborted = true }

func (r *recorder) FinishNow() { r.finished = true }

// WriteHeld copies the chunks into the body, or with keep set keeps them
// (and release) for the test to check and release later.
func (r *recorder) WriteHeld(chunks [][]byte, release interface{ Release() }) bool {
	if !r.keep {
		for _, c := range chunks {
			r.Write(c)
		}
		return false
	}
	r.held, r.release = append([][]byte(nil), chunks...), release
	return true
}

// chunky hands out its data a few bytes per Read, as a chunked body may.
type chunky struct {
	data []byte
	n    int
}

func (c *chunky) Read(p []byte) (int, error) {
	if len(c.data) == 0 {
		return 0, io.EOF
	}
	n := min(c.n, len(p), len(c.data))
	copy(p, c.data[:n])
	c.data = c.data[n:]
	return n, nil
}

func get(path, query string) *Request {
	return &Request{
		Method: []byte("GET"), URI: []byte(path), Path: []byte(path), Query: []byte(query),
		Proto: []byte("HTTP/1.1"), Scheme: "http",
		Headers:    []Header{{Name: []byte("Host"), Value: []byte("example.test")}},
		Body:       bytes.NewReader(nil),
		RemoteAddr: []byte("127.0.0.1"), RemotePort: []byte("5555"),
		ServerName: []byte("127.0.0.1"), ServerPort: []byte("8000"),
		ContentLength: 0,
	}
}

func post(path, query, body string, chunked bool) *Request {
	r := get(path, query)
	r.Method = []byte("POST")
	if chunked {
		r.ContentLength = -1
		r.Body = &chunky{data: []byte(body), n: 5}
	} else {
		r.ContentLength = int64(len(body))
		r.Body = strings.NewReader(body)
	}
	return r
}

func serve(t *testing.T, r *Request) *recorder {
	t.Helper()
	rec := &recorder{}
	testApp.Serve(r, rec)
	return rec
}

func TestEnviron(t *testing.T) {
	r := get("/environ", "a=1&b=%20")
	r.Headers = append(r.Headers,
		Header{Name: []byte("X-Custom-Thing"), Value: []byte("v1")},
		Header{Name: []byte("x-custom-thing"), Value: []byte("v2")},
		Header{Name: []byte("Accept"), Value: []byte("text/html")},
		Header{Name: []byte("X_Foo"), Value: []byte("smuggled")},
		Header{Name: []byte("Content-Type"), Value: []byte("text/plain")},
	)
	rec := serve(t, r)
	if rec.status != "200 OK" {
		t.Fatalf("status %q, body %s", rec.status, rec.body.String())
	}
	var env map[string]any
	if err := json.Unmarshal(rec.body.Bytes(), &env); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"REQUEST_METHOD": "GET", "SCRIPT_NAME": "", "PATH_INFO": "/environ", "QUERY_STRING": "a=1&b=%20",
		"SERVER_NAME": "127.0.0.1", "SERVER_PORT": "8000", "SERVER_PROTOCOL": "HTTP/1.1",
		"REMOTE_ADDR": "127.0.0.1", "REMOTE_PORT": "5555", "RAW_URI": "/environ",
		"wsgi.url_scheme": "http", "wsgi.multithread": true, "wsgi.multiprocess": false,
		"wsgi.run_once": false, "wsgi.input_terminated": true, "HTTP_HOST": "example.test",
		"HTTP_X_CUSTOM_THING": "v1,v2", "HTTP_ACCEPT": "text/html", "CONTENT_TYPE": "text/plain",
		"has_errors_write": true,
	}
	for k, v := range want {
		if env[k] != v {
			t.Errorf("%s = %#v, want %#v", k, env[k], v)
		}
	}
	if _, ok := env["HTTP_X_FOO"]; ok {
		t.Errorf("a header with an underscore reached the environ")
	}
	if v := fmt.Sprint(env["wsgi.version"]); v != "[1 0]" {
		t.Errorf("wsgi.version = %s", v)
	}
	for k, typ := range env["types"].(map[string]any) {
		if typ != "str" {
			t.Errorf("environ[%s] is %s, want str", k, typ)
		}
	}
}

func TestPathInfoIsDecodedLatin1(t *testing.T) {
	r := get("/latin1/caf%C3%A9%2Fx%zz", "")
	rec := serve(t, r)
	if got, want := rec.body.String(), "/latin1/caf\xc3\xa9/x%zz"; got != want {
		t.Errorf("PATH_INFO bytes %q, want %q", got, want)
	}
	if want := "X-Name: caf\xe9"; !contains(rec.headers, want) {
		t.Errorf("headers %q lack latin-1 %q", rec.headers, want)
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func TestInput(t *testing.T) {
	body := "line one\nline two\n\nlast line without newline"
	lines := `["line one\n", "line two\n", "\n", "last line without newline"]`
	tests := []struct {
		name, path, query string
		want              string
	}{
		{"read all", "/echo", "", body},
		{"read(7)", "/read", "7", `["line on", "e\nline ", "two\n\nla", "st line", " withou", "t newli", "ne"]`},
		{"read(1000)", "/read", "1000", `["line one\nline two\n\nlast line without newline"]`},
		{"readline()", "/readline", "", lines},
		{"readline(4)", "/readline", "4", `["line", " one", "\n", "line", " two", "\n", "\n", "last", " lin", "e wi", "thou", "t ne", "wlin", "e"]`},
		{"readlines()", "/readlines", "", lines},
		{"iteration", "/iter", "", lines},
	}
	for _, tt := range tests {
		for _, chunked := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/chunked=%v", tt.name, chunked), func(t *testing.T) {
				rec := serve(t, post(tt.path, tt.query, body, chunked))
				got := rec.body.String()
				if strings.HasPrefix(tt.want, "[") {
					var a, b any
					json.Unmarshal([]byte(tt.want), &a)
					json.Unmarshal([]byte(got), &b)
					if fmt.Sprint(a) != fmt.Sprint(b) {
						t.Errorf("got %s\nwant %s", got, tt.want)
					}
				} else if got != tt.want {
					t.Errorf("got %q, want %q", got, tt.want)
				}
			})
		}
	}
}

func TestInputNeverReadsPastBody(t *testing.T) {
	// The reader holds more than the declared length, as a connection
	// holding a pipelined request would.
	r := post("/echo", "", "", false)
	rest := strings.NewReader("hello" + "GET /next HTTP/1.1\r\n")
	r.Body = io.LimitReader(rest, 5)
	r.ContentLength = 5
	rec := serve(t, r)
	if rec.body.String() != "hello" || rest.Len() != len("GET /next HTTP/1.1\r\n") {
		t.Errorf("body %q, %d bytes left of the next request", rec.body.String(), rest.Len())
	}
}

func TestResponses(t *testing.T) {
	tests := []struct {
		path, query string
		status      string
		body        string
		minFlushes  int
		aborted     bool
		logged      string
	}{
		{"/stream", "", "200 OK", "chunk0\nchunk1\nchunk2\n", 3, false, ""},
		{"/generator", "", "200 OK", "chunk0\nchunk1\nchunk2\n", 3, false, ""},
		{"/write", "", "200 OK", "written returned", 1, false, ""},
		{"/declared", "", "200 OK", "hello", 0, false, ""},
		{"/raise", "", "500 Internal Server Error", "Internal Server Error\n", 0, false, "boom from the app"},
		{"/raise-after", "", "200 OK", "first", 1, true, "boom mid-stream"},
		{"/bad-status", "", "500 Internal Server Error", "Internal Server Error\n", 0, false, "status must look like"},
		{"/header-injection", "", "500 Internal Server Error", "Internal Server Error\n", 0, false, "not allowed in HTTP"},
		{"/no-start", "", "500 Internal Server Error", "Internal Server Error\n", 0, false, "did not call start_response"},
		{"/non-bytes", "", "500 Internal Server Error", "Internal Server Error\n", 0, false, "must yield bytes, not str"},
		{"/exc-info", "", "503 Unavailable", "recovered", 0, false, ""},
		{"/twice", "", "500 Internal Server Error", "Internal Server Error\n", 0, false, "second time"},
		{"/exc-info-late", "", "200 OK", "head is out", 1, true, "KeyError: 'too late'"},
		{"/hop-by-hop", "Keep-Alive", "500 Internal Server Error", "Internal Server Error\n", 0, false, "hop-by-hop header 'Keep-Alive' is not allowed"},
		{"/hop-by-hop", "Transfer-Encoding", "500 Internal Server Error", "Internal Server Error\n", 0, false, "hop-by-hop header 'Transfer-Encoding' is not allowed"},
		{"/hop-by-hop", "connection", "200 OK", "sent", 0, false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.path+"?"+tt.query, func(t *testing.T) {
			rec := serve(t, get(tt.path, tt.query))
			if rec.status != tt.status || rec.body.String() != tt.body {
				t.Errorf("got %q %q, want %q %q", rec.status, rec.body.String(), tt.status, tt.body)
			}
			if rec.heads != 1 {
				t.Errorf("WriteHeader called %d times", rec.heads)
			}
			if rec.flushes < tt.minFlushes || rec.aborted != tt.aborted {
				t.Errorf("flushes %d aborted %v, want >= %d and %v", rec.flushes, rec.aborted, tt.minFlushes, tt.aborted)
			}
			if tt.logged != "" && !strings.Contains(errLog.String(), tt.logged) {
				t.Errorf("error log lacks %q:\n%s", tt.logged, errLog.String())
			}
		})
	}
}

func closeCount(t *testing.T) int {
	var n int
	fmt.Sscan(serve(t, get("/close-count", "")).body.String(), &n)
	return n
}

func TestCloseIsAlwaysCalled(t *testing.T) {
	before := closeCount(t)
	serve(t, get("/closing", ""))     // normal end
	serve(t, get("/closing", "fail")) // iteration raised
	gone := &recorder{failFrom: 1}
	testApp.Serve(get("/closing", ""), gone) // client gone after the first chunk
	if got := closeCount(t) - before; got != 3 {
		t.Errorf("close() called %d times for 3 responses", got)
	}
}

func TestErrorsStream(t *testing.T) {
	// wsgi.errors writes to the process's standard error; the test checks
	// only that it accepts what PEP 3333 promises.
	if rec := serve(t, get("/errors", "")); rec.body.String() != "ok" {
		t.Errorf("wsgi.errors use failed: %q %s", rec.body.String(), errLog.String())
	}
}

func TestConcurrentRequests(t *testing.T) {
	var wg sync.WaitGroup
	for i := range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			body := strings.Repeat(fmt.Sprint(i), 1000)
			rec := &recorder{}
			testApp.Serve(post("/echo", "", body, i%2 == 0), rec)
			if rec.body.String() != body {
				t.Errorf("request %d: body mixed up", i)
			}
		}()
	}
	wg.Wait()
}

func TestFileWrapper(t *testing.T) {
	data := make([]byte, 100_000)
	for i := range data {
		data[i] = byte(i * 7)
	}
	path := filepath.Join(t.TempDir(), "data.bin")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		query string
		want  []byte
	}{
		{"whole file", path, data},
		{"declared shorter", path + ",1000", data[:1000]},
		{"from an offset", path + ",,500", data[500:]},
		{"offset and declared", path + ",100,500", data[500:600]},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := closeCount(t)
			rec := serve(t, get("/file", tt.query))
			if rec.status != "200 OK" || !bytes.Equal(rec.body.Bytes(), tt.want) {
				t.Fatalf("status %q, %d bytes, want %d; log:\n%s", rec.status, rec.body.Len(), len(tt.want), errLog.String())
			}
			if rec.files != 1 {
				t.Errorf("SendFile called %d times, want 1 (sendfile path)", rec.files)
			}
			if got := closeCount(t) - before; got != 1 {
				t.Errorf("the file's close() called %d times", got)
			}
		})
	}
	t.Run("file-like without fileno", func(t *testing.T) {
		rec := serve(t, get("/filelike", ""))
		if want := strings.Repeat("from a BytesIO ", 1000); rec.body.String() != want || rec.files != 0 {
			t.Errorf("%d bytes via %d files", rec.body.Len(), rec.files)
		}
	})
}

// TestHeldBodyOutlivesItsCall: a whole response the sink keeps by
// reference stays intact while the executor serves other requests (whose
// objects would reuse its memory were it freed), until the sink releases
// it; the next call then drops it.
func TestHeldBodyOutlivesItsCall(t *testing.T) {
	want := func(seed string) []byte {
		var b []byte
		for i := range 3 {
			b = append(b, byte(i))
			b = append(b, strings.Repeat(seed, 50000)...)
		}
		return b
	}
	kept := &recorder{keep: true}
	testApp.Serve(get("/whole", "kept"), kept)
	if kept.status != "200 OK" || kept.release == nil {
		t.Fatalf("status %q, released %v: the body was not handed over by reference", kept.status, kept.release)
	}
	for i := range 20 {
		seed := fmt.Sprintf("other%d", i)
		if rec := serve(t, get("/whole", seed)); !bytes.Equal(rec.body.Bytes(), want(seed)) {
			t.Fatalf("copied body %d differs", i)
		}
	}
	if got := bytes.Join(kept.held, nil); !bytes.Equal(got, want("kept")) {
		t.Fatalf("the kept body changed while other requests ran (%d bytes)", len(got))
	}
	kept.release.Release()
	if testApp.nreleased.Load() == 0 {
		t.Fatal("Release queued nothing")
	}
	serve(t, get("/whole", "after"))
	serve(t, get("/whole", "after")) // with 2 executors, one of them drops it
	if n := testApp.nreleased.Load(); n != 0 {
		t.Errorf("%d released sets not dropped by the next calls", n)
	}
}
