package wsgi

// A worker whose app is stuck (a thread in C code holding the GIL past
// --timeout, where RequestTimeout cannot reach it) is about to be replaced.
// Before it goes, every request it holds gets an answer rather than a
// reset: the stuck one, and any other still inside the app when the worker
// gives up, 500 (it may have done part of its work); those still waiting
// for an executor, and any that arrive, 503 with Retry-After (they never
// ran, so the client may send them again).

// Job outcomes: who answers the request once its done channel is
// signalled.
const (
	outcomeServed    int32 = iota // the executor wrote the response
	outcomeRefused                // never ran: the waiter answers 503
	outcomeAbandoned              // left inside a stuck app: the waiter answers 500
)

var (
	status503  = []byte("503 Service Unavailable")
	headers503 = []Header{
		{Name: []byte("Content-Type"), Value: []byte("text/plain; charset=utf-8")},
		{Name: []byte("Retry-After"), Value: []byte("1")},
	}
	body503 = []byte("Service Unavailable: this worker is restarting; retry\n")
)

// answer writes the response the waiter owes for outcome, and reports
// whether the job may go back to the pool (an abandoned one is still the
// stuck executor's).
func (j *job) answer(outcome int32) bool {
	switch outcome {
	case outcomeRefused:
		j.sink.WriteHeader(status503, headers503)
		j.sink.Write(body503)
	case outcomeAbandoned:
		j.sink.WriteHeader(status500, headers500)
		j.sink.Write(body500)
		return false
	}
	return true
}

// abandon takes request seq from e if e is still inside the app with it,
// and hands it back to its waiter to answer 500. The executor, should it
// ever come back, sees it no longer owns the request and leaves its sink
// alone. It reports false, to be tried again later, if e was busy with its
// sink (a callback from the app holds e.mu).
func (e *executor) abandon(seq uint64) bool {
	if !e.mu.TryLock() {
		return false
	}
	j := e.cur
	ok := j != nil && e.inApp.Load() && e.seq.Load() == seq
	if ok {
		e.cur = nil
		j.outcome.Store(outcomeAbandoned)
	}
	e.mu.Unlock()
	if ok {
		if e.app.onExc != nil {
			e.app.onExc()
		}
		e.app.stuckOnce.Do(func() { close(e.app.stuck) })
		j.done <- struct{}{}
	}
	return ok
}

// Refuse answers 503 with Retry-After to every request waiting for an
// executor, and to every request that arrives after it, without running
// them: for a worker that will exit because its app is stuck.
func (a *App) Refuse() { a.queue.refuse() }

// AbandonRunning answers 500 to every request still inside the app, whose
// executor is stuck: the last step before a stuck worker exits.
func (a *App) AbandonRunning() {
	for _, e := range a.executors {
		if seq, _ := e.current(); seq != 0 {
			e.abandon(seq)
		}
	}
}
