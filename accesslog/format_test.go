package accesslog

import (
	"encoding/base64"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

// testEntry is the request most tests log.
func testEntry() *Entry {
	h := func(name, value string) Header { return Header{Name: []byte(name), Value: []byte(value)} }
	return &Entry{
		Start:      time.Date(2000, 10, 10, 13, 55, 36, 123456789, time.FixedZone("", -7*3600)),
		Duration:   1234567 * time.Microsecond,
		RemoteAddr: []byte("192.0.2.7"),
		Method:     []byte("GET"),
		URI:        []byte("/a/b?x=1&y=2"),
		Path:       []byte("/a/b"),
		Query:      []byte("x=1&y=2"),
		Proto:      []byte("HTTP/1.1"),
		Status:     200,
		Bytes:      1234,
		ReqHeaders: []Header{
			h("Host", "example.com"),
			h("Referer", "https://example.com/"),
			h("User-Agent", "curl/8.0"),
			h("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte("alice:secret"))),
			h("X-Forwarded-For", "203.0.113.9"),
			h("X-Dup", "first"),
			h("x-dup", "last"),
			h("X-Empty", ""),
		},
		RespHeaders: []Header{
			h("Content-Type", "text/plain"),
			h("X-Request-Id", "abc123"),
		},
	}
}

// renderText compiles format and renders e with it, as the writer would.
func renderText(t *testing.T, format string, e *Entry) string {
	t.Helper()
	ops, p, err := compile(format)
	if err != nil {
		t.Fatalf("compile(%q): %v", format, err)
	}
	r := newRecord(p.slots())
	r.fill(e, &p)
	return string((&textRenderer{ops: ops}).appendLine(nil, r))
}

func TestTextFormat(t *testing.T) {
	t.Setenv("GOWSGI_ACCESSLOG_TEST", `v"1`)
	pid := "<" + strconv.Itoa(os.Getpid()) + ">"
	auth := func(v string) func(*Entry) {
		return func(e *Entry) { e.ReqHeaders[3].Value = []byte(v) }
	}
	tests := []struct {
		name   string
		format string
		change func(*Entry)
		want   string
	}{
		{"default", DefaultFormat, nil,
			`192.0.2.7 - alice [10/Oct/2000:13:55:36 -0700] "GET /a/b?x=1&y=2 HTTP/1.1" 200 1234 "https://example.com/" "curl/8.0"`},
		{"h", "%(h)s", nil, "192.0.2.7"},
		{"h unix socket", "%(h)s", func(e *Entry) { e.RemoteAddr = nil }, "-"},
		{"l", "%(l)s", nil, "-"},
		{"u", "%(u)s", nil, "alice"},
		{"u no auth", "%(u)s", func(e *Entry) { e.ReqHeaders = e.ReqHeaders[:3] }, "-"},
		{"u bearer", "%(u)s", auth("Bearer abc"), "-"},
		{"u bad base64", "%(u)s", auth("Basic !!!"), "-"},
		{"u no colon", "%(u)s", auth("Basic " + base64.StdEncoding.EncodeToString([]byte("alice"))), "-"},
		{"u empty name", "%(u)s", auth("Basic " + base64.StdEncoding.EncodeToString([]byte(":pw"))), "-"},
		{"u scheme case, spaces", "%(u)s", auth("bAsIc   " + base64.StdEncoding.EncodeToString([]byte("bob:x:y"))), "bob"},
		{"t", "%(t)s", nil, "[10/Oct/2000:13:55:36 -0700]"},
		{"r", "%(r)s", nil, "GET /a/b?x=1&y=2 HTTP/1.1"},
		{"m", "%(m)s", nil, "GET"},
		{"U", "%(U)s", nil, "/a/b"},
		{"q", "%(q)s", nil, "x=1&y=2"},
		{"q empty", "[%(q)s]", func(e *Entry) { e.Query = nil }, "[]"},
		{"H", "%(H)s", nil, "HTTP/1.1"},
		{"s", "%(s)s", nil, "200"},
		{"s as d", "%(s)d", nil, "200"},
		{"B", "%(B)s", nil, "1234"},
		{"B zero", "%(B)s", func(e *Entry) { e.Bytes = 0 }, "0"},
		{"b", "%(b)s", nil, "1234"},
		{"b zero", "%(b)s", func(e *Entry) { e.Bytes = 0 }, "-"},
		{"f", "%(f)s", nil, "https://example.com/"},
		{"f absent", "%(f)s", func(e *Entry) { e.ReqHeaders = nil }, "-"},
		{"a", "%(a)s", nil, "curl/8.0"},
		{"T", "%(T)s", nil, "1"},
		{"D", "%(D)s", nil, "1234567"},
		{"M", "%(M)s", nil, "1234"},
		{"L", "%(L)s", nil, "1.234567"},
		{"L small", "%(L)s", func(e *Entry) { e.Duration = 123 * time.Microsecond }, "0.000123"},
		{"L zero", "%(L)s", func(e *Entry) { e.Duration = 0 }, "0.000000"},
		{"p", "%(p)s", nil, pid},
		{"request header", "%({x-forwarded-for}i)s", nil, "203.0.113.9"},
		{"request header any case", "%({X-FORWARDED-FOR}I)s", nil, "203.0.113.9"},
		{"request header repeated: last wins", "%({x-dup}i)s", nil, "last"},
		{"request header empty", "[%({x-empty}i)s]", nil, "[]"},
		{"request header absent", "%({x-missing}i)s", nil, "-"},
		{"response header", "%({Content-Type}o)s %({x-request-id}o)s", nil, "text/plain abc123"},
		{"response header absent", "%({content-length}o)s", nil, "-"},
		{"same header twice", "%({x-dup}i)s %({X-Dup}i)s", nil, "last last"},
		{"environment", "%({GOWSGI_ACCESSLOG_TEST}e)s", nil, `v\"1`},
		{"environment unset", "%({GOWSGI_ACCESSLOG_UNSET}e)s", nil, "-"},
		{"unknown atom", "%(z)s %(zz)s %({x}z)s %({}i)s", nil, "- - - -"},
		{"percent", "100%% %(s)s%%", nil, "100% 200%"},
		{"literal only", "hello", nil, "hello"},
		{"empty", "", nil, ""},
		{"escaping", `"%(a)s"`, func(e *Entry) { e.ReqHeaders[2].Value = []byte("a\"b\\c\n\x1b\xff d") },
			`"a\"b\\c\x0a\x1b\xff d"`},
		{"escaping request line", "%(r)s", func(e *Entry) { e.URI = []byte("/x\r\nForged: 1") },
			`GET /x\x0d\x0aForged: 1 HTTP/1.1`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := testEntry()
			if tt.change != nil {
				tt.change(e)
			}
			if got := renderText(t, tt.format, e); got != tt.want+"\n" {
				t.Errorf("format %q\n got %q\nwant %q", tt.format, got, tt.want+"\n")
			}
		})
	}
}

func TestCompileErrors(t *testing.T) {
	tests := []struct{ format, want string }{
		{"100%", "offset 3"},
		{"%s", "offset 0"},
		{"x %(h", "unclosed"},
		{"%(h)", "want s"},
		{"%(h)x", "want s"},
		{"%(h)-15s", "want s"},
	}
	for _, tt := range tests {
		_, _, err := compile(tt.format)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("compile(%q) = %v, want an error containing %q", tt.format, err, tt.want)
		}
	}
}

// TestPlanCopiesOnlyWhatFormatUses checks that a record holds only the
// fields its format reads: the password-bearing Authorization value never,
// the user name only for u.
func TestPlanCopiesOnlyWhatFormatUses(t *testing.T) {
	tests := []struct{ format, want string }{
		{"%(s)s %(T)s", ""},
		{"%(h)s", "192.0.2.7"},
		{"%(u)s %(m)s", "GETalice"},
		{"%({x-forwarded-for}i)s %({x-request-id}o)s", "203.0.113.9abc123"},
	}
	for _, tt := range tests {
		_, p, err := compile(tt.format)
		if err != nil {
			t.Fatal(err)
		}
		r := newRecord(p.slots())
		r.fill(testEntry(), &p)
		if string(r.buf) != tt.want {
			t.Errorf("format %q: record holds %q, want %q", tt.format, r.buf, tt.want)
		}
	}
}
