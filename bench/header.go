package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"time"
)

// header describes the run: when, on what, with which versions, how.
type header struct {
	Date     string
	Machine  string
	Kernel   string
	Versions [][2]string // name, version; in report order
	Method   string
}

func (h header) write(b *strings.Builder) {
	b.WriteString("| | |\n| --- | --- |\n")
	fmt.Fprintf(b, "| date | %s |\n| machine | %s |\n| kernel | %s |\n", h.Date, h.Machine, h.Kernel)
	for _, v := range h.Versions {
		fmt.Fprintf(b, "| %s | %s |\n", v[0], v[1])
	}
	fmt.Fprintf(b, "| method | %s |\n", h.Method)
}

// collectHeader describes this machine and the versions of every program
// the run uses; a program that is missing is "not installed".
func collectHeader(cfg *config) header {
	cpuinfo, _ := os.ReadFile("/proc/cpuinfo")
	cores, model := parseCPUInfo(cpuinfo)
	kernel, _ := os.ReadFile("/proc/sys/kernel/osrelease")
	return header{
		Date:    time.Now().Format("2006-01-02 15:04:05 MST"),
		Machine: fmt.Sprintf("%d cores, %s", cores, model),
		Kernel:  strings.TrimSpace(string(kernel)),
		Versions: [][2]string{
			{"gowsgi", firstLine(commandOutput(cfg.gowsgi, "version"))},
			{"Go", runtime.Version()},
			{"Python", firstLine(commandOutput(debianPython, "--version"))},
			{"gunicorn", strings.TrimSuffix(strings.TrimPrefix(firstLine(commandOutput(gunicornBin, "--version")), "gunicorn (version "), ")")},
			{"uWSGI", firstLine(commandOutput(uwsgiBin, "--version"))},
			{"waitress", firstLine(commandOutput(debianPython, "-c", "import importlib.metadata as m; print(m.version('waitress'))"))},
			{"nginx", strings.TrimPrefix(firstLine(commandOutput(nginxBin, "-v")), "nginx version: ")},
			{"wrk", wrkVersion(commandOutput(cfg.wrk, "-v"))},
		},
		Method: fmt.Sprintf("per server, worker count and case: warm-up wrk -t1 -c32 %s, then wrk -t1 -c32 %s (throughput, CPU time of the server's process tree), then wrk -t1 -c1 %s (latency); peak RSS summed over the server's processes, sampled every 100 ms; light load: one paced keep-alive client at %s requests/s for %s each, then idle %s",
			cfg.warmup, cfg.duration, cfg.latencyDuration, joinInts(cfg.lightRates), cfg.lightDuration, cfg.idle),
	}
}

// parseCPUInfo counts the processors in /proc/cpuinfo and returns the first
// model name.
func parseCPUInfo(b []byte) (cores int, model string) {
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		key, value, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		switch strings.TrimSpace(key) {
		case "processor":
			cores++
		case "model name":
			if model == "" {
				model = strings.TrimSpace(value)
			}
		}
	}
	if model == "" {
		model = "unknown CPU"
	}
	return cores, model
}

// wrkVersion is "4.1.0-3+b2 [epoll]" out of wrk -v's "wrk debian/4.1.0-3+b2
// [epoll] Copyright (C) 2012 Will Glozer".
func wrkVersion(out string) string {
	v := firstLine(out)
	v, _, _ = strings.Cut(v, " Copyright")
	return strings.TrimPrefix(v, "wrk ")
}

// commandOutput runs a short command and returns what it printed, or "not
// installed" when it cannot run.
func commandOutput(name string, args ...string) string {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = serverEnv("")
	out, err := cmd.CombinedOutput()
	if err != nil && len(out) == 0 {
		return "not installed"
	}
	return string(out)
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(strings.TrimSpace(s), "\n")
	return strings.TrimSpace(line)
}

// joinInts is ns as a comma list.
func joinInts(ns []int) string {
	s := make([]string, len(ns))
	for i, n := range ns {
		s[i] = strconv.Itoa(n)
	}
	return strings.Join(s, ",")
}
