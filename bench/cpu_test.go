package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

// helperEnv makes the test binary a helper process of TestTreeCPU instead
// of running tests: "burn" burns burnTarget of CPU itself, "spawn" runs a
// "burn" child and reaps it. Either then prints the CPU time getrusage says
// it and its reaped children used, in µs, and waits for its stdin to close.
const helperEnv = "GOWSGI_BENCH_HELPER"

// burnTarget is how much CPU the burning helper uses: many clock ticks, so
// that the tolerance below is small beside it.
const burnTarget = 150 * time.Millisecond

// cpuTolerance is how far below getrusage's figure /proc's may be: each of
// the four stat times is truncated to a clock tick. Above it, /proc's may be
// by as much again as the CPU the helper's runtime may use after it reports
// (on a busy machine, with the race detector): counting a process twice
// would put it a whole burnTarget above.
const cpuTolerance = 5 * clockTick

func TestMain(m *testing.M) {
	switch mode := os.Getenv(helperEnv); mode {
	case "":
		os.Exit(m.Run())
	case "burn":
		burnCPU(burnTarget)
	case "spawn":
		if err := runBurner(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	default:
		fmt.Fprintf(os.Stderr, "%s=%q: unknown mode\n", helperEnv, mode)
		os.Exit(2)
	}
	fmt.Println(rusage(syscall.RUSAGE_SELF) + rusage(syscall.RUSAGE_CHILDREN))
	bufio.NewReader(os.Stdin).ReadString('\n')
	os.Exit(0)
}

// rusage is the user + system time getrusage reports for who.
func rusage(who int) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(who, &ru); err != nil {
		panic(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// burnCPU spins until this process has used d more CPU time.
func burnCPU(d time.Duration) {
	until := rusage(syscall.RUSAGE_SELF) + d
	x := uint64(1)
	for rusage(syscall.RUSAGE_SELF) < until {
		for range 100000 {
			x = x*6364136223846793005 + 1442695040888963407
		}
	}
	if x == 0 {
		fmt.Println() // keeps the loop from being optimised away
	}
}

// runBurner runs a burning helper as a child, lets it exit and reaps it.
func runBurner() error {
	h, err := startHelper("burn")
	if err != nil {
		return err
	}
	if _, err := h.stdout.ReadString('\n'); err != nil {
		return err
	}
	return h.stop()
}

// helper is a running helper process (see helperEnv).
type helper struct {
	cmd    *exec.Cmd
	stdin  io.Closer
	stdout *bufio.Reader
}

// startHelper starts the test binary as a helper in mode.
func startHelper(mode string) (*helper, error) {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), helperEnv+"="+mode)
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	return &helper{cmd: cmd, stdin: stdin, stdout: bufio.NewReader(stdout)}, nil
}

// stop closes the helper's stdin, which makes it exit, and reaps it.
func (h *helper) stop() error {
	h.stdin.Close()
	return h.cmd.Wait()
}

func TestParseStatOfThisProcess(t *testing.T) {
	burnCPU(5 * clockTick)
	before := rusage(syscall.RUSAGE_SELF)
	b, err := os.ReadFile("/proc/self/stat")
	if err != nil {
		t.Fatal(err)
	}
	after := rusage(syscall.RUSAGE_SELF)
	st, err := parseStat(b)
	if err != nil {
		t.Fatal(err)
	}
	// The state is the main thread's, which need not be the one reading.
	if st.PID != os.Getpid() || st.PPID != os.Getppid() || st.PGRP != syscall.Getpgrp() || !strings.ContainsRune("RS", rune(st.State)) {
		t.Errorf("got pid %d ppid %d pgrp %d state %c, want %d %d %d, R or S", st.PID, st.PPID, st.PGRP, st.State, os.Getpid(), os.Getppid(), syscall.Getpgrp())
	}
	if st.RSSPages <= 0 {
		t.Errorf("RSS %d pages", st.RSSPages)
	}
	// Each of utime and stime is truncated to a tick.
	if own := cpuTime([]procStat{{UTime: st.UTime, STime: st.STime}}); own < before-2*clockTick || own > after {
		t.Errorf("stat says %s of CPU, getrusage %s to %s", own, before, after)
	}
}

func TestTreeCPU(t *testing.T) {
	tests := []struct{ mode, what string }{
		{"burn", "a live process's own threads"},
		{"spawn", "a child it reaped (cutime, cstime)"},
	}
	for _, tt := range tests {
		t.Run(tt.mode, func(t *testing.T) {
			h, err := startHelper(tt.mode)
			if err != nil {
				t.Fatal(err)
			}
			defer h.stop()
			line, err := h.stdout.ReadString('\n')
			if err != nil {
				t.Fatalf("helper: %v", err)
			}
			reported, err := time.ParseDuration(strings.TrimSpace(line))
			if err != nil {
				t.Fatal(err)
			}
			got := treeCPU(h.cmd.Process.Pid)
			if reported < burnTarget {
				t.Fatalf("the helper reports %s of CPU, less than it burns (%s)", reported, burnTarget)
			}
			if got < reported-cpuTolerance || got > reported+2*cpuTolerance {
				t.Errorf("/proc counts %s for %s, getrusage %s", got, tt.what, reported)
			}
		})
	}
}

func TestCPUTime(t *testing.T) {
	procs := []procStat{
		{UTime: 100, STime: 20, CUTime: 3, CSTime: 1},
		{State: 'Z', UTime: 5, STime: 5},
	}
	if got, want := cpuTime(procs), 134*clockTick; got != want {
		t.Errorf("cpuTime %s, want %s", got, want)
	}
	if got := perRequest(time.Second, 4000); got != 250*time.Microsecond {
		t.Errorf("perRequest %s", got)
	}
	if got := perRequest(time.Second, 0); got != 0 {
		t.Errorf("perRequest without requests %s", got)
	}
}
