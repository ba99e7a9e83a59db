package wsgi

// #include "bridge.h"
import "C"

import (
	"errors"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"
)

// job is one request waiting for, or being served by, an executor.
type job struct {
	req  *Request
	sink ResponseSink
	done chan struct{}
	// outcome says who answers once done is signalled: the executor did
	// (outcomeServed), or the waiter must (see abandon.go).
	outcome atomic.Int32
}

var jobPool = sync.Pool{New: func() any { return &job{done: make(chan struct{}, 1)} }}

// executor runs requests on one OS thread holding one Python thread state.
type executor struct {
	id     int
	app    *App
	wake   chan struct{} // a job is queued for this parked executor
	c      *C.gw_exec
	fields fieldBuilder
	hdrs   []Header

	// mu guards cur and headGiven against an app thread that calls
	// write() or reads wsgi.input outside its request.
	mu        sync.Mutex
	cur       *job
	headGiven bool
	bodyErr   error // why reading the request body failed: the client's doing

	// seq numbers requests; seq and started describe the request in
	// progress for the watchdog (started is zero when idle). inApp is set
	// while the executor is inside gw_call or gw_next: only then can the
	// app be what holds the request up, and only then may the watchdog
	// take the request from it (abandon).
	seq     atomic.Uint64
	started atomic.Int64
	inApp   atomic.Bool
	lineMu  sync.Mutex
	line    []byte // "GET /path" of the request in progress, reused
}

var errNoThreadState = errors.New("wsgi: cannot create a Python thread state for an executor")

func (e *executor) run(ready chan<- error) {
	defer e.app.wg.Done()
	// Never unlocked: the thread holds Python's thread state for life, and
	// exits with this goroutine.
	runtime.LockOSThread()
	e.c = C.gw_exec_new(C.int(e.id))
	if e.c == nil {
		ready <- errNoThreadState
		return
	}
	ready <- nil
	for j := e.app.queue.take(e); j != nil; j = e.app.queue.take(e) {
		if e.serve(j) {
			j.done <- struct{}{}
		}
	}
	C.gw_exec_free(e.c)
}

// serve runs j through the app and writes its response. It reports false
// if the watchdog abandoned j meanwhile (its waiter answers it then, and
// the executor leaves the sink alone).
func (e *executor) serve(j *job) bool {
	r := j.req
	e.fields.build(r)
	e.mu.Lock()
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
		e.started.Store(time.Now().UnixNano())
		defer e.started.Store(0)
	}
	e.enterApp(r)
	rc := C.gw_call(e.c, bufp, &e.fields.fields[0], C.int(len(e.fields.fields)), C.int64_t(r.ContentLength), C.uint64_t(seq))
	e.leaveApp()
	for rc == C.GW_STREAM || rc == C.GW_FILE {
		if !e.owns(j) {
			// abandoned mid-stream: end the iteration (close() runs)
			C.gw_next(e.c, 1)
			return false
		}
		var err error
		if rc == C.GW_FILE {
			err = e.sendFile(j)
		} else if err = e.emit(j); err == nil {
			err = j.sink.Flush()
		}
		stop := C.int(0)
		if err != nil {
			stop = 1
		}
		e.enterApp(r)
		rc = C.gw_next(e.c, stop)
		e.leaveApp()
	}
	if !e.owns(j) {
		return false
	}
	switch rc {
	case C.GW_DONE:
		e.emit(j)
	case C.GW_ERROR:
		e.fail(j)
	case C.GW_GONE:
		j.sink.Abort()
	}
	e.mu.Lock()
	e.cur = nil
	e.mu.Unlock()
	return true
}

// enterApp marks e as inside the app with r, for the watchdog and, through
// ExecutorBusy, the supervisor. Time spent writing to the client between
// calls is not the app's, so it is outside.
func (e *executor) enterApp(r *Request) {
	e.inApp.Store(true)
	if e.app.onBusy != nil {
		e.app.onBusy(e.id, time.Now(), r.Method, r.URI)
	}
}

// leaveApp marks e as out of the app.
func (e *executor) leaveApp() {
	e.inApp.Store(false)
	if e.app.onIdle != nil {
		e.app.onIdle(e.id)
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
