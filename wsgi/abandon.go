package wsgi

// A worker whose app is stuck (a thread in C code holding the GIL past
// --timeout, where RequestTimeout cannot reach it) is about to be replaced.
// Before it goes, every request it holds gets an answer rather than a
// reset: the stuck one, and any other still inside the app when the worker
// gives up, 500 (it may have done part of its work); those still waiting
// for an executor, and any that arrive, 503 with Retry-After (they never
// ran, so the client may send them again).

var (
	status503  = []byte("503 Service Unavailable")
	headers503 = []Header{
		{Name: []byte("Content-Type"), Value: []byte("text/plain; charset=utf-8")},
		{Name: []byte("Retry-After"), Value: []byte("1")},
	}
	body503 = []byte("Service Unavailable: this worker is restarting; retry\n")
)

// refuse answers a request that will not run.
func refuse(sink ResponseSink) {
	sink.WriteHeader(status503, headers503)
	sink.Write(body503)
}

// abandon takes request seq from e if e is still inside the app with it,
// and answers it 500 from the calling goroutine: the request's own
// goroutine is the one stuck in the app, and finishes nothing once it
// comes back, if it ever does (it finds it no longer owns the request and
// leaves the sink alone). It reports false, to be tried again later, if
// the request's goroutine was busy with its sink (a callback from the app
// holds e.mu).
func (e *executor) abandon(seq uint64) bool {
	if !e.mu.TryLock() {
		return false
	}
	// e.mu is held until the answer is out: the stuck goroutine, back
	// from the app, waits for it before it looks at its request again.
	defer e.mu.Unlock()
	j := e.cur
	if j == nil || !e.inApp.Load() || e.seq.Load() != seq {
		return false
	}
	e.cur = nil
	if e.app.onExc != nil {
		e.app.onExc()
	}
	e.app.stuckOnce.Do(func() { close(e.app.stuck) })
	if !e.headGiven && !j.sink.HeadSent() {
		j.sink.WriteHeader(status500, headers500)
		j.sink.Write(body500)
	} else {
		j.sink.Abort()
	}
	j.sink.FinishNow()
	return true
}

// Refuse answers 503 with Retry-After to every request waiting for an
// executor, and to every request that arrives after it, without running
// them: for a worker that will exit because its app is stuck.
func (a *App) Refuse() { a.refuseOnce.Do(func() { close(a.refused) }) }

// AbandonRunning answers 500 to every request still inside the app, whose
// executor is stuck: the last step before a stuck worker exits.
func (a *App) AbandonRunning() {
	for _, e := range a.executors() {
		if seq, _ := e.current(); seq != 0 {
			e.abandon(seq)
		}
	}
}
