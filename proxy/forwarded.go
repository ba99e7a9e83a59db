package proxy

import (
	"bytes"
	"net/netip"

	"github.com/gowsgi/gowsgi/internal/ascii"
)

// Header is any request header field type of the form {Name, Value
// []byte}, such as httpcore.Header and wsgi.Header, so that Forwarded reads
// a request's fields where they are, without a conversion.
type Header interface {
	~struct{ Name, Value []byte }
}

// Forwarded returns the client address and scheme that a request's
// forwarding fields carry, if its peer (the connection's remote address;
// the zero Addr for a unix socket) is trusted by t. It returns nil and ""
// for "keep the connection's own": always for an untrusted peer, whose
// fields the app still sees untouched. It allocates nothing; addr points
// into a field value of headers.
//
// X-Forwarded-For: the addresses of every occurrence, in order, form one
// list, appended to by each proxy. The walk starts at its right end, the
// entry the trusted peer wrote, and moves left past entries that are
// trusted proxies themselves; addr is the first untrusted entry, the client
// as the last trusted proxy saw it, or the left-most if all are trusted.
// Entries further left were written by the client or its own proxies and
// could be anything. An entry is an IP address, optionally with a port
// ("192.0.2.1:4711", "[2001:db8::1]:4711"; the port is dropped); empty list
// elements are skipped. Any other entry ("unknown", a host name, garbage)
// stops the walk where it is: addr is the entry to its right, or nil if
// there is none, since nothing left of it can be placed.
//
// X-Forwarded-Proto: the last element of its last occurrence, the one the
// trusted peer wrote, gives scheme if it is "http" or "https" (in any
// case); any other value leaves scheme "". Other scheme fields
// (X-Forwarded-Ssl, X-Forwarded-Protocol, Front-End-Https, Forwarded) are
// not read: every common proxy sends X-Forwarded-Proto, and each field
// believed is one more a misconfigured proxy may let a client set.
func Forwarded[H Header](t *Trust, peer netip.Addr, headers []H) (addr []byte, scheme string) {
	if !t.Trusted(peer) {
		return nil, ""
	}
	walking, protoSeen := true, false
	for i := len(headers) - 1; i >= 0 && (walking || !protoSeen); i-- {
		h := struct{ Name, Value []byte }(headers[i])
		switch {
		case walking && ascii.EqualFold(h.Name, "x-forwarded-for"):
			addr, walking = t.walk(h.Value, addr)
		case !protoSeen && ascii.EqualFold(h.Name, "x-forwarded-proto"):
			scheme, protoSeen = schemeOf(lastElement(h.Value)), true
		}
	}
	return addr, scheme
}

// walk continues the X-Forwarded-For walk through one field value, from its
// right end, with addr the address reached so far. It returns the address
// reached and whether the walk goes on into earlier fields.
func (t *Trust) walk(value, addr []byte) ([]byte, bool) {
	for len(value) > 0 {
		i := bytes.LastIndexByte(value, ',')
		elem := bytes.Trim(value[i+1:], " \t")
		value = value[:max(i, 0)]
		if len(elem) == 0 {
			continue
		}
		ip, host, ok := parseHostPort(elem)
		if !ok {
			return addr, false
		}
		addr = host
		if !t.Trusted(ip) {
			return addr, false
		}
	}
	return addr, true
}

// schemeOf returns the scheme an X-Forwarded-Proto element names, or "".
func schemeOf(v []byte) string {
	switch {
	case ascii.EqualFold(v, "https"):
		return "https"
	case ascii.EqualFold(v, "http"):
		return "http"
	}
	return ""
}

// lastElement returns the last element of a comma-separated field value,
// without surrounding whitespace.
func lastElement(v []byte) []byte {
	return bytes.Trim(v[bytes.LastIndexByte(v, ',')+1:], " \t")
}
