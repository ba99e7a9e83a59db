package prefork

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"os"
	"slices"
	"strconv"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// With Supervisor.Preload, workers are not started afresh but forked from a
// zygote: a process started like a worker that loads the application once
// and then forks a worker whenever the supervisor asks, so that the pages
// the import filled are shared between the workers, copy-on-write, and a
// worker is ready in milliseconds. The worker is forked twice over (the
// zygote's child forks it and exits) so that it becomes the supervisor's
// own child, the supervisor being a child subreaper: it is waited for,
// signalled and killed with the supervisor as any worker, and outlives its
// zygote. A reload starts a new zygote, which forks the new generation; the
// old zygote goes when the reload completes, the new one if it fails.
//
// The zygote's end of a SOCK_SEQPACKET socket pair is its descriptor
// envZygoteFD, right after the listeners and three placeholders that keep
// the numbers the workers' readiness pipe, scoreboard slot and dump file
// take. Messages, one per packet:
//
//	zygote -> supervisor  'R'                      the application is loaded; sent once
//	supervisor -> zygote  'F' n:uint32 n×int32 env  fork: the n descriptors sent with
//	                                                 the message (SCM_RIGHTS) take those
//	                                                 numbers in the worker, whose whole
//	                                                 environment is env (entries, each
//	                                                 NUL-terminated)
//	zygote -> supervisor  'P' pid:int32            the worker forked
//	zygote -> supervisor  'E' text                 no worker: why
//
// Integers are in the machine's byte order. The zygote exits when the
// supervisor closes its end. The zygote's side is wsgi's zygote.c.

// envZygoteFD names, in a zygote, its end of the supervisor's socket.
const envZygoteFD = "GOWSGI_ZYGOTE_FD"

// Timings of zygotes.
const (
	forkTimeout      = 10 * time.Second // how long a fork request may take
	maxZygoteDelay   = 30 * time.Second // the longest pause before a failed zygote is replaced
	orphanZombieWait = 5 * time.Second  // how long an unknown child stays a zombie before it is reaped
)

// IsZygote reports whether this process was started by a Supervisor as a
// zygote (Supervisor.Preload): it should load the application and fork
// workers from it (wsgi.Preload).
func IsZygote() bool {
	_, ok := os.LookupEnv(envZygoteFD)
	return ok
}

// zygote is the supervisor's record of one zygote process. Only the loop
// touches it.
type zygote struct {
	proc    *os.Process
	conn    *net.UnixConn
	env     []string  // the environment it was started with, which its workers get too
	started time.Time // when it was started; BootTimeout later, one not ready is killed
	ready   bool      // it has loaded the application
	retired bool      // its socket is closed: it exits
	waiting []*worker // pending workers, to fork once it is ready
}

// zygoteReadyEvent reports that a zygote has loaded the application.
type zygoteReadyEvent struct{ z *zygote }

// zygoteExitEvent reports that a zygote exited and was reaped.
type zygoteExitEvent struct {
	z     *zygote
	state *os.ProcessState
	err   error
}

func (e zygoteReadyEvent) apply(a *arbiter) { a.zygoteReady(e.z) }
func (e zygoteExitEvent) apply(a *arbiter)  { a.zygoteExited(e.z, e.state, e.err) }

// currentZygote is the zygote new workers are forked from, started if
// there is none.
func (a *arbiter) currentZygote() (*zygote, error) {
	if a.zygote == nil {
		z, err := a.startZygote()
		if err != nil {
			return nil, err
		}
		a.zygote = z
	}
	return a.zygote, nil
}

// startZygote starts a zygote, with the current environment, and the
// goroutines that wait for its readiness message and its exit.
func (a *arbiter) startZygote() (*zygote, error) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("prefork: socket for a zygote: %w", err)
	}
	ours, theirs := os.NewFile(uintptr(fds[0]), "zygote socket"), os.NewFile(uintptr(fds[1]), "zygote socket")
	defer theirs.Close()
	c, err := net.FileConn(ours)
	ours.Close()
	if err != nil {
		return nil, fmt.Errorf("prefork: socket for a zygote: %w", err)
	}
	conn := c.(*net.UnixConn)
	// The three placeholders keep the numbers the workers' descriptors
	// take from anything the application opens as it loads.
	null, err := os.Open(os.DevNull)
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("prefork: cannot start a zygote: %w", err)
	}
	defer null.Close()
	env := slices.Clip(a.env)
	sockFD := firstInheritedFD + len(a.listeners) + 3
	proc, err := a.startProcess(append(env, envZygoteFD+"="+strconv.Itoa(sockFD)), null, null, null, theirs)
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("prefork: cannot start a zygote: %w", err)
	}
	z := &zygote{proc: proc, conn: conn, env: env, started: time.Now()}
	a.zygotes = append(a.zygotes, z)
	a.log.Info("zygote started: loading the application to fork workers from", "pid", proc.Pid)
	go func() {
		var b [16]byte
		n, _, _, _, err := conn.ReadMsgUnix(b[:], nil)
		if err == nil && n == 1 && b[0] == 'R' {
			a.post(zygoteReadyEvent{z})
		}
	}()
	go func() {
		state, err := proc.Wait()
		a.post(zygoteExitEvent{z, state, err})
	}()
	return z, nil
}

// forkFrom forks w from z, at once if z is ready, else once it is. A fork
// that fails is a worker that exited before it was ready.
func (a *arbiter) forkFrom(z *zygote, w *worker) {
	w.zygote = z
	if !z.ready {
		z.waiting = append(z.waiting, w)
		return
	}
	if err := a.fork(z, w); err != nil {
		a.log.Error("cannot fork a worker from the zygote", "worker", w.id, "zygote", z.proc.Pid, "err", err)
		a.cancel(w, err.Error())
		if !errors.Is(err, errForkRefused) {
			// the socket is broken, or the zygote did not answer in
			// time: it forks no more, and the next worker needs another
			a.retireZygote(z)
			a.killZygote(z)
		}
	}
}

// errForkRefused is a fork the zygote answered with a reason.
var errForkRefused = errors.New("the zygote could not fork")

// fork asks z for w's process and watches it.
func (a *arbiter) fork(z *zygote, w *worker) error {
	pr, pw, err := os.Pipe()
	if err != nil {
		return fmt.Errorf("readiness pipe: %w", err)
	}
	defer pw.Close()
	readyFD := int32(firstInheritedFD + len(a.listeners))
	msg := binary.NativeEndian.AppendUint32([]byte{'F'}, 3)
	for i := range int32(3) {
		msg = binary.NativeEndian.AppendUint32(msg, uint32(readyFD+i))
	}
	for _, kv := range slices.Concat(z.env, a.workerEnv(w)) {
		msg = append(append(msg, kv...), 0)
	}
	oob := unix.UnixRights(int(pw.Fd()), int(w.boardFile.Fd()), int(w.dumpFile.Fd()))
	var reply [512]byte
	z.conn.SetDeadline(time.Now().Add(forkTimeout))
	_, _, err = z.conn.WriteMsgUnix(msg, oob, nil)
	n := 0
	if err == nil {
		n, _, _, _, err = z.conn.ReadMsgUnix(reply[:], nil)
	}
	switch {
	case err != nil:
	case n == 5 && reply[0] == 'P':
		pid := int(int32(binary.NativeEndian.Uint32(reply[1:5])))
		proc, ferr := os.FindProcess(pid)
		if ferr != nil {
			err = ferr
			break
		}
		w.bootDeadline = time.Now().Add(a.bootTimeout)
		a.log.Info("worker started", "worker", w.id, "pid", pid, "zygote", z.proc.Pid)
		a.watchWorker(w, proc, pr)
		return nil
	case n > 0 && reply[0] == 'E':
		err = fmt.Errorf("%w: %s", errForkRefused, reply[1:n])
	default:
		err = fmt.Errorf("malformed answer %q", reply[:n])
	}
	pr.Close()
	return err
}

// zygoteReady forks the workers that waited for z.
func (a *arbiter) zygoteReady(z *zygote) {
	if z.retired {
		return
	}
	z.ready = true
	a.zygoteFailures = 0
	a.log.Info("zygote ready: the application is loaded", "pid", z.proc.Pid, "took", time.Since(z.started).Round(time.Millisecond).String())
	waiting := z.waiting
	z.waiting = nil
	for _, w := range waiting {
		if !w.cancelled {
			a.forkFrom(z, w)
		}
	}
}

// zygoteExited forgets a reaped zygote. The workers it forked serve on;
// those waiting for it end as workers that could not boot, for the reason
// it ended. A zygote that ends unasked is replaced, after a pause that
// grows while zygotes keep failing.
func (a *arbiter) zygoteExited(z *zygote, state *os.ProcessState, waitErr error) {
	a.zygotes = slices.DeleteFunc(a.zygotes, func(v *zygote) bool { return v == z })
	z.conn.Close()
	how := describeExit(state, waitErr)
	unasked := !z.retired && !a.stopping
	if z == a.zygote {
		a.zygote = nil
	}
	if z == a.nextZygote {
		a.nextZygote = nil
	}
	switch {
	case !unasked:
		a.log.Info("zygote exited", "pid", z.proc.Pid, "status", how)
	case z.ready:
		a.log.Warn("zygote exited; the workers it forked serve on, and another zygote will replace it", "pid", z.proc.Pid, "status", how)
	default:
		a.log.Error("zygote exited before it loaded the application", "pid", z.proc.Pid, "status", how)
	}
	if unasked {
		delay := min(maxZygoteDelay, 100*time.Millisecond<<min(a.zygoteFailures, 10))
		a.zygoteFailures++
		a.zygoteDue = time.Now().Add(delay)
	}
	waiting := z.waiting
	z.waiting = nil
	for _, w := range waiting {
		if !w.cancelled {
			w.cancelled = true
			a.workerExited(w, state, waitErr)
		}
	}
}

// replaceZygote starts the zygote that replaces one that ended unasked,
// once its pause is over, so that the next worker forks at once.
func (a *arbiter) replaceZygote(now time.Time) {
	if !a.preload || a.stopping || a.zygote != nil || a.zygoteDue.IsZero() || now.Before(a.zygoteDue) {
		return
	}
	a.zygoteDue = time.Time{}
	if _, err := a.currentZygote(); err != nil {
		a.log.Error("cannot start a zygote", "err", err)
	}
}

// retireZygote tells z to exit: its socket closes, which it reads as the
// end once it is ready; one still loading the application is killed. The
// workers waiting for it end.
func (a *arbiter) retireZygote(z *zygote) {
	if z.retired {
		return
	}
	z.retired = true
	z.conn.Close()
	if !z.ready {
		a.killZygote(z)
	}
	if z == a.zygote {
		a.zygote = nil
	}
	for _, w := range z.waiting {
		a.cancel(w, "its zygote was stopped")
	}
	z.waiting = nil
}

// killZygote SIGKILLs z.
func (a *arbiter) killZygote(z *zygote) {
	if err := z.proc.Signal(syscall.SIGKILL); err != nil && !errors.Is(err, os.ErrProcessDone) {
		a.log.Warn("cannot kill the zygote", "pid", z.proc.Pid, "err", err)
	}
}

// errNotForked is the end of a worker that never had a process: it was
// stopped while it waited for its zygote, or the fork failed.
var errNotForked = errors.New("never forked from the zygote")

// cancel ends a worker that has no process, for the reason why: it will
// not be forked, and its end is reported as any worker's (posted, as the
// caller may be in the middle of the loop's work on the workers).
func (a *arbiter) cancel(w *worker, why string) {
	if w.cancelled {
		return
	}
	w.cancelled = true
	if z := w.zygote; z != nil {
		z.waiting = slices.DeleteFunc(z.waiting, func(v *worker) bool { return v == w })
	}
	go a.post(exitEvent{w: w, err: fmt.Errorf("%w: %s", errNotForked, why)})
}

// checkZygotes kills the zygotes that did not load the application within
// the boot timeout, and replaces one that ended.
func (a *arbiter) checkZygotes(now time.Time) {
	for _, z := range a.zygotes {
		if !z.ready && !z.retired && !now.Before(z.started.Add(a.bootTimeout)) {
			a.log.Warn("zygote did not load the application in time; killing it", "pid", z.proc.Pid, "boot_timeout", a.bootTimeout.String())
			a.retireZygote(z)
		}
	}
	a.replaceZygote(now)
}
