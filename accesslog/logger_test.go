package accesslog

import (
	"bytes"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gowsgi/gowsgi/internal/race"
	"github.com/gowsgi/gowsgi/internal/syncbuf"
)

// waitFor polls cond until it holds, failing the test after 20 seconds (the
// writer goroutine may wait long for a CPU on a busy machine).
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	// polling cond, bounded by the deadline
	for deadline := time.Now().Add(20 * time.Second); !cond(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// readFile returns the content of path, failing the test on error.
func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestLogToFile(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		want string
	}{
		{"default format", Config{},
			`192.0.2.7 - alice [10/Oct/2000:13:55:36 -0700] "GET /a/b?x=1&y=2 HTTP/1.1" 200 1234 "https://example.com/" "curl/8.0"` + "\n"},
		{"format", Config{Format: "%(s)s %(M)sms %({x-request-id}o)s"}, "200 1234ms abc123\n"},
		{"json", Config{JSON: true, Format: "ignored %(h)s"},
			`{"time":"2000-10-10T13:55:36.123-07:00","remote_addr":"192.0.2.7","method":"GET","path":"/a/b",` +
				`"query":"x=1&y=2","protocol":"HTTP/1.1","status":200,"bytes":1234,"duration_ms":1234.567,` +
				`"referer":"https://example.com/","user_agent":"curl/8.0","pid":` + strconv.Itoa(os.Getpid()) + "}\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "access.log")
			if err := os.WriteFile(path, []byte("old line\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			cfg := tt.cfg
			cfg.Path = path
			l, err := New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			e := testEntry()
			l.Log(e)
			l.Log(e)
			if err := l.Close(); err != nil {
				t.Fatal(err)
			}
			if got, want := readFile(t, path), "old line\n"+tt.want+tt.want; got != want {
				t.Errorf("file holds\n%s\nwant (appended)\n%s", got, want)
			}
			l.Log(e) // after Close: ignored, no panic
			if err := l.Close(); err != nil {
				t.Errorf("second Close: %v", err)
			}
		})
	}
}

func TestNewCreatesFileMode0644(t *testing.T) {
	path := filepath.Join(t.TempDir(), "access.log")
	l, err := New(Config{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if want := os.FileMode(0o644) &^ umask(); fi.Mode().Perm() != want {
		t.Errorf("mode %v, want %v", fi.Mode().Perm(), want)
	}
}

// umask returns the process umask (and leaves it unchanged).
func umask() os.FileMode {
	m := syscall.Umask(0)
	syscall.Umask(m)
	return os.FileMode(m)
}

func TestNewErrors(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name string
		cfg  Config
		want string
	}{
		{"bad format", Config{Path: filepath.Join(dir, "a.log"), Format: "%(h)"}, "access log format"},
		{"unopenable path", Config{Path: filepath.Join(dir, "missing", "a.log")}, "no such file"},
	}
	for _, tt := range tests {
		l, err := New(tt.cfg)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: New = %v, %v; want an error containing %q", tt.name, l, err, tt.want)
		}
	}
}

func TestNilLogger(t *testing.T) {
	l, err := New(Config{})
	if l != nil || err != nil {
		t.Fatalf("New without a path = %v, %v; want nil, nil", l, err)
	}
	l.Log(testEntry())
	if l.Dropped() != 0 || l.Reopen() != nil || l.Close() != nil {
		t.Error("a nil Logger must do nothing")
	}
}

// TestFullQueueDropsWithoutBlocking stalls the writer on a pipe nobody reads:
// Log must keep returning, count what it drops, and have the drops reported
// while the writer is still stuck. Once the pipe is drained every entry is
// either in it or counted as dropped.
func TestFullQueueDropsWithoutBlocking(t *testing.T) {
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer pr.Close()
	errorLog := &syncbuf.Buffer{}
	l, err := New(Config{
		Path:        "/dev/fd/" + strconv.Itoa(int(pw.Fd())),
		Format:      "%(r)s %(s)s",
		QueueSize:   16,
		ErrorLog:    slog.New(slog.NewTextHandler(errorLog, nil)),
		ReportEvery: 20 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	pw.Close() // the Logger has its own descriptor of the pipe

	const n = 100_000 // ~2.5 MB of lines against a 64 KiB pipe and a 64 KiB buffer
	done := make(chan struct{})
	go func() {
		e := testEntry()
		for range n {
			l.Log(e)
		}
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		t.Fatal("Log blocked on a stalled writer")
	}
	if l.Dropped() == 0 {
		t.Fatal("nothing dropped although the writer is stalled")
	}
	waitFor(t, "a drop report", func() bool { return strings.Contains(errorLog.String(), "access log: dropped ") })

	read := make(chan int)
	go func() {
		b, _ := io.ReadAll(pr)
		read <- bytes.Count(b, []byte("\n"))
	}()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	lines := <-read
	if got := uint64(lines) + l.Dropped(); got != n {
		t.Errorf("%d lines written + %d dropped = %d, want %d", lines, l.Dropped(), got, n)
	}
	var reported uint64
	for _, m := range regexp.MustCompile(`access log: dropped (\d+) records`).FindAllStringSubmatch(errorLog.String(), -1) {
		k, _ := strconv.ParseUint(m[1], 10, 64)
		reported += k
	}
	if reported != l.Dropped() {
		t.Errorf("reported %d drops, counted %d:\n%s", reported, l.Dropped(), errorLog.String())
	}
}

// TestReopenAfterRename rotates the log the way logrotate does: rename, then
// USR1 (Reopen). Lines before go to the renamed file, lines after to a new
// file at the path.
func TestReopenAfterRename(t *testing.T) {
	path := filepath.Join(t.TempDir(), "access.log")
	l, err := New(Config{Path: path, Format: "%(U)s"})
	if err != nil {
		t.Fatal(err)
	}
	e := testEntry()
	e.Path = []byte("/before")
	l.Log(e)
	waitFor(t, "the first line", func() bool { return readFile(t, path) == "/before\n" })
	if err := os.Rename(path, path+".1"); err != nil {
		t.Fatal(err)
	}
	if err := l.Reopen(); err != nil {
		t.Fatal(err)
	}
	e.Path = []byte("/after")
	l.Log(e)
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if got := readFile(t, path+".1"); got != "/before\n" {
		t.Errorf("rotated file holds %q", got)
	}
	if got := readFile(t, path); got != "/after\n" {
		t.Errorf("new file holds %q", got)
	}
}

// TestFlushWhenIdle checks that a line reaches the file without Close: the
// writer flushes it flushAfter after it is logged.
func TestFlushWhenIdle(t *testing.T) {
	path := filepath.Join(t.TempDir(), "access.log")
	l, err := New(Config{Path: path, Format: "%(s)s"})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	l.Log(testEntry())
	waitFor(t, "the line to be flushed", func() bool { return readFile(t, path) == "200\n" })
}

// TestLogAllocatesNothing counts every allocation in the process while Log
// runs and the writer goroutine formats and writes the line: each run waits
// for the writer to take its record, so the writer's work is counted too.
func TestLogAllocatesNothing(t *testing.T) {
	if race.Enabled {
		t.Skip("the race detector changes allocation counts")
	}
	for _, cfg := range []Config{
		{Format: DefaultFormat + ` %(L)s %({x-forwarded-for}i)s %({x-request-id}o)s`},
		{JSON: true},
	} {
		cfg.Path = filepath.Join(t.TempDir(), "access.log")
		l, err := New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		e := testEntry()
		logAndWait := func() {
			l.Log(e)
			for len(l.free) < cap(l.free) {
				runtime.Gosched()
			}
		}
		for range 1000 {
			logAndWait()
		}
		if n := testing.AllocsPerRun(1000, logAndWait); n != 0 {
			t.Errorf("JSON %v: %v allocations per Log, want 0", cfg.JSON, n)
		}
		if l.Dropped() != 0 {
			t.Errorf("JSON %v: %d entries dropped, so not all were written", cfg.JSON, l.Dropped())
		}
		if err := l.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

// BenchmarkLog measures Log with the writer formatting and appending to a
// file meanwhile. "sustained" waits for a free record before each Log, so
// nothing is dropped and ns/op is the pipeline's throughput per line;
// "overload" calls Log from every core as fast as it can, so most entries
// are dropped (drops/op) and ns/op is what a request pays when the log
// cannot keep up.
func BenchmarkLog(b *testing.B) {
	for _, format := range []struct {
		name string
		cfg  Config
	}{
		{"text", Config{}},
		{"json", Config{JSON: true}},
	} {
		for _, load := range []string{"sustained", "overload"} {
			b.Run(format.name+"/"+load, func(b *testing.B) {
				cfg := format.cfg
				cfg.Path = filepath.Join(b.TempDir(), "access.log")
				cfg.ErrorLog = slog.New(slog.DiscardHandler)
				l, err := New(cfg)
				if err != nil {
					b.Fatal(err)
				}
				b.ReportAllocs()
				if load == "sustained" {
					e := testEntry()
					for b.Loop() {
						for len(l.free) == 0 {
							runtime.Gosched()
						}
						l.Log(e)
					}
				} else {
					b.RunParallel(func(pb *testing.PB) {
						e := testEntry()
						for pb.Next() {
							l.Log(e)
						}
					})
				}
				b.StopTimer()
				if err := l.Close(); err != nil {
					b.Fatal(err)
				}
				b.ReportMetric(float64(l.Dropped())/float64(b.N), "drops/op")
			})
		}
	}
}

// BenchmarkRender measures the writer's side: one line from a record.
func BenchmarkRender(b *testing.B) {
	e := testEntry()
	ops, p, err := compile(DefaultFormat)
	if err != nil {
		b.Fatal(err)
	}
	text := &textRenderer{ops: ops}
	rt := newRecord(p.slots())
	jp := jsonPlan()
	rj := newRecord(jp.slots())
	line := make([]byte, 0, 1024)
	b.Run("fill", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			rt.fill(e, &p)
		}
	})
	b.Run("text", func(b *testing.B) {
		rt.fill(e, &p)
		b.ReportAllocs()
		for b.Loop() {
			line = text.appendLine(line[:0], rt)
		}
	})
	b.Run("json", func(b *testing.B) {
		rj.fill(e, &jp)
		b.ReportAllocs()
		for b.Loop() {
			line = appendJSONLine(line[:0], rj, 1234)
		}
	})
}
