package proxy

import (
	"net/netip"
	"strings"
	"testing"
)

func TestParseTrust(t *testing.T) {
	tests := []struct {
		list      string
		trusted   []string
		untrusted []string
		fails     bool
		badEntry  string // the entry the error must name
	}{
		{list: "127.0.0.1", trusted: []string{"127.0.0.1", "::ffff:127.0.0.1"}, untrusted: []string{"127.0.0.2", "::1", "10.0.0.1"}},
		{list: " 10.0.0.0/8 , ::1,2001:db8::/32 ", trusted: []string{"10.1.2.3", "::1", "2001:db8::42", "::ffff:10.9.9.9"},
			untrusted: []string{"11.0.0.1", "::2", "2001:db9::1", "127.0.0.1"}},
		{list: "10.1.2.3/8", trusted: []string{"10.200.0.1"}, untrusted: []string{"11.0.0.0"}},
		{list: "::ffff:192.0.2.1", trusted: []string{"192.0.2.1"}, untrusted: []string{"192.0.2.2"}},
		{list: "::ffff:192.0.2.0/120", trusted: []string{"192.0.2.77"}, untrusted: []string{"192.0.3.1"}},
		{list: "*", trusted: []string{"203.0.113.9", "2001:db8::1", "0.0.0.0"}},
		{list: "127.0.0.1,*", trusted: []string{"8.8.8.8"}},
		{list: "", untrusted: []string{"127.0.0.1", "::1"}},
		{list: "127.0.0.1,localhost", fails: true, badEntry: "localhost"},
		{list: "127.0.0.1,,::1", fails: true, badEntry: ""},
		{list: "10.0.0.0/33", fails: true, badEntry: "10.0.0.0/33"},
		{list: "fe80::1%eth0", fails: true, badEntry: "fe80::1%eth0"},
		{list: "fe80::/64%eth0", fails: true, badEntry: "fe80::/64%eth0"},
		{list: "127.0.0.01", fails: true, badEntry: "127.0.0.01"},
		{list: "* 127.0.0.1", fails: true, badEntry: "* 127.0.0.1"},
	}
	for _, tt := range tests {
		t.Run(tt.list, func(t *testing.T) {
			trust, err := ParseTrust(tt.list)
			if tt.fails {
				if err == nil {
					t.Fatalf("no error")
				}
				if !strings.Contains(err.Error(), `"`+tt.badEntry+`"`) {
					t.Errorf("error %q does not name %q", err, tt.badEntry)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for _, a := range tt.trusted {
				if !trust.Trusted(netip.MustParseAddr(a)) {
					t.Errorf("%s not trusted", a)
				}
			}
			for _, a := range tt.untrusted {
				if trust.Trusted(netip.MustParseAddr(a)) {
					t.Errorf("%s trusted", a)
				}
			}
			if !trust.Trusted(netip.Addr{}) {
				t.Errorf("unix-socket peer not trusted")
			}
		})
	}
}
