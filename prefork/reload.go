package prefork

import (
	"os"
	"time"
)

// Reload is what Supervisor.Reconfigure may change at a reload.
type Reload struct {
	// Env replaces Supervisor.Env for the workers started from then on:
	// the new generation, and any started later.
	Env []string
	// Workers, if positive, replaces the number of workers wanted (as
	// TTIN and TTOU change it); the new generation has that many.
	Workers int
	// GracefulTimeout, RequestTimeout and MaxWorkerMemory replace the
	// Supervisor's, for every worker.
	GracefulTimeout time.Duration
	RequestTimeout  time.Duration
	MaxWorkerMemory int64
}

// reload replaces every worker without failing a request, as gunicorn does
// on SIGHUP: it starts a new generation of as many workers as are wanted
// (fresh processes, so the application's code is imported afresh), and
// only when all of them are ready does it stop the old generation
// gracefully (see reloadProgress). If a new worker fails to boot (exits
// before it is ready, including with ExitBootFailed, or misses
// BootTimeout), the new generation is stopped and the old one keeps
// serving (see reloadFailed).
//
// Supervisor.Reconfigure, if set, runs first; its error abandons the
// reload before any worker starts.
//
// A reload asked for while one is in progress is queued, once however many
// times it is asked: it starts when the current one ends, successful or
// not, so the code that the last request asked for is the code that runs.
func (a *arbiter) reload(why string) {
	if a.stopping {
		return
	}
	if a.reloading != nil {
		a.reloadQueued = true
		a.log.Info("reload in progress; another will follow it", "reason", why)
		return
	}
	if a.reconfigure != nil {
		r, err := a.reconfigure()
		if err != nil {
			a.log.Error("reload failed", "reason", err.Error(), "kept", len(a.active()))
			a.nextReload()
			return
		}
		a.env = append(os.Environ(), r.Env...)
		a.setLimits(r.GracefulTimeout, r.RequestTimeout, r.MaxWorkerMemory)
		if r.Workers > 0 && r.Workers != a.target {
			a.log.Info("workers wanted changed by the reload", "workers", r.Workers, "was", a.target)
			a.target = r.Workers
		}
	}
	a.log.Info("reloading: starting a new generation of workers", "workers", a.target, "reason", why)
	a.reloadingHook()
	if a.preload {
		// The new generation forks from a zygote that imports the new code.
		z, err := a.startZygote()
		if err != nil {
			a.reloadFailed(err.Error())
			return
		}
		a.nextZygote = z
	}
	for range a.target {
		w, err := a.spawnFrom(a.freeID(), roleStandby, a.nextZygote)
		if err != nil {
			a.reloadFailed(err.Error())
			return
		}
		a.reloading = append(a.reloading, w)
	}
}

// reloadProgress completes the reload once every worker of the new
// generation is ready: the old workers stop gracefully and the new ones
// take their places.
func (a *arbiter) reloadProgress() {
	for _, w := range a.reloading {
		if !w.ready {
			return
		}
	}
	for _, w := range a.active() {
		a.retire(w, causeReload, "reloaded")
	}
	for _, w := range a.reloading {
		w.role = roleActive
	}
	a.everReady = true
	if z := a.nextZygote; z != nil {
		if old := a.zygote; old != nil {
			a.retireZygote(old)
		}
		a.zygote, a.nextZygote = z, nil
	}
	a.log.Info("reload complete", "workers", len(a.reloading))
	a.reloading = nil
	a.manageWorkers()
	a.nextReload()
}

// reloadFailed abandons the reload in progress: the new generation stops
// gracefully (its ready workers may already be serving) and the old one
// goes on.
func (a *arbiter) reloadFailed(why string) {
	a.log.Error("reload failed", "reason", why, "kept", len(a.active()))
	for _, w := range a.reloading {
		a.retire(w, causeReload, "reload failed")
	}
	if z := a.nextZygote; z != nil {
		a.retireZygote(z)
		a.nextZygote = nil
	}
	a.reloading = nil
	a.nextReload()
}

// nextReload starts the reload queued during the one that just ended.
func (a *arbiter) nextReload() {
	if a.reloadQueued {
		a.reloadQueued = false
		a.reload("queued during the previous reload")
	}
}
