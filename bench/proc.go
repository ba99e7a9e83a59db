package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"
)

// procStat is what the benchmark reads of a process from /proc/PID/stat.
type procStat struct {
	PID, PPID, PGRP int
	State           byte
	// UTime and STime are the process's user and system CPU time, in clock
	// ticks, summed over all its threads (live and exited); CUTime and
	// CSTime are those of its children that exited and that it reaped.
	UTime, STime, CUTime, CSTime int64
	RSSPages                     int64
}

// parseStat parses the contents of /proc/PID/stat. The command name, field 2,
// is in parentheses and may itself hold spaces and parentheses, so the fields
// are counted from the last ')'.
func parseStat(b []byte) (procStat, error) {
	var st procStat
	open := bytes.IndexByte(b, '(')
	end := bytes.LastIndexByte(b, ')')
	if open < 0 || end < open {
		return st, fmt.Errorf("stat: no command name in %q", b)
	}
	pid, err := strconv.Atoi(string(bytes.TrimSpace(b[:open])))
	if err != nil {
		return st, fmt.Errorf("stat: pid: %w", err)
	}
	// After ")": state(3) ppid(4) pgrp(5) ... utime(14) stime(15) cutime(16)
	// cstime(17) ... rss(24), so rest[i] is field i+3.
	rest := bytes.Fields(b[end+1:])
	if len(rest) < 22 {
		return st, fmt.Errorf("stat: %d fields after the command name, want at least 22", len(rest))
	}
	st.PID = pid
	st.State = rest[0][0]
	if st.PPID, err = strconv.Atoi(string(rest[1])); err != nil {
		return st, fmt.Errorf("stat: ppid: %w", err)
	}
	if st.PGRP, err = strconv.Atoi(string(rest[2])); err != nil {
		return st, fmt.Errorf("stat: pgrp: %w", err)
	}
	for _, f := range []struct {
		name string
		dst  *int64
		i    int
	}{{"utime", &st.UTime, 11}, {"stime", &st.STime, 12}, {"cutime", &st.CUTime, 13}, {"cstime", &st.CSTime, 14}, {"rss", &st.RSSPages, 21}} {
		if *f.dst, err = strconv.ParseInt(string(rest[f.i]), 10, 64); err != nil {
			return st, fmt.Errorf("stat: %s: %w", f.name, err)
		}
	}
	return st, nil
}

// readProcs reads every process's stat from procDir (normally /proc).
// Processes that end while it reads are left out.
func readProcs(procDir string) []procStat {
	entries, _ := os.ReadDir(procDir)
	procs := make([]procStat, 0, len(entries))
	for _, e := range entries {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join(procDir, e.Name(), "stat"))
		if err != nil {
			continue
		}
		if st, err := parseStat(b); err == nil {
			procs = append(procs, st)
		}
	}
	return procs
}

// serverProcs returns the live (not zombie) processes of the server whose
// leader is root (see treeProcs).
func serverProcs(procs []procStat, root int) []procStat {
	var out []procStat
	for _, p := range treeProcs(procs, root) {
		if p.State != 'Z' {
			out = append(out, p)
		}
	}
	return out
}

// treeProcs returns the processes of the server whose leader is root,
// zombies included: root's descendants, and every process in root's
// process group (which also finds workers whose parent already exited).
func treeProcs(procs []procStat, root int) []procStat {
	children := make(map[int][]int)
	byPID := make(map[int]procStat, len(procs))
	for _, p := range procs {
		children[p.PPID] = append(children[p.PPID], p.PID)
		byPID[p.PID] = p
	}
	in := make(map[int]bool)
	queue := []int{root}
	for _, p := range procs {
		if p.PGRP == root {
			queue = append(queue, p.PID)
		}
	}
	for len(queue) > 0 {
		pid := queue[0]
		queue = queue[1:]
		if in[pid] {
			continue
		}
		in[pid] = true
		queue = append(queue, children[pid]...)
	}
	var out []procStat
	for pid := range in {
		if p, ok := byPID[pid]; ok {
			out = append(out, p)
		}
	}
	return out
}

// sumRSS is the resident memory of procs in bytes. Pages shared between
// forked workers count once per process, as RSS does.
func sumRSS(procs []procStat, pageSize int64) int64 {
	var pages int64
	for _, p := range procs {
		pages += p.RSSPages
	}
	return pages * pageSize
}

// rssSampler polls a server's process tree and keeps the peak of its summed
// RSS since the last reset.
type rssSampler struct {
	mu   sync.Mutex
	peak int64
	stop chan struct{}
	done chan struct{}
}

// startRSSSampler samples root's process tree every interval until stopped.
func startRSSSampler(root int, interval time.Duration) *rssSampler {
	s := &rssSampler{stop: make(chan struct{}), done: make(chan struct{})}
	pageSize := int64(os.Getpagesize())
	go func() {
		defer close(s.done)
		tick := time.NewTicker(interval)
		defer tick.Stop()
		for {
			rss := sumRSS(serverProcs(readProcs("/proc"), root), pageSize)
			s.mu.Lock()
			s.peak = max(s.peak, rss)
			s.mu.Unlock()
			select {
			case <-s.stop:
				return
			case <-tick.C:
			}
		}
	}()
	return s
}

// Reset starts a new peak.
func (s *rssSampler) Reset() {
	s.mu.Lock()
	s.peak = 0
	s.mu.Unlock()
}

// Peak is the highest summed RSS seen since the last reset, in bytes.
func (s *rssSampler) Peak() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.peak
}

// Stop ends the sampling.
func (s *rssSampler) Stop() {
	close(s.stop)
	<-s.done
}
