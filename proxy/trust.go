package proxy

import (
	"fmt"
	"net/netip"
	"strings"
)

// Trust is a set of peer addresses trusted as proxies: their forwarding
// fields and PROXY protocol headers are believed. The zero Trust trusts
// only unix-socket peers.
type Trust struct {
	all      bool
	prefixes []netip.Prefix
}

// ParseTrust parses a --forwarded-allow-ips value: a comma-separated list
// of IP addresses and CIDR prefixes ("127.0.0.1, 10.0.0.0/8, ::1"), or "*"
// for every peer. Spaces around entries are ignored; an empty s trusts no
// IP peer. IPv4-mapped IPv6 entries stand for their IPv4 address, and a
// prefix's host bits are ignored. The error names the first entry that is
// neither an address nor a prefix (zones and host names are refused).
func ParseTrust(s string) (*Trust, error) {
	t := &Trust{}
	if strings.TrimSpace(s) == "" {
		return t, nil
	}
	for entry := range strings.SplitSeq(s, ",") {
		entry = strings.TrimSpace(entry)
		if entry == "*" {
			t.all = true
			continue
		}
		p, err := parseEntry(entry)
		if err != nil {
			return nil, fmt.Errorf("proxy: trusted peer %q is neither an IP address nor a CIDR prefix", entry)
		}
		t.prefixes = append(t.prefixes, p)
	}
	return t, nil
}

// parseEntry parses one address or prefix of a trust list into a masked
// prefix, an address being a prefix of its full length.
func parseEntry(entry string) (netip.Prefix, error) {
	if strings.Contains(entry, "/") {
		p, err := netip.ParsePrefix(entry)
		if err != nil {
			return netip.Prefix{}, err
		}
		if a := p.Addr(); a.Is4In6() && p.Bits() >= 96 {
			p = netip.PrefixFrom(a.Unmap(), p.Bits()-96)
		}
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(entry)
	if err != nil {
		return netip.Prefix{}, err
	}
	if a.Zone() != "" {
		return netip.Prefix{}, fmt.Errorf("zone in %q", entry)
	}
	a = a.Unmap()
	return netip.PrefixFrom(a, a.BitLen()), nil
}

// Trusted reports whether a peer at addr is a trusted proxy. An
// IPv4-mapped IPv6 address is matched as the IPv4 address it carries.
//
// The zero Addr stands for a peer without an IP address, a unix-socket
// client, and is always trusted, as gunicorn does: only processes on this
// host that the socket file's permissions admit can connect, and the proxy
// in front is the usual one.
func (t *Trust) Trusted(addr netip.Addr) bool {
	if !addr.IsValid() || t.all {
		return true
	}
	addr = addr.Unmap()
	for _, p := range t.prefixes {
		if p.Contains(addr) {
			return true
		}
	}
	return false
}
