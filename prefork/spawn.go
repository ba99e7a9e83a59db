package prefork

import (
	"errors"
	"fmt"
	"os"
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
	age      int         // the order in which it was started, from 1; see WorkerAge
	proc     *os.Process // nil while the worker waits for its zygote to load the app (pending)
	board    *slot       // the supervisor's read-only mapping of the worker's scoreboard slot
	dumpFile *os.File    // the worker's dump file (dump.go)

	boardFile *os.File     // the scoreboard slot's descriptor, until the worker's process has it
	wanted    int          // the workers wanted when it was spawned, for WorkersWanted
	zygote    *zygote      // with Preload: the zygote it is or was forked from
	cancelled bool         // ended without a process: stopped while pending, or its fork failed
	lastBeat  atomic.Int64 // when the last heartbeat arrived, in Unix nanoseconds

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

// pid is the worker's process id, 0 while it is pending.
func (w *worker) pid() int {
	if w.proc == nil {
		return 0
	}
	return w.proc.Pid
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

// spawn starts worker id and the goroutines that watch it: a process
// started afresh, or with Preload one forked from the current zygote, at
// once if it has loaded the application, else once it has (the worker is
// pending meanwhile: no process yet).
//
// It must run on the loop's goroutine, which Run locks to its OS thread: the
// kernel sends a child its Pdeathsig when the thread that started it ends,
// not the process, and Go ends a thread only when a goroutine locked to it
// exits, so no other goroutine can take this thread down with it.
func (a *arbiter) spawn(id int, r role) (*worker, error) {
	var z *zygote
	if a.preload {
		var err error
		if z, err = a.currentZygote(); err != nil {
			return nil, err
		}
	}
	return a.spawnFrom(id, r, z)
}

// spawnFrom starts worker id as spawn does, from zygote z, or afresh if z
// is nil.
func (a *arbiter) spawnFrom(id int, r role, z *zygote) (*worker, error) {
	board, boardFile, err := newSlot()
	if err != nil {
		return nil, fmt.Errorf("prefork: scoreboard for worker %d: %w", id, err)
	}
	dumpFile, err := unlinkedFile("gowsgi-dump-*")
	if err != nil {
		board.unmap()
		boardFile.Close()
		return nil, fmt.Errorf("prefork: dump file for worker %d: %w", id, err)
	}
	a.spawned++
	now := time.Now()
	wk := &worker{id: id, age: a.spawned, board: board, boardFile: boardFile, dumpFile: dumpFile, role: r,
		started: now, bootDeadline: now.Add(a.bootTimeout), wanted: a.target}
	if z == nil {
		err = a.start(wk)
	} else {
		a.forkFrom(z, wk)
	}
	if err != nil {
		board.unmap()
		boardFile.Close()
		dumpFile.Close()
		return nil, err
	}
	a.workers = append(a.workers, wk)
	a.reg.add(wk)
	return wk, nil
}

// workerEnv is the environment entries that tell w it is a worker, and
// which of the descriptors it inherits are which (see inherited).
func (a *arbiter) workerEnv(w *worker) []string {
	readyFD := firstInheritedFD + len(a.listeners)
	return []string{
		envWorkerID + "=" + strconv.Itoa(w.id),
		envListenFDs + "=" + strconv.Itoa(len(a.listeners)),
		envReadyFD + "=" + strconv.Itoa(readyFD),
		envScoreboardFD + "=" + strconv.Itoa(readyFD+1),
		envDumpFD + "=" + strconv.Itoa(readyFD+2),
		envWorkerAge + "=" + strconv.Itoa(w.age),
		envWorkersWanted + "=" + strconv.Itoa(w.wanted),
	}
}

// start starts w's process afresh: this binary, with the listeners, then
// the readiness pipe, the scoreboard slot and the dump file.
func (a *arbiter) start(w *worker) error {
	pr, pw, err := os.Pipe()
	if err != nil {
		return fmt.Errorf("prefork: readiness pipe for worker %d: %w", w.id, err)
	}
	defer pw.Close()
	proc, err := a.startProcess(slices.Concat(a.env, a.workerEnv(w)), pw, w.boardFile, w.dumpFile)
	if err != nil {
		pr.Close()
		return fmt.Errorf("prefork: cannot start worker %d: %w", w.id, err)
	}
	a.log.Info("worker started", "worker", w.id, "pid", proc.Pid)
	a.watchWorker(w, proc, pr)
	return nil
}

// startProcess starts this binary, as the supervisor starts its children
// (a worker, a zygote), with env and the descriptors: stdin /dev/null
// (several processes reading one terminal fight over it), the supervisor's
// stdout and stderr, the listeners, then extra; the workers' user; killed
// if the thread that starts it (the loop's, see spawn) ends.
func (a *arbiter) startProcess(env []string, extra ...*os.File) (*os.Process, error) {
	null, err := os.Open(os.DevNull)
	if err != nil {
		return nil, err
	}
	defer null.Close()
	return os.StartProcess(a.path, a.argv, &os.ProcAttr{
		Env:   env,
		Files: slices.Concat([]*os.File{null, os.Stdout, os.Stderr}, a.listeners, extra),
		Sys:   &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Credential: a.credential},
	})
}

// watchWorker records w's process and starts the goroutines that read its pipe
// r and wait for its exit.
func (a *arbiter) watchWorker(w *worker, proc *os.Process, r *os.File) {
	w.proc = proc
	w.boardFile.Close()
	w.boardFile = nil
	readDone := make(chan struct{})
	go func() {
		defer close(readDone)
		a.readMessages(w, r)
	}()
	go func() {
		state, err := proc.Wait()
		// The worker is gone, so its messages, if any, are in the pipe.
		// Wake the reader in case a process the worker started still holds
		// the write end, then report the exit after the messages.
		r.SetReadDeadline(time.Now())
		<-readDone
		a.post(exitEvent{w: w, state: state, err: err})
	}()
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
