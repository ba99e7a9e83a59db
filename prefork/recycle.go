package prefork

// recycle replaces a serving worker without failing a request: it starts a
// standby first, and only once the standby is ready does the old worker get
// SIGTERM (see recycled). A recycle already under way for w is not started
// twice. If the standby fails, w keeps serving and retryRecycles tries again
// on a later tick. c is why, for Metrics; why says it for the log.
func (a *arbiter) recycle(w *worker, c cause, why string) {
	if a.stopping || w.role != roleActive || !w.ready {
		return
	}
	if w.recycleFor == "" {
		w.recycleFor, w.recycleCause = why, c
		a.log.Info("recycling worker", "worker", w.id, "pid", w.pid(), "reason", why)
	}
	if w.replacement != nil {
		return
	}
	r, err := a.spawn(a.freeID(), roleStandby)
	if err != nil {
		a.log.Error("recycle failed: cannot start a replacement", "worker", w.id, "pid", w.pid(), "err", err)
		return
	}
	w.replacement, r.replaces = r, w
}

// recycled completes a recycle once the standby r is ready: r takes the old
// worker's place and the old worker stops gracefully.
func (a *arbiter) recycled(r *worker) {
	old := r.replaces
	r.role, r.replaces, old.replacement = roleActive, nil, nil
	a.log.Info("replacement ready", "worker", r.id, "pid", r.pid(), "replaces", old.id, "replaces_pid", old.pid())
	a.retire(old, old.recycleCause, old.recycleFor)
}

// recycleFailed notes that the standby r exited before it took over; the
// worker it was to replace keeps serving.
func (a *arbiter) recycleFailed(r *worker, how string) {
	old := r.replaces
	old.replacement = nil
	a.log.Error("recycle failed: the replacement exited", "worker", old.id, "pid", old.pid(), "replacement_pid", r.pid(), "status", how)
}

// replacementTakesOver lets the standby started to replace w, if any, stand
// in for it now that w has died: it becomes an ordinary active worker. It
// reports whether there was one.
func (a *arbiter) replacementTakesOver(w *worker) bool {
	r := w.replacement
	if r == nil {
		return false
	}
	r.role, r.replaces, w.replacement = roleActive, nil, nil
	return true
}

// retryRecycles starts a new standby for each worker whose recycle failed.
func (a *arbiter) retryRecycles() {
	for _, w := range a.active() {
		if w.recycleFor != "" && w.replacement == nil {
			a.recycle(w, w.recycleCause, w.recycleFor)
		}
	}
}
