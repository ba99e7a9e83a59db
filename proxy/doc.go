// Package proxy decides what a server behind a reverse proxy tells its app
// about a request's origin: which peers are trusted proxies
// (--forwarded-allow-ips) and, for requests they relay, the client address
// and scheme their X-Forwarded-For and X-Forwarded-Proto fields carry.
//
// It depends on the standard library only, knows nothing of sockets and
// allocates nothing per request.
package proxy
