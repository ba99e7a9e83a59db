package wsgi

// #include "bridge.h"
import "C"

import (
	"fmt"
	"runtime"
	"time"
)

// stuckGrace is how long a request may go on after RequestTimeout was due
// before the watchdog decides it is stuck outside bytecode.
const stuckGrace = 3 * time.Second

// watchdog ends requests that run past the timeout: first by raising
// RequestTimeout in the app's thread, then, if the request is still inside
// the app after stuckGrace (its thread is in C code or asleep, where no
// exception reaches it, maybe holding the GIL), by answering it 500 and
// calling onStuck.
//
// Raising needs the GIL, which a thread stuck in C may never give up; so
// the raising is done by a goroutine of its own (interrupter), and the
// clock here never waits for Python.
type watchdog struct {
	app       *App
	timeout   time.Duration
	onStuck   func(request string)
	interrupt chan interruptReq // to the interrupter; never blocks the clock
	stop      chan struct{}
	done      chan struct{}
}

// interruptReq asks the interrupter to raise RequestTimeout in executor e
// if it is still serving request seq.
type interruptReq struct {
	e   *executor
	seq uint64
}

func newWatchdog(a *App, timeout time.Duration, onStuck func(string)) *watchdog {
	return &watchdog{app: a, timeout: timeout, onStuck: onStuck,
		interrupt: make(chan interruptReq, 16),
		stop:      make(chan struct{}), done: make(chan struct{})}
}

func (w *watchdog) run() {
	interrupterDone := make(chan struct{})
	go w.interrupter(interrupterDone)
	defer func() {
		close(w.interrupt)
		<-interrupterDone
		close(w.done)
	}()
	tick := time.NewTicker(min(time.Second, w.timeout/4))
	defer tick.Stop()
	var raised, stuck []uint64 // per executor: seq interrupted, seq reported stuck
	for {
		select {
		case <-w.stop:
			return
		case now := <-tick.C:
			all := w.app.executors()
			for len(raised) < len(all) {
				raised, stuck = append(raised, 0), append(stuck, 0)
			}
			for i, e := range all {
				seq, started := e.current()
				if seq == 0 || !e.inApp.Load() {
					continue
				}
				over := now.Sub(started)
				switch {
				case over > w.timeout && raised[i] != seq:
					select {
					case w.interrupt <- interruptReq{e, seq}:
						raised[i] = seq
					default: // the interrupter waits for the GIL: next tick
					}
				case over > w.timeout+stuckGrace && raised[i] == seq && stuck[i] != seq:
					desc := fmt.Sprintf("%s (running %v)", e.describe(), over.Round(time.Second))
					if !e.abandon(seq) {
						continue // busy with its sink, or done: look again next tick
					}
					stuck[i] = seq
					if w.onStuck != nil {
						w.onStuck(desc)
					}
				}
			}
		}
	}
}

// interrupter raises RequestTimeout for the requests the clock sends it,
// taking the GIL with a thread state of its own; it may wait for the GIL
// as long as a stuck thread holds it.
func (w *watchdog) interrupter(done chan<- struct{}) {
	defer close(done)
	runtime.LockOSThread()
	ts := C.gw_thread_state_new()
	defer C.gw_thread_state_free(ts)
	for r := range w.interrupt {
		C.gw_interrupt(ts, r.e.c, C.uint64_t(r.seq))
	}
}
