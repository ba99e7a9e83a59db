package httpcore

import (
	"bytes"
	"errors"
	"net"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

const (
	// smallBufSize is the read buffer a connection starts with; heads that
	// do not fit move to a buffer of MaxHeaderBytes plus tailRoom.
	smallBufSize = 8 << 10
	// tailRoom is the space kept after a request head for body data and
	// chunk framing lines (which never move the head, still referenced by
	// the Request): a chunk line fits, with room to spare. A head that
	// leaves less of smallBufSize moves to a large buffer; most heads
	// (under 3 KiB) stay in the small one.
	tailRoom = maxChunkLine + 1<<10
	// drainLimit is how much unread request body is read and discarded
	// after the handler returns to keep the connection.
	drainLimit = 256 << 10
	// lingerTime is how long a connection closed with request bytes unread
	// waits for more of them to discard, so that the client can read the
	// response; lingerMax bounds the whole discarding.
	lingerTime = 500 * time.Millisecond
	lingerMax  = 5 * time.Second
)

// Connection states, for Shutdown and Close. A new connection has been
// accepted but has not sent its first request yet: its client is about to,
// and would see an unexplained close (no client retries a request on a
// fresh connection), so Shutdown gives it newConnGrace to arrive instead of
// the whole HeaderTimeout. Shutdown never closes an active connection,
// even one idle between requests: a client may have sent its next request
// already (see conn.serve).
const (
	stateActive int32 = iota
	stateClosed
	stateNew
	stateNewShutting // new, and Shutdown has shortened its deadline
)

// newConnGrace is how long Shutdown waits for a new connection's first
// request.
const newConnGrace = time.Second

// errClosing ends a connection Close closed before its first request.
var errClosing = errors.New("httpcore: server shutting down")

// smallBufs holds the read buffers connections start with.
var smallBufs = sync.Pool{New: func() any { b := make([]byte, smallBufSize); return &b }}

// conn is one client connection, served by one goroutine at a time. It owns
// the read buffer the requests' slices point into and, while a request is
// under way, the request, body and response values reused for each
// request; an idle connection over a socket gives both back (see idle.go).
type conn struct {
	srv   *Server
	raw   net.Conn // as accepted; what other goroutines close
	nc    net.Conn // raw, or the TLS connection over it once start has run
	state atomic.Int32

	// rc is raw's descriptor when nc reads straight from it (TCP and unix
	// sockets without TLS), for waiting without a read buffer (readIdle);
	// nil otherwise. readable and await are c.tryRead and c.awaitRequest,
	// bound once: binding them for each wait would allocate. rn and rerr
	// are what tryRead read.
	rc       syscall.RawConn
	readable func(fd uintptr) bool
	await    func()
	rn       int
	rerr     error
	// handOff: serve runs on a goroutine of its own, which may end and
	// leave the connection to a new one (awaitRequest); ServeConn's
	// caller blocks instead.
	handOff bool

	info *ConnInfo // shared by the connection's requests

	bufp  *[]byte // pooled read buffer, nil while idle; buf aliases *bufp
	buf   []byte
	large bool // buf came from srv.largeBufs
	r, w  int  // unread data is buf[r:w]
	base  int  // end of the current head: body reads never move data below it
	count int  // requests read on this connection
	close bool // the connection closes after the current response
	slot  bool // holds one of srv.connSlots, given back by shut

	sendBy time.Time                // the write deadline armSend set last
	ahead  atomic.Pointer[runAhead] // streamed response bytes the socket has not taken yet; nil until the first
	piece  net.Buffers              // writeBuffers' scratch

	// The current request, body and response (takeRequestState); nil
	// while the connection is idle.
	*requestState
}

// newConn prepares nc for serving. A connection that can wait without a
// read buffer (rc) takes one when its first bytes arrive, or to read a
// PROXY header.
func newConn(s *Server, nc net.Conn) *conn {
	c := &conn{srv: s, raw: nc, nc: nc}
	if s.TLSConfig == nil {
		c.rc = rawConnOf(nc)
	}
	if c.rc != nil {
		c.readable, c.await = c.tryRead, c.awaitRequest
	}
	if c.rc == nil || s.ProxyProtocol {
		c.getBuf()
	}
	c.info = newConnInfo(nc)
	return c
}

// serve serves the connection from its start until it must close.
func (c *conn) serve() {
	if !c.start() {
		c.shut()
		return
	}
	c.serveRequests()
}

// serveRequests reads and answers requests until the connection must
// close. A connection served on a goroutine of its own waits for the next
// request with nothing buffered in waitIdle, which may hand it to a new
// goroutine; otherwise readHead waits.
func (c *conn) serveRequests() {
	for c.serveRequest() {
		if c.w == 0 && c.rc != nil && c.handOff && !c.waitIdle() {
			return
		}
	}
	c.shut()
}

// serveRequest reads and answers one request; it reports whether the
// connection can carry another.
func (c *conn) serveRequest() bool {
	err := c.readHead()
	if err == nil && c.srv.LimitRequestBody > 0 && c.req.ContentLength > c.srv.LimitRequestBody {
		err = errBodyTooLarge
	}
	if err != nil {
		var pe *protoError
		if errors.As(err, &pe) {
			c.replyError(pe)
			c.closeGently()
		}
		return false
	}
	c.answer()
	// A response that said keep-alive is followed by a wait for the next
	// request even if Shutdown began meanwhile: the client may have sent
	// it already. That request is answered with "Connection: close"
	// (commit), and an idle connection is closed by its keep-alive
	// deadline.
	if c.close {
		if !c.body.finished() {
			c.closeGently()
		}
		return false
	}
	c.nextRequest()
	return true
}

// start runs what comes before the first request, the PROXY header and the
// TLS handshake, within HeaderTimeout; it reports whether to go on. The
// connection counts as new meanwhile, so that Shutdown shortens the wait.
func (c *conn) start() bool {
	s := c.srv
	if !s.ProxyProtocol && s.TLSConfig == nil {
		return true
	}
	c.raw.SetDeadline(time.Now().Add(s.headerTimeout()))
	if !c.becomeNew() {
		return false
	}
	if s.ProxyProtocol {
		if err := c.readProxyHeader(); err != nil {
			if err != errProxyUntrusted && !isTimeoutOrEOF(err) {
				s.logf("httpcore: connection from %s closed: %v", c.raw.RemoteAddr(), err)
			}
			return false
		}
	}
	if s.TLSConfig != nil && c.handshake() != nil {
		return false
	}
	c.raw.SetWriteDeadline(time.Time{})
	return c.activate()
}

// becomeNew marks the connection as waiting for its first request, once
// its read deadline is set, and shortens the wait if Shutdown has begun;
// it reports false if Close closed the connection. The state is stored
// before shutting is read, and Shutdown sets shutting before it looks for
// new connections: one of the two shortens the wait.
func (c *conn) becomeNew() bool {
	if !c.state.CompareAndSwap(stateActive, stateNew) {
		return false
	}
	if c.srv.shutting.Load() {
		c.shortenWait()
	}
	return true
}

// shortenWait gives a new connection newConnGrace to send its first
// request.
func (c *conn) shortenWait() {
	c.raw.SetReadDeadline(time.Now().Add(min(c.srv.headerTimeout(), newConnGrace)))
}

// shut closes the connection and gives its buffers back.
func (c *conn) shut() {
	c.state.Store(stateClosed)
	c.nc.Close()
	c.srv.untrack(c)
	if c.requestState != nil {
		c.resp.release()
		c.putRequestState()
	}
	c.putBuf()
	if c.slot {
		c.srv.releaseSlot()
	}
}

// getBuf takes a small read buffer.
func (c *conn) getBuf() {
	c.bufp = smallBufs.Get().(*[]byte)
	c.buf, c.large = *c.bufp, false
}

// putBuf returns the read buffer, if any, to its pool.
func (c *conn) putBuf() {
	if c.bufp == nil {
		return
	}
	if c.large {
		c.srv.largeBufs.Put(c.bufp)
	} else {
		smallBufs.Put(c.bufp)
	}
	c.bufp, c.buf = nil, nil
}

// swapBuf moves the unread data (and everything before it) into a buffer
// of the other size.
func (c *conn) swapBuf() {
	var p *[]byte
	if c.large {
		p = smallBufs.Get().(*[]byte)
	} else {
		p = c.srv.getLargeBuf()
	}
	copy(*p, c.buf[:c.w])
	c.putBuf()
	c.bufp, c.buf, c.large = p, *p, !c.large
}

// readHead reads until buf[0:] holds a complete request head and parses it
// into c.req, taking a request state; c.r is left at the start of the body.
func (c *conn) readHead() error {
	s := c.srv
	limit := s.maxHeaderBytes() + 2 // one leading empty line is allowed
	if c.w > 0 {
		// Pipelined bytes, or the first request's bytes that came in with
		// a PROXY header.
		if c.count == 0 && !c.activate() {
			return errClosing
		}
		c.nc.SetReadDeadline(time.Now().Add(s.headerTimeout()))
	} else if c.count == 0 {
		c.nc.SetReadDeadline(time.Now().Add(s.headerTimeout()))
		if !c.becomeNew() {
			return errClosing
		}
	} else {
		c.nc.SetReadDeadline(time.Now().Add(s.keepAlive()))
	}
	// Scan line by line as bytes arrive, so that a bare LF or a line over
	// its limit is refused at once rather than after a timeout.
	lineLimit, fieldLimit, fieldsLimit := s.limitRequestLine(), s.limitRequestFieldSize(), s.limitRequestFields()
	scan, lineStart, reqLineEnd, fields := 0, 0, -1, 0
	for {
		for {
			i := bytes.IndexByte(c.buf[scan:c.w], '\n')
			if i < 0 {
				scan = c.w
				break
			}
			i += scan
			if i == 0 || c.buf[i-1] != '\r' {
				return errBareLF
			}
			scan = i + 1
			if n := i - 1 - lineStart; n > 0 {
				if err := checkLine(n, reqLineEnd < 0, fields+1, lineLimit, fieldLimit, fieldsLimit); err != nil {
					return err
				}
				if reqLineEnd < 0 {
					reqLineEnd = i + 1
				} else {
					fields++
				}
				lineStart = i + 1
				continue
			}
			// An empty line: a leading one is skipped, once.
			if reqLineEnd < 0 {
				if lineStart > 0 {
					return errLeadingEmpty
				}
				lineStart = i + 1
				continue
			}
			return c.parseHead(i+1, reqLineEnd, limit)
		}
		// The incomplete line may end in the CR of its CRLF.
		if n := c.w - lineStart - 1; n > 0 {
			if err := checkLine(n, reqLineEnd < 0, fields+1, lineLimit, fieldLimit, 0); err != nil {
				return err
			}
		}
		if c.w >= limit {
			if reqLineEnd < 0 {
				return errURITooLong
			}
			return errHeadTooLarge
		}
		n, err := c.read()
		if n > 0 && c.w == 0 {
			if !c.activate() {
				return errClosing
			}
			c.nc.SetReadDeadline(time.Now().Add(s.headerTimeout()))
		}
		c.w += n
		if err != nil {
			return err
		}
	}
}

// read reads more of a request head into the buffer; with nothing
// buffered over a socket, it waits holding no buffer (readIdle).
func (c *conn) read() (int, error) {
	if c.w == 0 && c.rc != nil {
		return c.readIdle()
	}
	if c.w == len(c.buf) {
		c.swapBuf()
	}
	return c.nc.Read(c.buf[c.w:])
}

// activate marks a new connection active as its first request starts
// arriving; it reports false if Close closed it first.
func (c *conn) activate() bool {
	return c.state.CompareAndSwap(stateNew, stateActive) ||
		c.state.CompareAndSwap(stateNewShutting, stateActive) ||
		c.state.Load() == stateActive
}

// checkLine checks a head line of n bytes (without CRLF), the request line
// or header field number field, against the limits (0: none). A field
// line is measured with its CRLF, as gunicorn measures it for
// limit_request_field_size; the request line without, as gunicorn does
// for limit_request_line.
func checkLine(n int, requestLine bool, field, lineLimit, fieldLimit, fieldsLimit int) error {
	switch {
	case requestLine:
		if lineLimit > 0 && n > lineLimit {
			return errURITooLong
		}
	case fieldsLimit > 0 && field > fieldsLimit:
		return errTooManyFields
	case fieldLimit > 0 && n+len("\r\n") > fieldLimit:
		return errFieldTooLarge
	}
	return nil
}

// parseHead parses the head buf[:end] whose request line ends at
// reqLineEnd, after checking it against the size limit.
func (c *conn) parseHead(end, reqLineEnd, limit int) error {
	if end > limit {
		if reqLineEnd > limit {
			return errURITooLong
		}
		return errHeadTooLarge
	}
	if !c.large && len(c.buf)-end < tailRoom {
		c.swapBuf()
	}
	c.count++
	c.r, c.base = end, end
	if c.requestState == nil {
		c.takeRequestState()
	}
	return parseHead(&c.req, c.buf[:end])
}

// nextRequest moves the bytes of pipelined requests to the start of the
// buffer, going back to a small buffer when they fit.
func (c *conn) nextRequest() {
	c.w = copy(c.buf, c.buf[c.r:c.w])
	c.r, c.base = 0, 0
	if c.large && c.w <= smallBufSize/2 {
		c.swapBuf()
	}
}

// answer runs the handler for c.req, ends its response and reads whatever
// body it left unread.
func (c *conn) answer() {
	c.body.reset(&c.req)
	c.resp.reset()
	// A body that failed to arrive whole is answered by finish.
	if c.body.prefetch() {
		c.body.streamed = true
		c.callHandler()
	}
	if !c.resp.finishedEarly {
		c.resp.finish()
	}
	c.body.releaseMem()
	if !c.close && !c.body.drain(drainLimit) {
		c.close = true
	}
}

// callHandler calls the handler, turning a panic into a logged, aborted
// response.
func (c *conn) callHandler() {
	defer func() {
		if p := recover(); p != nil {
			buf := make([]byte, 16<<10)
			buf = buf[:runtime.Stack(buf, false)]
			c.srv.logf("httpcore: panic serving %s: %v\n%s", c.nc.RemoteAddr(), p, buf)
			c.resp.Abort()
		}
	}()
	c.srv.Handler.ServeHTTP(&c.resp, &c.req)
}

// fill reads more body bytes into the buffer after base, compacting the
// unread bytes down to base when the buffer is full.
func (c *conn) fill() error {
	switch {
	case c.r == c.w:
		c.r, c.w = c.base, c.base
	case c.w == len(c.buf):
		if c.r == c.base {
			return errChunkLine
		}
		c.w = c.base + copy(c.buf[c.base:], c.buf[c.r:c.w])
		c.r = c.base
	}
	c.setBodyDeadline()
	n, err := c.nc.Read(c.buf[c.w:])
	c.w += n
	c.body.got += int64(n)
	if n > 0 {
		return nil
	}
	return unexpectedEOF(err)
}

// replyError answers a refused request head and leaves the connection to
// close.
func (c *conn) replyError(pe *protoError) {
	body := pe.status[4:] + "\n"
	b := make([]byte, 0, 256)
	b = append(b, "HTTP/1.1 "...)
	b = append(b, pe.status...)
	b = append(b, "\r\n"...)
	b = append(b, dateLine()...)
	b = append(b, c.srv.serverLine...)
	b = append(b, "Connection: close\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: "...)
	b = strconv.AppendInt(b, int64(len(body)), 10)
	b = append(b, "\r\n\r\n"...)
	b = append(b, body...)
	c.write(b)
}

// closeGently half-closes the connection and discards what the client still
// sends: closing with unread bytes would make the kernel reset the
// connection, and the client, often still sending a body the server
// refused, would lose the response. Like nginx's lingering close it stops
// when the client has been silent for lingerTime or after lingerMax in all.
func (c *conn) closeGently() {
	cw, ok := c.nc.(interface{ CloseWrite() error })
	if !ok || cw.CloseWrite() != nil {
		return
	}
	end := time.Now().Add(lingerMax)
	for {
		d := time.Now().Add(lingerTime)
		if d.After(end) {
			d = end
		}
		c.nc.SetReadDeadline(d)
		if _, err := c.nc.Read(c.buf); err != nil {
			return
		}
	}
}
