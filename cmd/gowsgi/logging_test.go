package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, _ := os.ReadFile(path)
	return string(b)
}

func TestAccessLogDefaultAndCustomFormat(t *testing.T) {
	dir := t.TempDir()
	combined, custom := filepath.Join(dir, "access.log"), filepath.Join(dir, "custom.log")
	s := startServer(t, "e2eapp:app", "--access-logfile", combined)
	c := s.dial(t)
	c.send(t, "GET /path/x?q=1 HTTP/1.1\r\nHost: t\r\nUser-Agent: tester/1.0\r\nReferer: http://ref/\r\n\r\n")
	c.response(t, "GET")
	// Apache combined: h l u [t] "r" s b "f" "a"
	want := regexp.MustCompile(`^127\.0\.0\.1 - - \[\d{2}/\w{3}/\d{4}:\d{2}:\d{2}:\d{2} [+-]\d{4}\] "GET /path/x\?q=1 HTTP/1\.1" 200 7 "http://ref/" "tester/1\.0"\n$`)
	eventually(t, 10*time.Second, "access log line written", func() bool { return want.MatchString(readFile(t, combined)) })

	s2 := startServer(t, "e2eapp:app", "--access-logfile", custom, "--access-logformat", `%(m)s %(U)s %(s)s %(L)s %({x-id}i)s`)
	c2 := s2.dial(t)
	c2.send(t, "POST /echo HTTP/1.1\r\nHost: t\r\nX-Id: abc\r\nContent-Length: 2\r\n\r\nhi")
	c2.response(t, "POST")
	want2 := regexp.MustCompile(`^POST /echo 200 \d+\.\d+ abc\n$`)
	eventually(t, 10*time.Second, "custom line written", func() bool { return want2.MatchString(readFile(t, custom)) })
}

func TestErrorLogFileJSONAndReopen(t *testing.T) {
	dir := t.TempDir()
	errLog, access := filepath.Join(dir, "error.log"), filepath.Join(dir, "access.log")
	s := startServer(t, "e2eapp:app", "--error-logfile", errLog, "--access-logfile", access, "--log-json")
	s.get(t, "/raise")
	s.get(t, "/log?json-marker")
	eventually(t, 10*time.Second, "traceback and wsgi.errors in the error log file", func() bool {
		text := readFile(t, errLog)
		return strings.Contains(text, "boom from e2eapp") && strings.Contains(text, "app says: json-marker")
	})
	// every line the server writes (not the app's raw wsgi.errors text) is JSON
	for _, line := range strings.Split(strings.TrimSpace(readFile(t, errLog)), "\n") {
		if strings.HasPrefix(line, "{") {
			var v map[string]any
			if err := json.Unmarshal([]byte(line), &v); err != nil {
				t.Errorf("error log line is not JSON: %q", line)
			}
		}
	}
	eventually(t, 10*time.Second, "JSON access lines", func() bool {
		lines := strings.Split(strings.TrimSpace(readFile(t, access)), "\n")
		var v map[string]any
		return len(lines) == 2 && json.Unmarshal([]byte(lines[0]), &v) == nil && v["status"] == float64(500)
	})

	// rotation: rename, USR1, and new lines go to a new file
	os.Rename(access, access+".1")
	os.Rename(errLog, errLog+".1")
	s.cmd.Process.Signal(syscall.SIGUSR1)
	// Requests made before the worker has reopened its files still go to
	// the renamed ones: ask again until one lands in the new files.
	eventually(t, 20*time.Second, "lines in the reopened files", func() bool {
		s.get(t, "/log?after-rotation")
		return strings.Contains(readFile(t, access), `"path":"/log"`) &&
			strings.Contains(readFile(t, errLog), "after-rotation")
	})
}

func TestLogLevelFilters(t *testing.T) {
	errLog := filepath.Join(t.TempDir(), "error.log")
	s := launch(t, "serve", "--bind", freePort(t), "--error-logfile", errLog, "--log-level", "warning", "--chdir", "testdata", "e2eapp:app")
	s.addr = s.cmd.Args[3]
	// nothing at info level says "worker ready": wait for an answer
	eventually(t, 60*time.Second, "serving", func() bool {
		resp, err := client.Get("http://" + s.addr + "/")
		if err == nil {
			resp.Body.Close()
		}
		return err == nil
	})
	s.get(t, "/raise")
	eventually(t, 10*time.Second, "the traceback (an error) is logged", func() bool {
		return strings.Contains(readFile(t, errLog), "boom from e2eapp")
	})
	if text := readFile(t, errLog); strings.Contains(text, "level=INFO") {
		t.Errorf("info lines at --log-level warning:\n%s", text)
	}
}

func TestBadLogSettingsExit2(t *testing.T) {
	for _, args := range [][]string{
		{"--log-level", "loud"},
		{"--access-logfile", "/nonexistent-dir/access.log"},
		{"--access-logfile", "-", "--access-logformat", "%(h"},
		{"--error-logfile", "/nonexistent-dir/error.log"},
	} {
		s := launch(t, append(append([]string{"serve", "--bind", freePort(t)}, args...), "--chdir", "testdata", "e2eapp:app")...)
		if code := s.wait(t, 10*time.Second); code != 2 {
			t.Errorf("%v: exit %d, want 2; output %q", args, code, s.log)
		}
	}
}
