package wsgi

// #include <stdlib.h>
// #include "bridge.h"
import "C"

import (
	"sync"
	"sync/atomic"
	"unsafe"
)

// A response gathered whole (a list, a tuple, an iterable that reached its
// Content-Length) goes to the sink with WriteHeld: the sink writes it on
// the connection's goroutine, under its send timeout, while the executor
// serves the next request. The bytes stay in the Python objects that hold
// them, with no copy; the executor moves those objects out of its output
// into a heldSet, and the sink releases the set once it has written them.
// Dropping the references needs the GIL, so released sets wait for the
// next request of any executor, which drops them in the same call.

// heldSet carries one response's Python objects from the executor to the
// connection and back. Its C part is C memory (gw_held holds Python
// pointers), allocated once and reused: sets are never freed.
type heldSet struct {
	app *App
	c   *C.gw_held
}

// Release gives the set back for an executor to drop its objects; the
// sink calls it once it has written the bytes.
func (h *heldSet) Release() {
	a := h.app
	a.heldMu.Lock()
	a.released = append(a.released, h)
	a.nreleased.Store(int32(len(a.released)))
	a.heldMu.Unlock()
}

// heldSets is the App's pool of sets: free ones, and released ones whose
// objects an executor has yet to drop.
type heldSets struct {
	heldMu    sync.Mutex
	free      []*heldSet
	released  []*heldSet
	nreleased atomic.Int32
}

// getHeld returns an empty set.
func (a *App) getHeld() *heldSet {
	a.heldMu.Lock()
	defer a.heldMu.Unlock()
	if n := len(a.free); n > 0 {
		h := a.free[n-1]
		a.free = a.free[:n-1]
		return h
	}
	return &heldSet{app: a, c: (*C.gw_held)(C.calloc(1, C.size_t(unsafe.Sizeof(C.gw_held{}))))}
}

// takeReleased moves the released sets to dst (reused) for the executor's
// next call to drop, and their C parts to ptrs, the form gw_call takes.
func (a *App) takeReleased(dst []*heldSet, ptrs []*C.gw_held) ([]*heldSet, []*C.gw_held) {
	dst, ptrs = dst[:0], ptrs[:0]
	if a.nreleased.Load() == 0 {
		return dst, ptrs
	}
	a.heldMu.Lock()
	dst = append(dst, a.released...)
	clear(a.released)
	a.released = a.released[:0]
	a.nreleased.Store(0)
	a.heldMu.Unlock()
	for _, h := range dst {
		ptrs = append(ptrs, h.c)
	}
	return dst, ptrs
}

// putFree returns sets whose objects were dropped (or never moved in).
func (a *App) putFree(sets ...*heldSet) {
	a.heldMu.Lock()
	a.free = append(a.free, sets...)
	a.heldMu.Unlock()
}

// swapHeld exchanges the executor's held objects with the set's (empty)
// array: the output's bytes are then the set's to keep alive. Calling it
// again swaps them back.
func (h *heldSet) swapHeld(ex *C.gw_exec) {
	ex.held, h.c.objs = h.c.objs, ex.held
	ex.nheld, h.c.n = h.c.n, ex.nheld
	ex.capheld, h.c.cap = h.c.cap, ex.capheld
}
