package wsgi

// Functions C calls back into, with the GIL released. They run on the
// executor's own thread during gw_call, or on an app thread that kept
// wsgi.input or write(); e.mu keeps the latter from touching a request that
// is over. C never calls them in a child the app forked (no Go runtime).

// #include <stddef.h>
import "C"

import (
	"io"
	"time"
	"unsafe"
)

// gowsgiRead fills p with up to n body bytes of executor id's request:
// the count, 0 at the end of the body, -1 on an error.
//
//export gowsgiRead
func gowsgiRead(id C.int, p *C.char, n C.int) C.int {
	e := executorByID(id)
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.cur == nil {
		return 0
	}
	buf := unsafe.Slice((*byte)(unsafe.Pointer(p)), int(n))
	if e.app.timeout > 0 {
		defer e.waitedOnClient(time.Now())
	}
	for {
		m, err := e.cur.req.Body.Read(buf)
		if m > 0 {
			return C.int(m)
		}
		if err == io.EOF {
			return 0
		}
		if err != nil {
			e.bodyErr = err
			return -1
		}
	}
}

// gowsgiWrite sends the head (once) and n bytes at p to executor id's
// client now, for the app's write() callable: 0, or -1 if the client is
// gone.
//
//export gowsgiWrite
func gowsgiWrite(id C.int, p *C.char, n C.size_t) C.int {
	e := executorByID(id)
	e.mu.Lock()
	defer e.mu.Unlock()
	j := e.cur
	if j == nil {
		return -1
	}
	e.giveHead(j)
	if _, err := j.sink.Write(unsafe.Slice((*byte)(unsafe.Pointer(p)), int(n))); err != nil {
		return -1
	}
	if j.sink.Flush() != nil {
		return -1
	}
	return 0
}
