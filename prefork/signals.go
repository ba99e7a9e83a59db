package prefork

import (
	"os"
	"syscall"
)

// handleSignal dispatches a signal the supervisor received to its handler,
// one method per signal. Run subscribes to exactly the signals handled here.
func (a *arbiter) handleSignal(sig os.Signal) {
	a.log.Info("received signal", "signal", signalName(sig))
	switch sig {
	case syscall.SIGTERM:
		a.handleTerm()
	case syscall.SIGINT:
		a.handleInt()
	case syscall.SIGQUIT:
		a.handleQuit()
	case syscall.SIGHUP:
		a.handleHup()
	case syscall.SIGTTIN:
		a.handleTtin()
	case syscall.SIGTTOU:
		a.handleTtou()
	case syscall.SIGUSR1:
		a.handleUsr1()
	}
}

// handleTerm stops gracefully: workers finish their requests.
func (a *arbiter) handleTerm() {
	a.stop(true)
}

// handleInt stops fast, as on Ctrl-C.
func (a *arbiter) handleInt() {
	a.stop(false)
}

// handleQuit stops fast.
func (a *arbiter) handleQuit() {
	a.stop(false)
}

// handleHup reloads the workers.
func (a *arbiter) handleHup() {
	a.reload("SIGHUP")
}

// handleTtin adds a worker.
func (a *arbiter) handleTtin() {
	a.target++
	a.log.Info("more workers wanted", "workers", a.target)
	a.workersChanged(a.target - 1)
	a.manageWorkers()
}

// handleTtou stops the highest-numbered worker gracefully, unless it is
// the last.
func (a *arbiter) handleTtou() {
	if a.target <= 1 {
		a.log.Warn("not stopping the last worker", "workers", a.target)
		return
	}
	a.target--
	a.log.Info("fewer workers wanted", "workers", a.target)
	a.workersChanged(a.target + 1)
	a.manageWorkers()
}

// handleUsr1 passes the signal to every worker, so they reopen their log
// files, and reopens the supervisor's through OnReopenLogs.
func (a *arbiter) handleUsr1() {
	a.signalAll(syscall.SIGUSR1)
	if a.onReopenLogs != nil {
		a.onReopenLogs()
	}
}
