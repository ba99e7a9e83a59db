package static

import (
	"bytes"
	"math"

	"github.com/gowsgi/gowsgi/internal/ascii"
)

// rangeKind is how a Range field applies to a file.
type rangeKind int

const (
	rangeIgnored       rangeKind = iota // malformed, another unit or several ranges: send the whole file
	rangeSatisfiable                    // send the one range: 206
	rangeUnsatisfiable                  // the range lies past the end: 416
)

// parseRange interprets a Range value for a file of size bytes (size > 0)
// and returns the range as offset and length. Only a single range of bytes
// ("a-b", "a-", "-n") is served; RFC 9110 lets a server ignore the rest.
func parseRange(v []byte, size int64) (offset, n int64, kind rangeKind) {
	unit, set, ok := bytes.Cut(v, []byte("="))
	if !ok || !ascii.EqualFold(bytes.TrimSpace(unit), "bytes") {
		return 0, 0, rangeIgnored
	}
	var spec []byte
	count := 0
	for s := range bytes.SplitSeq(set, []byte(",")) {
		if s = bytes.Trim(s, " \t"); len(s) > 0 {
			spec = s
			count++
		}
	}
	if count != 1 {
		return 0, 0, rangeIgnored
	}
	first, last, ok := bytes.Cut(spec, []byte("-"))
	if !ok {
		return 0, 0, rangeIgnored
	}
	if len(first) == 0 {
		suffix, ok := parseCount(last)
		switch {
		case !ok:
			return 0, 0, rangeIgnored
		case suffix == 0:
			return 0, 0, rangeUnsatisfiable
		}
		suffix = min(suffix, size)
		return size - suffix, suffix, rangeSatisfiable
	}
	start, ok := parseCount(first)
	if !ok {
		return 0, 0, rangeIgnored
	}
	end := size - 1
	if len(last) > 0 {
		e, ok := parseCount(last)
		if !ok || e < start {
			return 0, 0, rangeIgnored
		}
		end = min(e, end)
	}
	if start >= size {
		return 0, 0, rangeUnsatisfiable
	}
	return start, end - start + 1, rangeSatisfiable
}

// parseCount parses a non-empty run of decimal digits; a value too large
// for an int64 saturates, which is past the end of any file.
func parseCount(b []byte) (int64, bool) {
	if len(b) == 0 {
		return 0, false
	}
	var n int64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		d := int64(c - '0')
		if n > (math.MaxInt64-d)/10 {
			n = math.MaxInt64
			continue
		}
		n = n*10 + d
	}
	return n, true
}
