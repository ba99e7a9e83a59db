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

// ErrBodyTooLarge is returned by Body.Read when a chunked request body
// grows past the server's LimitRequestBody; no byte past the limit is
// returned. If the response head has not been sent when the handler
// returns, the server answers 413 in place of the handler's response.
var ErrBodyTooLarge = errors.New("httpcore: request body larger than LimitRequestBody")

// Errors a request body read returns; after any of them the connection
// closes.
var (
	errChunkSize     = errors.New("httpcore: malformed chunk size")
	errChunkOverflow = errors.New("httpcore: chunk size too large")
	errChunkExt      = errors.New("httpcore: malformed chunk extension")
	errChunkEnd      = errors.New("httpcore: chunk data not followed by CRLF")
	errChunkLine     = errors.New("httpcore: chunk line too long")
	errChunkLF       = errors.New("httpcore: chunk line not terminated by CRLF")
	errTrailer       = errors.New("httpcore: malformed trailer field")
	errTrailerField  = errors.New("httpcore: forbidden trailer field")
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
