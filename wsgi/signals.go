package wsgi

// #include "bridge.h"
import "C"

import (
	"syscall"
	"time"
)

// signalTaken is the report KeepSignals was given.
var signalTaken func(signal, where string)

// KeepSignals makes sigs the server's for the life of the process, whatever
// the application does: a handler it sets from Python (signal.signal, at
// import or later) is refused, and one its C code installs while it loads is
// replaced by the server's again. Besides these, the package keeps SIGPIPE
// and SIGXFSZ (ignored, as python3 ignores them: the write fails with an
// error instead), SIGUSR2 (DumpTracebacks) and the fault signals (see
// signals.c). A handler C code installs is replaced when the app has
// loaded, and then within signalCheckInterval while it serves. report is
// called once for each attempt the application makes
// on any of them, with the signal's name ("SIGTERM") and the code that
// tried; it may run holding the GIL and must not block.
//
// KeepSignals must be called before Start, once the server has set up its
// own signal handling (signal.Notify), as Start records the handlers then
// in place.
func KeepSignals(report func(signal, where string), sigs ...syscall.Signal) {
	signalTaken = report
	for _, s := range sigs {
		C.gw_signals_keep(C.int(s))
	}
	go checkSignals()
}

// signalCheckInterval is how often the kept signals' handlers are checked
// while the app serves: a dozen sigaction calls.
const signalCheckInterval = time.Second

// checkSignals puts back, for the life of the process, the handlers C code
// replaced after the app loaded (before then, and once Python is being
// finalized, gw_signals_check does nothing).
func checkSignals() {
	tick := time.NewTicker(signalCheckInterval)
	for range tick.C {
		C.gw_signals_check()
	}
}

// gowsgiSignalTaken passes signals.c's report of an attempt to KeepSignals'
// report.
//
//export gowsgiSignalTaken
func gowsgiSignalTaken(signal, where *C.char) {
	if signalTaken != nil {
		signalTaken(C.GoString(signal), C.GoString(where))
	}
}
