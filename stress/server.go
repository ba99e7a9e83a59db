package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/gowsgi/gowsgi/internal/syncbuf"
)

// server is a running `gowsgi serve`.
type server struct {
	cmd     *exec.Cmd
	addr    string
	workers int
	log     *syncbuf.Buffer
	done    chan struct{}
}

// freeAddr returns a loopback address nothing listens on.
func freeAddr() string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// startServer starts gowsgi serving spec from dir (relative to the
// repository root) with flags, and waits until every worker is ready.
func startServer(cfg *config, dir, spec string, flags ...string) (*server, error) {
	s := &server{addr: freeAddr(), workers: 1, log: &syncbuf.Buffer{}, done: make(chan struct{})}
	for i, f := range flags {
		if f == "--workers" {
			s.workers, _ = strconv.Atoi(flags[i+1])
		}
	}
	args := append([]string{"serve", "--bind", s.addr, "--chdir", filepath.Join(cfg.root, dir)}, flags...)
	s.cmd = exec.Command(cfg.bin, append(args, spec)...)
	s.cmd.Stdout, s.cmd.Stderr = s.log, s.log
	// The server must not outlive the suite.
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := s.cmd.Start(); err != nil {
		return nil, err
	}
	go func() { s.cmd.Wait(); close(s.done) }()
	if err := s.waitLog("worker ready", s.workers, 60*time.Second); err != nil {
		s.stop()
		return nil, err
	}
	return s, nil
}

// waitLog waits until the log holds n lines containing text.
func (s *server) waitLog(text string, n int, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		if strings.Count(s.log.String(), text) >= n {
			return nil
		}
		select {
		case <-s.done:
			return fmt.Errorf("server exited (%v); log:\n%s", s.cmd.ProcessState, tail(s.log.String()))
		case <-time.After(20 * time.Millisecond):
		}
	}
	return fmt.Errorf("no %d %q in the log after %v; log:\n%s", n, text, limit, tail(s.log.String()))
}

// stop sends TERM and waits (then kills) and returns the exit code.
func (s *server) stop() int {
	s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(40 * time.Second):
		s.cmd.Process.Kill()
		<-s.done
	}
	return s.cmd.ProcessState.ExitCode()
}

func (s *server) alive() bool {
	select {
	case <-s.done:
		return false
	default:
		return true
	}
}

// workerPIDs lists the live (not zombie) children of the parent.
func (s *server) workerPIDs() []int {
	tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/children", s.cmd.Process.Pid))
	zygotes := s.zygotePIDs()
	var pids []int
	for _, f := range tasks {
		b, _ := os.ReadFile(f)
		for _, field := range strings.Fields(string(b)) {
			p, _ := strconv.Atoi(field)
			stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", p))
			if err != nil {
				continue
			}
			if i := bytes.LastIndexByte(stat, ')'); i > 0 && i+2 < len(stat) && stat[i+2] == 'Z' || slices.Contains(zygotes, p) {
				continue
			}
			pids = append(pids, p)
		}
	}
	return pids
}

// zygotePIDs lists the zygotes the server started (--preload), from its log.
func (s *server) zygotePIDs() []int {
	var pids []int
	for _, m := range zygoteStarted.FindAllStringSubmatch(s.log.String(), -1) {
		p, _ := strconv.Atoi(m[1])
		pids = append(pids, p)
	}
	return pids
}

var zygoteStarted = regexp.MustCompile(`msg="zygote started[^"]*" pid=(\d+)`)

// rss is a process's resident memory in bytes (0 if it is gone).
func rss(pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.Fields(v)[0], 10, 64)
			return kb << 10
		}
	}
	return 0
}

// workersRSS maps each worker to its resident memory.
func (s *server) workersRSS() map[int]int64 {
	m := map[int]int64{}
	for _, p := range s.workerPIDs() {
		m[p] = rss(p)
	}
	return m
}

func sumRSS(m map[int]int64) int64 {
	var t int64
	for _, v := range m {
		t += v
	}
	return t
}

// peakRSS samples f every 50 ms until stop is closed and returns the
// largest value seen.
func peakRSS(f func() int64, stop <-chan struct{}) <-chan int64 {
	out := make(chan int64, 1)
	go func() {
		var peak int64
		t := time.NewTicker(50 * time.Millisecond)
		defer t.Stop()
		for {
			peak = max(peak, f())
			select {
			case <-stop:
				out <- max(peak, f())
				return
			case <-t.C:
			}
		}
	}()
	return out
}

// appStats is the stress app's /stats.
type appStats struct {
	Valid, Other, Upload, Stream, Closed int64
	UploadRead                           int64 `json:"upload_read"`
	Objects                              int64
}

var oneShot = &http.Client{Timeout: 20 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}

// stats asks the (single-worker) stress app for its counters.
func (s *server) stats() (appStats, error) {
	var st appStats
	resp, err := oneShot.Get("http://" + s.addr + "/stats")
	if err != nil {
		return st, err
	}
	defer resp.Body.Close()
	err = json.NewDecoder(resp.Body).Decode(&st)
	return st, err
}

func tail(s string) string {
	if len(s) > 4000 {
		return "..." + s[len(s)-4000:]
	}
	return s
}

func mb(n int64) string { return fmt.Sprintf("%.1fMB", float64(n)/(1<<20)) }

// drain reads and discards a response body.
func drain(r io.Reader) (int64, error) { return io.Copy(io.Discard, r) }
