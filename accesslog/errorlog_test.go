package accesslog

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
)

// logAtEveryLevel writes one record per gunicorn level, its message the
// level's name.
func logAtEveryLevel(t *testing.T, path, level string, json bool) string {
	t.Helper()
	lg, f, err := NewErrorLogger(path, level, json)
	if err != nil {
		t.Fatal(err)
	}
	lg.Debug("debug")
	lg.Info("info", "worker", 3)
	lg.Warn("warning")
	lg.Error("error")
	lg.Log(context.Background(), LevelCritical, "critical")
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return readFile(t, path)
}

func TestErrorLoggerLevels(t *testing.T) {
	tests := []struct {
		level string
		want  []string // messages written
	}{
		{"debug", []string{"debug", "info", "warning", "error", "critical"}},
		{"info", []string{"info", "warning", "error", "critical"}},
		{"warning", []string{"warning", "error", "critical"}},
		{"WARNING", []string{"warning", "error", "critical"}},
		{"error", []string{"error", "critical"}},
		{"critical", []string{"critical"}},
	}
	line := regexp.MustCompile(`^time=\S+ level=(\S+) msg=(\S+)`)
	for _, tt := range tests {
		t.Run(tt.level, func(t *testing.T) {
			out := logAtEveryLevel(t, filepath.Join(t.TempDir(), "error.log"), tt.level, false)
			var got []string
			for _, l := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
				m := line.FindStringSubmatch(l)
				if m == nil {
					t.Fatalf("not a text record: %q", l)
				}
				if want := map[string]string{"warning": "WARN", "critical": "CRITICAL"}[m[2]]; want != "" && m[1] != want {
					t.Errorf("%q logged at level=%s, want %s", m[2], m[1], want)
				}
				got = append(got, m[2])
			}
			if strings.Join(got, " ") != strings.Join(tt.want, " ") {
				t.Errorf("level %s wrote %v, want %v", tt.level, got, tt.want)
			}
			if tt.level == "info" && !strings.Contains(out, "level=INFO msg=info worker=3\n") {
				t.Errorf("text record lost its attributes:\n%s", out)
			}
		})
	}
}

func TestErrorLoggerJSON(t *testing.T) {
	out := logAtEveryLevel(t, filepath.Join(t.TempDir(), "error.log"), "info", true)
	var levels []string
	for _, l := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
		var rec struct {
			Time, Level, Msg string
			Worker           *int
		}
		if err := json.Unmarshal([]byte(l), &rec); err != nil {
			t.Fatalf("%v: %q", err, l)
		}
		if rec.Time == "" || rec.Msg == "" {
			t.Errorf("record without time or msg: %q", l)
		}
		if rec.Msg == "info" && (rec.Worker == nil || *rec.Worker != 3) {
			t.Errorf("JSON record lost its attributes: %q", l)
		}
		levels = append(levels, rec.Level)
	}
	if got := strings.Join(levels, " "); got != "INFO WARN ERROR CRITICAL" {
		t.Errorf("levels %s", got)
	}
}

func TestErrorLoggerInvalidLevel(t *testing.T) {
	for _, level := range []string{"verbose", "warn", ""} {
		_, _, err := NewErrorLogger("-", level, false)
		if err == nil || !strings.Contains(err.Error(), `"`+level+`"`) {
			t.Errorf("level %q: error %v, want one naming it", level, err)
		}
	}
}

func TestErrorLoggerStderr(t *testing.T) {
	for _, path := range []string{"", "-"} {
		_, f, err := NewErrorLogger(path, "info", false)
		if err != nil {
			t.Fatal(err)
		}
		if err := f.Reopen(); err != nil {
			t.Errorf("Reopen of stderr: %v", err)
		}
		if err := f.Close(); err != nil {
			t.Errorf("Close of stderr: %v", err)
		}
		if _, err := os.Stderr.Stat(); err != nil {
			t.Fatalf("Close closed stderr: %v", err)
		}
	}
}

// errorLogHelperEnv names the file TestRedirectStderr's child process logs to.
const errorLogHelperEnv = "GOWSGI_ACCESSLOG_ERRORLOG"

// TestRedirectStderr runs a child process that redirects fd 2 to its error
// log and captures fd 1 there too (capture_output), writes through the
// logger, os.Stderr, fd 2 and fd 1 directly (as C code does), rotates the
// log and writes again: each write must follow the log to its new file.
func TestRedirectStderr(t *testing.T) {
	if path := os.Getenv(errorLogHelperEnv); path != "" {
		redirectStderrChild(path)
		return
	}
	path := filepath.Join(t.TempDir(), "error.log")
	cmd := exec.Command(os.Args[0], "-test.run=^TestRedirectStderr$")
	cmd.Env = append(os.Environ(), errorLogHelperEnv+"="+path)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
	for file, round := range map[string]string{path + ".1": "one", path: "two"} {
		got := readFile(t, file)
		for _, want := range []string{"msg=" + round + "\n", "stderr " + round + "\n", "fd2 " + round + "\n", "fd1 " + round + "\n"} {
			if !strings.Contains(got, want) {
				t.Errorf("%s lacks %q; holds:\n%s", filepath.Base(file), want, got)
			}
		}
		if strings.Count(got, "\n") != 4 {
			t.Errorf("%s should hold its round's 4 lines only:\n%s", filepath.Base(file), got)
		}
	}
}

// redirectStderrChild is the child process of TestRedirectStderr.
func redirectStderrChild(path string) {
	lg, f, err := NewErrorLogger(path, "info", false)
	if err == nil {
		err = f.RedirectStderr()
	}
	if err == nil {
		err = f.CaptureStdout()
	}
	for _, round := range []string{"one", "two"} {
		if err != nil {
			break
		}
		lg.Info(round)
		os.Stderr.WriteString("stderr " + round + "\n")
		syscall.Write(2, []byte("fd2 "+round+"\n"))
		syscall.Write(1, []byte("fd1 "+round+"\n"))
		if round == "one" {
			if err = os.Rename(path, path+".1"); err == nil {
				err = f.Reopen()
			}
		}
	}
	if err != nil {
		os.Stdout.WriteString(err.Error())
		os.Exit(1)
	}
	os.Exit(0)
}
