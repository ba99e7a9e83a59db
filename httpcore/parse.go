package httpcore

import (
	"bytes"

	"github.com/gowsgi/gowsgi/internal/ascii"
)

// tchar marks the bytes allowed in an RFC 9110 token (method, field name).
var tchar = func() (t [256]bool) {
	for c := '0'; c <= '9'; c++ {
		t[c] = true
	}
	for c := 'a'; c <= 'z'; c++ {
		t[c] = true
		t[c-'a'+'A'] = true
	}
	for _, c := range "!#$%&'*+-.^_`|~" {
		t[c] = true
	}
	return t
}()

// slashPath is the Path of an absolute-form target with an empty path.
var slashPath = []byte("/")

// isToken reports whether b is a non-empty RFC 9110 token.
func isToken(b []byte) bool {
	if len(b) == 0 {
		return false
	}
	for _, c := range b {
		if !tchar[c] {
			return false
		}
	}
	return true
}

// isFieldValue reports whether b holds no control character but HTAB.
func isFieldValue(b []byte) bool {
	for _, c := range b {
		if (c < ' ' && c != '\t') || c == 0x7f {
			return false
		}
	}
	return true
}

// trimOWS strips surrounding SP and HTAB.
func trimOWS(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t') {
		b = b[1:]
	}
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\t') {
		b = b[:len(b)-1]
	}
	return b
}

// hasToken reports whether the comma-separated list b holds token s
// (lower-case), ignoring case.
func hasToken(b []byte, s string) bool {
	for len(b) > 0 {
		var item []byte
		if i := bytes.IndexByte(b, ','); i >= 0 {
			item, b = b[:i], b[i+1:]
		} else {
			item, b = b, nil
		}
		if ascii.EqualFold(trimOWS(item), s) {
			return true
		}
	}
	return false
}

// parseDecimal parses a non-empty string of ASCII digits that fits in an
// int64; ok is false otherwise.
func parseDecimal(b []byte) (n int64, ok bool) {
	if len(b) == 0 || len(b) > 18 {
		return 0, false
	}
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	return n, true
}

// nextLine splits p at its first CRLF: line excludes the CRLF. A line ending
// in a bare LF, or no line end at all, is an error.
func nextLine(p []byte) (line, rest []byte, err error) {
	i := bytes.IndexByte(p, '\n')
	if i < 1 || p[i-1] != '\r' {
		return nil, nil, errBareLF
	}
	return p[:i-1], p[i+1:], nil
}

// parseHead parses a complete request head (request line, header fields and
// the empty line, optionally preceded by one empty line) into req. The
// slices stored in req point into head. Bare CR and NUL are refused by the
// character checks of each element.
func parseHead(req *Request, head []byte) error {
	if bytes.HasPrefix(head, []byte("\r\n")) {
		head = head[2:]
	}
	line, rest, err := nextLine(head)
	if err != nil {
		return err
	}
	if len(line) == 0 {
		return errLeadingEmpty
	}
	if err := parseRequestLine(req, line); err != nil {
		return err
	}
	return parseFields(req, rest)
}

// Method length bounds: the shortest registered method is GET and PUT; 20
// leaves room for extension methods while refusing garbage early.
const (
	minMethodLen = 3
	maxMethodLen = 20
)

// parseRequestLine parses "method SP request-target SP HTTP/x.y".
func parseRequestLine(req *Request, line []byte) error {
	sp := bytes.IndexByte(line, ' ')
	if sp < 0 {
		return errRequestLine
	}
	method, rest := line[:sp], line[sp+1:]
	if !isMethod(method) {
		return errMethod
	}
	sp = bytes.IndexByte(rest, ' ')
	if sp <= 0 {
		return errRequestLine
	}
	target, version := rest[:sp], rest[sp+1:]
	if len(version) != 8 || string(version[:5]) != "HTTP/" || version[6] != '.' ||
		!isDigit(version[5]) || !isDigit(version[7]) {
		return errVersion
	}
	if version[5] != '1' || (version[7] != '0' && version[7] != '1') {
		return errVersionSupport
	}
	req.Method, req.URI, req.Proto = method, target, version
	req.ProtoMinor = int(version[7] - '0')
	req.head = string(method) == "HEAD"
	return parseTarget(req, target)
}

// isMethod reports whether b is a token of minMethodLen to maxMethodLen
// bytes without a lower-case letter: methods are case-sensitive and every
// registered one is upper-case, so "get" is a client bug, not GET.
func isMethod(b []byte) bool {
	if len(b) < minMethodLen || len(b) > maxMethodLen || !isToken(b) {
		return false
	}
	for _, c := range b {
		if 'a' <= c && c <= 'z' {
			return false
		}
	}
	return true
}

// isDigit reports whether c is an ASCII digit.
func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// parseTarget sets Path and Query from the request-target in one of the four
// RFC 9112 forms; asterisk-form only with OPTIONS and authority-form only
// (and always) with CONNECT. Absolute-form is accepted for http and https
// with a well-formed authority without userinfo; its path and query are
// used.
func parseTarget(req *Request, target []byte) error {
	if !isTargetText(target) {
		return errTarget
	}
	req.Path, req.Query = nil, nil
	switch {
	case string(req.Method) == "CONNECT":
		if !isHostPort(target) {
			return errTarget
		}
		return nil
	case target[0] == '/':
	case len(target) == 1 && target[0] == '*':
		if string(req.Method) != "OPTIONS" {
			return errTarget
		}
		req.Path = target
		return nil
	default:
		n := schemeLen(target)
		if n == 0 {
			return errTarget
		}
		target = target[n:]
		end := bytes.IndexAny(target, "/?")
		if end < 0 {
			end = len(target)
		}
		authority := target[:end]
		if !isHostPort(authority) && !isHost(authority) {
			return errTarget
		}
		target = target[end:]
		if len(target) == 0 || target[0] == '?' {
			req.Path = slashPath
			if len(target) > 0 {
				req.Query = target[1:]
			}
			return nil
		}
	}
	if q := bytes.IndexByte(target, '?'); q >= 0 {
		req.Path, req.Query = target[:q], target[q+1:]
	} else {
		req.Path = target
	}
	return nil
}

// isTargetText reports whether a request-target is non-empty and holds only
// visible ASCII other than '#' (a fragment is never sent), with every '%'
// starting a percent-encoded octet. Other characters RFC 3986 would have
// percent-encoded ("|", "{", "[" and the like) are accepted: clients send
// them and they cannot change how the target splits.
func isTargetText(t []byte) bool {
	if len(t) == 0 {
		return false
	}
	for i := 0; i < len(t); i++ {
		switch c := t[i]; {
		case c <= ' ' || c >= 0x7f || c == '#':
			return false
		case c == '%':
			if i+2 >= len(t) || unhex(t[i+1]) < 0 || unhex(t[i+2]) < 0 {
				return false
			}
			i += 2
		}
	}
	return true
}

// isHostPort reports whether b is `host ":" port` with a non-empty port.
func isHostPort(b []byte) bool {
	colon := bytes.LastIndexByte(b, ':')
	return colon > 0 && isHost(b[:colon]) && isPort(b[colon+1:])
}

// isPort reports whether b is a decimal port number, 0 to 65535.
func isPort(b []byte) bool {
	n, ok := parseDecimal(b)
	return ok && len(b) <= 5 && n <= 65535
}

// isHost reports whether b is an RFC 3986 host: an IPv6 literal in
// brackets, or a non-empty reg-name (which covers IPv4 addresses). IPvFuture
// and zone identifiers are refused; so is userinfo, as '@' is not allowed.
func isHost(b []byte) bool {
	if len(b) == 0 {
		return false
	}
	if b[0] == '[' {
		if len(b) < 4 || b[len(b)-1] != ']' {
			return false
		}
		colons := 0
		for _, c := range b[1 : len(b)-1] {
			switch {
			case c == ':':
				colons++
			case c != '.' && unhex(c) < 0:
				return false
			}
		}
		return colons >= 2
	}
	for _, c := range b {
		if !regNameChar[c] {
			return false
		}
	}
	return true
}

// regNameChar marks the bytes of an RFC 3986 reg-name: unreserved,
// sub-delims and '%' (isTargetText has checked the octets after it).
var regNameChar = func() (t [256]bool) {
	for c := '0'; c <= '9'; c++ {
		t[c] = true
	}
	for c := 'a'; c <= 'z'; c++ {
		t[c] = true
		t[c-'a'+'A'] = true
	}
	for _, c := range "-._~!$&'()*+,;=%" {
		t[c] = true
	}
	return t
}()

// schemeLen returns the length of a leading "http://" or "https://"
// (either case), or 0.
func schemeLen(t []byte) int {
	if len(t) >= 7 && ascii.EqualFold(t[:7], "http://") {
		return 7
	}
	if len(t) >= 8 && ascii.EqualFold(t[:8], "https://") {
		return 8
	}
	return 0
}

// parseFields parses the header section (ending with the empty line) and
// derives the framing and connection facts from it.
func parseFields(req *Request, p []byte) error {
	req.Headers = req.Headers[:0]
	req.ContentLength, req.Chunked = 0, false
	req.expectContinue = false
	var (
		hosts, contentTypes              int
		haveLength, haveEncoding         bool
		connClose, connKeepAlive, expect bool
		enc                              codings
	)
	for {
		line, rest, err := nextLine(p)
		if err != nil {
			return err
		}
		p = rest
		if len(line) == 0 {
			break
		}
		if line[0] == ' ' || line[0] == '\t' {
			return errObsFold
		}
		colon := bytes.IndexByte(line, ':')
		if colon < 0 || !isToken(line[:colon]) {
			return errHeaderName
		}
		name, value := line[:colon], trimOWS(line[colon+1:])
		if !isFieldValue(value) {
			return errHeaderValue
		}
		req.Headers = append(req.Headers, Header{Name: name, Value: value})
		switch {
		case ascii.EqualFold(name, "host"):
			hosts++
		case ascii.EqualFold(name, "content-type"):
			contentTypes++
		case ascii.EqualFold(name, "content-length"):
			n, ok := parseDecimal(value)
			if !ok {
				return errContentLength
			}
			if haveLength && n != req.ContentLength {
				return errContentLengths
			}
			haveLength, req.ContentLength = true, n
		case ascii.EqualFold(name, "transfer-encoding"):
			haveEncoding = true
			enc.add(value)
		case ascii.EqualFold(name, "connection"):
			connClose = connClose || hasToken(value, "close")
			connKeepAlive = connKeepAlive || hasToken(value, "keep-alive")
		case ascii.EqualFold(name, "expect"):
			expect = ascii.EqualFold(value, "100-continue")
		}
	}
	if hosts > 1 || (hosts == 0 && req.ProtoMinor == 1) {
		return errHost
	}
	if contentTypes > 1 {
		return errContentTypes
	}
	if haveEncoding {
		switch {
		case haveLength:
			return errLengthAndEncoding
		case req.ProtoMinor == 0:
			return errEncoding10
		}
		if err := enc.check(); err != nil {
			return err
		}
		req.ContentLength, req.Chunked = -1, true
	}
	if req.ProtoMinor == 1 {
		req.keepAlive = !connClose
		req.expectContinue = expect
	} else {
		req.keepAlive = connKeepAlive && !connClose
	}
	return nil
}

// codings tallies the transfer codings of a request's Transfer-Encoding
// fields, which form one list in order.
type codings struct {
	n           int  // codings listed
	chunked     int  // how many of them are "chunked"
	lastChunked bool // the last one is "chunked"
	empty       bool // an empty list or list element
}

// add tallies the codings of one Transfer-Encoding field value.
func (e *codings) add(v []byte) {
	for {
		item := v
		i := bytes.IndexByte(v, ',')
		if i >= 0 {
			item, v = v[:i], v[i+1:]
		}
		item = trimOWS(item)
		e.empty = e.empty || len(item) == 0
		e.n++
		e.lastChunked = ascii.EqualFold(item, "chunked")
		if e.lastChunked {
			e.chunked++
		}
		if i < 0 {
			return
		}
	}
}

// check accepts exactly one coding, chunked. Chunked that is not last
// leaves the body length unknown (400, RFC 9112 section 6.3); any other
// coding, alone or applied before chunked, is one the server does not
// decode (501).
func (e *codings) check() error {
	switch {
	case e.empty:
		return errEncodingList
	case e.n == 1 && e.lastChunked:
		return nil
	case e.chunked > 0 && !e.lastChunked:
		return errChunkedNotLast
	}
	return errEncoding
}
