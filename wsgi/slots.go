package wsgi

// #include "bridge.h"
import "C"

import (
	"errors"
	"sync"
	"sync/atomic"
	"time"
)

// At most --threads requests run the app at once: each holds one of the
// app's slots while it does. A request also holds an executor, the C state
// of its response in progress, from the app call to its last chunk; a
// stream suspended on a slow client (--suspend-streams) keeps its executor
// and gives its slot back, so there may be more executors than slots.
// Executors are made on demand and reused; none is ever freed before Close.

// registry maps executor ids to executors for the C callbacks; it only
// grows, and is replaced whole (copy on write) when it does.
var registry atomic.Pointer[[]*executor]

// executorByID returns the executor C knows as id.
func executorByID(id C.int) *executor { return (*registry.Load())[id] }

var errClosed = errors.New("wsgi: the app is closed")

// slots hands out the app's slots and executors, and lets Close wait for
// every request to end.
type slots struct {
	vacant chan int // numbers of the slots no request holds

	mu     sync.Mutex
	idle   []*executor // executors no request holds
	all    []*executor // every executor made, by id
	inUse  int         // requests between enter and leave
	closed bool        // Close has begun: no request enters
	ended  chan struct{}
}

func (s *slots) init(n int) {
	s.vacant = make(chan int, n)
	for i := range n {
		s.vacant <- i
	}
	s.ended = make(chan struct{})
	registry.Store(&[]*executor{})
}

// enter counts a request in, or returns errClosed once Close has begun.
func (a *App) enter() error {
	s := &a.slots
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return errClosed
	}
	s.inUse++
	return nil
}

// leave gives e back, if the request had one, and counts the request out.
func (a *App) leave(e *executor) {
	s := &a.slots
	s.mu.Lock()
	if e != nil {
		s.idle = append(s.idle, e)
	}
	s.inUse--
	if s.closed && s.inUse == 0 {
		close(s.ended)
	}
	s.mu.Unlock()
}

// executor gives an entered request an executor: an idle one, or a new one.
func (a *App) executor() (*executor, error) {
	s := &a.slots
	s.mu.Lock()
	defer s.mu.Unlock()
	if n := len(s.idle); n > 0 {
		e := s.idle[n-1]
		s.idle = s.idle[:n-1]
		return e, nil
	}
	e := &executor{id: len(s.all), app: a, slot: -1, c: C.gw_exec_new(C.int(len(s.all)))}
	if e.c == nil {
		return nil, errNoExecutor
	}
	s.all = append(s.all, e)
	all := append([]*executor(nil), s.all...)
	registry.Store(&all)
	return e, nil
}

var errNoExecutor = errors.New("wsgi: out of memory making an executor")

// executors returns every executor made so far.
func (a *App) executors() []*executor { return *registry.Load() }

// giveSlot gives a slot back.
func (a *App) giveSlot(slot int) { a.slots.vacant <- slot }

// closeSlots makes requests still to come be refused and returns a channel
// closed once every request in progress has ended.
func (a *App) closeSlots() <-chan struct{} {
	s := &a.slots
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.closed {
		s.closed = true
		if s.inUse == 0 {
			close(s.ended)
		}
	}
	return s.ended
}

// waitForSlot takes a vacant slot, waiting FIFO among the requests that
// wait; ok is false if the app refuses requests (Refuse). A wait is
// reported to Config.WaitBegin and WaitEnd; a slot vacant at once is
// counted as no wait, without reading the clock.
func (a *App) waitForSlot() (slot int, ok bool) {
	select {
	case slot = <-a.slots.vacant:
		if a.waitBegin != nil {
			a.waitBegin()
			a.waitEnd(0)
		}
		return slot, true
	default:
	}
	var start time.Time
	if a.waitBegin != nil {
		a.waitBegin()
		start = time.Now()
	}
	select {
	case slot = <-a.slots.vacant:
		ok = true
	case <-a.refused:
		slot = -1
	}
	if a.waitBegin != nil {
		a.waitEnd(time.Since(start))
	}
	return slot, ok
}
