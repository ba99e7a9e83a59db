package prefork

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"sync/atomic"
	"syscall"
	"time"
)

// role is what a worker is to the supervisor.
type role int

const (
	roleActive   role = iota // counts towards the number of workers wanted
	roleStandby              // started for a reload or a recycle; counts once it takes over
	roleRetiring             // told to stop gracefully; exiting is expected
)

// worker is the supervisor's record of one worker process. id, proc and
// board never change; lastBeat is written by the pipe's reader; the rest
// belongs to the supervisor's loop.
type worker struct {
	id       int
	age      int // the order in which it was started, from 1; see WorkerAge
	proc     *os.Process
	board    *slot        // the supervisor's read-only mapping of the worker's scoreboard slot
	dumpFile *os.File     // the worker's dump file (dump.go)
	lastBeat atomic.Int64 // when the last heartbeat arrived, in Unix nanoseconds

	role         role
	started      time.Time // when it was started, for the crash-loop back-off
	ready        bool
	readyAt      time.Time // when it became ready
	bootDeadline time.Time // when an unready worker is killed
	timedOut     bool      // killed for missing bootDeadline
	stopDeadline time.Time // when a retiring worker is killed
	killed       bool      // SIGKILLed after missing stopDeadline
	killedFor    string    // why the supervisor killed a serving worker, for the exit log
	killCause    cause     // killedFor, for Metrics
	stopCause    cause     // why the supervisor told the worker to stop, for Metrics; "" if it did not

	recycleFor   string  // why the worker is to be recycled; "" if it is not
	recycleCause cause   // recycleFor, for Metrics
	replacement  *worker // the standby that will replace this worker, if starting
	replaces     *worker // for a standby started by a recycle: the worker it replaces

	dumpWaiters []func([]byte, error) // the Dumps waiting for the worker's answer
	dumpAsked   time.Time             // when the worker was asked for it
}

// event is something a worker's watcher goroutines report to the loop.
type event interface {
	apply(a *arbiter)
}

// readyEvent reports that a worker wrote its readiness message.
type readyEvent struct{ w *worker }

// retireEvent reports that a worker asked to be recycled (Retire).
type retireEvent struct{ w *worker }

// exitEvent reports that a worker exited and was reaped. For one worker it
// always follows its other events.
type exitEvent struct {
	w     *worker
	state *os.ProcessState // nil if waiting failed
	err   error            // from exec.Cmd.Wait
}

func (e readyEvent) apply(a *arbiter)  { a.workerReady(e.w) }
func (e retireEvent) apply(a *arbiter) { a.recycle(e.w, causeRetire, "the worker asked to retire") }
func (e exitEvent) apply(a *arbiter)   { a.workerExited(e.w, e.state, e.err) }

// spawn starts worker id and the goroutines that watch it.
//
// It must run on the loop's goroutine, which Run locks to its OS thread: the
// kernel sends a child its Pdeathsig when the thread that started it ends,
// not the process, and Go ends a thread only when a goroutine locked to it
// exits, so no other goroutine can take this thread down with it.
func (a *arbiter) spawn(id int, r role) (*worker, error) {
	board, boardFile, err := newSlot()
	if err != nil {
		return nil, fmt.Errorf("prefork: scoreboard for worker %d: %w", id, err)
	}
	defer boardFile.Close()
	dumpFile, err := unlinkedFile("gowsgi-dump-*")
	if err != nil {
		board.unmap()
		return nil, fmt.Errorf("prefork: dump file for worker %d: %w", id, err)
	}
	pr, pw, err := os.Pipe()
	if err != nil {
		board.unmap()
		dumpFile.Close()
		return nil, fmt.Errorf("prefork: readiness pipe for worker %d: %w", id, err)
	}
	readyFD := firstInheritedFD + len(a.listeners)
	a.spawned++
	cmd := &exec.Cmd{
		Path: a.path,
		Args: a.argv,
		Env: slices.Concat(a.env, []string{
			envWorkerID + "=" + strconv.Itoa(id),
			envListenFDs + "=" + strconv.Itoa(len(a.listeners)),
			envReadyFD + "=" + strconv.Itoa(readyFD),
			envScoreboardFD + "=" + strconv.Itoa(readyFD+1),
			envDumpFD + "=" + strconv.Itoa(readyFD+2),
			envWorkerAge + "=" + strconv.Itoa(a.spawned),
			envWorkersWanted + "=" + strconv.Itoa(a.target),
		}),
		// Stdin is /dev/null: several workers reading one terminal fight over it.
		Stdout:      os.Stdout,
		Stderr:      os.Stderr,
		ExtraFiles:  slices.Concat(a.listeners, []*os.File{pw, boardFile, dumpFile}),
		SysProcAttr: &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Credential: a.credential},
	}
	err = cmd.Start()
	pw.Close()
	if err != nil {
		pr.Close()
		board.unmap()
		dumpFile.Close()
		return nil, fmt.Errorf("prefork: cannot start worker %d: %w", id, err)
	}
	now := time.Now()
	wk := &worker{id: id, age: a.spawned, proc: cmd.Process, board: board, dumpFile: dumpFile, role: r, started: now, bootDeadline: now.Add(a.bootTimeout)}
	a.workers = append(a.workers, wk)
	a.reg.add(wk)
	a.log.Info("worker started", "worker", id, "pid", wk.proc.Pid)

	readDone := make(chan struct{})
	go func() {
		defer close(readDone)
		a.readMessages(wk, pr)
	}()
	go func() {
		err := cmd.Wait()
		// The worker is gone, so its messages, if any, are in the pipe.
		// Wake the reader in case a process the worker started still holds
		// the write end, then report the exit after the messages.
		pr.SetReadDeadline(time.Now())
		<-readDone
		a.post(exitEvent{w: wk, state: cmd.ProcessState, err: err})
	}()
	return wk, nil
}

// readMessages reads a worker's messages from r until end of file (the
// worker closed the pipe or exited) or until the read deadline is set, and
// closes r. Heartbeats are recorded in the worker's lastBeat; the others go
// to the loop as events.
func (a *arbiter) readMessages(w *worker, r *os.File) {
	defer r.Close()
	var buf [64]byte
	readySeen := false
	for {
		n, err := r.Read(buf[:])
		if n == 0 && errors.Is(err, os.ErrDeadlineExceeded) {
			// The deadline can win against bytes that have just arrived:
			// look once more, without waiting.
			n = readNow(r, buf[:])
		}
		for _, m := range buf[:n] {
			switch m {
			case msgReady:
				if !readySeen {
					readySeen = true
					a.post(readyEvent{w})
				}
			case msgHeartbeat:
				w.lastBeat.Store(time.Now().UnixNano())
			case msgRetire:
				a.post(retireEvent{w})
			case msgDumped:
				a.post(dumpedEvent{w})
			}
		}
		if err != nil {
			return
		}
	}
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
