package main

// Signals in a worker: the app cannot take the server's, Go's faults stay
// Go's while C crashes still dump Python tracebacks, and SIGPIPE/SIGXFSZ
// turn into errors rather than deaths.

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestAppCannotTakeServerSignals: an app that installs handlers for the
// server's signals at import, from Python or through libc, or through libc
// in a request, still stops
// gracefully on TERM: the request in flight completes, atexit handlers run,
// and the log names each signal the app tried to take.
func TestAppCannotTakeServerSignals(t *testing.T) {
	tests := []struct {
		take    string
		preload bool
		want    []string // in the log
	}{
		{"python", false, []string{"signal=SIGTERM", "signal=SIGINT", "signal=SIGHUP", "sig_take.py:", "level=WARN"}},
		{"libc", false, []string{"signal=SIGTERM", "C code (sigaction) while the app loaded", "level=WARN"}},
		{"later", false, []string{"signal=SIGTERM", "C code (sigaction) while serving", "level=WARN"}},
		// With --preload the zygote refuses what Python asks at import;
		// what C code installed there is gone in the workers, which start
		// with the zygote's start-up dispositions: nothing to report.
		{"python", true, []string{"signal=SIGTERM", "signal=SIGINT", "signal=SIGHUP", "sig_take.py:", "level=WARN", "zygote="}},
		{"libc", true, nil},
		{"later", true, []string{"signal=SIGTERM", "C code (sigaction) while serving", "level=WARN"}},
	}
	for _, tt := range tests {
		name := tt.take
		flags := []string{"--env", "SIG_DIR=", "--env", "SIG_TAKE=" + tt.take}
		if tt.preload {
			name += "/preload"
			flags = append(flags, "--preload")
		}
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			flags[1] += dir
			s := startServer(t, "sig_take:app", flags...)
			_, pid := s.get(t, "/")
			if tt.take == "later" {
				s.get(t, "/take")
				eventually(t, 5*time.Second, "the worker takes SIGTERM back", func() bool {
					return strings.Contains(s.serverLog(), "while serving")
				})
			}
			c := s.dial(t)
			c.send(t, "GET /slow HTTP/1.1\r\nHost: t\r\n\r\n")
			eventually(t, 10*time.Second, "the request is in the app", func() bool {
				_, err := os.Stat(filepath.Join(dir, "started"))
				return err == nil
			})
			s.cmd.Process.Signal(syscall.SIGTERM)
			eventually(t, 5*time.Second, "the worker stops gracefully on TERM", func() bool {
				return strings.Contains(s.serverLog(), "stopping gracefully")
			})
			if err := os.WriteFile(filepath.Join(dir, "release"), nil, 0o644); err != nil {
				t.Fatal(err)
			}
			if resp, body := c.response(t, "GET"); resp.StatusCode != 200 || body != "finished" {
				t.Errorf("in-flight request: %d %q", resp.StatusCode, body)
			}
			if code := s.wait(t, 5*time.Second); code != 0 {
				t.Errorf("exit status %d after TERM", code)
			}
			if b, err := os.ReadFile(filepath.Join(dir, "atexit")); err != nil || string(b) != pid {
				t.Errorf("atexit marker %q (%v), want the worker's pid %s", b, err, pid)
			}
			log := s.serverLog()
			for _, want := range tt.want {
				if !strings.Contains(log, want) {
					t.Errorf("log lacks %q:\n%s", want, log)
				}
			}
			if len(tt.want) == 0 && strings.Contains(log, "tried to take a signal") {
				t.Errorf("log reports an attempt:\n%s", log)
			}
		})
	}
}

// TestGoFaultRecoversInWorker: a nil dereference in Go code in a worker is
// a panic that net/http's recover catches; faulthandler does not turn it
// into a fatal error, and the same worker serves on.
func TestGoFaultRecoversInWorker(t *testing.T) { inBothModes(t, testGoFaultRecoversInWorker) }

func testGoFaultRecoversInWorker(t *testing.T, mode []string) {
	debug := freePort(t)
	s := startServer(t, "sig_fault:app", append(mode, "--env", debugAddrEnv+"="+debug)...)
	_, before := s.get(t, "/")
	var resp *http.Response
	var err error
	eventually(t, 5*time.Second, "the debug listener answers", func() bool {
		resp, err = client.Get("http://" + debug + "/debug/nil-dereference")
		return err == nil || !strings.Contains(err.Error(), "connection refused")
	})
	if err == nil {
		resp.Body.Close()
		t.Errorf("the nil dereference was answered %d, want a broken connection", resp.StatusCode)
	}
	if _, after := s.get(t, "/"); after != before {
		t.Errorf("worker %s replaced by %s: the Go fault killed it", before, after)
	}
	log := s.serverLog()
	if !strings.Contains(log, "nil pointer dereference") {
		t.Errorf("log lacks the recovered panic:\n%s", log)
	}
	if strings.Contains(log, "Fatal Python error") {
		t.Errorf("faulthandler took the Go fault:\n%s", log)
	}
}

// TestCrashInPythonDumpsTraceback: a segfault in C code called from Python,
// in the request's thread or in a thread the app started, dumps the Python
// traceback naming the app's function, and the worker is replaced.
func TestCrashInPythonDumpsTraceback(t *testing.T) { inBothModes(t, testCrashInPythonDumpsTraceback) }

func testCrashInPythonDumpsTraceback(t *testing.T, mode []string) {
	for _, where := range []string{"request", "thread"} {
		t.Run(where, func(t *testing.T) {
			s := startServer(t, "sig_fault:app", mode...)
			_, before := s.get(t, "/")
			c := s.dial(t)
			c.send(t, "GET /"+where+" HTTP/1.1\r\nHost: t\r\n\r\n")
			if _, err := http.ReadResponse(c.r, nil); err == nil {
				t.Errorf("got a response from a request that crashed its worker")
			}
			eventually(t, 10*time.Second, "a new worker serves", func() bool {
				resp, err := client.Get("http://" + s.addr + "/")
				if err != nil {
					return false
				}
				resp.Body.Close()
				return resp.StatusCode == 200
			})
			if _, after := s.get(t, "/"); after == before {
				t.Errorf("worker %s still serving after the crash", before)
			}
			log := s.serverLog()
			for _, want := range []string{"Fatal Python error: Segmentation fault", "sig_fault.py", " in crash_in_" + where, "worker exited"} {
				if !strings.Contains(log, want) {
					t.Errorf("log lacks %q:\n%s", want, log)
				}
			}
		})
	}
}

// TestFailedWritesRaiseInTheApp: a send on a socket whose peer has closed
// and a write past RLIMIT_FSIZE raise in the app, from the request's thread
// and from the app's own, as under python3; the worker lives on. SIGPIPE is
// ignored in the worker and back to its default in a subprocess.
func TestFailedWritesRaiseInTheApp(t *testing.T) { inBothModes(t, testFailedWritesRaiseInTheApp) }

func testFailedWritesRaiseInTheApp(t *testing.T, mode []string) {
	s := startServer(t, "sig_write:app", mode...)
	_, pid := s.get(t, "/")
	tests := []struct{ path, want string }{
		{"/pipe", "BrokenPipeError EPIPE"},
		{"/pipe?thread", "BrokenPipeError EPIPE"},
		{"/fsize", "OSError EFBIG"},
		{"/fsize?thread", "OSError EFBIG"},
		{"/sigpipe", "SIG_IGN SIG_IGN, child ignores neither"},
	}
	for _, tt := range tests {
		c := s.dial(t)
		c.send(t, "GET "+tt.path+" HTTP/1.1\r\nHost: t\r\n\r\n")
		resp, body := c.response(t, "GET")
		if resp.StatusCode != 200 || body != tt.want {
			t.Errorf("GET %s: %d %q, want %q", tt.path, resp.StatusCode, body, tt.want)
		}
	}
	if _, after := s.get(t, "/"); after != pid {
		t.Errorf("worker %s replaced by %s", pid, after)
	}
}
