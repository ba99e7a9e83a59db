package httpcore

import (
	"strings"
	"testing"
)

func TestParseHeadAccept(t *testing.T) {
	tests := []struct {
		name, head                 string
		method, path, query, proto string
		length                     int64
		chunked, keepAlive, expect bool
		headers                    int
	}{
		{name: "simple GET", head: "GET /a/b HTTP/1.1\r\nHost: x\r\n\r\n",
			method: "GET", path: "/a/b", proto: "HTTP/1.1", keepAlive: true, headers: 1},
		{name: "query", head: "GET /p?a=1&b=%20?c HTTP/1.1\r\nHost: x\r\n\r\n",
			method: "GET", path: "/p", query: "a=1&b=%20?c", proto: "HTTP/1.1", keepAlive: true, headers: 1},
		{name: "empty query", head: "GET /p? HTTP/1.1\r\nHost: x\r\n\r\n",
			method: "GET", path: "/p", proto: "HTTP/1.1", keepAlive: true, headers: 1},
		{name: "one leading empty line", head: "\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n",
			method: "GET", path: "/", proto: "HTTP/1.1", keepAlive: true, headers: 1},
		{name: "absolute-form", head: "GET http://example.com:80/p/q?x=1 HTTP/1.1\r\nHost: example.com\r\n\r\n",
			method: "GET", path: "/p/q", query: "x=1", proto: "HTTP/1.1", keepAlive: true, headers: 1},
		{name: "absolute-form https upper-case", head: "GET HTTPS://h HTTP/1.1\r\nHost: h\r\n\r\n",
			method: "GET", path: "/", proto: "HTTP/1.1", keepAlive: true, headers: 1},
		{name: "absolute-form query only", head: "GET http://h?q HTTP/1.1\r\nHost: h\r\n\r\n",
			method: "GET", path: "/", query: "q", proto: "HTTP/1.1", keepAlive: true, headers: 1},
		{name: "asterisk-form with OPTIONS", head: "OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n",
			method: "OPTIONS", path: "*", proto: "HTTP/1.1", keepAlive: true, headers: 1},
		{name: "authority-form with CONNECT", head: "CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n",
			method: "CONNECT", proto: "HTTP/1.1", keepAlive: true, headers: 1},
		{name: "HTTP/1.0 without Host closes", head: "GET / HTTP/1.0\r\n\r\n",
			method: "GET", path: "/", proto: "HTTP/1.0"},
		{name: "HTTP/1.0 keep-alive", head: "GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n",
			method: "GET", path: "/", proto: "HTTP/1.0", keepAlive: true, headers: 1},
		{name: "HTTP/1.1 Connection close in a list", head: "GET / HTTP/1.1\r\nHost: x\r\nConnection: foo, CLOSE\r\n\r\n",
			method: "GET", path: "/", proto: "HTTP/1.1", headers: 2},
		{name: "Content-Length", head: "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 42\r\n\r\n",
			method: "POST", path: "/", proto: "HTTP/1.1", length: 42, keepAlive: true, headers: 2},
		{name: "repeated identical Content-Length", head: "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 7\r\ncontent-length: 7\r\n\r\n",
			method: "POST", path: "/", proto: "HTTP/1.1", length: 7, keepAlive: true, headers: 3},
		{name: "chunked any case", head: "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: ChUnKeD\r\n\r\n",
			method: "POST", path: "/", proto: "HTTP/1.1", length: -1, chunked: true, keepAlive: true, headers: 2},
		{name: "expect 100-continue", head: "POST / HTTP/1.1\r\nHost: x\r\nExpect: 100-Continue\r\nContent-Length: 1\r\n\r\n",
			method: "POST", path: "/", proto: "HTTP/1.1", length: 1, keepAlive: true, expect: true, headers: 3},
		{name: "method of 20 bytes", head: "ABCDEFGHIJKLMNOPQRST / HTTP/1.1\r\nHost: x\r\n\r\n",
			method: "ABCDEFGHIJKLMNOPQRST", path: "/", proto: "HTTP/1.1", keepAlive: true, headers: 1},
		{name: "method with token punctuation", head: "M-SEARCH / HTTP/1.1\r\nHost: x\r\n\r\n",
			method: "M-SEARCH", path: "/", proto: "HTTP/1.1", keepAlive: true, headers: 1},
		{name: "percent-encoded octets", head: "GET /a%2Fb%c3%A9?q=%20%7e HTTP/1.1\r\nHost: x\r\n\r\n",
			method: "GET", path: "/a%2Fb%c3%A9", query: "q=%20%7e", proto: "HTTP/1.1", keepAlive: true, headers: 1},
		{name: "unencoded visible characters kept", head: "GET /a|b{c}[d]^e`f\"g<h>\\?x[]=1&y={} HTTP/1.1\r\nHost: x\r\n\r\n",
			method: "GET", path: "/a|b{c}[d]^e`f\"g<h>\\", query: "x[]=1&y={}", proto: "HTTP/1.1", keepAlive: true, headers: 1},
		{name: "absolute-form IPv6 with port", head: "GET http://[::1]:8080/p?q HTTP/1.1\r\nHost: x\r\n\r\n",
			method: "GET", path: "/p", query: "q", proto: "HTTP/1.1", keepAlive: true, headers: 1},
		{name: "absolute-form IPv4 and sub-delims", head: "GET http://127.0.0.1/ HTTP/1.1\r\nHost: x\r\n\r\n",
			method: "GET", path: "/", proto: "HTTP/1.1", keepAlive: true, headers: 1},
		{name: "authority-form IPv6", head: "CONNECT [2001:db8::1]:443 HTTP/1.1\r\nHost: x\r\n\r\n",
			method: "CONNECT", proto: "HTTP/1.1", keepAlive: true, headers: 1},
		{name: "chunked with whitespace", head: "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: \t chunked \r\n\r\n",
			method: "POST", path: "/", proto: "HTTP/1.1", length: -1, chunked: true, keepAlive: true, headers: 2},
		{name: "one Content-Type", head: "POST / HTTP/1.1\r\nHost: x\r\nContent-Type: a/b\r\nContent-Length: 0\r\n\r\n",
			method: "POST", path: "/", proto: "HTTP/1.1", keepAlive: true, headers: 3},
		{name: "empty Host", head: "GET / HTTP/1.1\r\nHost:\r\n\r\n",
			method: "GET", path: "/", proto: "HTTP/1.1", keepAlive: true, headers: 1},
		{name: "value whitespace stripped, HTAB and obs-text kept", head: "GET / HTTP/1.1\r\nHost: x\r\nX-A: \t a\tb\xff \t\r\nX-Empty:\r\n\r\n",
			method: "GET", path: "/", proto: "HTTP/1.1", keepAlive: true, headers: 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var r Request
			if err := parseHead(&r, []byte(tt.head)); err != nil {
				t.Fatalf("parseHead: %v", err)
			}
			got := []string{string(r.Method), string(r.Path), string(r.Query), string(r.Proto)}
			want := []string{tt.method, tt.path, tt.query, tt.proto}
			if strings.Join(got, "|") != strings.Join(want, "|") {
				t.Errorf("method|path|query|proto = %q, want %q", got, want)
			}
			if r.ContentLength != tt.length || r.Chunked != tt.chunked || r.KeepAlive() != tt.keepAlive ||
				r.expectContinue != tt.expect || len(r.Headers) != tt.headers {
				t.Errorf("length %d chunked %v keepAlive %v expect %v headers %d, want %d %v %v %v %d",
					r.ContentLength, r.Chunked, r.KeepAlive(), r.expectContinue, len(r.Headers),
					tt.length, tt.chunked, tt.keepAlive, tt.expect, tt.headers)
			}
			if wantProto := tt.proto[len(tt.proto)-1] - '0'; r.ProtoMinor != int(wantProto) {
				t.Errorf("ProtoMinor = %d", r.ProtoMinor)
			}
		})
	}
}

func TestParseHeadValues(t *testing.T) {
	var r Request
	head := "GET /x HTTP/1.1\r\nHost:  h \r\nX-A: \t a\tb \t\r\nX-Empty:\r\n\r\n"
	if err := parseHead(&r, []byte(head)); err != nil {
		t.Fatal(err)
	}
	want := [][2]string{{"Host", "h"}, {"X-A", "a\tb"}, {"X-Empty", ""}}
	for i, h := range r.Headers {
		if string(h.Name) != want[i][0] || string(h.Value) != want[i][1] {
			t.Errorf("header %d = %q: %q, want %q", i, h.Name, h.Value, want[i])
		}
	}
	if string(r.URI) != "/x" {
		t.Errorf("URI = %q", r.URI)
	}
}

func TestParseHeadReject(t *testing.T) {
	const host = "Host: x\r\n"
	tests := []struct{ name, head, status string }{
		{"bare LF ending the request line", "GET / HTTP/1.1\n" + host + "\r\n", status400},
		{"bare LF ending a field", "GET / HTTP/1.1\r\nHost: x\n\r\n", status400},
		{"bare CR in the request line", "GET /a\rb HTTP/1.1\r\n" + host + "\r\n", status400},
		{"bare CR in a field value", "GET / HTTP/1.1\r\nX: a\rb\r\n" + host + "\r\n", status400},
		{"NUL in the target", "GET /\x00 HTTP/1.1\r\n" + host + "\r\n", status400},
		{"NUL in a field value", "GET / HTTP/1.1\r\nX: a\x00\r\n" + host + "\r\n", status400},
		{"NUL in a field name", "GET / HTTP/1.1\r\nX\x00: a\r\n" + host + "\r\n", status400},
		{"two leading empty lines", "\r\n\r\nGET / HTTP/1.1\r\n" + host + "\r\n", status400},
		{"method not a token", "G(T / HTTP/1.1\r\n" + host + "\r\n", status400},
		{"empty method", " / HTTP/1.1\r\n" + host + "\r\n", status400},
		{"double space", "GET  / HTTP/1.1\r\n" + host + "\r\n", status400},
		{"missing version", "GET /\r\n" + host + "\r\n", status400},
		{"trailing space after version", "GET / HTTP/1.1 \r\n" + host + "\r\n", status400},
		{"lower-case version", "GET / http/1.1\r\n" + host + "\r\n", status400},
		{"malformed version", "GET / HTTP/1.x\r\n" + host + "\r\n", status400},
		{"two-digit version", "GET / HTTP/10.1\r\n" + host + "\r\n", status400},
		{"HTTP/2.0", "GET / HTTP/2.0\r\n" + host + "\r\n", status505},
		{"HTTP/1.2", "GET / HTTP/1.2\r\n" + host + "\r\n", status505},
		{"HTTP/0.9", "GET / HTTP/0.9\r\n" + host + "\r\n", status505},
		{"asterisk without OPTIONS", "GET * HTTP/1.1\r\n" + host + "\r\n", status400},
		{"authority-form without CONNECT", "GET example.com:80 HTTP/1.1\r\n" + host + "\r\n", status400},
		{"CONNECT with origin-form", "CONNECT / HTTP/1.1\r\n" + host + "\r\n", status400},
		{"absolute-form with another scheme", "GET ftp://h/p HTTP/1.1\r\n" + host + "\r\n", status400},
		{"absolute-form without authority", "GET http:///p HTTP/1.1\r\n" + host + "\r\n", status400},
		{"relative target", "GET a/b HTTP/1.1\r\n" + host + "\r\n", status400},
		{"whitespace before colon", "GET / HTTP/1.1\r\nHost : x\r\n\r\n", status400},
		{"field without colon", "GET / HTTP/1.1\r\n" + host + "Nonsense\r\n\r\n", status400},
		{"empty field name", "GET / HTTP/1.1\r\n" + host + ": v\r\n\r\n", status400},
		{"obsolete line folding", "GET / HTTP/1.1\r\n" + host + "X: a\r\n b\r\n\r\n", status400},
		{"folding with HTAB", "GET / HTTP/1.1\r\n" + host + "X: a\r\n\tb\r\n\r\n", status400},
		{"control char in value", "GET / HTTP/1.1\r\n" + host + "X: a\x01b\r\n\r\n", status400},
		{"DEL in value", "GET / HTTP/1.1\r\n" + host + "X: a\x7fb\r\n\r\n", status400},
		{"Content-Length not digits", "POST / HTTP/1.1\r\n" + host + "Content-Length: 1a\r\n\r\n", status400},
		{"Content-Length signed", "POST / HTTP/1.1\r\n" + host + "Content-Length: +1\r\n\r\n", status400},
		{"Content-Length empty", "POST / HTTP/1.1\r\n" + host + "Content-Length:\r\n\r\n", status400},
		{"Content-Length list", "POST / HTTP/1.1\r\n" + host + "Content-Length: 1, 1\r\n\r\n", status400},
		{"Content-Length overflow", "POST / HTTP/1.1\r\n" + host + "Content-Length: 99999999999999999999\r\n\r\n", status400},
		{"differing Content-Length", "POST / HTTP/1.1\r\n" + host + "Content-Length: 1\r\nContent-Length: 2\r\n\r\n", status400},
		{"Content-Length with Transfer-Encoding", "POST / HTTP/1.1\r\n" + host + "Content-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n", status400},
		{"Transfer-Encoding in HTTP/1.0", "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", status400},
		{"Transfer-Encoding gzip", "POST / HTTP/1.1\r\n" + host + "Transfer-Encoding: gzip\r\n\r\n", status501},
		{"Transfer-Encoding list", "POST / HTTP/1.1\r\n" + host + "Transfer-Encoding: gzip, chunked\r\n\r\n", status501},
		{"Transfer-Encoding twice", "POST / HTTP/1.1\r\n" + host + "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n", status501},
		{"bare CR ending the request line", "GET / HTTP/1.1\r" + host + "\r\n", status400},
		{"bare CR ending a field line", "GET / HTTP/1.1\r\nX: a\r" + host + "\r\n", status400},
		{"NUL in the method", "GE\x00T / HTTP/1.1\r\n" + host + "\r\n", status400},
		{"NUL in the version", "GET / HTTP/1.1\x00\r\n" + host + "\r\n", status400},
		{"lower-case method", "get / HTTP/1.1\r\n" + host + "\r\n", status400},
		{"mixed-case method", "Get / HTTP/1.1\r\n" + host + "\r\n", status400},
		{"method of 2 bytes", "GE / HTTP/1.1\r\n" + host + "\r\n", status400},
		{"method of 21 bytes", "ABCDEFGHIJKLMNOPQRSTU / HTTP/1.1\r\n" + host + "\r\n", status400},
		{"space in the target", "GET /a b HTTP/1.1\r\n" + host + "\r\n", status400},
		{"HTAB in the target", "GET /a\tb HTTP/1.1\r\n" + host + "\r\n", status400},
		{"control char in the target", "GET /a\x01 HTTP/1.1\r\n" + host + "\r\n", status400},
		{"DEL in the target", "GET /a\x7f HTTP/1.1\r\n" + host + "\r\n", status400},
		{"non-ASCII in the path", "GET /caf\xc3\xa9 HTTP/1.1\r\n" + host + "\r\n", status400},
		{"non-ASCII in the query", "GET /?q=\xff HTTP/1.1\r\n" + host + "\r\n", status400},
		{"fragment", "GET /a#b HTTP/1.1\r\n" + host + "\r\n", status400},
		{"percent without hex digits", "GET /a%zz HTTP/1.1\r\n" + host + "\r\n", status400},
		{"percent with one hex digit", "GET /a%2 HTTP/1.1\r\n" + host + "\r\n", status400},
		{"percent at the end", "GET /a% HTTP/1.1\r\n" + host + "\r\n", status400},
		{"bad percent in the query", "GET /?a=%g1 HTTP/1.1\r\n" + host + "\r\n", status400},
		{"asterisk-form with more", "OPTIONS *x HTTP/1.1\r\n" + host + "\r\n", status400},
		{"absolute-form broken IPv6 literal", "GET http://[x/ HTTP/1.1\r\n" + host + "\r\n", status400},
		{"absolute-form unclosed IPv6 literal", "GET http://[::1/ HTTP/1.1\r\n" + host + "\r\n", status400},
		{"absolute-form port too large", "GET http://h:65536/ HTTP/1.1\r\n" + host + "\r\n", status400},
		{"absolute-form port not digits", "GET http://h:8o/ HTTP/1.1\r\n" + host + "\r\n", status400},
		{"absolute-form empty port", "GET http://h:/ HTTP/1.1\r\n" + host + "\r\n", status400},
		{"absolute-form empty host", "GET http://:80/ HTTP/1.1\r\n" + host + "\r\n", status400},
		{"absolute-form userinfo", "GET http://u:p@h/ HTTP/1.1\r\n" + host + "\r\n", status400},
		{"absolute-form bad host character", "GET http://h_{}/ HTTP/1.1\r\n" + host + "\r\n", status400},
		{"authority-form without port", "CONNECT h HTTP/1.1\r\n" + host + "\r\n", status400},
		{"authority-form bad port", "CONNECT h:99999 HTTP/1.1\r\n" + host + "\r\n", status400},
		{"authority-form with userinfo", "CONNECT u@h:443 HTTP/1.1\r\n" + host + "\r\n", status400},
		{"authority-form with a path", "CONNECT h:443/p HTTP/1.1\r\n" + host + "\r\n", status400},
		{"Content-Type twice", "POST / HTTP/1.1\r\n" + host + "Content-Type: a/b\r\ncontent-type: a/b\r\n\r\n", status400},
		{"Transfer-Encoding identity", "POST / HTTP/1.1\r\n" + host + "Transfer-Encoding: identity\r\n\r\n", status501},
		{"Transfer-Encoding gzip then chunked in two fields", "POST / HTTP/1.1\r\n" + host + "Transfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n", status501},
		{"Transfer-Encoding chunked twice in a list", "POST / HTTP/1.1\r\n" + host + "Transfer-Encoding: chunked, chunked\r\n\r\n", status501},
		{"Transfer-Encoding chunked not last", "POST / HTTP/1.1\r\n" + host + "Transfer-Encoding: chunked, gzip\r\n\r\n", status400},
		{"Transfer-Encoding empty element", "POST / HTTP/1.1\r\n" + host + "Transfer-Encoding: chunked,\r\n\r\n", status400},
		{"Transfer-Encoding empty", "POST / HTTP/1.1\r\n" + host + "Transfer-Encoding:\r\n\r\n", status400},
		{"Transfer-Encoding with a parameter", "POST / HTTP/1.1\r\n" + host + "Transfer-Encoding: chunked;q=1\r\n\r\n", status501},
		{"Transfer-Encoding chunked with Content-Length after it", "POST / HTTP/1.1\r\n" + host + "Transfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n", status400},
		{"Content-Length with space inside", "POST / HTTP/1.1\r\n" + host + "Content-Length: 1 2\r\n\r\n", status400},
		{"HTTP/1.1 without Host", "GET / HTTP/1.1\r\n\r\n", status400},
		{"two Host fields", "GET / HTTP/1.1\r\n" + host + host + "\r\n", status400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var r Request
			err := parseHead(&r, []byte(tt.head))
			pe, ok := err.(*protoError)
			if !ok {
				t.Fatalf("parseHead = %v, want a %s", err, tt.status)
			}
			if pe.status != tt.status {
				t.Errorf("status %q (%s), want %q", pe.status, pe.reason, tt.status)
			}
		})
	}
}

func BenchmarkParseHead(b *testing.B) {
	head := []byte("GET /static/app.js?v=12 HTTP/1.1\r\nHost: example.com\r\n" +
		"User-Agent: Mozilla/5.0 (X11; Linux x86_64) Gecko/20100101 Firefox/120.0\r\n" +
		"Accept: */*\r\nAccept-Language: en-US,en;q=0.5\r\nAccept-Encoding: gzip, deflate\r\n" +
		"Connection: keep-alive\r\nCookie: session=0123456789abcdef\r\n\r\n")
	var r Request
	b.SetBytes(int64(len(head)))
	b.ReportAllocs()
	for b.Loop() {
		if err := parseHead(&r, head); err != nil {
			b.Fatal(err)
		}
	}
}
