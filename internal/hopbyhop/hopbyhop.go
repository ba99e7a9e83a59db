// Package hopbyhop is the one list of the header fields that describe a
// connection rather than a message: the server frames and manages the
// connection, so an application may not set them. httpcore drops them from
// a handler's response (honouring "Connection: close"); the WSGI bridge
// refuses them at start_response, as PEP 3333 asks, except Connection.
package hopbyhop

import "github.com/gowsgi/gowsgi/internal/ascii"

// Names are the hop-by-hop fields, lower case: RFC 9110's (section 7.6.1:
// Connection, Proxy-Connection, Keep-Alive, TE, Transfer-Encoding,
// Upgrade) and the others PEP 3333 names through RFC 2616 section 13.5.1
// (Proxy-Authenticate, Proxy-Authorization, Trailer, and its misspelling
// Trailers).
var Names = []string{
	"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "proxy-connection",
	"te", "trailer", "trailers", "transfer-encoding", "upgrade",
}

// Is reports whether the field named name (in any case) is hop-by-hop.
func Is(name []byte) bool {
	for _, n := range Names {
		if ascii.EqualFold(name, n) {
			return true
		}
	}
	return false
}
