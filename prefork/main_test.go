package prefork

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"slices"
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
	envTestListen    = "PREFORK_TEST_LISTEN"    // how the supervisor role takes its listener: "" (fd 3 as it is), "fd" (Listen("fd://3")) or "systemd"
	envTestBehaviour = "PREFORK_TEST_BEHAVIOUR" // a test worker's behaviour; see runTestWorker
	envTestBootFail  = "PREFORK_TEST_BOOTFAIL"  // a test worker fails to boot while this file exists; see runTestWorker
	envTestBootTime  = "PREFORK_TEST_BOOTTIME"  // Supervisor.BootTimeout in the supervisor role
	envTestBootDelay = "PREFORK_TEST_BOOTDELAY" // how long a test worker takes to boot
	envTestHeartbeat = "PREFORK_TEST_HEARTBEAT" // Supervisor.HeartbeatTimeout in the supervisor role
	envTestMaxMemory = "PREFORK_TEST_MAXMEM"    // Supervisor.MaxWorkerMemory in the supervisor role
	envTestPIDFile   = "PREFORK_TEST_PIDFILE"   // Supervisor.PIDFile in the supervisor role
	envTestWatch     = "PREFORK_TEST_WATCH"     // Supervisor.WatchPaths (one) in the supervisor role
	envTestMaxDelay  = "PREFORK_TEST_MAXDELAY"  // the longest crash-loop back-off in the supervisor role
	envTestHealthy   = "PREFORK_TEST_HEALTHY"   // a file: the test worker that creates it serves whatever its behaviour; see runTestWorker
	envTestReconfig  = "PREFORK_TEST_RECONFIG"  // a file Supervisor.Reconfigure reads in the supervisor role; see runTestSupervisor
	envTestPreload   = "PREFORK_TEST_PRELOAD"   // Supervisor.Preload in the supervisor role, if set
	envTestZygote    = "PREFORK_TEST_ZYGOTE"    // a test zygote's behaviour; see runTestZygote
)

func TestMain(m *testing.M) {
	switch {
	case IsWorker():
		os.Exit(runTestWorker())
	case IsZygote():
		os.Exit(runTestZygote())
	case os.Getenv(envTestRole) == "supervisor":
		os.Exit(runTestSupervisor())
	}
	os.Exit(m.Run())
}

// runTestWorker behaves as PREFORK_TEST_BEHAVIOUR says: "bootfail" exits
// with ExitBootFailed, "crash" exits 2, "hang" never reports ready,
// "ready-then-crash" exits 2 right after reporting ready; anything else
// serves HTTP until SIGTERM (graceful) or SIGINT/SIGQUIT (fast), and
// "block-thread" also keeps its only P's worth of Go busy elsewhere: with
// GOMAXPROCS 1, a goroutine locked to its thread sleeps in a long system
// call, as an executor in a long cgo call does. A serving worker logs a
// JSON line on SIGUSR1. Whatever the behaviour, a worker takes
// PREFORK_TEST_BOOTDELAY to boot, and fails to while the file
// PREFORK_TEST_BOOTFAIL names exists: as the file says, "crash" exits 2,
// "hang" never reports ready, anything else exits with ExitBootFailed.
// Whatever the behaviour, the one worker that creates the file
// PREFORK_TEST_HEALTHY names, if set, serves HTTP: one slot stays healthy
// while the others misbehave.
func runTestWorker() int {
	behaviour := os.Getenv(envTestBehaviour)
	if f := os.Getenv(envTestHealthy); f != "" {
		if claim, err := os.OpenFile(f, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600); err == nil {
			claim.Close()
			behaviour = ""
		}
	}
	if d, err := time.ParseDuration(os.Getenv(envTestBootDelay)); err == nil {
		time.Sleep(d)
	}
	if f := os.Getenv(envTestBootFail); f != "" {
		if how, err := os.ReadFile(f); err == nil {
			fmt.Fprintf(os.Stderr, "test worker: boot failure file says %q\n", how)
			switch string(how) {
			case "crash":
				return 2
			case "hang":
				time.Sleep(time.Hour)
			}
			return ExitBootFailed
		}
	}
	switch behaviour {
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
	reopen := make(chan os.Signal, 1)
	signal.Notify(reopen, syscall.SIGUSR1)
	go func() {
		for range reopen {
			fmt.Fprintf(os.Stderr, "{\"msg\":\"test worker got SIGUSR1\",\"pid\":%d}\n", os.Getpid())
		}
	}()
	// Connections are counted from accept to close, for a graceful stop
	// that answers every accepted connection: http.Server.Shutdown drops a
	// connection whose request arrives after it began.
	var conns sync.WaitGroup
	srv := &http.Server{Handler: testHandler(), ConnState: func(_ net.Conn, s http.ConnState) {
		switch s {
		case http.StateNew:
			conns.Add(1)
		case http.StateClosed, http.StateHijacked:
			conns.Done()
		}
	}}
	var serving sync.WaitGroup
	for _, ln := range listeners {
		serving.Go(func() { srv.Serve(ln) })
	}
	if err := HandleDumps(func(w io.Writer) error {
		_, err := fmt.Fprintf(w, "dump of worker %d pid %d\n", WorkerID(), os.Getpid())
		return err
	}); err != nil {
		fmt.Fprintln(os.Stderr, "test worker:", err)
		return 1
	}
	if err := NotifyReady(); err != nil {
		fmt.Fprintln(os.Stderr, "test worker:", err)
		return 1
	}
	if behaviour == "block-thread" {
		runtime.GOMAXPROCS(1)
		go func() {
			runtime.LockOSThread()
			ts := syscall.NsecToTimespec(int64(time.Hour))
			syscall.Nanosleep(&ts, nil)
		}()
	}
	if <-stop != syscall.SIGTERM {
		return 0
	}
	srv.SetKeepAlivesEnabled(false)
	for _, ln := range listeners {
		ln.Close()
	}
	serving.Wait() // every accepted connection is counted
	finished := make(chan struct{})
	go func() {
		conns.Wait()
		close(finished)
	}()
	select {
	case <-finished:
	case <-time.After(10 * time.Second):
		fmt.Fprintln(os.Stderr, "test worker: connections still open after 10s")
		return 1
	}
	return 0
}

// testHandler answers "/" with the worker's id and pid, "/age" with its
// pid, WorkerAge and WorkersWanted, "/slow" with
// headers at once and the body "slow done" after slowRequest, "/stuck" with
// headers and then nothing for an hour, "/env/NAME" with the value of the
// environment variable NAME, "/status/CODE" with status CODE,
// and "/exception" with 500 after RecordException, as an application's
// exception would; "/retire" calls Retire, and "/bloat" makes the worker's
// resident memory grow by bloatSize. "/executor/N" marks executor N busy
// with the request (ExecutorBusy), sends the headers, and, given
// ?hold=DURATION, marks it idle after that long and sends "done"; without
// it, it stays busy for an hour, as an executor stuck in C code.
// "/wait?d=DURATION" waits that long between BeginWait and EndWait, as a
// request waiting for a slot of the application does. It records every
// request on the scoreboard, and every response with RecordResponse. A
// worker answers a dump request with "dump of worker ID pid PID".
func testHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/stuck", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusOK)
		w.(http.Flusher).Flush()
		time.Sleep(time.Hour)
	})
	mux.HandleFunc("/executor/{n}", func(w http.ResponseWriter, r *http.Request) {
		n, _ := strconv.Atoi(r.PathValue("n"))
		ExecutorBusy(n, time.Now(), []byte(r.Method), []byte(r.URL.Path))
		w.WriteHeader(http.StatusOK)
		w.(http.Flusher).Flush()
		hold, err := time.ParseDuration(r.URL.Query().Get("hold"))
		if err != nil {
			hold = time.Hour
		}
		time.Sleep(hold) // the scenario: a request that runs this long (default: stuck)
		ExecutorIdle(n)
		io.WriteString(w, "done")
	})
	mux.HandleFunc("/retire", func(w http.ResponseWriter, r *http.Request) {
		if err := Retire(); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
		}
	})
	mux.HandleFunc("/bloat", func(w http.ResponseWriter, r *http.Request) {
		bloat = make([]byte, bloatSize)
		for i := 0; i < len(bloat); i += 4096 { // a byte a page makes it resident
			bloat[i] = 1
		}
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "worker %d pid %d\n", WorkerID(), os.Getpid())
	})
	mux.HandleFunc("/age", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "pid %d age %d wanted %d\n", os.Getpid(), WorkerAge(), WorkersWanted())
	})
	mux.HandleFunc("/slow", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusOK)
		w.(http.Flusher).Flush()
		time.Sleep(slowRequest)
		io.WriteString(w, "slow done")
	})
	mux.HandleFunc("/env/{name}", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, os.Getenv(r.PathValue("name")))
	})
	mux.HandleFunc("/status/{code}", func(w http.ResponseWriter, r *http.Request) {
		code, _ := strconv.Atoi(r.PathValue("code"))
		w.WriteHeader(code)
	})
	mux.HandleFunc("/wait", func(w http.ResponseWriter, r *http.Request) {
		d, _ := time.ParseDuration(r.URL.Query().Get("d"))
		BeginWait()
		time.Sleep(d) // the scenario: every slot is busy this long
		EndWait(d)
	})
	mux.HandleFunc("/exception", func(w http.ResponseWriter, r *http.Request) {
		RecordException()
		http.Error(w, "Internal Server Error", http.StatusInternalServerError)
	})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		BeginRequest([]byte(r.Method), []byte(r.RequestURI))
		defer EndRequest()
		start := time.Now()
		sr := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		mux.ServeHTTP(sr, r)
		RecordResponse(sr.status, time.Since(start))
	})
}

// statusRecorder remembers the status a handler sends.
type statusRecorder struct {
	http.ResponseWriter
	status      int
	wroteHeader bool
}

func (sr *statusRecorder) WriteHeader(code int) {
	if !sr.wroteHeader {
		sr.status, sr.wroteHeader = code, true
	}
	sr.ResponseWriter.WriteHeader(code)
}

func (sr *statusRecorder) Flush() {
	sr.ResponseWriter.(http.Flusher).Flush()
}

// bloat holds the memory "/bloat" allocates.
var bloat []byte

// bloatSize is how much "/bloat" allocates.
const bloatSize = 128 << 20

// slowRequest is how long "/slow" takes.
const slowRequest = 1500 * time.Millisecond

// runTestSupervisor supervises PREFORK_TEST_WORKERS workers on the listener
// inherited as fd 3, logging JSON to stderr.
//
// The other PREFORK_TEST_ variables set the Supervisor fields they name.
// With PREFORK_TEST_RECONFIG, Reconfigure reads that file at each reload:
// "N KEY=VALUE" asks for N workers with KEY=VALUE in their environment;
// anything else fails the reload.
func runTestSupervisor() int {
	n, _ := strconv.Atoi(os.Getenv(envTestWorkers))
	heartbeat, _ := time.ParseDuration(os.Getenv(envTestHeartbeat))
	bootTimeout, _ := time.ParseDuration(os.Getenv(envTestBootTime))
	maxMemory, _ := strconv.ParseInt(os.Getenv(envTestMaxMemory), 10, 64)
	maxDelay, _ := time.ParseDuration(os.Getenv(envTestMaxDelay))
	log := slog.New(slog.NewJSONHandler(os.Stderr, nil))
	ln, err := testListener()
	if err != nil {
		fmt.Fprintln(os.Stderr, "test supervisor:", err)
		return 1
	}
	s := &Supervisor{
		Workers:          n,
		Listeners:        []*os.File{ln},
		GracefulTimeout:  10 * time.Second,
		HeartbeatTimeout: heartbeat,
		BootTimeout:      bootTimeout,
		MaxWorkerMemory:  maxMemory,
		PIDFile:          os.Getenv(envTestPIDFile),
		OnReopenLogs:     func() { log.Info("reopening logs") },
		Log:              log,
		Hooks:            logHooks{log},
		maxRestartDelay:  maxDelay,
		Preload:          os.Getenv(envTestPreload) != "",
	}
	if dir := os.Getenv(envTestWatch); dir != "" {
		s.WatchPaths, s.WatchInterval = []string{dir}, 100*time.Millisecond
	}
	if f := os.Getenv(envTestReconfig); f != "" {
		s.Reconfigure = func() (Reload, error) {
			b, err := os.ReadFile(f)
			if err != nil {
				return Reload{}, err
			}
			workers, env, _ := strings.Cut(strings.TrimSpace(string(b)), " ")
			n, err := strconv.Atoi(workers)
			if err != nil || !strings.Contains(env, "=") {
				return Reload{}, fmt.Errorf("the reconfiguration file says %q", b)
			}
			return Reload{Env: []string{env}, Workers: n, GracefulTimeout: s.GracefulTimeout}, nil
		}
	}
	if err := s.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "test supervisor:", err)
		return 1
	}
	return 0
}

// testListener takes the listener the supervisor role inherited as fd 3,
// as PREFORK_TEST_LISTEN says.
func testListener() (*os.File, error) {
	switch os.Getenv(envTestListen) {
	case "fd":
		return Listen("fd://3")
	case "systemd":
		files, err := SystemdListeners()
		if err != nil {
			return nil, err
		}
		if len(files) != 1 {
			return nil, fmt.Errorf("SystemdListeners returned %d files, want 1", len(files))
		}
		return files[0], nil
	}
	return os.NewFile(3, os.Getenv(envTestListener)), nil
}

// logRecord is the part of a supervisor's JSON log line the tests look at.
type logRecord struct {
	Msg         string `json:"msg"`
	Worker      int    `json:"worker"`
	PID         int    `json:"pid"`
	Status      string `json:"status"`
	Reason      string `json:"reason"`
	Request     string `json:"request"`
	RequestAge  string `json:"request_age"`
	KilledFor   string `json:"killed_for"`
	ReplacesPID int    `json:"replaces_pid"`
	RSS         int64  `json:"rss"`
	Path        string `json:"path"`
	Signal      string `json:"signal"`
	Zygote      int    `json:"zygote"`
	Lived       string `json:"lived"`
	Delay       string `json:"delay"`
	ExitsInARow int    `json:"exits_in_a_row"`
	New         int    `json:"new"`
	Old         int    `json:"old"`
	Age         int    `json:"age"`
	Requests    uint64 `json:"requests"`
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

// await returns the next record with message msg (any, if msg is empty)
// that match accepts, failing the test if none comes within timeout.
// Records passed over are dropped.
func (lt *logTail) await(t *testing.T, msg string, match func(logRecord) bool, timeout time.Duration) logRecord {
	t.Helper()
	deadline := time.After(timeout)
	for {
		select {
		case rec := <-lt.records:
			if (msg == "" || rec.Msg == msg) && (match == nil || match(rec)) {
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
	args := []string{exe, "-test.run=^$"}
	if slices.Contains(env, envTestListen+"=systemd") {
		// systemd sets LISTEN_PID to the activated process's id: the
		// shell sets its own and runs the supervisor in its place.
		args = append([]string{"/bin/sh", "-c", `LISTEN_PID=$$ exec "$0" "$@"`}, args...)
	}
	cmd := exec.Command(args[0], args[1:]...)
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
