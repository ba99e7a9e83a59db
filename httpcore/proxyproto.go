package httpcore

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"net/netip"
	"strconv"
	"strings"
)

// The PROXY protocol (haproxy's proxy-protocol.txt) puts the client's and
// the proxy's addresses in front of the bytes a proxy relays.
const (
	proxyV1Sig = "PROXY "
	proxyV1Max = 107 // a v1 line's longest length, CRLF included
	proxyV2Sig = "\r\n\r\n\x00\r\nQUIT\n"
	proxyV2Fix = 16 // signature, version and command, family, length
)

// PROXY v2 commands and the address families it reads; other families keep
// the connection's addresses and datagram ones are refused.
const (
	proxyV2Local  = 0x20
	proxyV2Proxy  = 0x21
	proxyV2Unspec = 0x00
	proxyV2TCP4   = 0x11
	proxyV2TCP6   = 0x21
	proxyV2Unix   = 0x31
)

// readProxyHeader reads the PROXY header at the start of the connection
// into the read buffer, applies its addresses to the ConnInfo and leaves
// c.buf[:c.w] holding only the bytes after it. An untrusted peer's bytes
// are left alone unless they start a PROXY header.
func (c *conn) readProxyHeader() error {
	trusted := c.srv.ProxyTrust == nil || c.srv.ProxyTrust(c.info.RemoteIP)
	var v1, v2 bool
	for {
		var more1, more2 bool
		v1, more1 = matchSig(c.buf[:c.w], proxyV1Sig)
		v2, more2 = matchSig(c.buf[:c.w], proxyV2Sig)
		if v1 || v2 || (!more1 && !more2) {
			break
		}
		if err := c.readPreface(); err != nil {
			return err
		}
	}
	switch {
	case !v1 && !v2 && trusted:
		return errProxyMissing
	case !v1 && !v2:
		return nil
	case !trusted:
		return errProxyUntrusted
	case v1:
		return c.readProxyV1()
	}
	return c.readProxyV2()
}

// matchSig reports whether b starts with sig and, if not, whether more
// bytes could still make it.
func matchSig(b []byte, sig string) (match, more bool) {
	if len(b) >= len(sig) {
		return string(b[:len(sig)]) == sig, false
	}
	return false, string(b) == sig[:len(b)]
}

// readPreface reads more of the bytes before the first request.
func (c *conn) readPreface() error {
	n, err := c.raw.Read(c.buf[c.w:])
	c.w += n
	if n > 0 {
		return nil
	}
	return unexpectedEOF(err)
}

// consume drops the first n bytes of the read buffer.
func (c *conn) consume(n int) {
	c.w = copy(c.buf, c.buf[n:c.w])
}

// readProxyV1 reads a v1 header: "PROXY TCP4|TCP6 src dst sport dport",
// or "PROXY UNKNOWN" and anything, ended by CRLF within 107 bytes.
func (c *conn) readProxyV1() error {
	for {
		if i := bytes.IndexByte(c.buf[:min(c.w, proxyV1Max)], '\n'); i >= 0 {
			if c.buf[i-1] != '\r' {
				return errProxyHeader
			}
			err := c.applyProxyV1(string(c.buf[len(proxyV1Sig) : i-1]))
			c.consume(i + 1)
			return err
		}
		if c.w >= proxyV1Max {
			return errProxyHeader
		}
		if err := c.readPreface(); err != nil {
			return err
		}
	}
}

// applyProxyV1 applies the fields of a v1 line after "PROXY ".
func (c *conn) applyProxyV1(line string) error {
	if line == "UNKNOWN" || strings.HasPrefix(line, "UNKNOWN ") {
		return nil
	}
	f := strings.Split(line, " ")
	if len(f) != 5 || (f[0] != "TCP4" && f[0] != "TCP6") {
		return errProxyHeader
	}
	src, err1 := netip.ParseAddr(f[1])
	dst, err2 := netip.ParseAddr(f[2])
	sport, err3 := strconv.ParseUint(f[3], 10, 16)
	dport, err4 := strconv.ParseUint(f[4], 10, 16)
	if err1 != nil || err2 != nil || err3 != nil || err4 != nil ||
		src.Zone() != "" || dst.Zone() != "" || src.Is4() != (f[0] == "TCP4") || dst.Is4() != src.Is4() {
		return errProxyHeader
	}
	c.setProxyAddrs(netip.AddrPortFrom(src, uint16(sport)), netip.AddrPortFrom(dst, uint16(dport)))
	return nil
}

// readProxyV2 reads a v2 header: the fixed part, then as many bytes as its
// length says, of which only the addresses are kept.
func (c *conn) readProxyV2() error {
	for c.w < proxyV2Fix {
		if err := c.readPreface(); err != nil {
			return err
		}
	}
	cmd, family := c.buf[12], c.buf[13]
	length := int(binary.BigEndian.Uint16(c.buf[14:16]))
	addrLen := 0
	switch {
	case cmd == proxyV2Local:
	case cmd != proxyV2Proxy:
		return errProxyHeader
	case family == proxyV2TCP4:
		addrLen = 12
	case family == proxyV2TCP6:
		addrLen = 36
	case family != proxyV2Unspec && family != proxyV2Unix:
		return errProxyHeader
	}
	if length < addrLen {
		return errProxyHeader
	}
	for c.w < proxyV2Fix+addrLen {
		if err := c.readPreface(); err != nil {
			return err
		}
	}
	a := c.buf[proxyV2Fix : proxyV2Fix+addrLen]
	switch addrLen {
	case 12:
		c.setProxyAddrs(
			netip.AddrPortFrom(netip.AddrFrom4([4]byte(a[0:4])), binary.BigEndian.Uint16(a[8:10])),
			netip.AddrPortFrom(netip.AddrFrom4([4]byte(a[4:8])), binary.BigEndian.Uint16(a[10:12])))
	case 36:
		c.setProxyAddrs(
			netip.AddrPortFrom(netip.AddrFrom16([16]byte(a[0:16])), binary.BigEndian.Uint16(a[32:34])),
			netip.AddrPortFrom(netip.AddrFrom16([16]byte(a[16:32])), binary.BigEndian.Uint16(a[34:36])))
	}
	// Skip the rest (TLVs), which may be larger than the buffer.
	rest := proxyV2Fix + length
	if rest <= c.w {
		c.consume(rest)
		return nil
	}
	for rest -= c.w; rest > 0; {
		n, err := c.raw.Read(c.buf[:min(rest, len(c.buf))])
		rest -= n
		if n == 0 {
			return unexpectedEOF(err)
		}
	}
	c.w = 0
	return nil
}

// setProxyAddrs makes the connection's addresses those of a PROXY header.
func (c *conn) setProxyAddrs(src, dst netip.AddrPort) {
	info := c.info
	info.RemoteIP = src.Addr().Unmap()
	info.RemoteAddr = info.RemoteIP.AppendTo(nil)
	info.RemotePort = strconv.AppendUint(nil, uint64(src.Port()), 10)
	info.ServerName = dst.Addr().Unmap().AppendTo(nil)
	info.ServerPort = strconv.AppendUint(nil, uint64(dst.Port()), 10)
}

// isTimeoutOrEOF reports whether err is a deadline passing or the peer
// closing: what a health check or an idle client looks like.
func isTimeoutOrEOF(err error) bool {
	var ne net.Error
	return errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) ||
		(errors.As(err, &ne) && ne.Timeout())
}
