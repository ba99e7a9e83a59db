package proxy

import (
	"bytes"
	"net/netip"
)

// The parsers here read addresses from request bytes without converting
// them to strings, which netip.ParseAddr needs and which would allocate per
// request. They accept what netip.ParseAddr accepts, less IPv6 zones.

// parseHostPort parses one X-Forwarded-For element: an IP address, an IPv4
// address with ":port", or a bracketed IPv6 address with an optional
// ":port", as some proxies send. It returns the address and the bytes of
// its text, without brackets or port.
func parseHostPort(b []byte) (netip.Addr, []byte, bool) {
	host := b
	switch {
	case len(b) > 0 && b[0] == '[':
		end := bytes.IndexByte(b, ']')
		if end < 0 || !isPortSuffix(b[end+1:]) {
			return netip.Addr{}, nil, false
		}
		host = b[1:end]
		a, ok := parseIPv6(host)
		return a, host, ok
	case bytes.Count(b, colon) == 1:
		i := bytes.IndexByte(b, ':')
		if !isPortSuffix(b[i:]) {
			return netip.Addr{}, nil, false
		}
		host = b[:i]
		a, ok := parseIPv4(host)
		return netip.AddrFrom4(a), host, ok
	}
	a, ok := parseIP(host)
	return a, host, ok
}

// colon is what separates an IPv4 address from its port.
var colon = []byte{':'}

// isPortSuffix reports whether b is empty or ":" and a port number.
func isPortSuffix(b []byte) bool {
	if len(b) == 0 {
		return true
	}
	if b[0] != ':' || len(b) < 2 || len(b) > 6 {
		return false
	}
	port := 0
	for _, c := range b[1:] {
		if c < '0' || c > '9' {
			return false
		}
		port = port*10 + int(c-'0')
	}
	return port <= 65535
}

// parseIP parses an IPv4 or IPv6 address.
func parseIP(b []byte) (netip.Addr, bool) {
	for _, c := range b {
		switch c {
		case '.':
			a, ok := parseIPv4(b)
			return netip.AddrFrom4(a), ok
		case ':':
			return parseIPv6(b)
		}
	}
	return netip.Addr{}, false
}

// parseIPv4 parses a dotted-quad address: four decimal fields from 0 to
// 255, without leading zeros.
func parseIPv4(b []byte) ([4]byte, bool) {
	var ip [4]byte
	field, digits, v := 0, 0, 0
	for i := 0; i <= len(b); i++ {
		if i == len(b) || b[i] == '.' {
			if digits == 0 || field == 4 {
				return ip, false
			}
			ip[field] = byte(v)
			field, digits, v = field+1, 0, 0
			continue
		}
		c := b[i]
		if c < '0' || c > '9' || (digits == 1 && v == 0) {
			return ip, false
		}
		v = v*10 + int(c-'0')
		digits++
		if v > 255 {
			return ip, false
		}
	}
	return ip, field == 4
}

// parseIPv6 parses an IPv6 address in RFC 4291 text form: eight groups of
// up to four hex digits, one "::" for a run of zero groups, and an
// optional dotted quad for the last 32 bits.
func parseIPv6(b []byte) (netip.Addr, bool) {
	var ip [16]byte
	ellipsis := -1 // where "::" stands, in bytes of ip
	if len(b) >= 2 && b[0] == ':' && b[1] == ':' {
		ellipsis, b = 0, b[2:]
	}
	i := 0
	for len(b) > 0 && i < 16 {
		n, v := 0, 0
		for n < len(b) && n < 5 && hexValue(b[n]) >= 0 {
			v = v<<4 | hexValue(b[n])
			n++
		}
		if n == 0 || n > 4 {
			return netip.Addr{}, false
		}
		if n < len(b) && b[n] == '.' {
			if i > 12 || (ellipsis < 0 && i != 12) {
				return netip.Addr{}, false
			}
			v4, ok := parseIPv4(b)
			if !ok {
				return netip.Addr{}, false
			}
			copy(ip[i:], v4[:])
			i, b = i+4, nil
			break
		}
		ip[i], ip[i+1] = byte(v>>8), byte(v)
		i, b = i+2, b[n:]
		if len(b) == 0 {
			break
		}
		if b[0] != ':' || len(b) == 1 {
			return netip.Addr{}, false
		}
		b = b[1:]
		if b[0] == ':' {
			if ellipsis >= 0 {
				return netip.Addr{}, false
			}
			ellipsis, b = i, b[1:]
		}
	}
	switch {
	case len(b) > 0:
		return netip.Addr{}, false
	case i < 16:
		if ellipsis < 0 {
			return netip.Addr{}, false
		}
		n := 16 - i
		copy(ip[ellipsis+n:], ip[ellipsis:i])
		clear(ip[ellipsis : ellipsis+n])
	case ellipsis >= 0:
		// "::" must stand for at least one group.
		return netip.Addr{}, false
	}
	return netip.AddrFrom16(ip), true
}

// hexValue returns the value of hex digit c, or -1.
func hexValue(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c >= 'a' && c <= 'f':
		return int(c - 'a' + 10)
	case c >= 'A' && c <= 'F':
		return int(c - 'A' + 10)
	}
	return -1
}
