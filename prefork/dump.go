package prefork

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"
)

// A dump is a report a worker writes on request for Supervisor.Dump, such
// as its threads' tracebacks. The supervisor gives each worker a dump file
// (unlinked, like a scoreboard slot) and asks with DumpSignal; the worker
// writes the report into the file from the start and says msgDumped on its
// pipe; the supervisor reads the file and answers every Dump waiting for
// that worker.

// DumpSignal is the signal by which the supervisor asks a worker for a dump
// (see HandleDumps): SIGRTMIN+6 in glibc's numbering, a real-time signal
// that neither Go nor CPython uses. A worker should keep the application
// from taking it.
const DumpSignal = syscall.Signal(40)

// dumpTimeout is how long a worker gets to answer a dump request.
const dumpTimeout = 5 * time.Second

// maxDumpSize bounds a dump; the rest is cut.
const maxDumpSize = 4 << 20

// dumpedEvent reports that a worker has written the dump asked for.
type dumpedEvent struct{ w *worker }

func (e dumpedEvent) apply(a *arbiter) { a.dumped(e.w) }

// HandleDumps makes this worker answer the supervisor's requests for a
// dump (Supervisor.Dump): each time one comes, write is called, on a
// goroutine of its own, and what it writes (up to 4 MiB) is the answer; an
// error it returns is added to the answer. Call it once, before
// NotifyReady: the supervisor asks only ready workers, and a request that
// comes before HandleDumps is lost (the Dump waiting for it fails after 5
// seconds).
func HandleDumps(write func(w io.Writer) error) error {
	in := inherited()
	if in.err != nil {
		return in.err
	}
	if in.dump == nil {
		return errors.New("prefork: no dump file from the supervisor")
	}
	asked := make(chan os.Signal, 1)
	signal.Notify(asked, DumpSignal)
	go func() {
		for range asked {
			answerDump(in, write)
		}
	}()
	return nil
}

// answerDump writes one dump into the dump file and tells the supervisor.
func answerDump(in *inheritance, write func(w io.Writer) error) {
	var buf bytes.Buffer
	if err := write(&buf); err != nil {
		fmt.Fprintf(&buf, "\n(the dump failed: %v)\n", err)
	}
	b := buf.Bytes()[:min(buf.Len(), maxDumpSize)]
	if err := in.dump.Truncate(0); err == nil {
		in.dump.WriteAt(b, 0)
	}
	send(in.ready, msgDumped)
}

// Dump asks the worker with process id pid for a dump, such as its
// threads' tracebacks (see HandleDumps), and returns it. The worker goes on
// serving. Requests for one worker while one is pending share its answer.
// A pid that is no worker of this supervisor, or one not yet ready, is
// refused; a worker that does not answer within 5 seconds, or exits first,
// is an error.
func (s *Supervisor) Dump(pid int) ([]byte, error) {
	return call(s, func(a *arbiter, reply func([]byte, error)) {
		a.log.Info("control command", "command", "dump", "pid", pid)
		w, err := a.workerByPID(pid)
		switch {
		case err != nil:
		case !w.ready:
			// It may not handle DumpSignal yet, whose default action ends
			// a process.
			err = fmt.Errorf("prefork: worker %d (pid %d) has not become ready", w.id, pid)
		}
		if err != nil {
			reply(nil, err)
			return
		}
		if len(w.dumpWaiters) == 0 {
			w.dumpAsked = time.Now()
			a.signal(w, DumpSignal)
		}
		w.dumpWaiters = append(w.dumpWaiters, reply)
	})
}

// dumped answers the Dumps waiting for w with what it wrote. An answer
// nobody waits for any more (it came after dumpTimeout) is dropped.
func (a *arbiter) dumped(w *worker) {
	if len(w.dumpWaiters) == 0 {
		return
	}
	b, err := readDump(w.dumpFile)
	if err != nil {
		err = fmt.Errorf("prefork: reading the dump of worker %d (pid %d): %w", w.id, w.pid(), err)
	}
	a.answerDumps(w, b, err)
}

// readDump reads a dump file written by answerDump.
func readDump(f *os.File) ([]byte, error) {
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	b := make([]byte, min(fi.Size(), maxDumpSize))
	n, err := f.ReadAt(b, 0)
	if err == io.EOF {
		err = nil
	}
	return b[:n], err
}

// answerDumps gives every Dump waiting for w the same answer.
func (a *arbiter) answerDumps(w *worker, b []byte, err error) {
	for _, reply := range w.dumpWaiters {
		reply(b, err)
	}
	w.dumpWaiters = nil
}

// expireDumps fails the Dumps whose worker has not answered in time.
func (a *arbiter) expireDumps(now time.Time) {
	for _, w := range a.workers {
		if len(w.dumpWaiters) > 0 && now.Sub(w.dumpAsked) > dumpTimeout {
			a.log.Warn("worker did not answer a dump request", "worker", w.id, "pid", w.pid(), "timeout", dumpTimeout.String())
			a.answerDumps(w, nil, fmt.Errorf("prefork: worker %d (pid %d) did not answer within %v", w.id, w.pid(), dumpTimeout))
		}
	}
}
