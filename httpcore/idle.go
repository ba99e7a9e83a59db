package httpcore

import (
	"errors"
	"io"
	"net"
	"os"
	"sync"
	"syscall"
	"time"
)

// A connection waiting for a request with nothing buffered is idle: a
// keep-alive connection between requests, a new one before its first.
// Idle connections can be many and long-lived, so over a socket (rc) an
// idle connection holds no read buffer and no request state (readIdle),
// and, between requests, waits on a new goroutine with a small stack once
// it has been idle for handOffDelay (awaitRequest). TLS connections keep
// both and their goroutine: tls.Conn buffers records of its own, which a
// wait on the socket below it would miss.

// handOffDelay is how long a connection idle between requests waits on the
// goroutine that served it before it leaves the wait to a new one. A new
// goroutine costs little, but its stack grows again while it serves, each
// growth a copy: waiting first on the served goroutine spares that to a
// busy client, whose next request comes sooner (a page's resources, a load
// generator), while a connection left idle soon costs no more than it
// must. It is far shorter than any useful keep-alive time.
const handOffDelay = 50 * time.Millisecond

// requestState is what a connection needs while a request is under way:
// the request, its body reader and its response writer, with the slices
// they reuse from one request to the next (header fields, response
// fields).
type requestState struct {
	req  Request
	body Body
	resp ResponseWriter
}

// requestStates holds request states between requests.
var requestStates = sync.Pool{New: func() any { return new(requestState) }}

// takeRequestState gives the connection a request state.
func (c *conn) takeRequestState() {
	x := requestStates.Get().(*requestState)
	x.req.Body, x.req.Conn = &x.body, c.info
	x.body.c, x.resp.c = c, c
	c.requestState = x
}

// putRequestState gives the request state back, once its response is
// finished and its buffers released, keeping nothing of the connection:
// the request's slices point into the read buffer, which they would keep
// from being collected once its pool lets it go.
func (c *conn) putRequestState() {
	x := c.requestState
	clear(x.req.Headers[:cap(x.req.Headers)])
	x.req.Headers = x.req.Headers[:0]
	x.req.Method, x.req.URI, x.req.Path, x.req.Query, x.req.Proto = nil, nil, nil, nil, nil
	x.req.Conn, x.body.c, x.resp.c = nil, nil, nil
	c.requestState = nil
	requestStates.Put(x)
}

// rawConnOf returns nc's descriptor if nc is a TCP or unix socket, whose
// Read reads the descriptor and buffers nothing, or nil.
func rawConnOf(nc net.Conn) syscall.RawConn {
	var rc syscall.RawConn
	switch nc := nc.(type) {
	case *net.TCPConn:
		rc, _ = nc.SyscallConn()
	case *net.UnixConn:
		rc, _ = nc.SyscallConn()
	}
	return rc
}

// waitIdle waits for the next request of a connection idle between
// requests, on the goroutine that served the last one, for handOffDelay
// at most; it reports whether the request's first bytes came. If not,
// the connection has been closed (keep-alive time over, client gone,
// Close), or left to a new goroutine (awaitRequest) with the rest of its
// keep-alive time.
func (c *conn) waitIdle() bool {
	keepAlive := c.srv.keepAlive()
	now := time.Now()
	idleEnd := now.Add(keepAlive)
	c.nc.SetReadDeadline(now.Add(min(keepAlive, handOffDelay)))
	n, err := c.readIdle()
	switch {
	case err == nil:
		c.w = n
		return true
	case errors.Is(err, os.ErrDeadlineExceeded) && time.Now().Before(idleEnd):
		c.nc.SetReadDeadline(idleEnd)
		go c.await()
	default:
		c.shut()
	}
	return false
}

// awaitRequest waits for the next request on a connection idle between
// requests, whose read deadline is set, and serves the connection on. It
// runs on a new goroutine: the stack a goroutine grew while serving stays
// with it as it waits (the runtime halves a stack only while less than a
// quarter of it is in use, counting 800 bytes of guard, so 4 KiB is the
// least a goroutine that grew keeps), whereas a new goroutine starts with
// the stack size the runtime sees goroutines use on average, 2 KiB when
// most wait idle. It calls little before the wait ends, so that the stack
// does not grow meanwhile.
func (c *conn) awaitRequest() {
	n, err := c.readIdle()
	if err != nil {
		c.shut()
		return
	}
	c.w = n
	c.serveRequests()
}

// readIdle reads the first bytes of a request into an empty buffer, or
// the connection's end. Until bytes arrive the connection holds neither
// read buffer nor request state: tryRead gives them back when the socket
// has nothing to read and takes a buffer when it becomes readable
// (parseHead takes a request state). The wait ends as a Read's does, at
// the read deadline (keep-alive or HeaderTimeout, or newConnGrace set by
// Shutdown) or when the connection is closed.
func (c *conn) readIdle() (int, error) {
	if err := c.rc.Read(c.readable); err != nil {
		return 0, err
	}
	n, err := c.rn, c.rerr
	c.rn, c.rerr = 0, nil
	return n, err
}

// tryRead reads into an empty buffer, taking one if none is held, and
// reports true; or, with nothing to read, gives the buffer and the
// request state back and reports false, for RawConn.Read to wait until
// the socket is readable and call it again. RawConn.Read keeps the
// descriptor open meanwhile. tryRead must read rather than report false at
// once: RawConn.Read forgets the readiness the poller noted before it
// calls tryRead the first time, so bytes already there would not end the
// wait.
func (c *conn) tryRead(fd uintptr) bool {
	if c.bufp == nil {
		c.getBuf()
	}
	for {
		n, err := syscall.Read(int(fd), c.buf)
		switch {
		case err == syscall.EINTR:
			continue
		case err == syscall.EAGAIN:
			if c.requestState != nil {
				c.putRequestState()
			}
			c.putBuf()
			return false
		case err != nil:
			c.rn, c.rerr = 0, os.NewSyscallError("read", err)
		case n == 0:
			c.rn, c.rerr = 0, io.EOF
		default:
			c.rn, c.rerr = n, nil
		}
		return true
	}
}
