package httpcore

import "strconv"

// lastChunkAfterData ends the held chunk of a chunked body and the body.
var lastChunkAfterData = []byte("\r\n0\r\n\r\n")

// WriteHeld adds body chunks whose bytes the caller keeps valid until
// release.Release is called, and never blocks on the client. It reports
// whether it kept references to them: if false it has copied what it
// needs (or dropped it: a HEAD, bytes past Content-Length, a broken
// response) and will not call Release; if true, the chunks are written
// by the connection after the handler returns, under SendTimeout, and
// Release is called exactly once after the last byte went out or the
// connection failed, on the connection's goroutine. chunks itself (the
// slice of slices) may be reused by the caller once WriteHeld returns.
//
// It is for a body the handler has whole: it is called at most once per
// response, after WriteHeader, and nothing is written after it (Write,
// Flush, SendFile and WriteHeld then fail with ErrBodyHeld). Bytes written
// before it are the start of the body. A body that fits the response's
// buffer is copied there, without allocating; if the head has not been
// sent, the response gets a Content-Length of the whole body, as a body
// held back by Write does.
func (w *ResponseWriter) WriteHeld(chunks [][]byte, release interface{ Release() }) bool {
	if w.writable() != nil {
		return false
	}
	var total int64
	for _, p := range chunks {
		total += int64(len(p))
	}
	total, none := w.bodyBytes(total)
	if none || total == 0 {
		return false
	}
	w.written += total
	if int64(len(w.body)+len(w.out))+total <= flushThreshold {
		w.copyHeld(chunks, total)
		return false
	}
	// held[0] is kept for the head and framing, the last slot for the end
	// of a chunked body: sendHeld writes them all at once.
	held := make([][]byte, 1, len(chunks)+2)
	for left := total; left > 0; chunks = chunks[1:] {
		p := chunks[0][:min(int64(len(chunks[0])), left)]
		held = append(held, p)
		left -= int64(len(p))
	}
	w.held, w.heldLen, w.holder = held, total, release
	return true
}

// copyHeld copies the first total bytes of chunks into the response's
// buffers: behind the head, or as one chunk after it.
func (w *ResponseWriter) copyHeld(chunks [][]byte, total int64) {
	if !w.headSent {
		if w.bodyp == nil {
			w.bodyp = outBufs.Get().(*[]byte)
			w.body = *w.bodyp
		}
		w.body = appendPrefix(w.body, chunks, total)
		return
	}
	if w.chunked {
		w.out = strconv.AppendInt(w.out, total, 16)
		w.out = append(w.out, "\r\n"...)
	}
	w.out = appendPrefix(w.out, chunks, total)
	if w.chunked {
		w.out = append(w.out, "\r\n"...)
	}
}

// appendPrefix appends the first n bytes of chunks to dst.
func appendPrefix(dst []byte, chunks [][]byte, n int64) []byte {
	for _, p := range chunks {
		if n <= 0 {
			break
		}
		p = p[:min(int64(len(p)), n)]
		dst = append(dst, p...)
		n -= int64(len(p))
	}
	return dst
}

// sendHeld writes what out holds (the head, if it had not gone out) and
// the held body, framed, then releases the held chunks.
func (w *ResponseWriter) sendHeld() {
	defer w.dropHeld()
	if w.err != nil {
		return
	}
	if w.chunked {
		w.out = strconv.AppendInt(w.out, w.heldLen, 16)
		w.out = append(w.out, "\r\n"...)
		w.held = append(w.held, lastChunkAfterData)
	}
	w.held[0] = w.out
	err := w.c.writeBuffers(w.held)
	w.out = w.out[:0]
	if err != nil {
		w.fail(err)
	}
}

// dropHeld forgets the held chunks and calls their Release, if any.
func (w *ResponseWriter) dropHeld() {
	if w.holder == nil {
		return
	}
	clear(w.held)
	r := w.holder
	w.held, w.heldLen, w.holder = nil, 0, nil
	r.Release()
}
