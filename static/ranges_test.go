package static

import (
	"math"
	"testing"
)

func TestParseRange(t *testing.T) {
	const size = 1000
	tests := []struct {
		v         string
		offset, n int64
		kind      rangeKind
	}{
		{"bytes=0-99", 0, 100, rangeSatisfiable},
		{"bytes=100-199", 100, 100, rangeSatisfiable},
		{"bytes=5-5", 5, 1, rangeSatisfiable},
		{"bytes=900-", 900, 100, rangeSatisfiable},
		{"bytes=900-5000", 900, 100, rangeSatisfiable},
		{"bytes=999-", 999, 1, rangeSatisfiable},
		{"bytes=-100", 900, 100, rangeSatisfiable},
		{"bytes=-5000", 0, 1000, rangeSatisfiable},
		{"Bytes=0-0", 0, 1, rangeSatisfiable},
		{" bytes=0-0 ,", 0, 1, rangeSatisfiable}, // empty list elements are allowed
		{"bytes=1000-", 0, 0, rangeUnsatisfiable},
		{"bytes=1000-2000", 0, 0, rangeUnsatisfiable},
		{"bytes=-0", 0, 0, rangeUnsatisfiable},
		{"bytes=99999999999999999999999-", 0, 0, rangeUnsatisfiable},
		{"bytes=0-99999999999999999999999", 0, 1000, rangeSatisfiable},
		{"bytes=0-1,5-6", 0, 0, rangeIgnored},
		{"bytes=5-1", 0, 0, rangeIgnored},
		{"bytes=a-b", 0, 0, rangeIgnored},
		{"bytes=-", 0, 0, rangeIgnored},
		{"bytes=1", 0, 0, rangeIgnored},
		{"bytes=", 0, 0, rangeIgnored},
		{"bytes=+1-2", 0, 0, rangeIgnored},
		{"items=0-1", 0, 0, rangeIgnored},
		{"0-1", 0, 0, rangeIgnored},
	}
	for _, tt := range tests {
		offset, n, kind := parseRange([]byte(tt.v), size)
		if offset != tt.offset || n != tt.n || kind != tt.kind {
			t.Errorf("parseRange(%q) = %d, %d, %v, want %d, %d, %v", tt.v, offset, n, kind, tt.offset, tt.n, tt.kind)
		}
	}
}

func TestParseCount(t *testing.T) {
	tests := []struct {
		s  string
		n  int64
		ok bool
	}{
		{"0", 0, true},
		{"123", 123, true},
		{"9223372036854775807", math.MaxInt64, true},
		{"9223372036854775808", math.MaxInt64, true},
		{"99999999999999999999999", math.MaxInt64, true},
		{"", 0, false},
		{"1x", 0, false},
		{"-1", 0, false},
	}
	for _, tt := range tests {
		if n, ok := parseCount([]byte(tt.s)); n != tt.n || ok != tt.ok {
			t.Errorf("parseCount(%q) = %d, %v, want %d, %v", tt.s, n, ok, tt.n, tt.ok)
		}
	}
}
