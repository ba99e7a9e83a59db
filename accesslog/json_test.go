package accesslog

import (
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// jsonLine is a JSON access log line as a consumer decodes it.
type jsonLine struct {
	Time       string  `json:"time"`
	RemoteAddr string  `json:"remote_addr"`
	Method     string  `json:"method"`
	Path       string  `json:"path"`
	Query      string  `json:"query"`
	Protocol   string  `json:"protocol"`
	Status     int     `json:"status"`
	Bytes      int64   `json:"bytes"`
	DurationMS float64 `json:"duration_ms"`
	Referer    string  `json:"referer"`
	UserAgent  string  `json:"user_agent"`
	PID        int     `json:"pid"`
}

// renderJSON renders e as the writer would with --log-json.
func renderJSON(e *Entry) []byte {
	p := jsonPlan()
	r := newRecord(p.slots())
	r.fill(e, &p)
	return appendJSONLine(nil, r, os.Getpid())
}

// decodeJSONLine decodes one line strictly: no unknown or missing field.
func decodeJSONLine(t *testing.T, line []byte) jsonLine {
	t.Helper()
	if !utf8.Valid(line) {
		t.Fatalf("line is not UTF-8: %q", line)
	}
	var fields map[string]any
	if err := json.Unmarshal(line, &fields); err != nil {
		t.Fatalf("%v in %s", err, line)
	}
	if len(fields) != 12 {
		t.Errorf("%d fields, want 12: %s", len(fields), line)
	}
	var l jsonLine
	dec := json.NewDecoder(strings.NewReader(string(line)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&l); err != nil {
		t.Fatalf("%v in %s", err, line)
	}
	return l
}

func TestJSONLine(t *testing.T) {
	line := renderJSON(testEntry())
	if n := strings.Count(string(line), "\n"); n != 1 || line[len(line)-1] != '\n' {
		t.Fatalf("want one line ending in a newline: %q", line)
	}
	want := jsonLine{
		Time:       "2000-10-10T13:55:36.123-07:00",
		RemoteAddr: "192.0.2.7",
		Method:     "GET",
		Path:       "/a/b",
		Query:      "x=1&y=2",
		Protocol:   "HTTP/1.1",
		Status:     200,
		Bytes:      1234,
		DurationMS: 1234.567,
		Referer:    "https://example.com/",
		UserAgent:  "curl/8.0",
		PID:        os.Getpid(),
	}
	if got := decodeJSONLine(t, line); got != want {
		t.Errorf("got  %+v\nwant %+v", got, want)
	}
	if _, err := time.Parse(time.RFC3339, want.Time); err != nil {
		t.Errorf("time is not RFC 3339: %v", err)
	}
}

func TestJSONEscaping(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"plain", "curl/8.0", "curl/8.0"},
		{"quote and backslash", `a"b\c`, `a"b\c`},
		{"controls", "a\nb\rc\td\x00e\x1bf\x7f", "a\nb\rc\td\x00e\x1bf\x7f"},
		{"valid UTF-8", "héllo ☃ \U0001F600 \u2028", "héllo ☃ \U0001F600 \u2028"},
		{"invalid bytes", "a\xffb\xfe", "a\ufffdb\ufffd"},
		{"truncated sequence", "\xe2\x98", "\ufffd\ufffd"},
		{"encoded surrogate", "\xed\xa0\x80", "\ufffd\ufffd\ufffd"},
		{"empty", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := testEntry()
			e.ReqHeaders[2].Value = []byte(tt.in)
			e.Path = []byte(tt.in)
			got := decodeJSONLine(t, renderJSON(e))
			if got.UserAgent != tt.want || got.Path != tt.want {
				t.Errorf("user_agent %q, path %q; want %q", got.UserAgent, got.Path, tt.want)
			}
		})
	}
}

func TestJSONAbsentFields(t *testing.T) {
	e := testEntry()
	e.ReqHeaders, e.RemoteAddr, e.Query = nil, nil, nil
	e.Duration = 1500 * time.Nanosecond
	got := decodeJSONLine(t, renderJSON(e))
	if got.Referer != "" || got.UserAgent != "" || got.RemoteAddr != "" || got.Query != "" {
		t.Errorf("absent fields should be empty strings: %+v", got)
	}
	if got.DurationMS != 0.001 {
		t.Errorf("duration_ms = %v, want 0.001", got.DurationMS)
	}
}
