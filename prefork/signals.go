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
