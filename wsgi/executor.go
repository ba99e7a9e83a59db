package wsgi

// #include "bridge.h"
import "C"

import (
	"errors"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"
)

// job is the request an executor serves, and where its response goes.
type job struct {
	req  *Request
	sink ResponseSink
}

// executor is the C state of a request in progress, and what the watchdog
// and the supervisor see of it (slots.go). A request runs on its
// connection's goroutine, locked to its OS thread for the request (Python's
// thread state is per thread: exec.c binds the thread's own).
type executor struct {
	id     int // C's name for it (gw_exec.id)
	slot   int // the app slot its request holds, or -1
	app    *App
	c      *C.gw_exec
	fields fieldBuilder
	hdrs   []Header
	job    job // the request in progress; cur points here while it is e's

	// mu guards cur and headGiven against an app thread that calls
	// write() or reads wsgi.input outside its request, and against the
	// watchdog taking the request (abandon).
	mu        sync.Mutex
	cur       *job
	headGiven bool
	bodyErr   error // why reading the request body failed: the client's doing

	// seq numbers requests; seq and started describe the request in
	// progress for the watchdog (started is zero when idle; see enterApp
	// for what it counts). inApp is set
	// while the executor is inside gw_call or gw_next: only then can the
	// app be what holds the request up, and only then may the watchdog
	// take the request from it (abandon).
	seq     atomic.Uint64
	started atomic.Int64
	inApp   atomic.Bool
	entered time.Time     // when the executor last entered the app
	appTime time.Duration // time the request spent in the app before that
	// clientWait is time inside the app spent waiting for request body
	// bytes since entered, which --timeout does not count
	clientWait atomic.Int64

	// views of the body for WriteHeld, and the released sets of held
	// objects this executor drops in its next call (both reused)
	views     [][]byte
	released  []*heldSet
	releasedC []*C.gw_held
	lineMu    sync.Mutex
	line      []byte // "GET /path" of the request in progress, reused
}

var errNoThreadState = errors.New("wsgi: cannot create a Python thread state for an executor")

// serve runs r through the app and writes its response to sink, on the
// calling goroutine, which the caller has locked to its OS thread. It
// reports false if the watchdog abandoned the request meanwhile (and
// answered it: abandon.go); the executor then leaves the sink alone.
func (e *executor) serve(r *Request, sink ResponseSink) bool {
	j := &e.job
	e.fields.build(r)
	e.mu.Lock()
	j.req, j.sink = r, sink
	e.cur, e.headGiven, e.bodyErr = j, false, nil
	e.mu.Unlock()

	var bufp *C.char
	if len(e.fields.buf) > 0 {
		bufp = (*C.char)(unsafe.Pointer(&e.fields.buf[0]))
	}
	seq := e.seq.Add(1)
	if e.app.timeout > 0 {
		e.lineMu.Lock()
		e.line = append(append(append(e.line[:0], r.Method...), ' '), r.URI...)
		e.lineMu.Unlock()
		e.appTime = 0
		defer e.started.Store(0)
	}
	e.enterApp(r)
	e.released, e.releasedC = e.app.takeReleased(e.released, e.releasedC)
	var released **C.gw_held
	if len(e.releasedC) > 0 {
		released = &e.releasedC[0]
	}
	rc := C.gw_call(e.c, bufp, &e.fields.fields[0], C.int(len(e.fields.fields)), C.int64_t(r.ContentLength), C.uint64_t(seq),
		released, C.int(len(e.releasedC)))
	e.leaveApp()
	if len(e.released) > 0 {
		e.app.putFree(e.released...)
	}
	if rc == C.GW_NO_THREAD {
		// Out of memory, as good as: the connection's recover answers 500.
		e.release()
		panic(errNoThreadState)
	}
	for rc == C.GW_STREAM || rc == C.GW_FILE {
		if !e.owns(j) {
			// abandoned mid-stream: end the iteration (close() runs)
			C.gw_next(e.c, 1)
			return false
		}
		err := e.yieldSlot(j.sink)
		switch {
		case err != nil:
		case rc == C.GW_FILE:
			err = e.sendFile(j)
		default:
			if err = e.emit(j); err == nil {
				err = j.sink.Flush()
			}
		}
		stop := C.int(0)
		if err != nil {
			stop = 1
		}
		e.enterApp(r)
		rc = C.gw_next(e.c, stop)
		e.leaveApp()
		if rc == C.GW_NO_THREAD {
			panic(errNoThreadState) // the thread made its state in gw_call
		}
	}
	if !e.owns(j) {
		return false
	}
	switch rc {
	case C.GW_DONE:
		e.emitWhole(j)
	case C.GW_ERROR:
		e.fail(j)
	case C.GW_GONE:
		j.sink.Abort()
	}
	e.release()
	return true
}

// release ends e's hold on the request it served.
func (e *executor) release() {
	e.mu.Lock()
	e.cur = nil
	e.job = job{}
	e.mu.Unlock()
}

// enterApp marks e as inside the app with r, for the watchdog and, through
// ExecutorBusy, the supervisor. --timeout counts only time inside the app:
// started is set back by the time the request already spent there, and
// time spent writing to the client between calls does not count.
func (e *executor) enterApp(r *Request) {
	if e.app.timeout > 0 {
		e.entered = time.Now()
		e.started.Store(e.entered.Add(-e.appTime).UnixNano())
		if e.app.onBusy != nil {
			e.app.onBusy(e.slot, e.entered, r.Method, r.URI)
		}
	}
	e.inApp.Store(true)
}

// waitedOnClient takes the time since t, spent waiting for request body
// bytes inside the app, out of the request's time in the app.
func (e *executor) waitedOnClient(t time.Time) {
	d := int64(time.Since(t))
	e.clientWait.Add(d)
	for {
		s := e.started.Load()
		if s == 0 || e.started.CompareAndSwap(s, s+d) {
			return
		}
	}
}

// leaveApp marks e as out of the app.
func (e *executor) leaveApp() {
	e.inApp.Store(false)
	if e.app.timeout > 0 {
		e.appTime += time.Since(e.entered) - time.Duration(e.clientWait.Swap(0))
		if e.app.onIdle != nil {
			e.app.onIdle(e.slot)
		}
	}
}

// owns reports whether j is still e's to answer: the watchdog takes a
// request only while e is inside the app, so once owns has said yes after
// a call into the app, j stays e's until the next call.
func (e *executor) owns(j *job) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.cur == j
}

// current returns the request in progress for the watchdog: its sequence
// number (0 when idle) and when it started.
func (e *executor) current() (uint64, time.Time) {
	started := e.started.Load()
	if started == 0 {
		return 0, time.Time{}
	}
	return e.seq.Load(), time.Unix(0, started)
}

// describe names the request in progress, for logs.
func (e *executor) describe() string {
	e.lineMu.Lock()
	defer e.lineMu.Unlock()
	return string(e.line)
}

// emit hands the head (once) and the body chunks of the last call to the
// sink. The views point into Python objects the executor holds until its
// next call; the sink copies them.
func (e *executor) emit(j *job) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.giveHead(j)
	for _, ch := range unsafe.Slice(e.c.body, int(e.c.nbody)) {
		if _, err := j.sink.Write(view(ch)); err != nil {
			return err
		}
	}
	return nil
}

// emitWhole hands the head and the whole body of the last call to the
// sink without waiting on the client: the sink either copies the body or
// keeps the Python objects holding it, which move out of the executor's
// output into a heldSet the sink releases once it has written them.
func (e *executor) emitWhole(j *job) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.giveHead(j)
	chunks := unsafe.Slice(e.c.body, int(e.c.nbody))
	if len(chunks) == 0 {
		return
	}
	e.views = e.views[:0]
	for _, ch := range chunks {
		e.views = append(e.views, view(ch))
	}
	// The set takes the objects before the sink sees it, so that however
	// soon the sink releases it, it releases what the bytes live in.
	h := e.app.getHeld()
	h.swapHeld(e.c)
	if !j.sink.WriteHeld(e.views, h) {
		h.swapHeld(e.c)
		e.app.putFree(h)
	}
	clear(e.views)
}

// sendFile sends the file the app returned in wsgi.file_wrapper. The
// descriptor stays the app's: Go sends from a duplicate it closes.
func (e *executor) sendFile(j *job) error {
	if err := e.emit(j); err != nil {
		return err
	}
	fd, err := syscall.Dup(int(e.c.file_fd))
	if err != nil {
		return err
	}
	f := os.NewFile(uintptr(fd), "wsgi.file_wrapper")
	defer f.Close()
	return j.sink.SendFile(f, int64(e.c.file_off), int64(e.c.file_len))
}

// giveHead passes the prepared status and headers to the sink once per
// request. The caller holds e.mu.
func (e *executor) giveHead(j *job) {
	if e.headGiven {
		return
	}
	e.headGiven = true
	e.hdrs = e.hdrs[:0]
	pairs := unsafe.Slice(e.c.hdrs, 2*int(e.c.nhdrs))
	for i := 0; i < len(pairs); i += 2 {
		e.hdrs = append(e.hdrs, Header{Name: view(pairs[i]), Value: view(pairs[i+1])})
	}
	j.sink.WriteHeader(view(e.c.status), e.hdrs)
}

var (
	status500   = []byte("500 Internal Server Error")
	headers500  = []Header{{Name: []byte("Content-Type"), Value: []byte("text/plain; charset=utf-8")}}
	body500     = []byte("Internal Server Error\n")
	errorPrefix = "Error handling request "
)

// fail logs the app's traceback and answers 500, or, when the head is
// already out, breaks the connection so the client sees an incomplete
// response rather than a truncated one passed off as whole.
//
// When the app failed after reading the request body failed (a malformed
// chunked body, a client gone mid-upload), the fault is the client's: one
// line goes to the client log, no traceback, and no response is written,
// so that the server answers the broken request itself (400, 413, or
// nothing to a client that is gone).
func (e *executor) fail(j *job) {
	e.mu.Lock()
	bodyErr := e.bodyErr
	e.mu.Unlock()
	if bodyErr != nil {
		e.app.clientLog.Printf("%s %s: the client broke the request body (%v); the app's error is not logged",
			j.req.Method, j.req.URI, bodyErr)
		if e.headGiven || j.sink.HeadSent() {
			j.sink.Abort()
		}
		return
	}
	if e.app.onExc != nil {
		e.app.onExc()
	}
	e.app.errorLog.Printf("%s%s %s\n%s", errorPrefix, j.req.Method, j.req.URI,
		unsafe.Slice((*byte)(unsafe.Pointer(e.c.errtext)), int(e.c.errlen)))
	if e.headGiven || j.sink.HeadSent() {
		j.sink.Abort()
		return
	}
	j.sink.WriteHeader(status500, headers500)
	j.sink.Write(body500)
}

func view(ch C.gw_chunk) []byte {
	if ch.n == 0 {
		return nil
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(ch.p)), int(ch.n))
}
