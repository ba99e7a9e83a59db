package proxy

import (
	"net/netip"
	"strings"
	"testing"
)

func TestParseHostPort(t *testing.T) {
	tests := []struct {
		in, host string // host "" when refused
		addr     string
	}{
		{"192.0.2.1", "192.0.2.1", "192.0.2.1"},
		{"192.0.2.1:4711", "192.0.2.1", "192.0.2.1"},
		{"192.0.2.1:65535", "192.0.2.1", "192.0.2.1"},
		{"2001:db8::1", "2001:db8::1", "2001:db8::1"},
		{"[2001:db8::1]", "2001:db8::1", "2001:db8::1"},
		{"[2001:db8::1]:443", "2001:db8::1", "2001:db8::1"},
		{"::ffff:192.0.2.1", "::ffff:192.0.2.1", "::ffff:192.0.2.1"},
		{"1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7:8"},
		{"1:2:3:4:5:6:1.2.3.4", "1:2:3:4:5:6:1.2.3.4", "1:2:3:4:5:6:102:304"},
		{"::", "::", "::"},
		{"192.0.2.1:65536", "", ""},
		{"192.0.2.1:", "", ""},
		{"192.0.2.1:http", "", ""},
		{"[192.0.2.1]", "", ""},
		{"[2001:db8::1]x", "", ""},
		{"[2001:db8::1", "", ""},
		{"2001:db8::1:443x", "", ""},
		{"fe80::1%eth0", "", ""},
		{"unknown", "", ""},
		{"_hidden", "", ""},
		{"example.com", "", ""},
		{"256.0.0.1", "", ""},
		{"01.2.3.4", "", ""},
		{"1.2.3", "", ""},
		{"1.2.3.4.5", "", ""},
		{"1:2:3:4:5:6:7:8:9", "", ""},
		{"1:2:3:4:5:6:7:8::", "", ""},
		{"1::2::3", "", ""},
		{":1", "", ""},
		{"1:", "", ""},
		{"12345::1", "", ""},
		{"", "", ""},
	}
	for _, tt := range tests {
		a, host, ok := parseHostPort([]byte(tt.in))
		if tt.host == "" {
			if ok {
				t.Errorf("%q accepted as %v", tt.in, a)
			}
			continue
		}
		if !ok || string(host) != tt.host || a != netip.MustParseAddr(tt.addr) {
			t.Errorf("%q = %v %q %v, want %s %q", tt.in, a, host, ok, tt.addr, tt.host)
		}
	}
}

// FuzzParseIP checks the byte parser against netip.ParseAddr, which it
// must agree with on everything but zones.
func FuzzParseIP(f *testing.F) {
	for _, s := range []string{"1.2.3.4", "::", "::1", "1::", "2001:db8::1", "::ffff:1.2.3.4",
		"1:2:3:4:5:6:7:8", "1:2:3:4:5:6:1.2.3.4", "0.0.0.0", "255.255.255.255", "1.2.3.04", "::1.2.3.4",
		"1:2:3:4:5:6:7::", "::2:3:4:5:6:7:8", "1:2:3:4:5:6:7:8:9", "abcd::ef01:1.2.3.4"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if strings.Contains(s, "%") {
			return
		}
		want, err := netip.ParseAddr(s)
		got, ok := parseIP([]byte(s))
		if ok != (err == nil) || (ok && got != want) {
			t.Errorf("parseIP(%q) = %v %v; netip: %v %v", s, got, ok, want, err)
		}
	})
}
