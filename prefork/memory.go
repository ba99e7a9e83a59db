package prefork

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"strconv"
)

// checkMemory recycles the serving workers whose memory exceeds the limit:
// their resident set, or with Preload their unique set (the pages only the
// worker maps): a forked worker's resident set counts every page it
// shares with its zygote and the other workers, which it does not own,
// and which would recycle it however little it had added.
func (a *arbiter) checkMemory() {
	if a.maxMemory <= 0 {
		return
	}
	measure, key, what := residentMemory, "rss", "resident memory"
	if a.preload {
		measure, key, what = uniqueMemory, "uss", "unique memory (USS)"
	}
	for _, w := range a.active() {
		if !w.ready || w.recycleFor != "" {
			continue
		}
		size, err := measure(w.pid())
		if err != nil || size <= a.maxMemory {
			continue
		}
		a.log.Warn("worker exceeds the memory limit", "worker", w.id, "pid", w.pid(), key, size, "limit", a.maxMemory)
		a.recycle(w, causeMemory, fmt.Sprintf("%s %d bytes exceeds the limit of %d", what, size, a.maxMemory))
	}
}

// uniqueMemory reads the memory only process pid maps (its USS), in bytes:
// Private_Clean plus Private_Dirty of /proc/PID/smaps_rollup.
func uniqueMemory(pid int) (int64, error) {
	f, err := os.Open("/proc/" + strconv.Itoa(pid) + "/smaps_rollup")
	if err != nil {
		return 0, err
	}
	defer f.Close()
	var total int64
	found := 0
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		for _, key := range []string{"Private_Clean:", "Private_Dirty:"} {
			if v, ok := bytes.CutPrefix(sc.Bytes(), []byte(key)); ok {
				n, err := parseKB(v)
				if err != nil {
					return 0, err
				}
				total += n
				found++
			}
		}
	}
	if err := sc.Err(); err != nil {
		return 0, err
	}
	if found != 2 {
		return 0, fmt.Errorf("no Private_Clean and Private_Dirty for pid %d", pid)
	}
	return total, nil
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
