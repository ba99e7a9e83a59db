package control

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gowsgi/gowsgi/prefork"
)

// fakeTarget records the commands it gets and answers them as a
// supervisor with two workers, pids 100 and 101, would.
type fakeTarget struct {
	mu    sync.Mutex
	calls []string
}

func (f *fakeTarget) record(call string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, call)
}

var started = time.Now().Add(-time.Minute)

func (f *fakeTarget) Status() (prefork.Status, error) {
	f.record("status")
	return prefork.Status{
		PID: 99, Started: started, WorkersWanted: 2,
		Workers: []prefork.WorkerStatus{
			{WorkerStats: prefork.WorkerStats{ID: 1, PID: 100, Requests: 7, RSS: 1 << 20}, Started: started, State: "idle"},
			{WorkerStats: prefork.WorkerStats{ID: 2, PID: 101, Requests: 3, Request: "GET /x", RequestStart: time.Now().Add(-2 * time.Second), RSS: 2 << 20},
				Started: started, State: "busy", InFlight: 2, Waiting: 1},
		},
		Listeners:     []prefork.ListenerStats{{Name: "127.0.0.1:8000", Known: true, Queued: 3, Limit: 128}, {Name: "unix:@x"}},
		Restarts:      []prefork.Restart{{Worker: 1, PID: 90, Cause: "crash", Status: "signal SIGKILL", Ended: started, Lived: 1500 * time.Millisecond}},
		RestartCounts: map[string]uint64{"crash": 1, "reload": 0},
	}, nil
}

func (f *fakeTarget) Reload() error     { f.record("reload"); return nil }
func (f *fakeTarget) Stop() error       { f.record("stop"); return nil }
func (f *fakeTarget) ReopenLogs() error { f.record("reopen"); return nil }
func (f *fakeTarget) SetWorkers(n int) (int, error) {
	f.record(fmt.Sprint("workers ", n))
	return 2, nil
}

func (f *fakeTarget) KillWorker(pid int) (int, error) {
	f.record(fmt.Sprint("kill ", pid))
	if pid != 100 && pid != 101 {
		return 0, fmt.Errorf("prefork: pid %d is not a worker of this server", pid)
	}
	return pid - 99, nil
}

func (f *fakeTarget) Dump(pid int) ([]byte, error) {
	f.record(fmt.Sprint("dump ", pid))
	return []byte("Thread 0x1 (most recent call first):\n  File \"app.py\", line 3 in hold\n"), nil
}

// listen serves a fakeTarget on a socket in a new directory.
func listen(t *testing.T) (*Server, *fakeTarget) {
	t.Helper()
	f := &fakeTarget{}
	s, err := Listen(filepath.Join(t.TempDir(), "c.ctl"), f, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, f
}

func TestCommands(t *testing.T) {
	s, f := listen(t)
	fi, err := os.Stat(s.Path())
	if err != nil || fi.Mode() != os.ModeSocket|0o600 {
		t.Fatalf("socket %s: %v, mode %v; want a socket of mode 0600", s.Path(), err, fi.Mode())
	}

	var st StatusResult
	if err := Call(s.Path(), Request{Command: CmdStatus}, &st, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	if st.PID != 99 || st.WorkersWanted != 2 || st.UptimeSeconds < 60 || len(st.Workers) != 2 || len(st.Listeners) != 2 || len(st.Restarts) != 1 {
		t.Fatalf("status = %+v", st)
	}
	if w := st.Workers[0]; w.PID != 100 || w.State != "idle" || w.Requests != 7 || w.RSSBytes != 1<<20 || w.Current != nil || w.AgeSeconds < 60 {
		t.Errorf("idle worker = %+v", w)
	}
	if w := st.Workers[1]; w.State != "busy" || w.Current == nil || w.Current.Request != "GET /x" || w.Current.RunningSeconds < 2 || w.InFlight != 2 || w.Waiting != 1 {
		t.Errorf("busy worker = %+v, current %+v", w, w.Current)
	}
	if l := st.Listeners[0]; l.Address != "127.0.0.1:8000" || l.Backlog == nil || *l.Backlog != 3 || *l.BacklogMax != 128 {
		t.Errorf("listener = %+v", l)
	}
	if l := st.Listeners[1]; l.Backlog != nil || l.BacklogMax != nil {
		t.Errorf("listener of unknown backlog = %+v, want nulls", l)
	}
	if r := st.Restarts[0]; r.PID != 90 || r.Cause != "crash" || r.Status != "signal SIGKILL" || r.LivedSeconds != 1.5 || !r.At.Equal(started.Round(0)) {
		t.Errorf("restart = %+v", r)
	}

	var wr WorkersResult
	if err := Call(s.Path(), Request{Command: CmdWorkers, N: 4}, &wr, 5*time.Second); err != nil || wr != (WorkersResult{Workers: 4, Was: 2}) {
		t.Errorf("workers 4: %+v, %v", wr, err)
	}
	var kr KillResult
	if err := Call(s.Path(), Request{Command: CmdKill, PID: 101}, &kr, 5*time.Second); err != nil || kr != (KillResult{PID: 101, Worker: 2}) {
		t.Errorf("kill 101: %+v, %v", kr, err)
	}
	var dr DumpResult
	if err := Call(s.Path(), Request{Command: CmdDump, PID: 100}, &dr, 5*time.Second); err != nil || dr.PID != 100 || !strings.Contains(dr.Tracebacks, "in hold") {
		t.Errorf("dump 100: %+v, %v", dr, err)
	}
	for _, c := range []string{CmdReload, CmdReopen, CmdStop} {
		if err := Call(s.Path(), Request{Command: c}, nil, 5*time.Second); err != nil {
			t.Errorf("%s: %v", c, err)
		}
	}
	want := []string{"status", "workers 4", "kill 101", "dump 100", "reload", "reopen", "stop"}
	if fmt.Sprint(f.calls) != fmt.Sprint(want) {
		t.Errorf("the target got %q, want %q", f.calls, want)
	}
}

func TestRefusals(t *testing.T) {
	s, f := listen(t)
	tests := []struct {
		req  Request
		want string
	}{
		{Request{Command: "frobnicate"}, `unknown command "frobnicate"`},
		{Request{Command: CmdWorkers}, "must be at least 1"},
		{Request{Command: CmdWorkers, N: -3}, "must be at least 1"},
		{Request{Command: CmdKill}, "not a process id"},
		{Request{Command: CmdKill, PID: 1}, "pid 1 is not a worker of this server"},
		{Request{Command: CmdDump, PID: -1}, "not a process id"},
	}
	for _, tt := range tests {
		err := Call(s.Path(), tt.req, nil, 5*time.Second)
		var se *ServerError
		if !errors.As(err, &se) || se.Message != strings.TrimPrefix(se.Message, "prefork: ") || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%+v: %v, want a server error saying %q", tt.req, err, tt.want)
		}
	}
	if len(f.calls) != 1 { // only the kill of a pid the target itself refuses reaches it
		t.Errorf("the target got %q", f.calls)
	}

	// What Call cannot send: another version, a malformed line, nothing.
	raw := []struct{ send, want string }{
		{`{"v":2,"cmd":"status"}` + "\n", "protocol version 2; this server speaks 1"},
		{`{"v":1,"cmd":"status","bogus":1}` + "\n", "malformed request"},
		{"status\n", "malformed request"},
		{"", "no request line"},
	}
	for _, r := range raw {
		c, err := net.Dial("unix", s.Path())
		if err != nil {
			t.Fatal(err)
		}
		io.WriteString(c, r.send)
		c.(*net.UnixConn).CloseWrite()
		c.SetDeadline(time.Now().Add(5 * time.Second))
		line, err := bufio.NewReader(c).ReadString('\n')
		c.Close()
		if err != nil || !strings.Contains(line, `"ok":false`) || !strings.Contains(line, r.want) || !strings.HasPrefix(line, `{"v":1,`) {
			t.Errorf("sending %q: reply %q, %v; want an error saying %q", r.send, line, err, r.want)
		}
	}
}

func TestConnectionErrors(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "missing.ctl")
	if err := Call(missing, Request{Command: CmdStatus}, nil, time.Second); err == nil || !strings.Contains(err.Error(), "no control socket at "+missing) {
		t.Errorf("no socket: %v", err)
	}
	stale := filepath.Join(dir, "stale.ctl")
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: stale, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	ln.SetUnlinkOnClose(false)
	ln.Close() // the file stays, as a killed server leaves it
	if err := Call(stale, Request{Command: CmdStatus}, nil, time.Second); err == nil || !strings.Contains(err.Error(), "no server listens at "+stale) {
		t.Errorf("stale socket: %v", err)
	}
	// Listen takes a stale socket's place, refuses a live one's, and
	// removes its file on Close.
	s, err := Listen(stale, &fakeTarget{}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatalf("Listen over a stale socket: %v", err)
	}
	if _, err := Listen(stale, &fakeTarget{}, slog.New(slog.DiscardHandler)); err == nil || !strings.Contains(err.Error(), "address in use") {
		t.Errorf("Listen over a live socket: %v", err)
	}
	if _, err := Listen("@gowsgi-ctl", &fakeTarget{}, slog.New(slog.DiscardHandler)); err == nil {
		t.Error("Listen on an abstract socket succeeded")
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(stale); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("socket file after Close: %v", err)
	}
}

func TestFindSocket(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("XDG_RUNTIME_DIR", dir)
	t.Chdir(t.TempDir())
	if _, err := FindSocket(); err == nil || !strings.Contains(err.Error(), "no control socket found") {
		t.Errorf("with none: %v", err)
	}
	if got := DefaultPath(os.Getpid()); got != filepath.Join(dir, fmt.Sprintf("gowsgi-%d.ctl", os.Getpid())) {
		t.Errorf("DefaultPath = %s", got)
	}
	s, err := Listen(DefaultPath(os.Getpid()), &fakeTarget{}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	// A socket named for a process that is gone is skipped.
	os.WriteFile(filepath.Join(dir, "gowsgi-999999999.ctl"), nil, 0o600)
	if got, err := FindSocket(); err != nil || got != s.Path() {
		t.Errorf("FindSocket = %q, %v; want %s", got, err, s.Path())
	}
	t.Setenv("XDG_RUNTIME_DIR", "")
	if got := DefaultPath(1); got != "gowsgi.ctl" {
		t.Errorf("DefaultPath without XDG_RUNTIME_DIR = %s", got)
	}
	local, err := Listen("gowsgi.ctl", &fakeTarget{}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer local.Close()
	if got, err := FindSocket(); err != nil || got != "gowsgi.ctl" {
		t.Errorf("FindSocket = %q, %v; want gowsgi.ctl", got, err)
	}
	t.Setenv("XDG_RUNTIME_DIR", dir)
	if _, err := FindSocket(); err == nil || !strings.Contains(err.Error(), "several") {
		t.Errorf("with two: %v", err)
	}
}
