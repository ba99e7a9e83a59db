package httpcore

import (
	"io"
	"time"
)

// directReadMin is the smallest Read that bypasses the connection buffer
// when it is empty, saving a copy on large uploads.
const directReadMin = 4 << 10

// continueLine is the interim response a first body Read sends when the
// client asked for "Expect: 100-continue".
var continueLine = []byte("HTTP/1.1 100 Continue\r\n\r\n")

// Chunked body phases: what the bytes after the current chunk data are.
const (
	phaseSize    = iota // a chunk-size line
	phaseDataEnd        // the CRLF ending chunk data, then a chunk-size line
	phaseDone           // nothing: the last chunk and trailers were read
)

// Body is the request body reader, for Content-Length and chunked bodies.
// Read never reads past the body and returns io.EOF at its end. If the
// request carried "Expect: 100-continue", the first Read sends
// "HTTP/1.1 100 Continue" first (unless the response head has gone out).
// A malformed chunked body or a short one is a Read error, and the
// connection closes after the response; so is a chunked body growing past
// the server's LimitRequestBody (ErrBodyTooLarge). Every such error
// satisfies IsBodyError.
type Body struct {
	c         *conn
	remaining int64 // bytes left of the body, or of the current chunk
	chunked   bool
	phase     int
	err       error // sticky: io.EOF at the end, or what went wrong
	expect    bool  // the client waits for 100 Continue
	sentCont  bool  // 100 Continue was sent
	trailer   int   // bytes of trailer fields read
	limit     int64 // LimitRequestBody for a chunked body; 0: none
	total     int64 // chunk sizes read so far

	memp     *[]byte   // pooled buffer behind mem
	mem      []byte    // prefetched body bytes the handler has not read
	start    time.Time // when the first body bytes were awaited
	got      int64     // bytes read from the socket for the body
	streamed bool      // the handler reads: the minimum rate applies
}

// reset prepares the body of req.
func (b *Body) reset(req *Request) {
	b.chunked, b.phase, b.err, b.sentCont, b.trailer = req.Chunked, phaseSize, nil, false, 0
	b.remaining, b.limit, b.total = req.ContentLength, 0, 0
	b.start, b.got, b.streamed = time.Time{}, 0, false
	if b.chunked {
		b.remaining, b.limit = 0, max(b.c.srv.LimitRequestBody, 0)
	}
	b.expect = req.expectContinue && !b.finished()
}

// finished reports whether the whole body has been read.
func (b *Body) finished() bool {
	if b.chunked {
		return b.phase == phaseDone
	}
	return b.remaining == 0
}

// clientWaits reports whether the client still waits for 100 Continue
// before sending a body the handler has not read.
func (b *Body) clientWaits() bool { return b.expect && !b.sentCont && !b.finished() }

// Read reads body bytes into p.
func (b *Body) Read(p []byte) (int, error) {
	if len(b.mem) > 0 {
		n := copy(p, b.mem)
		b.mem = b.mem[n:]
		return n, nil
	}
	if b.err != nil {
		return 0, b.err
	}
	if len(p) == 0 {
		return 0, nil
	}
	if b.expect && !b.sentCont && !b.c.resp.headSent {
		if err := b.c.write(continueLine); err != nil {
			return 0, b.fail(err)
		}
		b.sentCont = true
	}
	if b.chunked {
		if err := b.nextChunk(); err != nil {
			return 0, b.fail(err)
		}
	}
	if b.remaining == 0 {
		b.err = io.EOF
		return 0, io.EOF
	}
	if int64(len(p)) > b.remaining {
		p = p[:b.remaining]
	}
	c := b.c
	var n int
	if c.r == c.w && len(p) >= directReadMin {
		c.setBodyDeadline()
		var err error
		n, err = c.nc.Read(p)
		b.got += int64(n)
		if n == 0 {
			return 0, b.fail(unexpectedEOF(err))
		}
	} else {
		if c.r == c.w {
			if err := c.fill(); err != nil {
				return 0, b.fail(err)
			}
		}
		n = copy(p, c.buf[c.r:c.w])
		c.r += n
	}
	b.remaining -= int64(n)
	return n, nil
}

// drain reads and discards at most limit bytes of the unread body and
// reports whether the body is then fully read, so that the connection can
// carry another request.
func (b *Body) drain(limit int64) bool {
	if b.err != nil || b.clientWaits() {
		return b.err == io.EOF
	}
	c := b.c
	for {
		if b.chunked {
			if err := b.nextChunk(); err != nil {
				b.fail(err)
				return false
			}
		}
		if b.remaining == 0 {
			return true
		}
		if limit <= 0 {
			return false
		}
		if c.r == c.w {
			if err := c.fill(); err != nil {
				b.fail(err)
				return false
			}
		}
		n := min(int64(c.w-c.r), b.remaining, limit)
		c.r += int(n)
		b.remaining -= n
		limit -= n
	}
}

// fail records a body error, marked as the client's (see IsBodyError);
// the connection closes after the response.
func (b *Body) fail(err error) error {
	if _, ok := err.(*bodyError); !ok {
		err = &bodyError{err: err}
	}
	b.err = err
	b.c.close = true
	return err
}

// failed returns the body's read error, or nil if none occurred.
func (b *Body) failed() *bodyError {
	be, _ := b.err.(*bodyError)
	return be
}

// unexpectedEOF turns the end of the connection inside a body into
// io.ErrUnexpectedEOF.
func unexpectedEOF(err error) error {
	if err == nil || err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}
