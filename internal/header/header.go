// Package header holds the one header-field type that httpcore, wsgi and
// accesslog share (each names it Header, an alias), so that a request's
// fields pass from the socket to the app and to the access log as the same
// slice, with no copy per request.
package header

// Field is one header field as bytes. Who owns the bytes, and for how long
// they stay valid, is said where a Field is handed over.
type Field struct{ Name, Value []byte }
