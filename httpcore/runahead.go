package httpcore

import (
	"net"
	"os"
	"sync"
	"syscall"
)

// A streamed response (Write and Flush once the head is committed) is
// written while the handler runs, and a handler is often the holder of
// something scarce (a Python executor). So a Flush hands the socket what
// it takes at once without waiting, and leaves the rest in the
// connection's run-ahead buffer, which a writer goroutine sends
// meanwhile: the handler goes on producing while its last chunk is
// transmitted (PEP 3333), and waits for the client only once
// StreamBuffer bytes are unsent.

// maxFraming is the most bytes of chunk framing written at once, and the
// margin Congested keeps for it.
const maxFraming = 64

// defaultStreamBuffer is StreamBuffer's default.
const defaultStreamBuffer = 256 << 10

// aheadBlock is the size of the pooled blocks a run-ahead buffer is made
// of, so that it holds memory in proportion to its unsent bytes.
const aheadBlock = 16 << 10

// aheadStep is about the most the writer hands the socket in one write: a
// handler waiting for room wakes as each step is taken, not only once the
// whole buffer is.
const aheadStep = 64 << 10

// aheadBlocks holds the run-ahead blocks of all connections; a connection
// holds some only while it has unsent bytes.
var aheadBlocks = sync.Pool{New: func() any { b := make([]byte, 0, aheadBlock); return &b }}

// runAhead is a connection's run-ahead buffer and the state of its writer.
type runAhead struct {
	mu      sync.Mutex
	room    sync.Cond // L is &mu; broadcast when the writer took bytes or stopped
	blocks  []*[]byte // the queued bytes, in order; the writer never holds these
	pending int       // bytes queued or being written by the writer
	running bool      // the writer runs: then only it writes to the socket
	err     error     // the first send error: the connection is lost

	taken []*[]byte // the blocks the writer is sending; the writer's own
	bufs  [][]byte  // their bytes, for writeBuffers; the writer's own

	try    attempt         // the one write attempt, reused
	raw    syscall.RawConn // the socket's, for writes that never wait; nil over TLS
	rawSet bool            // raw has been looked up
}

// attempt is one write that never waits for the socket. Its callback is
// made once per connection, so that a write allocates nothing.
type attempt struct {
	p   []byte
	n   int
	err error
	fn  func(fd uintptr) bool
}

// once writes what the socket takes of t.p at once; a full socket buffer
// is no error, only 0 bytes taken. It always reports done, so RawConn.Write
// never waits.
func (t *attempt) once(fd uintptr) bool {
	n, err := syscall.Write(int(fd), t.p)
	for err == syscall.EINTR {
		n, err = syscall.Write(int(fd), t.p)
	}
	if err == syscall.EAGAIN {
		n, err = 0, nil
	}
	t.n, t.err = max(n, 0), err
	return true
}

// streamBuffer returns the run-ahead bound, or 0 for none.
func (s *Server) streamBuffer() int {
	return int(limitOrDefault(s.StreamBuffer, defaultStreamBuffer))
}

// stream sends p behind every byte queued before it: what the socket takes
// at once, the rest through the run-ahead buffer. It waits only while
// StreamBuffer bytes or more are unsent, and takes p StreamBuffer bytes at
// a time, so p is no longer referenced when it returns. It returns the
// first send error of the connection. Without a run-ahead buffer it is
// write.
func (c *conn) stream(p []byte) error {
	bound := c.srv.streamBuffer()
	if bound == 0 {
		return c.write(p)
	}
	a := c.runAhead()
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.err == nil && !a.running {
		// Nothing is queued: the socket is ours.
		n, err := c.writeNow(p)
		p, a.err = p[n:], err
	}
	// Framing (a chunk's size line, its CRLF, the last chunk) never
	// waits before the buffer holds twice the bound, so that a chunk
	// written while the response was not Congested goes out whole
	// without waiting, framing included.
	limit := bound
	if len(p) <= maxFraming {
		limit = 2 * bound
	}
	for len(p) > 0 {
		for a.err == nil && a.pending >= limit {
			a.room.Wait()
		}
		if a.err != nil {
			break
		}
		n := min(len(p), bound)
		a.queue(p[:n])
		p = p[n:]
		if !a.running {
			a.running = true
			go c.writeAhead()
		}
	}
	return a.err
}

// runAhead returns the connection's run-ahead buffer, made on first use:
// only a connection that streams pays for one.
func (c *conn) runAhead() *runAhead {
	a := c.ahead.Load()
	if a == nil {
		a = &runAhead{}
		a.room.L = &a.mu
		c.ahead.Store(a)
	}
	return a
}

// writeNow writes what the socket takes of p without waiting, and returns
// how many bytes it took; a connection that is not a socket (TLS) takes
// none this way. a.mu is held and the writer is not running.
func (c *conn) writeNow(p []byte) (int, error) {
	a := c.ahead.Load()
	if !a.rawSet {
		a.rawSet = true
		if sc, ok := c.nc.(syscall.Conn); ok {
			if raw, err := sc.SyscallConn(); err == nil {
				a.raw = raw
			}
		}
		a.try.fn = a.try.once
	}
	if a.raw == nil {
		return 0, nil
	}
	// RawConn.Write fails at once if the write deadline has passed, and
	// the last one set may be long gone.
	c.armSend()
	a.try.p = p
	err := a.raw.Write(a.try.fn)
	a.try.p = nil
	if err == nil && a.try.err != nil {
		err = &net.OpError{Op: "write", Net: c.nc.LocalAddr().Network(), Source: c.nc.LocalAddr(),
			Addr: c.nc.RemoteAddr(), Err: os.NewSyscallError("write", a.try.err)}
	}
	return a.try.n, err
}

// queue appends p to the run-ahead buffer; a.mu is held.
func (a *runAhead) queue(p []byte) {
	a.pending += len(p)
	for len(p) > 0 {
		var b *[]byte
		if n := len(a.blocks); n > 0 && len(*a.blocks[n-1]) < cap(*a.blocks[n-1]) {
			b = a.blocks[n-1]
		} else {
			b = aheadBlocks.Get().(*[]byte)
			a.blocks = append(a.blocks, b)
		}
		k := min(len(p), cap(*b)-len(*b))
		*b = append(*b, p[:k]...)
		p = p[k:]
	}
}

// writeAhead is the connection's writer: it sends the run-ahead buffer,
// aheadStep at a time under SendTimeout, until it is empty or a write
// fails, then gives its blocks back and stops.
func (c *conn) writeAhead() {
	a := c.ahead.Load()
	a.mu.Lock()
	for a.err == nil && len(a.blocks) > 0 {
		n, size := 0, 0
		for n < len(a.blocks) && (n == 0 || size+len(*a.blocks[n]) <= aheadStep) {
			size += len(*a.blocks[n])
			n++
		}
		a.taken = append(a.taken[:0], a.blocks[:n]...)
		k := copy(a.blocks, a.blocks[n:])
		clear(a.blocks[k:])
		a.blocks = a.blocks[:k]
		a.mu.Unlock()

		a.bufs = a.bufs[:0]
		for _, b := range a.taken {
			a.bufs = append(a.bufs, *b)
		}
		err := c.writeBuffers(a.bufs)
		clear(a.bufs)
		putBlocks(a.taken)

		a.mu.Lock()
		a.pending -= size
		if err != nil {
			a.err = err
		}
		a.room.Broadcast()
	}
	putBlocks(a.blocks) // unsent after a failure: the connection is lost
	// The slices of pointers stay, empty, for the next stream; the
	// blocks, the memory, are back in their pool.
	a.blocks, a.pending, a.running = a.blocks[:0], 0, false
	a.room.Broadcast()
	a.mu.Unlock()
}

// putBlocks gives run-ahead blocks back to their pool.
func putBlocks(blocks []*[]byte) {
	for _, b := range blocks {
		*b = (*b)[:0]
		aheadBlocks.Put(b)
	}
	clear(blocks)
}

// drainAhead waits until the writer has sent every queued byte, or failed,
// and returns the connection's send error.
func (c *conn) drainAhead() error {
	a := c.ahead.Load()
	if a == nil {
		return nil
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	for a.running {
		a.room.Wait()
	}
	return a.err
}

// Congested reports whether the response's run-ahead buffer is full:
// StreamBuffer bytes or more flushed and not yet taken by the client, so
// that a Write or Flush now would wait for the client. When it is false,
// a Write and Flush of at most StreamBuffer bytes returns without waiting
// for the client. It is always false without a run-ahead buffer
// (StreamBuffer negative) and after a send error (a Write then fails at
// once).
func (w *ResponseWriter) Congested() bool {
	bound := w.c.srv.streamBuffer()
	a := w.c.ahead.Load()
	if a == nil {
		return false
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.congested(bound)
}

// congested is Congested for the bound; a.mu is held. It keeps a margin
// for the framing around the next chunk.
func (a *runAhead) congested(bound int) bool {
	return bound > 0 && a.err == nil && a.pending >= max(bound-maxFraming, 1)
}

// WaitRoom blocks until the response is no longer Congested or its send
// has failed, and returns the send error (the client took no bytes for
// SendTimeout, or is gone; every Write then fails with it and the
// connection closes once the handler returns). A client that stalls holds
// it no longer than SendTimeout. It waits on the connection's writer and
// holds nothing of the caller's, so a caller may give up what it holds
// for the wait and call it from another goroutine, provided nothing
// writes to the response meanwhile.
func (w *ResponseWriter) WaitRoom() error {
	bound := w.c.srv.streamBuffer()
	a := w.c.ahead.Load()
	if a == nil {
		return w.err
	}
	a.mu.Lock()
	for a.congested(bound) {
		a.room.Wait()
	}
	err := a.err
	a.mu.Unlock()
	if err != nil && w.err == nil {
		return w.fail(err)
	}
	return w.err
}
