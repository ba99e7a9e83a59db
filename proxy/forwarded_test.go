package proxy

import (
	"bufio"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/netip"
	"testing"
	"time"

	"github.com/gowsgi/gowsgi/httpcore"
)

// testTrust is the trust list of the tests.
const testTrust = "127.0.0.1, ::1, 10.0.0.0/8, 2001:db8:ffff::/48"

// serveForwarded serves, on a loopback address of network, the result of
// Forwarded for each request: "addr scheme", "-" standing for nil and "".
func serveForwarded(t *testing.T, trust *Trust, listen string) string {
	t.Helper()
	l, err := net.Listen("tcp", listen)
	if err != nil {
		t.Skipf("no loopback address %s: %v", listen, err)
	}
	s := &httpcore.Server{
		ErrorLog: log.New(io.Discard, "", 0),
		Handler: httpcore.HandlerFunc(func(w *httpcore.ResponseWriter, r *httpcore.Request) {
			addr, scheme := Forwarded(trust, r.Conn.RemoteIP, r.Headers)
			w.WriteHeader([]byte("200 OK"), nil)
			fmt.Fprintf(w, "%s %s", orDash(string(addr)), orDash(scheme))
		}),
	}
	done := make(chan error, 1)
	go func() { done <- s.Serve(l) }()
	t.Cleanup(func() { s.Close(); <-done })
	return l.Addr().String()
}

// orDash returns s, or "-" if it is empty.
func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func TestForwarded(t *testing.T) {
	trust, err := ParseTrust(testTrust)
	if err != nil {
		t.Fatal(err)
	}
	v4 := serveForwarded(t, trust, "127.0.0.1:0")
	// The peers' addresses: every 127.0.0.0/8 address is the loopback
	// interface's, and 127.0.0.2 is not trusted.
	servers := map[string]string{"127.0.0.1": v4, "127.0.0.2": v4, "::1": serveForwarded(t, trust, "[::1]:0")}
	tests := []struct {
		name, peer string
		fields     []string // "Name: value"
		want       string   // "addr scheme"
	}{
		{"untrusted peer", "127.0.0.2", []string{"X-Forwarded-For: 203.0.113.7", "X-Forwarded-Proto: https"}, "- -"},
		{"trusted peer, no fields", "127.0.0.1", nil, "- -"},
		{"one proxy", "127.0.0.1", []string{"X-Forwarded-For: 203.0.113.7", "X-Forwarded-Proto: https"}, "203.0.113.7 https"},
		{"through a trusted proxy", "127.0.0.1", []string{"X-Forwarded-For: 203.0.113.7, 10.0.0.2"}, "203.0.113.7 -"},
		{"spoofed entries left of the client", "127.0.0.1", []string{"X-Forwarded-For: 1.1.1.1, 10.9.9.9, 203.0.113.7,10.0.0.2"}, "203.0.113.7 -"},
		{"all trusted", "127.0.0.1", []string{"X-Forwarded-For: 10.0.0.1, 10.0.0.2"}, "10.0.0.1 -"},
		{"several fields", "127.0.0.1", []string{"X-Forwarded-For: 1.1.1.1", "Accept: */*", "x-forwarded-for: 203.0.113.7, 10.0.0.3"}, "203.0.113.7 -"},
		{"several fields, client in the first", "127.0.0.1", []string{"X-Forwarded-For: 198.51.100.1", "X-Forwarded-For: 10.0.0.3,10.0.0.4"}, "198.51.100.1 -"},
		{"empty elements", "127.0.0.1", []string{"X-Forwarded-For: , 203.0.113.7 ,, 10.0.0.2,"}, "203.0.113.7 -"},
		{"port", "127.0.0.1", []string{"X-Forwarded-For: 203.0.113.7:4711"}, "203.0.113.7 -"},
		{"IPv6", "127.0.0.1", []string{"X-Forwarded-For: 2001:db8::7, 2001:db8:ffff::1"}, "2001:db8::7 -"},
		{"IPv6 bracketed with port", "127.0.0.1", []string{"X-Forwarded-For: [2001:db8::7]:443"}, "2001:db8::7 -"},
		{"IPv4-mapped trusted proxy", "127.0.0.1", []string{"X-Forwarded-For: 203.0.113.7, ::ffff:10.0.0.5"}, "203.0.113.7 -"},
		{"IPv6 peer", "::1", []string{"X-Forwarded-For: 192.0.2.5", "X-Forwarded-Proto: https"}, "192.0.2.5 https"},
		{"garbage stops the walk", "127.0.0.1", []string{"X-Forwarded-For: 203.0.113.7, unknown, 10.0.0.2"}, "10.0.0.2 -"},
		{"garbage in a later field", "127.0.0.1", []string{"X-Forwarded-For: 203.0.113.7", "X-Forwarded-For: 10.0.0.2, _hidden"}, "- -"},
		{"garbage right-most", "127.0.0.1", []string{"X-Forwarded-For: 203.0.113.7, example.com"}, "- -"},
		{"bad port", "127.0.0.1", []string{"X-Forwarded-For: 203.0.113.7:99999"}, "- -"},
		{"zone", "127.0.0.1", []string{"X-Forwarded-For: fe80::1%eth0"}, "- -"},
		{"proto http", "127.0.0.1", []string{"X-Forwarded-Proto: HTTP"}, "- http"},
		{"proto other", "127.0.0.1", []string{"X-Forwarded-Proto: wss"}, "- -"},
		{"proto list", "127.0.0.1", []string{"X-Forwarded-Proto: http, https"}, "- https"},
		{"proto last field", "127.0.0.1", []string{"X-Forwarded-Proto: https", "X-Forwarded-Proto: http"}, "- http"},
		{"proto last field not a scheme", "127.0.0.1", []string{"X-Forwarded-Proto: https", "X-Forwarded-Proto: on"}, "- -"},
		{"other scheme fields ignored", "127.0.0.1", []string{"X-Forwarded-Ssl: on", "X-Forwarded-Protocol: ssl", "Front-End-Https: on"}, "- -"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(tt.peer)}}
			nc, err := d.Dial("tcp", servers[tt.peer])
			if err != nil {
				t.Skipf("cannot connect from %s: %v", tt.peer, err)
			}
			defer nc.Close()
			nc.SetDeadline(time.Now().Add(5 * time.Second))
			req := "GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n"
			for _, f := range tt.fields {
				req += f + "\r\n"
			}
			io.WriteString(nc, req+"\r\n")
			resp, err := http.ReadResponse(bufio.NewReader(nc), nil)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			if string(body) != tt.want {
				t.Errorf("got %q, want %q", body, tt.want)
			}
		})
	}
}

// netipLoopback is the trusted peer of the allocation tests.
var netipLoopback = netip.MustParseAddr("127.0.0.1")

// header is a field type other than httpcore's, as Forwarded takes any.
type header struct{ Name, Value []byte }

// forwardedFields is a request's fields behind two proxies.
var forwardedFields = []header{
	{[]byte("Host"), []byte("example.com")},
	{[]byte("User-Agent"), []byte("bench")},
	{[]byte("X-Forwarded-For"), []byte("198.51.100.1, 2001:db8::7, 203.0.113.7, 10.0.0.2")},
	{[]byte("X-Forwarded-Proto"), []byte("https")},
	{[]byte("Accept"), []byte("*/*")},
}

func TestForwardedAllocatesNothing(t *testing.T) {
	trust, _ := ParseTrust(testTrust)
	peer := netipLoopback
	allocs := testing.AllocsPerRun(100, func() {
		addr, scheme := Forwarded(trust, peer, forwardedFields)
		if string(addr) != "203.0.113.7" || scheme != "https" {
			t.Fatalf("got %q %q", addr, scheme)
		}
	})
	if allocs != 0 {
		t.Errorf("%v allocations", allocs)
	}
}

func BenchmarkForwarded(b *testing.B) {
	trust, _ := ParseTrust(testTrust)
	b.ReportAllocs()
	for b.Loop() {
		Forwarded(trust, netipLoopback, forwardedFields)
	}
}
