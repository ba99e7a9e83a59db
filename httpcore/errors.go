package httpcore

import "errors"

// protoError is a request the server refuses before calling the handler. It
// carries the status to answer with and, for the log, what was wrong.
type protoError struct {
	status string // "400 Bad Request"
	reason string // "obsolete line folding"
}

func (e *protoError) Error() string { return "httpcore: " + e.status + ": " + e.reason }

// Status lines of the responses to refused requests.
const (
	status400 = "400 Bad Request"
	status413 = "413 Content Too Large"
	status414 = "414 URI Too Long"
	status431 = "431 Request Header Fields Too Large"
	status501 = "501 Not Implemented"
	status505 = "505 HTTP Version Not Supported"
)

// Reasons a request head is refused.
var (
	errBareLF            = &protoError{status400, "line not terminated by CRLF"}
	errLeadingEmpty      = &protoError{status400, "more than one empty line before the request line"}
	errRequestLine       = &protoError{status400, "malformed request line"}
	errMethod            = &protoError{status400, "method is not an upper-case token of 3 to 20 bytes"}
	errTarget            = &protoError{status400, "malformed request-target"}
	errVersion           = &protoError{status400, "malformed HTTP version"}
	errVersionSupport    = &protoError{status505, "unsupported HTTP version"}
	errHeaderName        = &protoError{status400, "malformed header field name"}
	errHeaderValue       = &protoError{status400, "control character in header field value"}
	errObsFold           = &protoError{status400, "obsolete line folding"}
	errContentLength     = &protoError{status400, "malformed Content-Length"}
	errContentLengths    = &protoError{status400, "differing Content-Length values"}
	errLengthAndEncoding = &protoError{status400, "Content-Length with Transfer-Encoding"}
	errEncoding10        = &protoError{status400, "Transfer-Encoding in an HTTP/1.0 request"}
	errEncoding          = &protoError{status501, "Transfer-Encoding other than chunked"}
	errEncodingList      = &protoError{status400, "empty Transfer-Encoding list element"}
	errChunkedNotLast    = &protoError{status400, "chunked is not the last transfer coding"}
	errContentTypes      = &protoError{status400, "more than one Content-Type"}
	errBodyTooLarge      = &protoError{status413, "Content-Length over LimitRequestBody"}
	errChunkedTooLarge   = &protoError{status413, "chunked body over LimitRequestBody"}
	errHost              = &protoError{status400, "HTTP/1.1 request without exactly one Host"}
	errURITooLong        = &protoError{status414, "request line longer than LimitRequestLine or MaxHeaderBytes"}
	errHeadTooLarge      = &protoError{status431, "request head too large"}
	errTooManyFields     = &protoError{status431, "more header fields than LimitRequestFields"}
	errFieldTooLarge     = &protoError{status431, "header field line longer than LimitRequestFieldSize"}
)

// ErrBodyTooLarge is what Body.Read fails with (errors.Is) when a chunked
// request body grows past the server's LimitRequestBody; no byte past the
// limit is returned. If the response head has not been sent when the
// handler returns, the server answers 413 in place of the handler's
// response.
var ErrBodyTooLarge = errors.New("httpcore: request body larger than LimitRequestBody")

// bodyError is an error reading a request body, which the client caused:
// a malformed chunked framing, a chunked body over LimitRequestBody, or a
// client that stopped sending (a disconnect, a timeout, a short body).
type bodyError struct {
	err error
	// reply answers the request if the handler's response head has not
	// gone out; nil when the client is gone and nobody would read it.
	reply *protoError
}

func (e *bodyError) Error() string { return e.err.Error() }
func (e *bodyError) Unwrap() error { return e.err }

// IsBodyError reports whether err came from reading a request body, that
// is from the client: every error Body.Read returns but io.EOF does. When
// the handler returns after such an error before its response head went
// out, the server discards what the handler wrote and finishes the
// exchange itself: 400 for a malformed body, 413 for a chunked body over
// LimitRequestBody, nothing for a client that is gone; then it closes the
// connection. A layer above can so tell a client's fault from its own.
func IsBodyError(err error) bool {
	var be *bodyError
	return errors.As(err, &be)
}

// malformedBody returns the error for a body whose framing breaks the
// chunked grammar, answered 400.
func malformedBody(reason string) *bodyError {
	return &bodyError{errors.New("httpcore: " + reason), &protoError{status400, reason}}
}

// Errors a request body read returns; after any of them the connection
// closes.
var (
	errChunkSize     = malformedBody("malformed chunk size")
	errChunkOverflow = malformedBody("chunk size too large")
	errChunkExt      = malformedBody("malformed chunk extension")
	errChunkEnd      = malformedBody("chunk data not followed by CRLF")
	errChunkLine     = malformedBody("chunk line too long")
	errChunkLF       = malformedBody("chunk line not terminated by CRLF")
	errTrailer       = malformedBody("malformed trailer field")
	errTrailerField  = malformedBody("forbidden trailer field")
	errChunkedLimit  = &bodyError{ErrBodyTooLarge, errChunkedTooLarge}
)

// Reasons a connection is closed before its first request (ProxyProtocol).
var (
	errProxyMissing   = errors.New("httpcore: no PROXY protocol header from a trusted peer")
	errProxyUntrusted = errors.New("httpcore: PROXY protocol header from an untrusted peer")
	errProxyHeader    = errors.New("httpcore: malformed PROXY protocol header")
)

// Errors the ResponseWriter returns.
var (
	// ErrNoHeader is returned by Write and Flush before WriteHeader.
	ErrNoHeader = errors.New("httpcore: Write before WriteHeader")
	// ErrBadResponse is returned by Write and Flush after WriteHeader was
	// given a malformed status or header field; the server answers 500.
	ErrBadResponse = errors.New("httpcore: malformed status or header field from the handler")
	// ErrAborted is returned by Write and Flush after Abort.
	ErrAborted = errors.New("httpcore: response aborted")
)
