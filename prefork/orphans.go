package prefork

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"time"
)

// reapOrphans reaps the zombies among this process's children that are
// neither workers nor zygotes and have stayed zombies for orphanZombieWait:
// as a child subreaper (Preload) the supervisor inherits every orphan of
// its descendants, such as a process an app started whose worker exited,
// and one that ends would otherwise stay a zombie for the supervisor's
// life. A child the program itself started and waits for (the hook
// runner, a config evaluation) is reaped by its waiter at once, long
// before the wait is over.
func (a *arbiter) reapOrphans(now time.Time) {
	known := make(map[int]bool, len(a.workers)+len(a.zygotes))
	for _, w := range a.workers {
		known[w.pid()] = true
	}
	for _, z := range a.zygotes {
		known[z.proc.Pid] = true
	}
	seen := make(map[int]bool)
	for _, pid := range children() {
		if known[pid] || !isZombie(pid) {
			continue
		}
		seen[pid] = true
		first, ok := a.orphans[pid]
		if !ok {
			a.orphans[pid] = now
			continue
		}
		if now.Sub(first) < orphanZombieWait {
			continue
		}
		var ws syscall.WaitStatus
		if got, err := syscall.Wait4(pid, &ws, syscall.WNOHANG, nil); err == nil && got == pid {
			a.log.Info("reaped an orphaned process", "pid", pid, "status", exitReason(ws))
		}
		delete(seen, pid)
	}
	for pid := range a.orphans {
		if !seen[pid] {
			delete(a.orphans, pid)
		}
	}
}

// children lists this process's children, from every thread's
// /proc/self/task/TID/children.
func children() []int {
	files, _ := filepath.Glob("/proc/self/task/*/children")
	var pids []int
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		for _, field := range bytes.Fields(b) {
			if pid, err := strconv.Atoi(string(field)); err == nil {
				pids = append(pids, pid)
			}
		}
	}
	return pids
}

// isZombie reports whether process pid has exited and waits to be reaped.
func isZombie(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	// pid (comm) state ...: comm may hold anything, so look after the last ')'.
	i := bytes.LastIndexByte(b, ')')
	return i >= 0 && i+2 < len(b) && b[i+2] == 'Z'
}
