package httpcore

// FinishNow ends the response with what the handler wrote so far, as if
// the handler had returned, and makes the connection close after it. It is
// for a handler that is stuck and may never return (an application thread
// blocked in C code past its timeout): it may be called from another
// goroutine, provided that the handler's goroutine does not touch the
// ResponseWriter, or return, until FinishNow has returned (the caller keeps
// them apart; the WSGI layer does with a lock the handler takes before it
// writes). Once the handler returns, nothing more is sent for it.
func (w *ResponseWriter) FinishNow() {
	w.c.close = true
	w.finish()
	w.finishedEarly = true
}
