package main

import "time"

// clockTick is the unit of the CPU times in /proc/PID/stat: USER_HZ, which
// the kernel fixes at 100 per second for user space on every architecture Go
// runs on (sysconf(_SC_CLK_TCK) reports it; TestTreeCPU checks it against
// getrusage).
const clockTick = 10 * time.Millisecond

// cpuTime is the CPU time, user plus system, that the processes of procs and
// the children they reaped have used since they started.
//
// A process's stat counts every thread it has or had. A process that exits
// is counted by whoever reaps it (its cutime and cstime); until then it is a
// zombie whose stat still holds its times, so zombies count too. What an
// orphan that init reaps had used is lost: none of the servers measured
// leaves orphans while it serves.
func cpuTime(procs []procStat) time.Duration {
	var ticks int64
	for _, p := range procs {
		ticks += p.UTime + p.STime + p.CUTime + p.CSTime
	}
	return time.Duration(ticks) * clockTick
}

// treeCPU is the CPU time used so far by the server whose leader is root:
// every process of its tree, every thread of each, and the children they
// reaped. The difference of two readings is what the server spent between
// them.
func treeCPU(root int) time.Duration {
	return cpuTime(treeProcs(readProcs("/proc"), root))
}

// perRequest is cpu divided over n requests, or 0 without requests.
func perRequest(cpu time.Duration, n int64) time.Duration {
	if n <= 0 {
		return 0
	}
	return cpu / time.Duration(n)
}
