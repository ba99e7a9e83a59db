package wsgi

import (
	"syscall"
	"time"
)

// DumpTracebacks writes the Python traceback of every thread to standard
// error, through faulthandler's SIGUSR2 handler (installed at start-up),
// which needs no GIL: it works while a thread is stuck holding it.
func DumpTracebacks() {
	syscall.Kill(syscall.Getpid(), syscall.SIGUSR2)
	// The handler runs asynchronously on some thread; give it time to write.
	time.Sleep(200 * time.Millisecond)
}
