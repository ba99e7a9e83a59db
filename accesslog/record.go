package accesslog

import (
	"bytes"
	"encoding/base64"
	"github.com/gowsgi/gowsgi/internal/header"
	"slices"
	"time"
	"unicode/utf8"

	"github.com/gowsgi/gowsgi/internal/ascii"
)

// Header is one header field as it appeared on the wire.
type Header = header.Field

// Entry describes one finished request. Its byte slices need stay valid only
// until Log returns: Log copies what the format uses.
type Entry struct {
	Start       time.Time     // when the request began; lines show it in its Location
	Duration    time.Duration // from Start until the response was written
	RemoteAddr  []byte        // client address without the port; empty for unix sockets
	Method      []byte        // "GET"
	URI         []byte        // request target exactly as sent: "/a%20b?q=1"
	Path        []byte        // path of the target, still percent-encoded: "/a%20b"
	Query       []byte        // after the first '?', without it: "q=1"
	Proto       []byte        // "HTTP/1.1"
	Status      int           // 200
	Bytes       int64         // response body bytes sent
	ReqHeaders  []Header      // request header fields, in arrival order
	RespHeaders []Header      // response header fields, in the order sent
}

// The fixed fields a record can hold; header slots follow them.
const (
	fieldRemote = iota
	fieldMethod
	fieldURI
	fieldPath
	fieldQuery
	fieldProto
	fieldUser // user name from Basic authorization
	numFields
)

// maxKeptBuf bounds the buffer a record keeps between uses, so that one
// request with huge headers does not pin that much memory per record.
const maxKeptBuf = 16 << 10

// span locates a copied field in record.buf; n < 0 means absent.
type span struct{ off, n int }

// record is the fixed-size copy of an Entry that travels from Log to the
// writer goroutine. Records are preallocated and reused.
type record struct {
	start  time.Time
	dur    time.Duration
	status int
	bytes  int64
	buf    []byte // the copied bytes of every field
	spans  []span // one per plan slot
}

// newRecord returns a record with room for slots fields.
func newRecord(slots int) *record {
	return &record{buf: make([]byte, 0, 512), spans: make([]span, slots)}
}

// fill copies from e the scalars and the fields p asks for.
func (r *record) fill(e *Entry, p *plan) {
	r.start, r.dur, r.status, r.bytes = e.Start, e.Duration, e.Status, e.Bytes
	r.buf = r.buf[:0]
	for i := range r.spans {
		r.spans[i] = span{n: -1}
	}
	fixed := [...][]byte{e.RemoteAddr, e.Method, e.URI, e.Path, e.Query, e.Proto}
	for i, b := range fixed {
		if p.fields&(1<<i) != 0 {
			r.put(i, b)
		}
	}
	if p.fields&(1<<fieldUser) != 0 {
		r.putUser(e.ReqHeaders)
	}
	r.putHeaders(e.ReqHeaders, p.req, numFields)
	r.putHeaders(e.RespHeaders, p.resp, numFields+len(p.req))
}

// put copies b into slot.
func (r *record) put(slot int, b []byte) {
	r.spans[slot] = span{len(r.buf), len(b)}
	r.buf = append(r.buf, b...)
}

// putHeaders copies the fields of hs named in names (lower-case) into the
// slots from base on. When a field repeats the last one wins, as in
// gunicorn, which builds a dict of them.
func (r *record) putHeaders(hs []Header, names []string, base int) {
	if len(names) == 0 {
		return
	}
	for i := len(hs) - 1; i >= 0; i-- {
		for j, name := range names {
			if r.spans[base+j].n < 0 && ascii.EqualFold(hs[i].Name, name) {
				r.put(base+j, hs[i].Value)
			}
		}
	}
}

// putUser stores the user name of the last Authorization field if it holds
// Basic credentials, decoded in place so that the password never enters the
// queue. Like gunicorn, it requires a ':' and valid UTF-8, and treats an
// empty name as absent.
func (r *record) putUser(hs []Header) {
	var auth []byte
	for i := len(hs) - 1; i >= 0; i-- {
		if ascii.EqualFold(hs[i].Name, "authorization") {
			auth = hs[i].Value
			break
		}
	}
	if len(auth) < len("basic ") || !ascii.EqualFold(auth[:5], "basic") || auth[5] != ' ' {
		return
	}
	cred := bytes.TrimSpace(auth[6:])
	off := len(r.buf)
	n := base64.StdEncoding.DecodedLen(len(cred))
	r.buf = slices.Grow(r.buf, n)[:off+n]
	n, err := base64.StdEncoding.Decode(r.buf[off:], cred)
	if err != nil {
		r.buf = r.buf[:off]
		return
	}
	colon := bytes.IndexByte(r.buf[off:off+n], ':')
	if colon <= 0 || !utf8.Valid(r.buf[off:off+colon]) {
		r.buf = r.buf[:off]
		return
	}
	r.buf = r.buf[:off+colon]
	r.spans[fieldUser] = span{off, colon}
}

// field returns the bytes of slot and whether it is present.
func (r *record) field(slot int) ([]byte, bool) {
	s := r.spans[slot]
	if s.n < 0 {
		return nil, false
	}
	return r.buf[s.off : s.off+s.n], true
}

// reset readies r for reuse, dropping an overgrown buffer.
func (r *record) reset() {
	if cap(r.buf) > maxKeptBuf {
		r.buf = make([]byte, 0, 512)
	}
}
