package httpcore

import (
	"strconv"
	"sync"

	"github.com/gowsgi/gowsgi/internal/ascii"
	"github.com/gowsgi/gowsgi/internal/hopbyhop"
)

// flushThreshold is how much body a response holds back before it commits
// its head and starts sending: a body shorter than this goes out in one
// write with a Content-Length.
const flushThreshold = 32 << 10

// outBufs holds the response writers' buffers between responses, so that an
// idle connection holds none.
var outBufs = sync.Pool{New: func() any { b := make([]byte, 0, 4<<10); return &b }}

// maxPooledOut is the largest buffer put back in outBufs.
const maxPooledOut = 256 << 10

// internalError is the body of the 500 sent for a handler that failed
// before its head went out.
const internalError = "Internal Server Error\n"

// ResponseWriter frames one response: it adds Date, Server, Connection and
// the body framing (Content-Length, chunked, or close-delimited), drops
// hop-by-hop fields from the handler and holds small bodies back so that
// they go out with the head in one write.
type ResponseWriter struct {
	c       *conn
	status  []byte
	fields  []byte // the handler's forwarded fields, "Name: Value\r\n" each
	code    int
	length  int64 // Content-Length from the handler, or -1
	written int64 // body bytes the handler wrote (and that were kept)

	bodyp, outp *[]byte // pooled buffers behind body and out
	body        []byte  // body held back until the head is committed
	out         []byte  // bytes waiting to be sent
	err         error   // the first send error

	held    [][]byte // body kept by WriteHeld, from held[1]; held[0] is for out
	heldLen int64    // bytes in held
	holder  interface{ Release() }

	wroteHeader, headSent, chunked, bad, aborted bool
	closeAsked, hasDate, hasServer               bool
	finishedEarly                                bool // FinishNow ended it
	returned                                     bool // the handler returned: finish is sending
}

// reset prepares the writer for the next response.
func (w *ResponseWriter) reset() {
	w.code, w.length, w.written, w.err = 0, -1, 0, nil
	w.wroteHeader, w.headSent, w.chunked, w.bad, w.aborted = false, false, false, false, false
	w.finishedEarly = false
	w.returned = false
}

// WriteHeader records the status line text after the version ("200 OK",
// exactly as given) and copies the header fields. Nothing is sent yet.
// Calling it again before the head is sent replaces status and fields
// (the body written so far is kept); after that it does nothing. A
// malformed status or field, or a Content-Length that is not digits, makes
// the response a handler error: Write fails and the server answers 500.
func (w *ResponseWriter) WriteHeader(status []byte, headers []Header) {
	if w.headSent || w.aborted {
		return
	}
	w.wroteHeader = true
	w.bad, w.closeAsked, w.hasDate, w.hasServer = false, false, false, false
	w.length = -1
	w.status = append(w.status[:0], status...)
	w.code = statusCode(status)
	if w.code < 0 {
		w.bad = true
	}
	w.fields = w.fields[:0]
	for _, h := range headers {
		name := h.Name
		if !isToken(name) || !isFieldValue(h.Value) {
			w.bad = true
			continue
		}
		switch {
		case ascii.EqualFold(name, "content-length"):
			n, ok := parseDecimal(trimOWS(h.Value))
			if !ok || (w.length >= 0 && n != w.length) {
				w.bad = true
			}
			w.length = n
			continue
		case ascii.EqualFold(name, "connection"):
			w.closeAsked = w.closeAsked || hasToken(h.Value, "close")
			continue
		case hopbyhop.Is(name):
			continue
		case ascii.EqualFold(name, "date"):
			w.hasDate = true
		case ascii.EqualFold(name, "server"):
			w.hasServer = true
		}
		w.fields = append(w.fields, name...)
		w.fields = append(w.fields, ": "...)
		w.fields = append(w.fields, trimOWS(h.Value)...)
		w.fields = append(w.fields, "\r\n"...)
	}
}

// statusCode returns the code of a status "NNN" or "NNN reason", or -1 if
// status is malformed.
func statusCode(status []byte) int {
	if len(status) < 3 || (len(status) > 3 && status[3] != ' ') || !isFieldValue(status) {
		return -1
	}
	code := 0
	for _, c := range status[:3] {
		if !isDigit(c) {
			return -1
		}
		code = code*10 + int(c-'0')
	}
	if code < 100 {
		return -1
	}
	return code
}

// bodyBytes says how many of n more body bytes to send: none for a
// response that has no body (they count as written, and none is true), and
// no more than the Content-Length leaves (the connection then closes).
func (w *ResponseWriter) bodyBytes(n int64) (send int64, none bool) {
	if w.bodyless() {
		w.written += n
		return 0, true
	}
	if w.length >= 0 && n > w.length-w.written {
		n = w.length - w.written
		w.c.close = true
	}
	return n, false
}

// Write adds body bytes. They are held back until flushThreshold bytes have
// accumulated, then the head is committed and bytes are sent as they come,
// as Flush sends them.
// Bytes beyond a Content-Length the handler gave are dropped and the
// connection closes after the response. A send error (the client is gone)
// is returned, and from then on by every call.
func (w *ResponseWriter) Write(p []byte) (int, error) {
	if err := w.writable(); err != nil {
		return 0, err
	}
	n := len(p)
	m, none := w.bodyBytes(int64(n))
	if none {
		return n, nil
	}
	p = p[:m]
	w.written += m
	if !w.headSent {
		if len(w.body)+len(p) <= flushThreshold {
			if w.bodyp == nil {
				w.bodyp = outBufs.Get().(*[]byte)
				w.body = *w.bodyp
			}
			w.body = append(w.body, p...)
			return n, nil
		}
		w.commit(false)
		if err := w.sendBody(w.body); err != nil {
			return 0, err
		}
		w.body = w.body[:0]
	}
	if err := w.sendBody(p); err != nil {
		return 0, err
	}
	return n, nil
}

// commitHeld sends the head, if it has not gone out, and the body held
// back behind it; after it, body bytes go out as they come.
func (w *ResponseWriter) commitHeld() error {
	if w.headSent {
		return nil
	}
	w.commit(false)
	if err := w.sendBody(w.body); err != nil {
		return err
	}
	w.body = w.body[:0]
	return nil
}

// Flush commits the head if it has not gone out (so the body is then
// chunked, or close-delimited for HTTP/1.0) and sends every buffered byte:
// what the client does not take at once goes to the run-ahead buffer (see
// Server.StreamBuffer), and Flush waits for the client only while that is
// full (Congested).
func (w *ResponseWriter) Flush() error {
	if err := w.writable(); err != nil {
		return err
	}
	if err := w.commitHeld(); err != nil {
		return err
	}
	return w.send()
}

// Status is the status code of the response as it stands: the handler's,
// or 500 when the handler gave no valid head (the server answers 500 for
// it), or 400 or 413 when a request body read failed that way before the
// head went out (the server answers that instead). Metrics and access logs read it once the handler has returned.
func (w *ResponseWriter) Status() int {
	if be := w.c.body.failed(); be != nil && be.reply != nil && !w.headSent {
		return statusCode([]byte(be.reply.status))
	}
	if !w.wroteHeader || w.bad || w.code < 0 {
		return 500
	}
	return w.code
}

// Written is the number of body bytes the handler wrote and the response
// kept (a HEAD response's are counted though not sent).
func (w *ResponseWriter) Written() int64 { return w.written }

// HeadSent reports whether the status line and header fields have been
// committed: from then on WriteHeader does nothing and a failure can only
// close the connection.
func (w *ResponseWriter) HeadSent() bool { return w.headSent }

// Abort marks the response as broken, e.g. the application failed after
// the head was sent: nothing more is sent (no final chunk) and the
// connection closes. If the head had not been sent, the client gets a 500.
func (w *ResponseWriter) Abort() {
	w.aborted = true
	w.c.close = true
}

// writable returns why the handler may not write, or nil.
func (w *ResponseWriter) writable() error {
	switch {
	case w.aborted:
		return ErrAborted
	case w.holder != nil:
		return ErrBodyHeld
	case w.err != nil:
		return w.err
	case !w.wroteHeader:
		return ErrNoHeader
	case w.bad:
		return ErrBadResponse
	}
	return nil
}

// bodyless reports whether the response carries no body bytes: a response
// to HEAD, 1xx, 204 and 304.
func (w *ResponseWriter) bodyless() bool {
	return w.c.req.head || w.code < 200 || w.code == 204 || w.code == 304
}

// commit builds the head into out and decides the framing and whether the
// connection stays open. final says the handler has returned, so a held-back
// body is the whole body.
func (w *ResponseWriter) commit(final bool) {
	c := w.c
	req := &c.req
	keep := req.keepAlive && !w.closeAsked && !c.close && !c.srv.shutting.Load() &&
		!c.body.clientWaits() && (req.Chunked || c.body.remaining <= drainLimit)
	length := int64(-1)
	switch {
	case w.code < 200 || w.code == 204:
	case w.length >= 0:
		length = w.length
	case w.code == 304:
	case final:
		length = w.written
	case req.head:
	case req.ProtoMinor == 1:
		w.chunked = true
	default:
		keep = false // the end of the body is the end of the connection
	}
	if w.outp == nil {
		w.outp = outBufs.Get().(*[]byte)
		w.out = *w.outp
	}
	b := append(w.out, "HTTP/1.1 "...)
	b = append(b, w.status...)
	b = append(b, "\r\n"...)
	if !w.hasDate {
		b = append(b, dateLine()...)
	}
	if !w.hasServer {
		b = append(b, c.srv.serverLine...)
	}
	b = append(b, w.fields...)
	if length >= 0 {
		b = append(b, "Content-Length: "...)
		b = strconv.AppendInt(b, length, 10)
		b = append(b, "\r\n"...)
	}
	if w.chunked {
		b = append(b, "Transfer-Encoding: chunked\r\n"...)
	}
	switch {
	case !keep:
		b = append(b, "Connection: close\r\n"...)
		c.close = true
	case req.ProtoMinor == 0:
		b = append(b, "Connection: keep-alive\r\n"...)
	}
	w.out = append(b, "\r\n"...)
	w.headSent = true
}

// sendBody frames p (as a chunk when chunked) into out, sending out when it
// passes flushThreshold; a large p is written straight from the caller's
// slice.
func (w *ResponseWriter) sendBody(p []byte) error {
	if len(p) == 0 || w.bodyless() {
		return nil
	}
	if w.chunked {
		w.out = strconv.AppendInt(w.out, int64(len(p)), 16)
		w.out = append(w.out, "\r\n"...)
	}
	if len(p) < flushThreshold {
		w.out = append(w.out, p...)
	} else {
		if err := w.send(); err != nil {
			return err
		}
		if err := w.put(p); err != nil {
			return w.fail(err)
		}
	}
	if w.chunked {
		w.out = append(w.out, "\r\n"...)
	}
	if len(w.out) >= flushThreshold {
		return w.send()
	}
	return nil
}

// send writes out to the connection.
func (w *ResponseWriter) send() error {
	if w.err != nil {
		return w.err
	}
	if len(w.out) == 0 {
		return nil
	}
	err := w.put(w.out)
	w.out = w.out[:0]
	if err != nil {
		return w.fail(err)
	}
	return nil
}

// put sends p: while the handler runs, through the run-ahead buffer, so
// that a client slower than the handler does not hold it; once it has
// returned, directly, as nothing is held then (and nothing is queued:
// finish settled first).
func (w *ResponseWriter) put(p []byte) error {
	if w.returned {
		return w.c.write(p)
	}
	return w.c.stream(p)
}

// settle waits until the run-ahead buffer is sent, so that what is
// written next goes out behind it, and returns the send error; a failure
// closes the connection.
func (w *ResponseWriter) settle() error {
	if err := w.c.drainAhead(); err != nil && w.err == nil {
		return w.fail(err)
	}
	return w.err
}

// fail records a send error; the connection closes.
func (w *ResponseWriter) fail(err error) error {
	w.err = err
	w.c.close = true
	return err
}

// finish ends the response after the handler returned: it sends the head
// and held-back body, the body WriteHeld kept, or the last chunk, or a 500 for a handler that failed
// before its head went out. If a request body read failed before the head
// went out, the body error's answer replaces the handler's response (400,
// 413, or nothing for a client that is gone).
// A body shorter than the handler's Content-Length is logged.
// It first waits until the run-ahead buffer is sent (the handler has
// returned: only the connection waits), so that what it sends, and the
// next response, go out behind it.
func (w *ResponseWriter) finish() {
	w.settle()
	w.returned = true
	switch {
	case !w.headSent && w.c.body.failed() != nil:
		// The client botched or abandoned its body: what the handler made
		// of the read error is not the answer.
		w.c.close = true
		w.dropHeld()
		if pe := w.c.body.failed().reply; pe != nil {
			w.c.replyError(pe)
		}
		w.release()
		return
	case !w.headSent && (!w.wroteHeader || w.bad || w.aborted):
		if !w.aborted {
			w.c.srv.logf("httpcore: %s %s: %s", w.c.req.Method, w.c.req.URI, handlerFault(w))
		}
		w.c.close = true
		w.dropHeld()
		w.wroteHeader, w.aborted = false, false
		w.body = w.body[:0]
		w.written = 0
		w.WriteHeader([]byte("500 Internal Server Error"), []Header{
			{Name: []byte("Content-Type"), Value: []byte("text/plain; charset=utf-8")},
		})
		w.Write([]byte(internalError))
		fallthrough
	case !w.headSent:
		w.commit(true)
		w.sendBody(w.body)
	case w.aborted:
		w.c.close = true
		w.dropHeld()
		w.release()
		return
	}
	if w.length >= 0 && w.written < w.length && !w.bodyless() {
		w.c.close = true
		if w.err == nil {
			w.c.srv.logf("httpcore: response to %s %s ended after %d of %d bytes declared by Content-Length; closing the connection",
				w.c.req.Method, w.c.req.URI, w.written, w.length)
		}
	}
	if w.holder != nil {
		w.sendHeld()
	} else {
		if w.chunked {
			w.out = append(w.out, "0\r\n\r\n"...)
		}
		w.send()
	}
	w.release()
}

// handlerFault says what the handler got wrong.
func handlerFault(w *ResponseWriter) string {
	if !w.wroteHeader {
		return "handler returned without calling WriteHeader"
	}
	return ErrBadResponse.Error()
}

// release gives the buffers back to their pool.
func (w *ResponseWriter) release() {
	if w.bodyp != nil {
		if cap(w.body) <= maxPooledOut {
			*w.bodyp = w.body[:0]
			outBufs.Put(w.bodyp)
		}
		w.bodyp, w.body = nil, nil
	}
	if w.outp != nil {
		if cap(w.out) <= maxPooledOut {
			*w.outp = w.out[:0]
			outBufs.Put(w.outp)
		}
		w.outp, w.out = nil, nil
	}
}
