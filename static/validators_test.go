package static

import (
	"testing"
	"time"

	"github.com/gowsgi/gowsgi/httpcore"
)

func TestAppendETag(t *testing.T) {
	mod := time.Unix(1700000000, 5)
	if got, want := string(appendETag(nil, 255, mod)), `"17979cfe362a0005-ff"`; got != want {
		t.Errorf("appendETag = %s, want %s", got, want)
	}
}

func TestParseHTTPDate(t *testing.T) {
	want := time.Date(1994, 11, 6, 8, 49, 37, 0, time.UTC)
	tests := []struct {
		v  string
		ok bool
	}{
		{"Sun, 06 Nov 1994 08:49:37 GMT", true},
		{"Sunday, 06-Nov-94 08:49:37 GMT", true},
		{"Sun Nov  6 08:49:37 1994", true},
		{"Sun, 06 Nov 1994 08:49:37", false},
		{"yesterday", false},
		{"", false},
	}
	for _, tt := range tests {
		got, ok := parseHTTPDate([]byte(tt.v))
		if ok != tt.ok || (ok && !got.Equal(want)) {
			t.Errorf("parseHTTPDate(%q) = %v, %v, want ok %v", tt.v, got, ok, tt.ok)
		}
	}
	if got := string(appendHTTPDate(nil, want.In(time.FixedZone("X", 3600)))); got != "Sun, 06 Nov 1994 08:49:37 GMT" {
		t.Errorf("appendHTTPDate = %q", got)
	}
}

func TestListHasETag(t *testing.T) {
	const etag = `"abc-1"`
	tests := []struct {
		list string
		want bool
	}{
		{`"abc-1"`, true},
		{`W/"abc-1"`, true}, // weak comparison
		{`"x", "abc-1"`, true},
		{`"x",W/"abc-1"`, true},
		{` , "x" ,, "abc-1"`, true},
		{`"a,b", "abc-1"`, true}, // a comma may sit inside a tag
		{`*`, true},
		{`"abc-2"`, false},
		{`abc-1`, false},
		{`"abc-1`, false},
		{`"x" junk, "abc-1"`, false},
		{``, false},
	}
	for _, tt := range tests {
		if got := listHasETag([]byte(tt.list), []byte(etag)); got != tt.want {
			t.Errorf("listHasETag(%q) = %v, want %v", tt.list, got, tt.want)
		}
	}
}

func TestNotModified(t *testing.T) {
	mod := time.Date(2024, 1, 2, 3, 4, 5, 500e6, time.UTC)
	etag := []byte(`"e"`)
	tests := []struct {
		name    string
		headers []string // name, value, ...
		want    bool
	}{
		{"none", nil, false},
		{"etag matches", []string{"If-None-Match", `"e"`}, true},
		{"second field matches", []string{"If-None-Match", `"x"`, "if-none-match", `"e"`}, true},
		{"etag differs", []string{"If-None-Match", `"x"`}, false},
		{"date same second", []string{"If-Modified-Since", "Tue, 02 Jan 2024 03:04:05 GMT"}, true},
		{"date later", []string{"If-Modified-Since", "Tue, 02 Jan 2024 03:04:06 GMT"}, true},
		{"date earlier", []string{"If-Modified-Since", "Tue, 02 Jan 2024 03:04:04 GMT"}, false},
		{"bad date", []string{"If-Modified-Since", "soon"}, false},
		{"If-None-Match overrides the date", []string{"If-None-Match", `"x"`, "If-Modified-Since", "Tue, 02 Jan 2024 03:04:06 GMT"}, false},
	}
	for _, tt := range tests {
		var hs []httpcore.Header
		for i := 0; i < len(tt.headers); i += 2 {
			hs = append(hs, httpcore.Header{Name: []byte(tt.headers[i]), Value: []byte(tt.headers[i+1])})
		}
		if got := notModified(hs, etag, mod); got != tt.want {
			t.Errorf("%s: notModified = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestIfRangeMatches(t *testing.T) {
	mod := time.Date(2024, 1, 2, 3, 4, 5, 500e6, time.UTC)
	etag := []byte(`"e"`)
	tests := []struct {
		v    string
		want bool
	}{
		{`"e"`, true},
		{`W/"e"`, false}, // strong comparison
		{`"x"`, false},
		{"Tue, 02 Jan 2024 03:04:05 GMT", true},
		{"Tue, 02 Jan 2024 03:04:06 GMT", false}, // only an exact date
		{"Tue, 02 Jan 2024 03:04:04 GMT", false},
		{"junk", false},
		{"", false},
	}
	for _, tt := range tests {
		if got := ifRangeMatches([]byte(tt.v), etag, mod); got != tt.want {
			t.Errorf("ifRangeMatches(%q) = %v, want %v", tt.v, got, tt.want)
		}
	}
}
