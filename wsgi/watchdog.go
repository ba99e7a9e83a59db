package wsgi

// #include "bridge.h"
import "C"

import (
	"fmt"
	"runtime"
	"time"
)

// stuckGrace is how long a request may go on after RequestTimeout was
// raised in it before the watchdog decides it is stuck outside bytecode.
const stuckGrace = 3 * time.Second

// watchdog ends requests that run past the timeout: first by raising
// RequestTimeout in the app's thread, then, if the request is still running
// after stuckGrace (the thread is in C code or sleeping, where no exception
// can reach it), by calling onStuck.
type watchdog struct {
	app     *App
	timeout time.Duration
	onStuck func(request string)
	stop    chan struct{}
	done    chan struct{}
}

func (w *watchdog) run() {
	defer close(w.done)
	// The watchdog takes the GIL with a thread state of its own.
	runtime.LockOSThread()
	ts := C.gw_thread_state_new()
	defer C.gw_thread_state_free(ts)
	tick := time.NewTicker(min(time.Second, w.timeout/4))
	defer tick.Stop()
	raised := make([]uint64, len(w.app.executors)) // seq interrupted, per executor
	stuck := make([]uint64, len(w.app.executors))  // seq reported stuck
	for {
		select {
		case <-w.stop:
			return
		case now := <-tick.C:
			for i, e := range w.app.executors {
				seq, started := e.current()
				if seq == 0 {
					continue
				}
				over := now.Sub(started)
				switch {
				case over > w.timeout && raised[i] != seq:
					raised[i] = seq
					C.gw_interrupt(ts, e.c, C.uint64_t(seq))
				case over > w.timeout+stuckGrace && raised[i] == seq && stuck[i] != seq:
					stuck[i] = seq
					if w.onStuck != nil {
						w.onStuck(fmt.Sprintf("%s (running %v)", e.describe(), over.Round(time.Second)))
					}
				}
			}
		}
	}
}
