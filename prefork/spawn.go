package prefork

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"syscall"
	"time"
)

// worker is the supervisor's record of one worker process. id and proc never
// change; the rest belongs to the supervisor's loop.
type worker struct {
	id           int
	proc         *os.Process
	ready        bool
	bootDeadline time.Time // when an unready worker is killed
	timedOut     bool      // killed for missing bootDeadline
}

// event is something a worker's watcher goroutines report to the loop.
type event interface {
	apply(a *arbiter)
}

// readyEvent reports that a worker wrote its readiness byte.
type readyEvent struct{ w *worker }

// exitEvent reports that a worker exited and was reaped. For one worker it
// always follows its readyEvent, if there is one.
type exitEvent struct {
	w     *worker
	state *os.ProcessState // nil if waiting failed
	err   error            // from exec.Cmd.Wait
}

func (e readyEvent) apply(a *arbiter) { a.workerReady(e.w) }
func (e exitEvent) apply(a *arbiter)  { a.workerExited(e.w, e.state, e.err) }

// spawn starts the worker for slot id and the goroutines that watch it.
//
// It must run on the loop's goroutine, which Run locks to its OS thread: the
// kernel sends a child its Pdeathsig when the thread that started it ends,
// not the process, and Go ends a thread only when a goroutine locked to it
// exits, so no other goroutine can take this thread down with it.
func (a *arbiter) spawn(id int) error {
	r, w, err := os.Pipe()
	if err != nil {
		return fmt.Errorf("prefork: readiness pipe for worker %d: %w", id, err)
	}
	cmd := &exec.Cmd{
		Path: a.path,
		Args: a.argv,
		Env: slices.Concat(a.env, []string{
			envWorkerID + "=" + strconv.Itoa(id),
			envListenFDs + "=" + strconv.Itoa(len(a.listeners)),
			envReadyFD + "=" + strconv.Itoa(firstInheritedFD+len(a.listeners)),
		}),
		// Stdin is /dev/null: several workers reading one terminal fight over it.
		Stdout:      os.Stdout,
		Stderr:      os.Stderr,
		ExtraFiles:  slices.Concat(a.listeners, []*os.File{w}),
		SysProcAttr: &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL},
	}
	err = cmd.Start()
	w.Close()
	if err != nil {
		r.Close()
		return fmt.Errorf("prefork: cannot start worker %d: %w", id, err)
	}
	wk := &worker{id: id, proc: cmd.Process, bootDeadline: time.Now().Add(a.bootTimeout)}
	a.workers[id-1] = wk
	a.log.Info("worker started", "worker", id, "pid", wk.proc.Pid)

	readDone := make(chan struct{})
	go func() {
		defer close(readDone)
		if awaitReady(r) {
			a.post(readyEvent{wk})
		}
	}()
	go func() {
		err := cmd.Wait()
		// The worker is gone, so a readiness byte, if any, is in the pipe.
		// Wake the reader in case a process the worker started still holds
		// the write end, then report the exit after the readiness.
		r.SetReadDeadline(time.Now())
		<-readDone
		a.post(exitEvent{w: wk, state: cmd.ProcessState, err: err})
	}()
	return nil
}

// awaitReady reports whether the worker wrote its readiness byte to r, and
// closes r. It returns on the byte, on end of file (the worker closed the
// pipe or exited without it), or when the read deadline is set.
func awaitReady(r *os.File) bool {
	defer r.Close()
	var b [1]byte
	n, err := r.Read(b[:])
	if n == 0 && errors.Is(err, os.ErrDeadlineExceeded) {
		// The deadline can win against a byte that has just arrived: look
		// once more, without waiting.
		n = readNow(r, b[:])
	}
	return n == 1
}

// readNow reads what is already in the pipe r, without waiting.
func readNow(r *os.File, b []byte) int {
	rc, err := r.SyscallConn()
	if err != nil {
		return 0
	}
	var n int
	// os.Pipe descriptors are non-blocking: an empty pipe gives EAGAIN.
	rc.Control(func(fd uintptr) {
		n, _ = syscall.Read(int(fd), b)
	})
	return max(n, 0)
}

// post delivers an event to the loop, or drops it if Run has returned.
func (a *arbiter) post(ev event) {
	select {
	case a.events <- ev:
	case <-a.done:
	}
}
