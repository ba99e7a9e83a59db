package prefork

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"strconv"
)

// checkMemory recycles the serving workers whose resident memory exceeds
// the limit.
func (a *arbiter) checkMemory() {
	if a.maxMemory <= 0 {
		return
	}
	for _, w := range a.active() {
		if !w.ready || w.recycleFor != "" {
			continue
		}
		rss, err := residentMemory(w.proc.Pid)
		if err != nil || rss <= a.maxMemory {
			continue
		}
		a.log.Warn("worker exceeds the memory limit", "worker", w.id, "pid", w.proc.Pid, "rss", rss, "limit", a.maxMemory)
		a.recycle(w, causeMemory, fmt.Sprintf("resident memory %d bytes exceeds the limit of %d", rss, a.maxMemory))
	}
}

// residentMemory reads a process's resident set size, in bytes, from the
// VmRSS line of /proc/PID/status.
func residentMemory(pid int) (int64, error) {
	f, err := os.Open("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := bytes.CutPrefix(sc.Bytes(), []byte("VmRSS:")); ok {
			return parseKB(v)
		}
	}
	if err := sc.Err(); err != nil {
		return 0, err
	}
	return 0, fmt.Errorf("no VmRSS for pid %d", pid)
}

// parseKB parses a /proc size such as "  17208 kB" into bytes.
func parseKB(v []byte) (int64, error) {
	num, ok := bytes.CutSuffix(bytes.TrimSpace(v), []byte(" kB"))
	if !ok {
		return 0, fmt.Errorf("bad size %q", v)
	}
	kb, err := strconv.ParseInt(string(bytes.TrimSpace(num)), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("bad size %q", v)
	}
	return kb * 1024, nil
}
