// Package httpcore is gowsgi's HTTP/1.1 server: it accepts connections,
// parses request heads into byte slices that point into a per-connection
// buffer, decodes request bodies (Content-Length or chunked) and frames the
// responses a Handler produces. It depends on the standard library only and
// knows nothing of Python.
//
// The hot path (read a head, call the handler, write a buffered response)
// allocates nothing per request once a connection is warm. A connection
// waiting for its next request gives its read buffer and request state
// back to their pools and soon waits on a goroutine with a small stack, so
// that thousands of idle keep-alive connections cost little (TLS
// connections keep theirs).
package httpcore
