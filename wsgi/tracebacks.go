package wsgi

import (
	"errors"
	"fmt"
	"io"
	"log"
	"os"
	"runtime"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// DumpTracebacks writes the Python traceback of every thread to standard
// error, as WriteTracebacks does (no GIL needed: it works while a thread is
// stuck holding it); if that fails, through faulthandler's SIGUSR2 handler
// (installed at start-up), which writes asynchronously.
func DumpTracebacks() {
	if err := WriteTracebacks(os.Stderr); err != nil {
		fmt.Fprintf(os.Stderr, "gowsgi: %v; asking faulthandler through SIGUSR2\n", err)
		syscall.Kill(syscall.Getpid(), syscall.SIGUSR2)
		// The handler runs asynchronously on some thread; give it time.
		time.Sleep(200 * time.Millisecond)
	}
}

// tracebackSignal makes faulthandler write every thread's traceback into
// the traceback file (SIGRTMIN+7 in glibc's numbering, a real-time signal
// that neither Go nor CPython uses). Only WriteTracebacks sends it, each
// time to its own thread.
const tracebackSignal = syscall.Signal(41)

// tracebackFile is where faulthandler writes on tracebackSignal: a file
// in memory, made by Start. The lock makes WriteTracebacks calls one at a
// time.
var tracebackFile struct {
	sync.Mutex
	f *os.File
}

// newTracebackFile makes the traceback file, before the interpreter
// starts, and returns its descriptor, or -1 if it cannot be made.
func newTracebackFile(errorLog *log.Logger) int {
	fd, err := unix.MemfdCreate("gowsgi-tracebacks", unix.MFD_CLOEXEC)
	if err != nil {
		errorLog.Printf("wsgi: no file for tracebacks (memfd_create: %v): WriteTracebacks will fail", err)
		return -1
	}
	tracebackFile.f = os.NewFile(uintptr(fd), "tracebacks")
	return fd
}

// WriteTracebacks writes the Python traceback of every thread to w, as
// faulthandler.dump_traceback(all_threads=True) formats it, and returns
// when it is complete. Like DumpTracebacks it needs no GIL, so it works
// while a thread holds the GIL for good, and the process goes on. It may be
// called from any goroutine once Start has succeeded; calls run one at a
// time.
func WriteTracebacks(w io.Writer) error {
	tracebackFile.Lock()
	defer tracebackFile.Unlock()
	f := tracebackFile.f
	if f == nil {
		return errors.New("wsgi: no traceback file: Python is not started, or memfd_create failed")
	}
	if err := f.Truncate(0); err != nil {
		return fmt.Errorf("wsgi: the traceback file: %w", err)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return fmt.Errorf("wsgi: the traceback file: %w", err)
	}
	// A signal a thread sends itself is handled before the system call
	// returns to it: once tgkill returns, faulthandler has written it all.
	runtime.LockOSThread()
	err := syscall.Tgkill(syscall.Getpid(), syscall.Gettid(), tracebackSignal)
	runtime.UnlockOSThread()
	if err != nil {
		return fmt.Errorf("wsgi: tgkill: %w", err)
	}
	n, err := f.Seek(0, io.SeekCurrent)
	if err != nil {
		return fmt.Errorf("wsgi: the traceback file: %w", err)
	}
	if n == 0 {
		return errors.New("wsgi: faulthandler wrote no traceback")
	}
	_, err = io.Copy(w, io.NewSectionReader(f, 0, n))
	return err
}
