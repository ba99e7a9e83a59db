package prefork

import (
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"sync"
	"syscall"
	"time"
)

// ExitBootFailed is the exit status a worker uses when the application
// cannot be loaded. A worker that exits with it before NotifyReady makes
// Supervisor.Run stop and return an error instead of starting another worker.
const ExitBootFailed = 3

// ExitStuck is the exit status a worker uses when it gives up on a request
// stuck where it cannot be interrupted. The supervisor replaces the worker
// as it does one that crashed, but counts it apart (see Snapshot.Restarts).
const ExitStuck = 70

// The environment a Supervisor gives each worker. The inherited descriptors
// are the listeners, from firstInheritedFD on, then the readiness pipe, then
// the scoreboard slot, then the dump file.
const (
	envWorkerID      = "GOWSGI_WORKER_ID"      // the worker's number; see WorkerID
	envListenFDs     = "GOWSGI_LISTEN_FDS"     // how many listeners were passed
	envReadyFD       = "GOWSGI_READY_FD"       // write end of the readiness pipe
	envScoreboardFD  = "GOWSGI_SCOREBOARD_FD"  // the worker's scoreboard slot; see scoreboard.go
	envDumpFD        = "GOWSGI_DUMP_FD"        // the worker's dump file; see dump.go
	envWorkerAge     = "GOWSGI_WORKER_AGE"     // see WorkerAge
	envWorkersWanted = "GOWSGI_WORKERS_WANTED" // see WorkersWanted
	firstInheritedFD = 3                       // the first descriptor after stdin, stdout, stderr
)

// Messages a worker writes to the readiness pipe, one byte each (a write
// that small is atomic, so goroutines may send concurrently).
const (
	msgReady     byte = 1 // the worker serves; the first message
	msgHeartbeat byte = 2 // the worker's Go runtime is alive; every heartbeatInterval after msgReady
	msgRetire    byte = 3 // the worker asks to be recycled
	msgDumped    byte = 4 // the worker has written the dump asked for; see dump.go
)

// heartbeatInterval is how often a ready worker sends msgHeartbeat.
const heartbeatInterval = time.Second

// errNotWorker is returned by the worker-side functions in a process that a
// Supervisor did not start.
var errNotWorker = errors.New("prefork: this process is not a worker (" + envWorkerID + " is not set)")

// IsWorker reports whether this process was started by a Supervisor as a
// worker.
func IsWorker() bool {
	return WorkerID() > 0
}

// WorkerID returns this worker's number, or 0 in a process that is not a
// worker. A new worker gets the lowest number no live worker of its
// supervisor has, so live workers have distinct numbers: 1..Workers while
// the count is steady, higher while a reload or a recycle runs old and new
// workers side by side. A number is reused once its worker has exited; tell
// successive workers with one number apart by their process id.
func WorkerID() int {
	return workerID()
}

// workerID reads the worker's number once, before inherited removes the
// supervisor's variables from the environment.
var workerID = sync.OnceValue(func() int { return parseWorkerID(os.Getenv(envWorkerID)) })

// parseWorkerID reads a worker number: a positive integer, else 0.
func parseWorkerID(v string) int {
	id, err := strconv.Atoi(v)
	if err != nil || id < 1 {
		return 0
	}
	return id
}

// inheritance is what a worker received from its Supervisor.
type inheritance struct {
	listeners []net.Listener
	ready     *os.File // write end of the readiness pipe
	board     *slot    // the worker's scoreboard slot, nil if it could not be mapped
	dump      *os.File // the worker's dump file
	age       int      // see WorkerAge
	wanted    int      // see WorkersWanted
	err       error
}

// inherited takes over the descriptors the Supervisor passed, once per
// process: it wraps the listeners as net.Listeners (which hold close-on-exec
// duplicates, so the originals are closed), maps the scoreboard slot and
// closes its descriptor, and marks the readiness pipe and the dump file
// close-on-exec, so that processes the application starts hold none of
// them. It
// also removes the supervisor's variables from the environment, so that a
// gowsgi the application starts is not taken for a worker.
var inherited = sync.OnceValue(func() *inheritance {
	if !IsWorker() {
		return &inheritance{err: errNotWorker}
	}
	n, err := envInt(envListenFDs)
	if err != nil {
		return &inheritance{err: err}
	}
	readyFD, err := envInt(envReadyFD)
	if err != nil {
		return &inheritance{err: err}
	}
	boardFD, err := envInt(envScoreboardFD)
	if err != nil {
		return &inheritance{err: err}
	}
	dumpFD, err := envInt(envDumpFD)
	if err != nil {
		return &inheritance{err: err}
	}
	// Informational: a worker serves without them.
	age, _ := envInt(envWorkerAge)
	wanted, _ := envInt(envWorkersWanted)
	for _, k := range []string{envWorkerID, envListenFDs, envReadyFD, envScoreboardFD, envDumpFD, envWorkerAge, envWorkersWanted} {
		os.Unsetenv(k)
	}
	syscall.CloseOnExec(readyFD)
	syscall.CloseOnExec(dumpFD)
	in := &inheritance{ready: os.NewFile(uintptr(readyFD), "readiness pipe"), dump: os.NewFile(uintptr(dumpFD), "dump file"), age: age, wanted: wanted}
	// Without its scoreboard a worker still serves: the supervisor only
	// loses sight of its requests.
	in.board, _ = mapSlot(boardFD)
	syscall.Close(boardFD)
	for i := range n {
		f := os.NewFile(uintptr(firstInheritedFD+i), fmt.Sprintf("inherited listener %d", i))
		ln, err := net.FileListener(f)
		f.Close()
		if err != nil {
			for _, ln := range in.listeners {
				ln.Close()
			}
			in.listeners = nil
			in.err = fmt.Errorf("prefork: inherited listener %d (fd %d): %w", i, firstInheritedFD+i, err)
			return in
		}
		in.listeners = append(in.listeners, ln)
	}
	return in
})

// envInt reads a non-negative integer from the environment.
func envInt(key string) (int, error) {
	v, err := strconv.Atoi(os.Getenv(key))
	if err != nil || v < 0 {
		return 0, fmt.Errorf("prefork: bad %s=%q in a worker's environment", key, os.Getenv(key))
	}
	return v, nil
}

// WorkerListeners returns the inherited listening sockets as net.Listeners,
// in the order of Supervisor.Listeners. Every call returns the same
// listeners. Call it early, before the application can start processes of
// its own: until then those processes would inherit the sockets.
func WorkerListeners() ([]net.Listener, error) {
	in := inherited()
	return in.listeners, in.err
}

// WorkerAge returns the order in which the supervisor started this worker
// among all it started, 1 for the first (gunicorn's worker age): unlike
// WorkerID, never reused. It is 0 in a process that is not a worker.
func WorkerAge() int { return inherited().age }

// WorkersWanted returns how many workers the supervisor wanted when it
// started this one (Supervisor.Workers, as TTIN and TTOU had changed it);
// 0 in a process that is not a worker.
func WorkersWanted() int { return inherited().wanted }

// notifyReady sends the readiness message and starts the heartbeat, once
// per process.
var notifyReady = sync.OnceValue(func() error {
	in := inherited()
	if in.err != nil {
		return in.err
	}
	if err := send(in.ready, msgReady); err != nil {
		return err
	}
	go heartbeat(in.ready)
	return nil
})

// NotifyReady tells the parent this worker is serving. Call it once the
// application is loaded and the listeners accept connections; later calls do
// nothing and return the first call's result. A worker that has not called it
// within Supervisor.BootTimeout is killed.
//
// NotifyReady also starts a goroutine that tells the supervisor once a
// second that the worker's Go runtime is alive (see
// Supervisor.HeartbeatTimeout). It runs on whatever thread Go gives it, so
// goroutines blocked in long cgo calls or system calls do not stop it.
func NotifyReady() error {
	return notifyReady()
}

// heartbeat sends msgHeartbeat every heartbeatInterval until the
// supervisor is gone.
func heartbeat(pipe *os.File) {
	t := time.NewTicker(heartbeatInterval)
	defer t.Stop()
	for range t.C {
		if send(pipe, msgHeartbeat) != nil {
			return
		}
	}
}

// Retire asks the supervisor to recycle this worker: it starts a
// replacement and, once that is ready, sends this worker SIGTERM, so no
// request fails. Call it, for instance, after the worker has served its
// maximum number of requests, and keep serving until SIGTERM comes. Call
// it after NotifyReady; calling it again asks again, which does no harm.
func Retire() error {
	in := inherited()
	if in.err != nil {
		return in.err
	}
	return send(in.ready, msgRetire)
}

// send writes one message to the supervisor.
func send(pipe *os.File, m byte) error {
	if _, err := pipe.Write([]byte{m}); err != nil {
		return fmt.Errorf("prefork: notifying the supervisor: %w", err)
	}
	return nil
}
