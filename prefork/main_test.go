package prefork

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// The test binary plays three roles: the tests themselves; a supervisor
// (PREFORK_TEST_ROLE=supervisor), run as a child so that tests can send it
// real signals; and the workers that every Supervisor starts, which run the
// test binary again.
const (
	envTestRole      = "PREFORK_TEST_ROLE"      // "supervisor"
	envTestWorkers   = "PREFORK_TEST_WORKERS"   // Supervisor.Workers in the supervisor role
	envTestListener  = "PREFORK_TEST_LISTENER"  // name of the listener passed as fd 3 to the supervisor role
	envTestBehaviour = "PREFORK_TEST_BEHAVIOUR" // a test worker's behaviour; see runTestWorker
)

func TestMain(m *testing.M) {
	switch {
	case IsWorker():
		os.Exit(runTestWorker())
	case os.Getenv(envTestRole) == "supervisor":
		os.Exit(runTestSupervisor())
	}
	os.Exit(m.Run())
}

// runTestWorker behaves as PREFORK_TEST_BEHAVIOUR says: "bootfail" exits
// with ExitBootFailed, "crash" exits 2, "hang" never reports ready,
// "ready-then-crash" exits 2 right after reporting ready; anything else
// serves HTTP until SIGTERM (graceful) or SIGINT/SIGQUIT (fast).
func runTestWorker() int {
	switch os.Getenv(envTestBehaviour) {
	case "bootfail":
		fmt.Fprintln(os.Stderr, "test worker: cannot load the application")
		return ExitBootFailed
	case "crash":
		return 2
	case "hang":
		time.Sleep(time.Hour)
		return 1
	case "ready-then-crash":
		if err := NotifyReady(); err != nil {
			fmt.Fprintln(os.Stderr, "test worker:", err)
		}
		return 2
	}
	listeners, err := WorkerListeners()
	if err != nil {
		fmt.Fprintln(os.Stderr, "test worker:", err)
		return 1
	}
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM, syscall.SIGINT, syscall.SIGQUIT)
	srv := &http.Server{Handler: testHandler()}
	for _, ln := range listeners {
		go srv.Serve(ln)
	}
	if err := NotifyReady(); err != nil {
		fmt.Fprintln(os.Stderr, "test worker:", err)
		return 1
	}
	if <-stop != syscall.SIGTERM {
		return 0
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "test worker: shutdown:", err)
		return 1
	}
	return 0
}

// testHandler answers "/" with the worker's id and pid, and "/slow" with
// headers at once and the body "slow done" after slowRequest.
func testHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "worker %d pid %d\n", WorkerID(), os.Getpid())
	})
	mux.HandleFunc("/slow", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusOK)
		w.(http.Flusher).Flush()
		time.Sleep(slowRequest)
		io.WriteString(w, "slow done")
	})
	return mux
}

// slowRequest is how long "/slow" takes.
const slowRequest = 1500 * time.Millisecond

// runTestSupervisor supervises PREFORK_TEST_WORKERS workers on the listener
// inherited as fd 3, logging JSON to stderr.
func runTestSupervisor() int {
	n, _ := strconv.Atoi(os.Getenv(envTestWorkers))
	s := &Supervisor{
		Workers:         n,
		Listeners:       []*os.File{os.NewFile(3, os.Getenv(envTestListener))},
		GracefulTimeout: 10 * time.Second,
		Log:             slog.New(slog.NewJSONHandler(os.Stderr, nil)),
	}
	if err := s.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "test supervisor:", err)
		return 1
	}
	return 0
}

// logRecord is the part of a supervisor's JSON log line the tests look at.
type logRecord struct {
	Msg    string `json:"msg"`
	Worker int    `json:"worker"`
	PID    int    `json:"pid"`
	Status string `json:"status"`
}

// logTail collects a supervisor's log records as they are written.
type logTail struct {
	records chan logRecord
	mu      sync.Mutex
	seen    []logRecord
	ended   bool          // the test is over: t.Log would panic
	done    chan struct{} // closed when the log has ended
}

// newLogTail parses JSON log lines from r until it ends, ignoring other
// output (the workers share the supervisor's stderr), and echoes every line
// to the test log.
func newLogTail(t *testing.T, r io.ReadCloser) *logTail {
	lt := &logTail{records: make(chan logRecord, 1000), done: make(chan struct{})}
	t.Cleanup(func() {
		lt.mu.Lock()
		lt.ended = true
		lt.mu.Unlock()
	})
	go func() {
		defer close(lt.done)
		defer r.Close()
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			var rec logRecord
			isRecord := json.Unmarshal(sc.Bytes(), &rec) == nil
			lt.mu.Lock()
			if !lt.ended {
				t.Log(sc.Text())
			}
			if isRecord {
				lt.seen = append(lt.seen, rec)
			}
			lt.mu.Unlock()
			if isRecord {
				select {
				case lt.records <- rec:
				default: // nobody awaits this many
				}
			}
		}
	}()
	return lt
}

// await returns the next record with message msg that match accepts, failing
// the test if none comes within timeout.
func (lt *logTail) await(t *testing.T, msg string, match func(logRecord) bool, timeout time.Duration) logRecord {
	t.Helper()
	deadline := time.After(timeout)
	for {
		select {
		case rec := <-lt.records:
			if rec.Msg == msg && (match == nil || match(rec)) {
				return rec
			}
		case <-deadline:
			t.Fatalf("no %q log record within %v", msg, timeout)
		}
	}
}

// count counts the records so far with message msg.
func (lt *logTail) count(msg string) int {
	lt.mu.Lock()
	defer lt.mu.Unlock()
	n := 0
	for _, rec := range lt.seen {
		if rec.Msg == msg {
			n++
		}
	}
	return n
}

// pids lists the pids of all workers started so far.
func (lt *logTail) pids() []int {
	lt.mu.Lock()
	defer lt.mu.Unlock()
	var pids []int
	for _, rec := range lt.seen {
		if rec.Msg == "worker started" {
			pids = append(pids, rec.PID)
		}
	}
	return pids
}

// quickRaceExit is an environment entry that keeps a process built with
// -race from sleeping a second on exit (GORACE's atexit_sleep_ms), which
// would make every worker miss a fast stop's grace.
var quickRaceExit = "GORACE=" + strings.TrimSpace(os.Getenv("GORACE")+" atexit_sleep_ms=0")

// supervisorProc is the test binary running in the supervisor role.
type supervisorProc struct {
	cmd  *exec.Cmd
	log  *logTail
	exit chan error // receives cmd.Wait's result
}

// startSupervisor runs a supervisor of n test workers on ln. ln is closed in
// the test process once the supervisor has it. With ownGroup, the supervisor
// leads a new process group (as a shell's foreground job does), and its
// workers are in it. env is added to the supervisor's (and so the workers')
// environment.
func startSupervisor(t *testing.T, ln *os.File, n int, ownGroup bool, env ...string) *supervisorProc {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, "-test.run=^$")
	cmd.Env = append(os.Environ(),
		quickRaceExit,
		envTestRole+"=supervisor",
		envTestWorkers+"="+strconv.Itoa(n),
		envTestListener+"="+ln.Name(),
	)
	cmd.Env = append(cmd.Env, env...)
	cmd.ExtraFiles = []*os.File{ln}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: ownGroup}
	// A pipe of our own rather than StderrPipe: the workers write to it too,
	// and Wait must not close it under the reader.
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = w
	err = cmd.Start()
	w.Close()
	ln.Close()
	if err != nil {
		r.Close()
		t.Fatal(err)
	}
	p := &supervisorProc{cmd: cmd, log: newLogTail(t, r), exit: make(chan error, 1)}
	go func() { p.exit <- cmd.Wait() }()
	t.Cleanup(func() {
		// A test that failed half-way: the workers die with the supervisor.
		cmd.Process.Kill()
	})
	return p
}

// awaitExit waits for the supervisor to exit and fails the test unless it
// exits 0 within timeout.
func (p *supervisorProc) awaitExit(t *testing.T, timeout time.Duration) {
	t.Helper()
	select {
	case err := <-p.exit:
		if err != nil {
			t.Fatalf("supervisor: %v, want exit status 0", err)
		}
	case <-time.After(timeout):
		t.Fatalf("supervisor still running %v after the stop signal", timeout)
	}
}

// processGone reports whether pid has exited (a zombie counts as exited:
// reaping an orphan is its new parent's business).
func processGone(pid int) bool {
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return true
	}
	// The state follows the parenthesised command name.
	fields := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+1:]))
	return len(fields) > 0 && (fields[0] == "Z" || fields[0] == "X")
}

// assertGone fails the test unless every pid has exited within timeout.
func assertGone(t *testing.T, pids []int, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for _, pid := range pids {
		for !processGone(pid) {
			if time.Now().After(deadline) {
				t.Fatalf("worker pid %d still running", pid)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
}
