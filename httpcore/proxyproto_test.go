package httpcore

import (
	"crypto/tls"
	"encoding/binary"
	"fmt"
	"io"
	"log"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/gowsgi/gowsgi/internal/syncbuf"
)

// connInfoHandler answers with the request's ConnInfo.
var connInfoHandler = HandlerFunc(func(w *ResponseWriter, r *Request) {
	w.WriteHeader([]byte("200 OK"), nil)
	fmt.Fprintf(w, "%s %s %s %s %v %v", r.Conn.RemoteAddr, r.Conn.RemotePort, r.Conn.ServerName, r.Conn.ServerPort, r.Conn.RemoteIP, r.Conn.TLS)
})

// dialFrom connects to addr from the loopback address local: every
// 127.0.0.0/8 address is the loopback interface's, so that tests can have
// a trusted and an untrusted peer.
func dialFrom(t testing.TB, local, addr string) net.Conn {
	t.Helper()
	return dialTest(t, &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(local)}}, "tcp", addr)
}

// dialTest connects to addr on network with d, closes the connection when
// the test ends, and bounds its I/O by ioTimeout.
func dialTest(t testing.TB, d *net.Dialer, network, addr string) net.Conn {
	t.Helper()
	nc, err := d.Dial(network, addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	nc.SetDeadline(time.Now().Add(ioTimeout))
	return nc
}

// proxyV2 builds a v2 header of command cmd and family fam carrying addrs
// and tlv bytes of TLVs.
func proxyV2(cmd, fam byte, addrs []byte, tlv int) string {
	b := []byte(proxyV2Sig)
	b = append(b, cmd, fam)
	b = binary.BigEndian.AppendUint16(b, uint16(len(addrs)+tlv))
	b = append(b, addrs...)
	if tlv > 0 {
		// One PP2_TYPE_NOOP TLV of tlv bytes.
		b = append(b, 0x04)
		b = binary.BigEndian.AppendUint16(b, uint16(tlv-3))
		b = append(b, make([]byte, tlv-3)...)
	}
	return string(b)
}

// v2Addrs returns a v2 address block for two address:port pairs.
func v2Addrs(src, dst string) []byte {
	s, d := netip.MustParseAddrPort(src), netip.MustParseAddrPort(dst)
	b := append(s.Addr().AsSlice(), d.Addr().AsSlice()...)
	b = binary.BigEndian.AppendUint16(b, s.Port())
	return binary.BigEndian.AppendUint16(b, d.Port())
}

func TestProxyProtocol(t *testing.T) {
	logged := &syncbuf.Buffer{}
	_, addr := startServer(t, connInfoHandler, func(s *Server) {
		s.ProxyProtocol = true
		s.ProxyTrust = func(a netip.Addr) bool { return a == netip.MustParseAddr("127.0.0.1") }
		s.HeaderTimeout = time.Second
		s.ErrorLog = log.New(logged, "", 0)
	})
	const trusted, untrusted = "127.0.0.1", "127.0.0.2"
	const real = "real" // want: the connection's own addresses
	req := "GET / HTTP/1.1\r\nHost: h\r\n\r\nGET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n"
	tests := []struct {
		name, from, preface string
		split               bool   // send the preface a byte at a time
		noRequest           bool   // send the preface alone
		want                string // ConnInfo of both responses; "" for a close without response
		logged              bool
	}{
		{name: "v1 TCP4", from: trusted, preface: "PROXY TCP4 192.0.2.1 198.51.100.2 56324 443\r\n",
			want: "192.0.2.1 56324 198.51.100.2 443 192.0.2.1 false"},
		{name: "v1 TCP4 split", from: trusted, preface: "PROXY TCP4 192.0.2.1 198.51.100.2 56324 443\r\n", split: true,
			want: "192.0.2.1 56324 198.51.100.2 443 192.0.2.1 false"},
		{name: "v1 TCP6", from: trusted, preface: "PROXY TCP6 2001:db8::1 2001:db8::2 65535 8000\r\n",
			want: "2001:db8::1 65535 2001:db8::2 8000 2001:db8::1 false"},
		{name: "v1 TCP6 mapped", from: trusted, preface: "PROXY TCP6 ::ffff:192.0.2.1 ::ffff:192.0.2.2 1 2\r\n",
			want: "192.0.2.1 1 192.0.2.2 2 192.0.2.1 false"},
		{name: "v1 UNKNOWN", from: trusted, preface: "PROXY UNKNOWN\r\n", want: real},
		{name: "v1 UNKNOWN with addresses", from: trusted, preface: "PROXY UNKNOWN ffff:f...f:ffff ffff:f...f:ffff 65535 65535\r\n", want: real},
		{name: "v1 longest", from: trusted, preface: "PROXY UNKNOWN " + strings.Repeat("x", 107-16) + "\r\n", want: real},
		{name: "v1 too long", from: trusted, preface: "PROXY UNKNOWN " + strings.Repeat("x", 108-16) + "\r\n", logged: true},
		{name: "v1 no CRLF", from: trusted, preface: "PROXY TCP4 192.0.2.1 198.51.100.2 56324 443", logged: true},
		{name: "v1 truncated", from: trusted, preface: "PROXY TCP4 192.0.2.1 198.51.100.2 56324 443", noRequest: true},
		{name: "signature truncated", from: trusted, preface: "\r\n\r\n", noRequest: true},
		{name: "v1 bare LF", from: trusted, preface: "PROXY TCP4 192.0.2.1 198.51.100.2 56324 443\n", logged: true},
		{name: "v1 TCP4 with IPv6", from: trusted, preface: "PROXY TCP4 2001:db8::1 2001:db8::2 1 2\r\n", logged: true},
		{name: "v1 TCP6 with IPv4", from: trusted, preface: "PROXY TCP6 192.0.2.1 198.51.100.2 1 2\r\n", logged: true},
		{name: "v1 mixed families", from: trusted, preface: "PROXY TCP6 2001:db8::1 ::ffff:1.2.3.4 1 2\r\n", want: "2001:db8::1 1 1.2.3.4 2 2001:db8::1 false"},
		{name: "v1 port out of range", from: trusted, preface: "PROXY TCP4 192.0.2.1 198.51.100.2 65536 443\r\n", logged: true},
		{name: "v1 double space", from: trusted, preface: "PROXY TCP4  192.0.2.1 198.51.100.2 1 443\r\n", logged: true},
		{name: "v1 missing port", from: trusted, preface: "PROXY TCP4 192.0.2.1 198.51.100.2 1\r\n", logged: true},
		{name: "v1 zone", from: trusted, preface: "PROXY TCP6 fe80::1%eth0 2001:db8::2 1 2\r\n", logged: true},
		{name: "v1 UDP4", from: trusted, preface: "PROXY UDP4 192.0.2.1 198.51.100.2 1 2\r\n", logged: true},
		{name: "v1 lower case", from: trusted, preface: "proxy TCP4 192.0.2.1 198.51.100.2 1 2\r\n", logged: true},

		{name: "v2 TCP4", from: trusted, preface: proxyV2(0x21, 0x11, v2Addrs("192.0.2.1:56324", "198.51.100.2:443"), 0),
			want: "192.0.2.1 56324 198.51.100.2 443 192.0.2.1 false"},
		{name: "v2 TCP4 split", from: trusted, preface: proxyV2(0x21, 0x11, v2Addrs("192.0.2.1:56324", "198.51.100.2:443"), 20), split: true,
			want: "192.0.2.1 56324 198.51.100.2 443 192.0.2.1 false"},
		{name: "v2 TCP6 with TLVs", from: trusted, preface: proxyV2(0x21, 0x21, v2Addrs("[2001:db8::1]:1", "[2001:db8::2]:2"), 100),
			want: "2001:db8::1 1 2001:db8::2 2 2001:db8::1 false"},
		{name: "v2 TLVs larger than the buffer", from: trusted, preface: proxyV2(0x21, 0x11, v2Addrs("192.0.2.1:1", "192.0.2.2:2"), 65535-12),
			want: "192.0.2.1 1 192.0.2.2 2 192.0.2.1 false"},
		{name: "v2 LOCAL", from: trusted, preface: proxyV2(0x20, 0x00, nil, 0), want: real},
		{name: "v2 LOCAL with a block", from: trusted, preface: proxyV2(0x20, 0x11, v2Addrs("192.0.2.1:1", "192.0.2.2:2"), 0), want: real},
		{name: "v2 UNSPEC", from: trusted, preface: proxyV2(0x21, 0x00, nil, 0), want: real},
		{name: "v2 unix", from: trusted, preface: proxyV2(0x21, 0x31, make([]byte, 216), 0), want: real},
		{name: "v2 UDP", from: trusted, preface: proxyV2(0x21, 0x12, v2Addrs("192.0.2.1:1", "192.0.2.2:2"), 0), logged: true},
		{name: "v2 version 1", from: trusted, preface: proxyV2(0x11, 0x11, v2Addrs("192.0.2.1:1", "192.0.2.2:2"), 0), logged: true},
		{name: "v2 command 2", from: trusted, preface: proxyV2(0x22, 0x11, v2Addrs("192.0.2.1:1", "192.0.2.2:2"), 0), logged: true},
		{name: "v2 length short of the addresses", from: trusted, preface: proxyV2(0x21, 0x21, v2Addrs("192.0.2.1:1", "192.0.2.2:2"), 0), logged: true},
		{name: "v2 truncated", from: trusted, preface: proxyV2(0x21, 0x11, v2Addrs("192.0.2.1:1", "192.0.2.2:2"), 0)[:20], noRequest: true},
		{name: "v2 TLVs truncated", from: trusted, preface: proxyV2(0x21, 0x11, v2Addrs("192.0.2.1:1", "192.0.2.2:2"), 9000)[:8000], noRequest: true},

		{name: "trusted without header", from: trusted, preface: "", logged: true},
		{name: "trusted, HTTP after a header prefix", from: trusted, preface: "PROX", logged: true},
		{name: "untrusted without header", from: untrusted, preface: "", want: real},
		{name: "untrusted v1", from: untrusted, preface: "PROXY TCP4 192.0.2.1 198.51.100.2 56324 443\r\n"},
		{name: "untrusted v2", from: untrusted, preface: proxyV2(0x21, 0x11, v2Addrs("192.0.2.1:1", "192.0.2.2:2"), 0)},
		{name: "untrusted v2 LOCAL", from: untrusted, preface: proxyV2(0x20, 0x00, nil, 0)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := logged.String()
			nc := dialFrom(t, tt.from, addr)
			if tt.split {
				nc.(*net.TCPConn).SetNoDelay(true)
				for i := range len(tt.preface) {
					nc.Write([]byte{tt.preface[i]})
					if i < 20 {
						time.Sleep(time.Millisecond)
					}
				}
			} else {
				io.WriteString(nc, tt.preface)
			}
			if !tt.noRequest {
				io.WriteString(nc, req)
			}
			nc.(*net.TCPConn).CloseWrite()
			got, err := io.ReadAll(nc)
			// A connection closed with the request unread may be reset.
			if err != nil && tt.want != "" {
				t.Fatalf("reading: %v (got %q)", err, got)
			}
			want := tt.want
			if want == real {
				local := nc.LocalAddr().(*net.TCPAddr)
				want = fmt.Sprintf("%s %d %s %s false", local.IP, local.Port, strings.Replace(addr, ":", " ", 1), local.IP)
			}
			if want == "" {
				if len(got) > 0 {
					t.Errorf("answered %q", got)
				}
			} else {
				for i, resp := range readResponses(t, string(got), "GET", "GET") {
					if b := bodyOf(resp); b != want {
						t.Errorf("response %d: ConnInfo %q, want %q", i, b, want)
					}
				}
			}
			if l := logged.String()[len(before):]; (l != "") != tt.logged {
				t.Errorf("logged %q, want a line: %v", l, tt.logged)
			}
		})
	}
}

// prefixConn sends prefix in the same write as the first bytes written.
type prefixConn struct {
	net.Conn
	prefix []byte
}

// Write sends the prefix with p the first time.
func (c *prefixConn) Write(p []byte) (int, error) {
	if c.prefix != nil {
		b := append(c.prefix, p...)
		c.prefix = nil
		n, err := c.Conn.Write(b)
		return max(n-(len(b)-len(p)), 0), err
	}
	return c.Conn.Write(p)
}

// TestProxyProtocolTLS sends the PROXY header and the TLS ClientHello in
// one segment, as proxies do: the bytes read past the header must reach
// the TLS layer.
func TestProxyProtocolTLS(t *testing.T) {
	pki := newTestPKI(t)
	_, addr := startServer(t, connInfoHandler, func(s *Server) {
		s.ProxyProtocol = true
		s.TLSConfig = pki.serverConfig(t, false)
	})
	for _, preface := range []string{
		"PROXY TCP4 192.0.2.1 198.51.100.2 56324 443\r\n",
		proxyV2(0x21, 0x11, v2Addrs("192.0.2.1:56324", "198.51.100.2:443"), 7),
	} {
		nc := dialFrom(t, "127.0.0.1", addr)
		tc := tls.Client(&prefixConn{Conn: nc, prefix: []byte(preface)}, pki.clientConfig(false))
		io.WriteString(tc, "GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n")
		got, err := io.ReadAll(tc)
		if err != nil {
			t.Fatalf("reading: %v (got %q)", err, got)
		}
		const want = "192.0.2.1 56324 198.51.100.2 443 192.0.2.1 true"
		if b := bodyOf(readResponses(t, string(got), "GET")[0]); b != want {
			t.Errorf("ConnInfo %q, want %q", b, want)
		}
	}
}
