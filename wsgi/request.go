package wsgi

import (
	"github.com/gowsgi/gowsgi/internal/header"
	"io"
	"os"
)

// Header is one header field as bytes.
type Header = header.Field

// Request is what the bridge needs of one HTTP request to build its environ.
// The byte slices are read during Serve only.
type Request struct {
	Method []byte
	URI    []byte // the request target as sent (RAW_URI)
	Path   []byte // the path, still percent-encoded
	Query  []byte
	Proto  []byte // "HTTP/1.1"
	// Scheme is "http" or "https" (wsgi.url_scheme).
	Scheme string
	// ScriptName is where the app is mounted (SCRIPT_NAME, from
	// --root-path); a PATH_INFO that starts with it has it removed.
	ScriptName []byte
	Headers    []Header
	// ContentLength is the body's length, or -1 when it is not known
	// in advance (chunked).
	ContentLength int64
	// Body yields the request body and never reads past it.
	Body       io.Reader
	RemoteAddr []byte
	RemotePort []byte
	ServerName []byte
	ServerPort []byte
}

// ResponseSink receives one response. The bridge calls WriteHeader once,
// before any Write, unless it reports an error before the head is out.
type ResponseSink interface {
	// WriteHeader records the status ("200 OK") and headers; it copies them.
	WriteHeader(status []byte, headers []Header)
	// Write sends or buffers body bytes; an error means the client is gone.
	Write(p []byte) (int, error)
	// Flush sends everything buffered so far.
	Flush() error
	// HeadSent reports whether the status line has gone to the client.
	HeadSent() bool
	// SendFile sends n bytes of f from offset as body, after what was
	// written before (wsgi.file_wrapper, with sendfile where possible).
	SendFile(f *os.File, offset, n int64) error
	// Abort ends a response that cannot be completed properly (the app
	// failed after its head was sent): the connection is closed.
	Abort()
	// WriteHeld adds the whole rest of the body, chunks whose bytes stay
	// valid until release.Release is called, without waiting on the
	// client. It reports whether it kept references to them (and will
	// call Release once, later, on another goroutine); false means it
	// copied or dropped them and will not. chunks itself may be reused
	// once it returns.
	WriteHeld(chunks [][]byte, release interface{ Release() }) bool
	// FinishNow ends the response now, with what was written to it, and
	// closes the connection after it: for a request whose goroutine is
	// stuck in the app and may never return. It is called from another
	// goroutine, while the request's own goroutine keeps off the sink
	// (it is inside the app, and checks under the executor's lock that it
	// still owns the request before it writes).
	FinishNow()
}
