package httpcore

import (
	"bufio"
	"bytes"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// stricterThanNetHTTP lists the errors with which ours refuses requests
// that net/http's ReadRequest accepts, each a rule of ours that net/http
// leaves to its server, to the application, or does not have.
var stricterThanNetHTTP = map[error]string{
	errMethod:            "methods are upper-case tokens of 3 to 20 bytes",
	errTarget:            "targets hold no non-ASCII byte, '#' or malformed percent-encoding; absolute-form is http(s) with a host and port of RFC 3986 and no userinfo; authority-form is for CONNECT only and has a port",
	errVersionSupport:    "only HTTP/1.0 and HTTP/1.1 (net/http's server answers 505 later)",
	errHost:              "HTTP/1.1 needs exactly one Host (net/http's server checks later)",
	errContentTypes:      "one Content-Type at most: the WSGI environ holds one",
	errEncoding10:        "Transfer-Encoding in HTTP/1.0 (net/http ignores it)",
	errLengthAndEncoding: "Content-Length with Transfer-Encoding (net/http drops the Content-Length)",
	errBareLF:            "lines end in CRLF (net/http accepts a bare LF)",
	errObsFold:           "no obsolete line folding (net/http joins the lines)",
	errHeaderName:        "no whitespace before a field's colon (net/http strips it, so \"Transfer-Encoding : chunked\" frames its body)",
	errContentLength:     "Content-Length is digits on its own line (net/http joins a folded value first)",
	errLeadingEmpty:      "at most one empty line before the request line",
	errChunkSize:         "no whitespace around a chunk size without an extension",
	errChunkExt:          "chunk extensions are well-formed RFC 9112 chunk-ext",
	errChunkLF:           "chunk lines end in CRLF",
	errTrailer:           "trailer fields are well-formed",
	errTrailerField:      "no Content-Length, Transfer-Encoding or Host in trailers",
}

// netHTTPRequest is what net/http makes of raw, or why it refuses it; a
// refusal about the body framing is marked so.
type netHTTPRequest struct {
	req     *http.Request
	body    []byte
	err     error
	framing bool // the refusal is about Content-Length, Transfer-Encoding or chunked data
}

// readNetHTTP reads the first request of raw with http.ReadRequest.
func readNetHTTP(raw []byte) netHTTPRequest {
	req, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(raw)))
	if err != nil {
		msg := err.Error()
		framing := strings.Contains(msg, "Content-Length") || strings.Contains(msg, "transfer encoding") ||
			strings.Contains(msg, "Transfer-Encoding")
		return netHTTPRequest{err: err, framing: framing}
	}
	body, err := io.ReadAll(req.Body)
	if err != nil {
		return netHTTPRequest{err: err, framing: true}
	}
	return netHTTPRequest{req: req, body: body}
}

// differentialVectors returns hand-written requests, generated
// combinations of methods, targets, versions, framing and fields, and the
// fuzz seed corpus.
func differentialVectors(t *testing.T) [][]byte {
	var out [][]byte
	add := func(s string) { out = append(out, []byte(s)) }
	const post = "POST /p HTTP/1.1\r\nHost: h\r\n"
	for _, v := range []string{
		"GET / HTTP/1.1\r\nHost: h\r\n\r\n",
		"GET /a/b?c=d&e HTTP/1.1\r\nHost: h\r\nAccept: */*\r\nX-Empty:\r\nX-Sp:  a b  \r\n\r\n",
		"GET / HTTP/1.1\r\nHost: h\r\nSet-Cookie: a\r\nset-cookie: b\r\n\r\n",
		post + "Content-Length: 5\r\n\r\nhello",
		post + "Content-Length: 5\r\nContent-Length: 5\r\n\r\nhello",
		post + "Content-Length: 5\r\nContent-Length: 6\r\n\r\nhello!",
		post + "Content-Length: 5, 5\r\n\r\nhello",
		post + "Content-Length: +5\r\n\r\nhello",
		post + "Content-Length: -5\r\n\r\nhello",
		post + "Content-Length: 5\r\n\r\nhel",
		post + "Transfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
		post + "Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
		post + "Transfer-Encoding: chunked\r\n\r\n5\r\nhelloXX0\r\n\r\n",
		post + "Transfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n",
		post + "Transfer-Encoding: chunked\r\n\r\n5\r\nhel",
		post + "Transfer-Encoding: chunked\r\n\r\n5;x=1\r\nhello\r\n0\r\nX-T: 1\r\n\r\n",
		post + "Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\nContent-Length: 9\r\n\r\n",
		post + "Transfer-Encoding: gzip\r\n\r\nxx",
		post + "Transfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n",
		post + "Transfer-Encoding: chunked, gzip\r\n\r\n0\r\n\r\n",
		post + "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
		post + "Transfer-Encoding: identity\r\n\r\n",
		post + "Transfer-Encoding : chunked\r\n\r\n0\r\n\r\n",
		post + "Transfer-Encoding: xchunked\r\n\r\n0\r\n\r\n",
		"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
		"GET / HTTP/1.1\nHost: h\n\n",
		"GET / HTTP/1.1\r\nHost: h\r\nX: a\r\n b\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: h\r\nX: a\x00\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: h\r\nX: a\x01\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: h\r\nX : a\r\n\r\n",
		"GET / HTTP/1.2\r\nHost: h\r\n\r\n",
		"GET / HTTP/1.1\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
	} {
		add(v)
	}

	methods := []string{"GET", "POST", "HEAD", "OPTIONS", "CONNECT", "M-SEARCH", "get", "GE", "ABCDEFGHIJKLMNOPQRSTU"}
	targets := []string{"/", "/a/b?c=d", "/%7e%2F", "/%zz", "/a|{b}", "/caf\xc3\xa9", "/a#f", "*", "h:443", "[::1]:443",
		"http://h/p?q", "HTTP://h:8080", "http://[::1]/", "http://[x/", "http://u@h/", "http://h:99999/", "ftp://h/"}
	versions := []string{"HTTP/1.1", "HTTP/1.0"}
	framings := []string{
		"",
		"Content-Length: 5\r\n\r\nhello",
		"Content-Length: 5\r\nContent-Length: 5\r\n\r\nhello",
		"Content-Length: 5\r\nContent-Length: 4\r\n\r\nhello",
		"Content-Length: 5x\r\n\r\nhello",
		"Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
		"Transfer-Encoding: chunked\r\n\r\n5 \r\nhello\r\n0\r\n\r\n",
		"Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n",
		"Transfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
		"Transfer-Encoding: gzip, chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
	}
	fields := []string{"Host: h\r\n", "Host: h\r\nContent-Type: a\r\nContent-Type: b\r\n", "Host: h\r\nX:  v \t\r\n", ""}
	for _, m := range methods {
		for _, target := range targets {
			for _, v := range versions {
				for _, fr := range framings {
					for _, f := range fields {
						if fr == "" {
							fr = "\r\n"
						}
						add(m + " " + target + " " + v + "\r\n" + f + fr)
					}
				}
			}
		}
	}

	for _, name := range []string{"FuzzParseRequest", "FuzzChunked"} {
		files, err := filepath.Glob(filepath.Join("testdata", "fuzz", name, "*"))
		if err != nil || len(files) == 0 {
			t.Fatalf("no seed corpus for %s: %v", name, err)
		}
		for _, file := range files {
			seed := readCorpusFile(t, file)
			if name == "FuzzChunked" {
				seed = append([]byte(chunkedHead), seed...)
			}
			out = append(out, seed)
		}
	}
	return out
}

// readCorpusFile returns the []byte value of a one-value fuzz corpus file.
func readCorpusFile(t *testing.T, file string) []byte {
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) != 2 || lines[0] != "go test fuzz v1" || !strings.HasPrefix(lines[1], "[]byte(") {
		t.Fatalf("%s: not a one-value corpus file", file)
	}
	v, err := strconv.Unquote(strings.TrimSuffix(strings.TrimPrefix(lines[1], "[]byte("), ")"))
	if err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	return []byte(v)
}

func TestDifferentialNetHTTP(t *testing.T) {
	s := fuzzServer(nil)
	var agreed, stricter, bothRefused int
	for _, raw := range differentialVectors(t) {
		ours, theirs := readOne(s, raw), readNetHTTP(raw)
		switch {
		case theirs.err != nil && theirs.framing:
			if ours.err == nil && !netHTTPStricter(theirs.err) {
				t.Errorf("%q: accepted; net/http refuses its framing: %v", raw, theirs.err)
			}
			bothRefused++
		case theirs.err != nil:
			// Refused by net/http for another reason: nothing to compare.
		case ours.err != nil:
			if _, ok := stricterThanNetHTTP[ours.err]; !ok {
				t.Errorf("%q: refused (%v), net/http accepts and the rule is not listed as stricter", raw, ours.err)
			}
			stricter++
		default:
			if diff := compareNetHTTP(&ours, &theirs); diff != "" {
				t.Errorf("%q: %s", raw, diff)
			}
			agreed++
		}
	}
	t.Logf("%d read alike, %d refused by a stricter rule, %d framing refusals by both", agreed, stricter, bothRefused)
	if agreed < 100 || stricter < 100 || bothRefused < 100 {
		t.Errorf("the vectors no longer cover each outcome")
	}
}

// netHTTPStricter reports whether net/http refused a chunked body for one
// of the rules where it is stricter than RFC 9112 and ours (refStricter).
func netHTTPStricter(err error) bool {
	for _, rule := range refStricter {
		if strings.Contains(err.Error(), rule) {
			return true
		}
	}
	return false
}

// compareNetHTTP says how ours differs from net/http's reading of the same
// request, or returns "".
func compareNetHTTP(ours *parsed, theirs *netHTTPRequest) string {
	r := theirs.req
	if ours.method != r.Method || ours.uri != r.RequestURI || ours.proto != r.Proto {
		return "request line " + ours.method + " " + ours.uri + " " + ours.proto + ", net/http " +
			r.Method + " " + r.RequestURI + " " + r.Proto
	}
	if !bytes.Equal(ours.body, theirs.body) {
		return "body " + strconv.Quote(string(ours.body)) + ", net/http " + strconv.Quote(string(theirs.body))
	}
	// net/http moves Host to r.Host and, for chunked requests,
	// Transfer-Encoding to r.TransferEncoding.
	want := http.Header{}
	for _, h := range ours.headers {
		want.Add(h[0], h[1])
	}
	host := want.Get("Host")
	want.Del("Host")
	if ours.chunked {
		want.Del("Transfer-Encoding")
	}
	if cl := want["Content-Length"]; len(cl) > 1 {
		want["Content-Length"] = cl[:1] // net/http keeps one of identical values
	}
	if len(want) != len(r.Header) {
		return "fields " + strconv.Quote(headerString(want)) + ", net/http " + strconv.Quote(headerString(r.Header))
	}
	for name, values := range want {
		if strings.Join(values, "\n") != strings.Join(r.Header[name], "\n") {
			return "field " + name + " " + strconv.Quote(strings.Join(values, "|")) + ", net/http " + strconv.Quote(strings.Join(r.Header[name], "|"))
		}
	}
	if strings.HasPrefix(ours.uri, "/") && host != r.Host {
		return "Host " + host + ", net/http " + r.Host
	}
	return ""
}

// headerString formats h for a message.
func headerString(h http.Header) string {
	var b strings.Builder
	h.Write(&b)
	return b.String()
}
