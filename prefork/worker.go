package prefork

import (
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"sync"
	"syscall"
)

// ExitBootFailed is the exit status a worker uses when the application
// cannot be loaded. A worker that exits with it before NotifyReady makes
// Supervisor.Run stop and return an error instead of starting another worker.
const ExitBootFailed = 3

// The environment a Supervisor gives each worker. The inherited descriptors
// are the listeners, from firstInheritedFD on, then the readiness pipe.
const (
	envWorkerID      = "GOWSGI_WORKER_ID"  // the worker's slot, 1..Workers
	envListenFDs     = "GOWSGI_LISTEN_FDS" // how many listeners were passed
	envReadyFD       = "GOWSGI_READY_FD"   // write end of the readiness pipe
	firstInheritedFD = 3                   // the first descriptor after stdin, stdout, stderr
)

// errNotWorker is returned by the worker-side functions in a process that a
// Supervisor did not start.
var errNotWorker = errors.New("prefork: this process is not a worker (" + envWorkerID + " is not set)")

// IsWorker reports whether this process was started by a Supervisor as a
// worker.
func IsWorker() bool {
	return WorkerID() > 0
}

// WorkerID returns this worker's number, or 0 in a process that is not a
// worker. Numbers are slots 1..Supervisor.Workers: a worker that replaces a
// dead one gets the dead one's number, so at any time the running workers
// have distinct numbers and there are never more than Workers of them. Tell
// successive workers in one slot apart by their process id.
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
	err       error
}

// inherited takes over the descriptors the Supervisor passed, once per
// process: it wraps the listeners as net.Listeners (which hold close-on-exec
// duplicates, so the originals are closed) and marks the readiness pipe
// close-on-exec, so that processes the application starts hold neither. It
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
	for _, k := range []string{envWorkerID, envListenFDs, envReadyFD} {
		os.Unsetenv(k)
	}
	syscall.CloseOnExec(readyFD)
	in := &inheritance{ready: os.NewFile(uintptr(readyFD), "readiness pipe")}
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

// notifyReady writes the readiness byte once per process.
var notifyReady = sync.OnceValue(func() error {
	in := inherited()
	if in.err != nil {
		return in.err
	}
	_, err := in.ready.Write([]byte{1})
	if cerr := in.ready.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("prefork: notifying the supervisor: %w", err)
	}
	return nil
})

// NotifyReady tells the parent this worker is serving. Call it once the
// application is loaded and the listeners accept connections; later calls do
// nothing and return the first call's result. A worker that has not called it
// within Supervisor.BootTimeout is killed.
func NotifyReady() error {
	return notifyReady()
}
