package httpcore

import (
	"io"
	"sync"
	"time"
)

// defaultBodyBuffer is BodyBuffer's default.
const defaultBodyBuffer = 1 << 20

// firstBodyBuf is the buffer a chunked body of unknown size starts in.
const firstBodyBuf = 16 << 10

// A streamed request body (one the handler reads from the socket) must
// come at minBodyRate bytes a second on average once bodyRateGrace has
// passed since its first byte was awaited, like nginx's
// client_body_timeout: a trickle cannot hold the handler for long.
const (
	minBodyRate   = 1 << 10
	bodyRateGrace = 5 * time.Second
)

// bodyBufs holds the buffers request bodies are read into before the
// handler runs.
var bodyBufs sync.Pool

// bodyBuffer returns the largest body read before the handler runs, or 0.
func (s *Server) bodyBuffer() int64 {
	return limitOrDefault(s.BodyBuffer, defaultBodyBuffer)
}

// prefetch reads the body into memory before the handler is called if it
// is no larger than BodyBuffer (a chunked body: the first BodyBuffer+1
// bytes, the rest then streams). It reports false if reading failed: the
// request is then answered without the handler (400, 413, or nothing for
// a client that is gone).
func (b *Body) prefetch() bool {
	bound := b.c.srv.bodyBuffer()
	if bound == 0 || b.finished() || (!b.chunked && b.remaining > bound) {
		return true
	}
	size := b.remaining
	if b.chunked {
		size = bound + 1
	}
	bp, _ := bodyBufs.Get().(*[]byte)
	if bp == nil {
		bp = new([]byte)
	}
	buf := (*bp)[:0]
	for int64(len(buf)) < size {
		if len(buf) == cap(buf) {
			grown := make([]byte, len(buf), min(max(2*cap(buf), firstBodyBuf, int(b.remaining)), int(size)))
			copy(grown, buf)
			buf = grown
		}
		n, err := b.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			break
		}
		if err != nil {
			*bp = buf[:0]
			bodyBufs.Put(bp)
			return false
		}
	}
	b.memp, b.mem = bp, buf
	return true
}

// releaseMem gives the prefetched body's buffer back.
func (b *Body) releaseMem() {
	if b.memp == nil {
		return
	}
	*b.memp = b.mem[:0]
	bodyBufs.Put(b.memp)
	b.memp, b.mem = nil, nil
}

// setBodyDeadline bounds the wait for the next body bytes by
// HeaderTimeout and, once the handler reads, by the minimum rate.
func (c *conn) setBodyDeadline() {
	b := &c.body
	now := time.Now()
	if b.start.IsZero() {
		b.start = now
	}
	d := now.Add(c.srv.headerTimeout())
	if b.streamed {
		if t := b.start.Add(max(bodyRateGrace, time.Duration(b.got)*(time.Second/minBodyRate))); t.Before(d) {
			d = t
		}
	}
	c.nc.SetReadDeadline(d)
}
