package wsgi

// With Config.SuspendStreams, a streamed response whose client cannot take
// more now is suspended between two chunks: its request gives its slot to
// the requests waiting for one and waits for the client without running
// the app, its iterable unadvanced and its Python state kept by its
// executor; once the client has taken enough, it takes a slot again and
// goes on, on the same OS thread (its goroutine stays locked to it). A
// stalled client thus holds a goroutine and a parked thread, never a slot.

// Suspender is a ResponseSink that can say when writing more would wait on
// the client, and wait for room without holding anything of the caller's.
type Suspender interface {
	// Congested reports whether a Flush now would wait for the client.
	Congested() bool
	// WaitRoom waits until the client has taken enough that Congested is
	// false, or returns the error that ended the response (the client
	// gone, or stalled past the send timeout).
	WaitRoom() error
}

// yieldSlot suspends a stream before it hands the sink its next chunk, if
// the app allows it and the client is slow; the error is the sink's if the
// client never made room.
func (e *executor) yieldSlot(sink ResponseSink) error {
	if !e.app.suspend {
		return nil
	}
	s, ok := sink.(Suspender)
	if !ok || !s.Congested() {
		return nil
	}
	a := e.app
	a.giveSlot(e.slot)
	e.slot = -1
	err := s.WaitRoom()
	// Back in the app, even if the client is gone (close() must run), and
	// even if Refuse was called: this request is not a new one.
	e.slot = <-a.slots.vacant
	return err
}
