package prefork

import (
	"encoding/binary"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// runTestZygote is the test binary as a zygote (Supervisor.Preload): it
// speaks the supervisor's protocol (zygote.go) without Python, and starts
// each worker it is asked for as the supervisor's own child (CLONE_PARENT:
// Go cannot fork, and the test needs no shared memory) with the
// descriptors and environment the request carries. PREFORK_TEST_ZYGOTE
// says how it behaves: "bootfail" exits with ExitBootFailed before it is
// ready, "hang" never says it is ready, "refuse" answers every fork with a
// reason; anything else forks.
func runTestZygote() int {
	fd, err := strconv.Atoi(os.Getenv(envZygoteFD))
	if err != nil {
		fmt.Fprintln(os.Stderr, "test zygote:", err)
		return 1
	}
	c, err := net.FileConn(os.NewFile(uintptr(fd), "zygote socket"))
	if err != nil {
		fmt.Fprintln(os.Stderr, "test zygote:", err)
		return 1
	}
	conn := c.(*net.UnixConn)
	behaviour := os.Getenv(envTestZygote)
	switch behaviour {
	case "bootfail":
		fmt.Fprintln(os.Stderr, "test zygote: cannot load the application")
		return ExitBootFailed
	case "hang":
		// the behaviour under test: a zygote that never says it is
		// ready, until the supervisor kills it at the boot timeout
		time.Sleep(time.Hour)
		return 1
	}
	if _, err := conn.Write([]byte{'R'}); err != nil {
		return 1
	}
	buf, oob := make([]byte, 1<<20), make([]byte, 256)
	for {
		n, oobn, _, _, err := conn.ReadMsgUnix(buf, oob)
		if err != nil || n == 0 {
			return 0 // the supervisor closed its end
		}
		reply := forkTestWorker(buf[:n], oob[:oobn])
		if behaviour == "refuse" {
			reply = []byte("Ethe test zygote refuses")
		}
		if _, err := conn.Write(reply); err != nil {
			return 0
		}
	}
}

// forkTestWorker starts the worker a fork request asks for, and returns
// the answer.
func forkTestWorker(msg, oob []byte) []byte {
	scms, err := syscall.ParseSocketControlMessage(oob)
	if err != nil || len(scms) != 1 || len(msg) < 5 || msg[0] != 'F' {
		return []byte("Emalformed request")
	}
	fds, err := syscall.ParseUnixRights(&scms[0])
	if err != nil {
		return []byte("E" + err.Error())
	}
	defer func() {
		for _, fd := range fds {
			syscall.Close(fd)
		}
	}()
	count := int(binary.NativeEndian.Uint32(msg[1:5]))
	if count != len(fds) || len(msg) < 5+4*count {
		return []byte("Emalformed request")
	}
	var targets []int
	for i := range count {
		targets = append(targets, int(int32(binary.NativeEndian.Uint32(msg[5+4*i:]))))
	}
	env := strings.Split(strings.TrimSuffix(string(msg[5+4*count:]), "\x00"), "\x00")
	// Below the targets the child inherits what this process has (stdio,
	// the listeners); the targets get the descriptors sent.
	files := make([]uintptr, targets[len(targets)-1]+1)
	for i := range files {
		files[i] = uintptr(i)
	}
	for i, t := range targets {
		files[t] = uintptr(fds[i])
	}
	pid, err := syscall.ForkExec("/proc/self/exe", os.Args, &syscall.ProcAttr{
		Env: env, Files: files, Sys: &syscall.SysProcAttr{Cloneflags: syscall.CLONE_PARENT},
	})
	if err != nil {
		return []byte("E" + err.Error())
	}
	return binary.NativeEndian.AppendUint32([]byte{'P'}, uint32(pid))
}

// TestZygoteForksWorkersAndIsReplacedByReload: with Preload the workers
// come from the zygote as the supervisor's children and serve; a reload
// starts a new zygote whose workers replace the old ones, and the old
// zygote exits when its socket closes; TERM stops it all.
func TestZygoteForksWorkersAndIsReplacedByReload(t *testing.T) {
	ln, err := Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	url := "http://" + ln.Name() + "/"
	p := startSupervisor(t, ln, 2, false, envTestPreload+"=1")
	first := p.log.await(t, "zygote ready: the application is loaded", nil, 15*time.Second)
	for _, w := range p.awaitReady(t, 2) {
		if ppid := parentOf(t, w.PID); ppid != p.cmd.Process.Pid {
			t.Errorf("worker %d: parent %d, want the supervisor %d", w.PID, ppid, p.cmd.Process.Pid)
		}
	}
	c := httpClient(nil)
	get(t, c, url)

	p.cmd.Process.Signal(syscall.SIGHUP)
	second := p.log.await(t, "zygote ready: the application is loaded", nil, 15*time.Second)
	if second.PID == first.PID {
		t.Fatalf("the reload's zygote is the first one, %d", first.PID)
	}
	p.log.await(t, "reload complete", nil, 15*time.Second)
	exited := p.log.await(t, "zygote exited", func(r logRecord) bool { return r.PID == first.PID }, 15*time.Second)
	if exited.Status != "exit status 0" {
		t.Errorf("the old zygote ended %q, want exit status 0 (its socket closed)", exited.Status)
	}
	get(t, c, url)

	p.cmd.Process.Signal(syscall.SIGTERM)
	p.awaitExit(t, 10*time.Second)
	assertGone(t, append(p.log.pids(), second.PID), 2*time.Second)
}

// TestZygoteFailures: a zygote that cannot load the application stops Run
// as a worker that cannot would; one that never says it loaded is killed
// at the boot timeout; one that refuses to fork fails its workers' boots;
// Run gives up on the last two after maxBootFailures workers.
func TestZygoteFailures(t *testing.T) {
	tests := []struct {
		behaviour string
		log       string // a log message the failure writes
	}{
		{"bootfail", "zygote exited before it loaded the application"},
		{"hang", "zygote did not load the application in time; killing it"},
		{"refuse", "cannot fork a worker from the zygote"},
	}
	for _, tt := range tests {
		t.Run(tt.behaviour, func(t *testing.T) {
			ln, err := Listen("127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			p := startSupervisor(t, ln, 1, false, envTestPreload+"=1", envTestZygote+"="+tt.behaviour,
				envTestBootTime+"=500ms", envTestMaxDelay+"=200ms")
			p.log.await(t, tt.log, nil, 15*time.Second)
			select {
			case err := <-p.exit:
				if err == nil {
					t.Errorf("supervisor exited 0, want an error")
				}
			case <-time.After(30 * time.Second):
				t.Fatalf("supervisor still running 30 s after the zygote's failure")
			}
			if n := p.log.count("worker ready"); n != 0 {
				t.Errorf("%d workers ready", n)
			}
		})
	}
}

// parentOf reads a process's parent pid from /proc.
func parentOf(t *testing.T, pid int) int {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		t.Fatal(err)
	}
	fields := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:]))
	ppid, _ := strconv.Atoi(fields[1])
	return ppid
}
