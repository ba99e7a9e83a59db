package static

import (
	"bytes"
	"strconv"
	"time"

	"github.com/gowsgi/gowsgi/httpcore"
	"github.com/gowsgi/gowsgi/internal/ascii"
)

// httpDate is the IMF-fixdate layout of Last-Modified (net/http's
// TimeFormat), the layout an HTTP date is sent in.
const httpDate = "Mon, 02 Jan 2006 15:04:05 GMT"

// obsoleteDates are the other layouts a recipient must accept in a date
// field (RFC 9110 §5.6.7): RFC 850 and asctime.
var obsoleteDates = [...]string{"Monday, 02-Jan-06 15:04:05 GMT", "Mon Jan _2 15:04:05 2006"}

// appendETag appends the strong entity tag of a file: its modification time
// in nanoseconds and its size, in hex, quoted.
func appendETag(dst []byte, size int64, mod time.Time) []byte {
	dst = append(dst, '"')
	dst = strconv.AppendInt(dst, mod.UnixNano(), 16)
	dst = append(dst, '-')
	dst = strconv.AppendInt(dst, size, 16)
	return append(dst, '"')
}

// appendHTTPDate appends t as an IMF-fixdate.
func appendHTTPDate(dst []byte, t time.Time) []byte {
	return t.UTC().AppendFormat(dst, httpDate)
}

// parseHTTPDate parses a date in any of the three HTTP date layouts.
func parseHTTPDate(v []byte) (time.Time, bool) {
	s := string(v)
	if t, err := time.Parse(httpDate, s); err == nil {
		return t, true
	}
	for _, layout := range obsoleteDates {
		if t, err := time.Parse(layout, s); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

// field returns the value of the first header field named name (lower
// case), or nil.
func field(headers []httpcore.Header, name string) []byte {
	for _, h := range headers {
		if ascii.EqualFold(h.Name, name) {
			return h.Value
		}
	}
	return nil
}

// notModified evaluates If-None-Match and, when the request has none,
// If-Modified-Since (RFC 9110 §13.2.2) for a file with entity tag etag
// modified at mod: true means 304.
func notModified(headers []httpcore.Header, etag []byte, mod time.Time) bool {
	hasINM := false
	for _, h := range headers {
		if ascii.EqualFold(h.Name, "if-none-match") {
			hasINM = true
			if listHasETag(h.Value, etag) {
				return true
			}
		}
	}
	if hasINM {
		return false
	}
	v := field(headers, "if-modified-since")
	if v == nil {
		return false
	}
	since, ok := parseHTTPDate(v)
	return ok && mod.Unix() <= since.Unix()
}

// listHasETag reports whether list, an If-None-Match value ("*" or entity
// tags separated by commas), matches etag by weak comparison: the W/
// prefix is ignored. A malformed list matches from its valid start only.
func listHasETag(list, etag []byte) bool {
	for {
		list = bytes.TrimLeft(list, " \t,")
		if len(list) == 0 {
			return false
		}
		if list[0] == '*' {
			return true
		}
		list = bytes.TrimPrefix(list, []byte("W/"))
		if len(list) < 2 || list[0] != '"' {
			return false
		}
		end := bytes.IndexByte(list[1:], '"')
		if end < 0 {
			return false
		}
		if bytes.Equal(list[:end+2], etag) {
			return true
		}
		list = list[end+2:]
	}
}

// ifRangeMatches reports whether an If-Range value matches the file: an
// entity tag by strong comparison (a weak tag never matches), or a date
// equal, to the second, to its modification time.
func ifRangeMatches(v, etag []byte, mod time.Time) bool {
	if len(v) > 0 && (v[0] == '"' || bytes.HasPrefix(v, []byte("W/"))) {
		return bytes.Equal(v, etag)
	}
	t, ok := parseHTTPDate(v)
	return ok && t.Unix() == mod.Unix()
}
