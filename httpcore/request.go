package httpcore

import (
	"github.com/gowsgi/gowsgi/internal/header"
	"net"
	"net/netip"
	"strconv"
)

// Header is one header field. For requests, Name and Value point into the
// connection's read buffer and are valid only until the handler returns.
type Header = header.Field

// ConnInfo describes the connection a request arrived on. It is computed once
// per connection and shared by every request on it. With ProxyProtocol, the
// addresses are those the PROXY header carries.
type ConnInfo struct {
	RemoteAddr, RemotePort []byte     // "127.0.0.1", "53422"; empty for unix sockets
	RemoteIP               netip.Addr // RemoteAddr parsed (IPv4-mapped unmapped); the zero Addr for unix sockets
	ServerName, ServerPort []byte     // local side, e.g. "127.0.0.1", "8000"; for unix sockets the socket path and ""
	TLS                    bool       // the connection is TLS (Server.TLSConfig), handshake done
}

// Request is one parsed request. Every byte slice points into the
// connection's read buffer and is valid only until the handler returns.
type Request struct {
	Method        []byte
	URI           []byte   // request-target exactly as sent (RAW_URI)
	Path          []byte   // path of the target, still percent-encoded; "*" for asterisk-form, empty for CONNECT
	Query         []byte   // after the first '?', without it (empty if none)
	Proto         []byte   // "HTTP/1.1" or "HTTP/1.0"
	ProtoMinor    int      // 0 or 1
	Headers       []Header // arrival order; values with surrounding whitespace stripped
	ContentLength int64    // body length; -1 when chunked
	Chunked       bool
	Body          *Body // never nil
	Conn          *ConnInfo

	keepAlive      bool // the client allows another request on this connection
	expectContinue bool // "Expect: 100-continue" on an HTTP/1.1 request
	head           bool // method is HEAD: the response carries no body
}

// KeepAlive reports whether the client allows the connection to carry
// another request after this one (HTTP/1.1 unless "Connection: close";
// HTTP/1.0 only with "Connection: keep-alive").
func (r *Request) KeepAlive() bool { return r.keepAlive }

// newConnInfo describes nc's two ends.
func newConnInfo(nc net.Conn) *ConnInfo {
	info := &ConnInfo{}
	info.RemoteAddr, info.RemotePort = splitAddr(nc.RemoteAddr(), false)
	if a, ok := nc.RemoteAddr().(*net.TCPAddr); ok {
		info.RemoteIP = a.AddrPort().Addr().Unmap()
	}
	info.ServerName, info.ServerPort = splitAddr(nc.LocalAddr(), true)
	return info
}

// splitAddr returns the host and port of a. A unix socket has no address for
// the remote side; for the local side its name is the socket path.
func splitAddr(a net.Addr, local bool) (host, port []byte) {
	switch a := a.(type) {
	case nil:
		return nil, nil
	case *net.TCPAddr:
		return []byte(a.IP.String()), strconv.AppendInt(nil, int64(a.Port), 10)
	case *net.UnixAddr:
		if local {
			return []byte(a.Name), nil
		}
		return nil, nil
	}
	s := a.String()
	if h, p, err := net.SplitHostPort(s); err == nil {
		return []byte(h), []byte(p)
	}
	return []byte(s), nil
}
