package wsgi

// #include "bridge.h"
import "C"

import (
	"bytes"
	"strings"

	"github.com/gowsgi/gowsgi/internal/ascii"
)

// Environ keys interned by environ.c, by their index in environKeys.
const (
	keyRequestMethod = iota
	keyScriptName
	keyPathInfo
	keyQueryString
	keyContentType
	keyContentLength
	keyServerName
	keyServerPort
	keyServerProtocol
	keyRemoteAddr
	keyRemotePort
	keyRawURI
	keyURLScheme
	keyFirstHeader // the HTTP_ keys of commonHeaders follow, in its order
)

// fixedKeys names the keys before keyFirstHeader.
var fixedKeys = [keyFirstHeader]string{
	keyRequestMethod: "REQUEST_METHOD", keyScriptName: "SCRIPT_NAME", keyPathInfo: "PATH_INFO",
	keyQueryString: "QUERY_STRING", keyContentType: "CONTENT_TYPE", keyContentLength: "CONTENT_LENGTH",
	keyServerName: "SERVER_NAME", keyServerPort: "SERVER_PORT", keyServerProtocol: "SERVER_PROTOCOL",
	keyRemoteAddr: "REMOTE_ADDR", keyRemotePort: "REMOTE_PORT", keyRawURI: "RAW_URI",
	keyURLScheme: "wsgi.url_scheme",
}

// customKey marks a field whose key is spelled out in the buffer.
const customKey = -1

// commonHeaders are the request headers whose HTTP_ keys are interned.
var commonHeaders = []string{
	"host", "user-agent", "accept", "accept-encoding", "accept-language", "connection", "cookie",
	"referer", "cache-control", "origin", "authorization", "x-forwarded-for", "x-forwarded-proto",
	"x-requested-with", "if-none-match", "if-modified-since", "upgrade-insecure-requests",
	"sec-fetch-mode", "sec-fetch-site", "sec-fetch-dest", "pragma", "expect", "transfer-encoding",
}

// environKeys is the one list of the keys environ.c interns at start-up,
// which a field names by index: fixedKeys, then the HTTP_ key of each of
// commonHeaders.
func environKeys() []string {
	keys := append([]string(nil), fixedKeys[:]...)
	for _, h := range commonHeaders {
		keys = append(keys, "HTTP_"+strings.ToUpper(strings.ReplaceAll(h, "-", "_")))
	}
	return keys
}

// fieldBuilder lays a request out as C fields over one flat byte buffer,
// the form gw_call reads in a single crossing. It is reused across
// requests and allocates nothing once its buffers have grown.
type fieldBuilder struct {
	buf    []byte
	fields []C.gw_field
}

func (b *fieldBuilder) reset() {
	b.buf = b.buf[:0]
	b.fields = b.fields[:0]
}

func (b *fieldBuilder) add(key int, flags uint32, value []byte) {
	off := len(b.buf)
	b.buf = append(b.buf, value...)
	b.fields = append(b.fields, C.gw_field{
		key: C.int32_t(key), flags: C.uint32_t(flags),
		voff: C.uint32_t(off), vlen: C.uint32_t(len(value)),
	})
}

// addPath adds PATH_INFO: the path percent-decoded, bytes kept as they are
// (environ.c turns them into a latin-1 str), and SCRIPT_NAME when the app
// is mounted under a prefix, which PATH_INFO then loses.
func (b *fieldBuilder) addPath(path, scriptName []byte) {
	off := len(b.buf)
	b.buf = ascii.AppendUnescaped(b.buf, path)
	end := len(b.buf)
	if n := len(scriptName); n > 0 {
		decoded := b.buf[off:end]
		if bytes.HasPrefix(decoded, scriptName) && (len(decoded) == n || decoded[n] == '/') {
			off += n
		}
	}
	b.fields = append(b.fields, C.gw_field{
		key: keyPathInfo, voff: C.uint32_t(off), vlen: C.uint32_t(end - off),
	})
	if len(scriptName) > 0 {
		b.add(keyScriptName, 0, scriptName)
	}
}

// addHeader adds one request header under its CGI name. Names holding an
// underscore are dropped: "X_Foo" and "X-Foo" would both be HTTP_X_FOO, and
// a proxy that checks one would let the other through.
func (b *fieldBuilder) addHeader(name, value []byte) {
	if bytes.IndexByte(name, '_') >= 0 {
		return
	}
	switch {
	case ascii.EqualFold(name, "content-type"):
		b.add(keyContentType, C.GW_F_HEADER, value)
		return
	case ascii.EqualFold(name, "content-length"):
		b.add(keyContentLength, C.GW_F_HEADER, value)
		return
	}
	for i, h := range commonHeaders {
		if ascii.EqualFold(name, h) {
			b.add(keyFirstHeader+i, C.GW_F_HEADER, value)
			return
		}
	}
	koff := len(b.buf)
	b.buf = append(b.buf, "HTTP_"...)
	for _, c := range name {
		switch {
		case c == '-':
			c = '_'
		case 'a' <= c && c <= 'z':
			c -= 'a' - 'A'
		}
		b.buf = append(b.buf, c)
	}
	klen := len(b.buf) - koff
	voff := len(b.buf)
	b.buf = append(b.buf, value...)
	b.fields = append(b.fields, C.gw_field{
		key: customKey, flags: C.GW_F_HEADER,
		koff: C.uint32_t(koff), klen: C.uint32_t(klen),
		voff: C.uint32_t(voff), vlen: C.uint32_t(len(value)),
	})
}

// build lays out the whole environ of r.
func (b *fieldBuilder) build(r *Request) {
	b.reset()
	b.add(keyRequestMethod, 0, r.Method)
	b.addPath(r.Path, r.ScriptName)
	b.add(keyQueryString, 0, r.Query)
	b.add(keyServerProtocol, 0, r.Proto)
	b.add(keyRawURI, 0, r.URI)
	b.add(keyServerName, 0, r.ServerName)
	b.add(keyServerPort, 0, r.ServerPort)
	b.add(keyRemoteAddr, 0, r.RemoteAddr)
	b.add(keyRemotePort, 0, r.RemotePort)
	if r.Scheme != "" && r.Scheme != "http" {
		off := len(b.buf)
		b.buf = append(b.buf, r.Scheme...)
		b.fields = append(b.fields, C.gw_field{key: keyURLScheme, voff: C.uint32_t(off), vlen: C.uint32_t(len(r.Scheme))})
	}
	for _, h := range r.Headers {
		b.addHeader(h.Name, h.Value)
	}
}
