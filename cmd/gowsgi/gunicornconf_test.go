package main

// End-to-end tests of gunicorn's configuration: Python configuration files
// of the shapes projects ship, GUNICORN_CMD_ARGS, PORT and WEB_CONCURRENCY,
// as --print-config reports them and as the server behaves.

import (
	"debug/elf"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gowsgi/gowsgi/internal/syncbuf"
)

// settingEnv is what the servers these tests start get of the test's
// environment: none of the variables that set serve's settings.
func settingEnv(env ...string) []string {
	return append(slices.DeleteFunc(os.Environ(), func(kv string) bool {
		for _, p := range []string{"GOWSGI_", gunicornArgsVar + "=", "PORT=", "WEB_CONCURRENCY=", "VIRTUAL_ENV=", "FORWARDED_ALLOW_IPS="} {
			if strings.HasPrefix(kv, p) {
				return true
			}
		}
		return false
	}), env...)
}

// launchIn prepares `gowsgi ARGS` in dir with env added to settingEnv's;
// the caller may set its output, then calls start.
func launchIn(dir string, env []string, args ...string) *server {
	s := &server{log: &syncbuf.Buffer{}, done: make(chan struct{})}
	s.cmd = exec.Command(binary, args...)
	s.cmd.Dir = dir
	s.cmd.Env = settingEnv(env...)
	return s
}

// printedSetting is one line of --print-config.
type printedSetting struct{ value, source string }

// printConfigIn runs `gowsgi serve --print-config ARGS` in dir and returns
// its lines by name and its standard error, failing the test unless it
// exits 0.
func printConfigIn(t *testing.T, dir string, env []string, args ...string) (map[string]printedSetting, string) {
	t.Helper()
	cmd := exec.Command(binary, append([]string{"serve", "--print-config"}, args...)...)
	cmd.Dir, cmd.Env = dir, settingEnv(env...)
	var stdout, stderr syncbuf.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("--print-config: %v\n%s%s", err, &stdout, &stderr)
	}
	lines := map[string]printedSetting{}
	for _, line := range strings.Split(strings.TrimSpace(stdout.String()), "\n") {
		name, rest, ok1 := strings.Cut(line, " = ")
		value, source, ok2 := strings.Cut(rest, "  # ")
		if !ok1 || !ok2 {
			t.Fatalf("--print-config line %q is not NAME = VALUE  # SOURCE", line)
		}
		if _, dup := lines[name]; dup {
			t.Errorf("--print-config prints %s twice", name)
		}
		lines[name] = printedSetting{value, source}
	}
	return lines, stderr.String()
}

// expect checks printed settings: name's value, and that its source
// contains source.
func expect(t *testing.T, got map[string]printedSetting, name, value, source string) {
	t.Helper()
	p, ok := got[name]
	switch {
	case !ok:
		t.Errorf("--print-config has no %s", name)
	case p.value != value || !strings.Contains(p.source, source):
		t.Errorf("--print-config: %s = %s  # %s; want %s from %q", name, p.value, p.source, value, source)
	}
}

// writeConfig writes a configuration file, with testdata's absolute path
// for {testdata} and each of the pairs' old for new.
func writeConfig(t *testing.T, path, text string, pairs ...string) {
	t.Helper()
	testdata, err := filepath.Abs("testdata")
	if err != nil {
		t.Fatal(err)
	}
	text = strings.NewReplacer(append([]string{"{testdata}", testdata}, pairs...)...).Replace(text)
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}

// pythonSays evaluates a Python expression with the interpreter gowsgi
// embeds.
func pythonSays(t *testing.T, expr string) string {
	t.Helper()
	out, err := exec.Command("/usr/bin/python3", "-c", "import multiprocessing; print("+expr+")").Output()
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(out))
}

// djangoConf is the gunicorn.conf.py a Django project ships.
const djangoConf = `# gunicorn.conf.py
import multiprocessing

wsgi_app = "e2eapp:app"
chdir = "{testdata}"
bind = "{addr}"
workers = multiprocessing.cpu_count() * 2 + 1
threads = 2
timeout = 30
graceful_timeout = 10
keepalive = 5
max_requests = 30
max_requests_jitter = 5
accesslog = "-"
errorlog = "-"
loglevel = "info"
raw_env = [
    "DJANGO_SETTINGS_MODULE=mysite.settings",
    "ALLOWED_HOSTS=a.example,b.example",
]
`

// TestGunicornConfDjango serves with a Django project's gunicorn.conf.py,
// found in the working directory as gunicorn finds it: 2n+1 workers
// computed, threads, timeouts, max_requests with jitter, the access log on
// stdout, raw_env in the app's environment.
func TestGunicornConfDjango(t *testing.T) {
	dir := t.TempDir()
	addr := freePort(t)
	writeConfig(t, filepath.Join(dir, "gunicorn.conf.py"), djangoConf, "{addr}", addr)
	workers := pythonSays(t, "multiprocessing.cpu_count() * 2 + 1")

	got, stderr := printConfigIn(t, dir, nil)
	file := filepath.Join(dir, "gunicorn.conf.py")
	expect(t, got, "config", strconv.Quote(file), "default (./gunicorn.conf.py exists)")
	expect(t, got, "app", `"e2eapp:app"`, "file "+file+" (wsgi_app)")
	expect(t, got, "bind", `["`+addr+`"]`, "(bind)")
	expect(t, got, "workers", workers, "file "+file+" (workers)")
	expect(t, got, "threads", "2", "(threads)")
	expect(t, got, "timeout", "30", "(timeout)")
	expect(t, got, "graceful-timeout", "10", "(graceful_timeout)")
	expect(t, got, "keepalive", "5", "(keepalive)")
	expect(t, got, "max-requests", "30", "(max_requests)")
	expect(t, got, "max-requests-jitter", "5", "(max_requests_jitter)")
	expect(t, got, "access-logfile", `"-"`, "(accesslog)")
	expect(t, got, "env", `["DJANGO_SETTINGS_MODULE=mysite.settings", "ALLOWED_HOSTS=a.example,b.example"]`, "(raw_env)")
	expect(t, got, "send-timeout", "60", "default")
	if stderr != "" {
		t.Errorf("--print-config warned about a config whose every setting maps:\n%s", stderr)
	}

	var stdout syncbuf.Buffer
	s := launchIn(dir, nil, "serve")
	s.cmd.Stdout, s.addr = &stdout, addr
	s.readyWorkers, _ = strconv.Atoi(workers)
	s.start(t)
	s.waitReady(t)
	if n := len(childPIDs(t, s.cmd.Process.Pid)); n != s.readyWorkers {
		t.Errorf("%d workers, want multiprocessing.cpu_count() * 2 + 1 = %d", n, s.readyWorkers)
	}
	if _, v := s.get(t, "/getenv?ALLOWED_HOSTS"); v != "a.example,b.example" {
		t.Errorf("raw_env's ALLOWED_HOSTS = %q in the app", v)
	}
	if _, v := s.get(t, "/getenv?DJANGO_SETTINGS_MODULE"); v != "mysite.settings" {
		t.Errorf("raw_env's DJANGO_SETTINGS_MODULE = %q in the app", v)
	}
	eventually(t, 10*time.Second, "access log lines on stdout", func() bool {
		return strings.Contains(stdout.String(), `"GET /getenv?ALLOWED_HOSTS HTTP/1.1" 200`)
	})
	if strings.Contains(s.log.String(), "GET /getenv") {
		t.Errorf("access log lines on stderr too:\n%s", s.log)
	}
	// max_requests 30 with a jitter of 5: among N workers, N*36 requests
	// make one serve 36 at least, past its 35 at most.
	for range s.readyWorkers * 36 {
		if code, _ := s.get(t, "/pid"); code != 200 {
			t.Fatalf("GET /pid: %d", code)
		}
	}
	eventually(t, 20*time.Second, "a worker recycled after max_requests", func() bool {
		return strings.Contains(s.log.String(), "recycling worker")
	})
}

// TestGunicornConfFlask serves with a Flask project's config named with -c:
// the app from wsgi_app, gthread threads, trusted proxies' scheme header,
// an error log file that captures the app's output, server hooks.
func TestGunicornConfFlask(t *testing.T) {
	dir := t.TempDir()
	addr := freePort(t)
	conf := filepath.Join(dir, "gunicorn_config.py")
	errorLog := filepath.Join(dir, "error.log")
	writeConfig(t, conf, `"""Gunicorn configuration for the Flask app."""
import os

wsgi_app = "e2eapp:factory()"
pythonpath = "{testdata}"
bind = ["{addr}"]
workers = 2
worker_class = "gthread"
threads = 4
forwarded_allow_ips = "*"
proxy_allow_ips = "*"
secure_scheme_headers = {"X-FORWARDED-PROTO": "https"}
errorlog = "{errorlog}"
capture_output = True
accesslog = None
loglevel = "INFO"


def on_starting(server):
    server.log.info("Starting Flask app")


def post_worker_init(worker):
    worker.log.info("worker %s ready", worker.pid)
`, "{addr}", addr, "{errorlog}", errorLog)

	got, stderr := printConfigIn(t, dir, nil, "-c", "gunicorn_config.py")
	expect(t, got, "app", `"e2eapp:factory()"`, "(wsgi_app)")
	expect(t, got, "threads", "4", "(threads)")
	expect(t, got, "forwarded-allow-ips", `"*"`, "(forwarded_allow_ips)")
	expect(t, got, "error-logfile", strconv.Quote(errorLog), "(errorlog)")
	expect(t, got, "capture-output", "true", "(capture_output)")
	expect(t, got, "log-level", `"info"`, "(loglevel)")
	expect(t, got, "access-logfile", `""`, "default")
	expect(t, got, "on_starting", "<function on_starting>", "hook")
	expect(t, got, "post_worker_init", "<function post_worker_init>", "hook")
	expect(t, got, "worker_class", `"gthread"`, "--threads requests run at once")
	if stderr != "" {
		t.Errorf("--print-config warned about a config whose every setting maps:\n%s", stderr)
	}

	s := launchIn(dir, nil, "serve", "-c", conf)
	s.addr, s.errorLog, s.readyWorkers = addr, errorLog, 2
	s.start(t)
	s.waitReady(t)
	req, _ := http.NewRequest("GET", "http://"+addr+"/remote", nil)
	req.Header.Set("X-Forwarded-Proto", "https")
	req.Header.Set("X-Forwarded-For", "203.0.113.9")
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body := readAll(t, resp)
	if body != "203.0.113.9|https|203.0.113.9" {
		t.Errorf("behind a trusted proxy the app sees %q", body)
	}
	s.get(t, "/print?captured")
	eventually(t, 10*time.Second, "the app's print() in the error log file", func() bool {
		return strings.Contains(s.serverLog(), "app prints: captured")
	})
	if !strings.Contains(s.serverLog(), "threads=4") {
		t.Errorf("workers did not boot with 4 threads:\n%s", s.serverLog())
	}
	if strings.Contains(s.log.String(), "app prints") {
		t.Errorf("the app's output reached stdout despite capture_output:\n%s", s.log)
	}
}

func readAll(t *testing.T, resp *http.Response) string {
	t.Helper()
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestGunicornConfFromEnvironment serves with a config whose values come
// from the environment, as twelve-factor apps write them.
func TestGunicornConfFromEnvironment(t *testing.T) {
	dir := t.TempDir()
	addr := freePort(t)
	writeConfig(t, filepath.Join(dir, "gunicorn.conf.py"), `import os

bind = os.environ.get("BIND", "127.0.0.1:8000")
workers = int(os.environ.get("APP_WORKERS", "1"))
timeout = int(os.getenv("APP_TIMEOUT", "30"))
loglevel = os.environ.get("LOG_LEVEL", "info").lower()
chdir = "{testdata}"
if os.environ.get("APP_ENV") == "production":
    accesslog = "-"
    max_requests = 500
`)
	env := []string{"BIND=" + addr, "APP_WORKERS=2", "APP_TIMEOUT=45", "LOG_LEVEL=WARNING", "APP_ENV=production"}
	got, _ := printConfigIn(t, dir, env, "e2eapp:app")
	expect(t, got, "bind", `["`+addr+`"]`, "(bind)")
	expect(t, got, "workers", "2", "(workers)")
	expect(t, got, "timeout", "45", "(timeout)")
	expect(t, got, "log-level", `"warning"`, "(loglevel)")
	expect(t, got, "access-logfile", `"-"`, "(accesslog)")
	expect(t, got, "max-requests", "500", "(max_requests)")

	s := launchIn(dir, env, "serve", "e2eapp:app")
	s.addr, s.readyWorkers = addr, 2
	s.start(t)
	eventually(t, 60*time.Second, "two workers serving", func() bool {
		return len(childPIDs(t, s.cmd.Process.Pid)) == 2 && serves(addr)
	})
	if _, body := s.get(t, "/"); body != "Hello from e2eapp\n" {
		t.Errorf("GET / on BIND's address: %q", body)
	}
}

// serves reports whether addr answers a request.
func serves(addr string) bool {
	resp, err := client.Get("http://" + addr + "/pid")
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == 200
}

// TestSettingsPrecedence checks that the command line beats
// GUNICORN_CMD_ARGS, which beats GOWSGI_ variables, which beat the file.
func TestSettingsPrecedence(t *testing.T) {
	dir := t.TempDir()
	fileAddr, argsAddr := freePort(t), freePort(t)
	writeConfig(t, filepath.Join(dir, "gunicorn.conf.py"), `
bind = "{file}"
timeout = 11
keepalive = 3
max_requests = 7
backlog = 100
chdir = "{testdata}"
`, "{file}", fileAddr)
	env := []string{"GOWSGI_TIMEOUT=12", "GOWSGI_KEEPALIVE=4", "GOWSGI_MAX_REQUESTS=8",
		gunicornArgsVar + "=--timeout 13 --keep-alive=5 -b " + argsAddr + " e2eapp:ignored"}
	got, _ := printConfigIn(t, dir, env, "--timeout", "14", "e2eapp:app")
	expect(t, got, "timeout", "14", "command line")
	expect(t, got, "keepalive", "5", gunicornArgsVar+" (--keep-alive)")
	expect(t, got, "bind", `["`+argsAddr+`"]`, gunicornArgsVar+" (-b)")
	expect(t, got, "max-requests", "8", "env GOWSGI_MAX_REQUESTS")
	expect(t, got, "backlog", "100", "file "+filepath.Join(dir, "gunicorn.conf.py")+" (backlog)")
	expect(t, got, "app", `"e2eapp:app"`, "command line")

	s := launchIn(dir, env, "serve", "--timeout", "14", "e2eapp:app")
	s.addr = argsAddr
	s.start(t)
	s.waitReady(t)
	if _, err := net.DialTimeout("tcp", fileAddr, time.Second); err == nil {
		t.Errorf("the file's bind %s is served too, though GUNICORN_CMD_ARGS's replaces it", fileAddr)
	}
}

// TestPortAndWebConcurrency checks the platform variables: PORT binds
// 0.0.0.0:$PORT and WEB_CONCURRENCY sets the workers, when nothing else
// does; the configuration file beats them, as it does in gunicorn.
func TestPortAndWebConcurrency(t *testing.T) {
	dir := t.TempDir()
	_, port, _ := net.SplitHostPort(freePort(t))
	env := []string{"PORT=" + port, "WEB_CONCURRENCY=2"}
	got, _ := printConfigIn(t, dir, env, "e2eapp:app")
	expect(t, got, "bind", `["0.0.0.0:`+port+`"]`, "env PORT")
	expect(t, got, "workers", "2", "env WEB_CONCURRENCY")

	testdata, _ := filepath.Abs("testdata")
	s := launchIn(dir, env, "serve", "--chdir", testdata, "e2eapp:app")
	s.addr, s.readyWorkers = "127.0.0.1:"+port, 2
	s.start(t)
	s.waitReady(t)
	if n := len(childPIDs(t, s.cmd.Process.Pid)); n != 2 {
		t.Errorf("%d workers, want WEB_CONCURRENCY's 2", n)
	}

	writeConfig(t, filepath.Join(dir, "gunicorn.conf.py"), "workers = 3\nbind = '127.0.0.1:1'\n")
	got, _ = printConfigIn(t, dir, env, "e2eapp:app")
	expect(t, got, "workers", "3", "(workers)")
	expect(t, got, "bind", `["127.0.0.1:1"]`, "(bind)")
}

// TestGunicornSettingWithoutEquivalentWarnsOnce checks that a gunicorn
// setting gowsgi ignores, and a name that is no setting, each get one
// warning, from the parent alone; and that a config setting everything to
// gunicorn's defaults gets none.
func TestGunicornSettingWithoutEquivalentWarnsOnce(t *testing.T) {
	dir := t.TempDir()
	addr := freePort(t)
	writeConfig(t, filepath.Join(dir, "gunicorn.conf.py"), `
bind = "{addr}"
workers = 2
workerz = 4
worker_tmp_dir = "/dev/shm"
chdir = "{testdata}"
`, "{addr}", addr)
	s := launchIn(dir, nil, "serve", "e2eapp:app")
	s.addr, s.readyWorkers = addr, 2
	s.start(t)
	s.waitReady(t)
	for _, name := range []string{"setting=workerz", "setting=worker_tmp_dir"} {
		if n := strings.Count(s.log.String(), name); n != 1 {
			t.Errorf("%d lines with %s, want 1 warning:\n%s", n, name, s.log)
		}
	}

	writeConfig(t, filepath.Join(dir, "gunicorn.conf.py"), `
config = "./gunicorn.conf.py"
wsgi_app = None
accesslog = None
access_log_format = '%(h)s %(l)s %(u)s %(t)s "%(r)s" %(s)s %(b)s "%(f)s" "%(a)s"'
capture_output = False
disable_redirect_access_to_syslog = False
dogstatsd_tags = ""
enable_stdio_inheritance = False
errorlog = "-"
logconfig_dict = {}
logger_class = "gunicorn.glogging.Logger"
loglevel = "info"
statsd_host = None
statsd_prefix = ""
syslog = False
syslog_facility = "user"
preload_app = False
reload = False
reload_engine = "auto"
reload_extra_files = []
spew = False
check_config = False
daemon = False
pidfile = None
worker_tmp_dir = None
tmp_upload_dir = None
initgroups = False
proc_name = None
header_map = "drop"
forwarder_headers = "SCRIPT_NAME,PATH_INFO"
secure_scheme_headers = {"X-FORWARDED-PROTOCOL": "ssl", "X-FORWARDED-PROTO": "https", "X-FORWARDED-SSL": "on"}
worker_class = "sync"
threads = 1
timeout = 30
graceful_timeout = 30
limit_request_line = 4094
limit_request_fields = 100
limit_request_field_size = 8190
`)
	if _, stderr := printConfigIn(t, dir, nil, "e2eapp:app"); stderr != "" {
		t.Errorf("warnings for settings left at gunicorn's defaults:\n%s", stderr)
	}
}

// TestRefusedWorkerClassExits2 checks that a worker class whose model
// gowsgi does not have stops serve, with the reason, before anything
// starts.
func TestRefusedWorkerClassExits2(t *testing.T) {
	dir := t.TempDir()
	writeConfig(t, filepath.Join(dir, "gunicorn.conf.py"), "bind = '127.0.0.1:1'\nworker_class = 'gevent'\nworker_connections = 1000\n")
	tests := []struct {
		name string
		env  []string
		want []string
	}{
		{"file", nil, []string{"worker_class", `"gevent"`, "monkey-patched"}},
		{"GUNICORN_CMD_ARGS", []string{gunicornArgsVar + "=-k eventlet"}, []string{"worker_class", `"eventlet"`, gunicornArgsVar}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := launchIn(dir, tt.env, "serve", "e2eapp:app")
			s.start(t)
			if code := s.wait(t, 30*time.Second); code != 2 {
				t.Errorf("exit status %d, want 2", code)
			}
			for _, w := range tt.want {
				if !strings.Contains(s.log.String(), w) {
					t.Errorf("output lacks %q:\n%s", w, s.log)
				}
			}
			if strings.Contains(s.log.String(), "worker started") {
				t.Errorf("a worker started:\n%s", s.log)
			}
		})
	}
}

// TestRaisingConfigExits2 checks that a configuration file that raises
// stops serve with its traceback, from the file's own frames.
func TestRaisingConfigExits2(t *testing.T) {
	dir := t.TempDir()
	conf := filepath.Join(dir, "gunicorn.conf.py")
	writeConfig(t, conf, "import os\nworkers = 2\nDATABASE_URL = os.environ[\"DATABASE_URL\"]\n")
	s := launchIn(dir, nil, "serve", "e2eapp:app")
	s.start(t)
	if code := s.wait(t, 30*time.Second); code != 2 {
		t.Errorf("exit status %d, want 2", code)
	}
	out := s.log.String()
	for _, want := range []string{"Traceback (most recent call last):", `File "` + conf + `", line 3, in <module>`, "KeyError: 'DATABASE_URL'", conf + " failed"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "<string>") || strings.Contains(out, "importlib") || strings.Contains(out, "worker started") {
		t.Errorf("the traceback should start in the file, and nothing start:\n%s", out)
	}
}

// TestParentRunsNoPython checks that reading a Python configuration file
// leaves the parent without an interpreter: the file imports json, whose
// _json extension the stdlib's lib-dynload holds, and nothing of the
// stdlib is mapped in the parent, while the worker, whose app imports json
// too (and says where the stdlib is), maps it.
func TestParentRunsNoPython(t *testing.T) {
	dir := t.TempDir()
	addr := freePort(t)
	writeConfig(t, filepath.Join(dir, "gunicorn.conf.py"), "import json\nimport multiprocessing\nbind = {bind}\nworkers = 1\n", "{bind}", strconv.Quote(addr))
	writeConfig(t, filepath.Join(dir, "jsonapp.py"), `import json
import os


def app(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [os.path.dirname(json.__path__[0]).encode()]
`)
	s := launchIn(dir, nil, "serve", "jsonapp:app")
	s.addr = addr
	s.start(t)
	s.waitReady(t)
	_, stdlib := s.get(t, "/")
	stdlib += "/"
	mapped := func(pid int, what string) bool {
		maps, err := os.ReadFile(fmt.Sprintf("/proc/%d/maps", pid))
		if err != nil {
			t.Fatal(err)
		}
		return strings.Contains(string(maps), what)
	}
	workers := childPIDs(t, s.cmd.Process.Pid)
	if len(workers) != 1 || !mapped(workers[0], stdlib+"lib-dynload/_json") {
		t.Fatalf("the worker %v should map %slib-dynload/_json: the check would prove nothing", workers, stdlib)
	}
	if mapped(s.cmd.Process.Pid, stdlib) {
		t.Errorf("the parent maps files of %s: it ran Python", stdlib)
	}
	// libpython is mapped wherever the binary links it (DT_NEEDED); a
	// binary that loads it only where Python runs must not have it here.
	bin, err := elf.Open(binary)
	if err != nil {
		t.Fatal(err)
	}
	defer bin.Close()
	libs, _ := bin.ImportedLibraries()
	linked := slices.ContainsFunc(libs, func(l string) bool { return strings.HasPrefix(l, "libpython") })
	if !linked && mapped(s.cmd.Process.Pid, "libpython") {
		t.Errorf("the parent maps libpython, which the binary loads only to run Python")
	}
}

// TestHUPRereadsConfigFile checks that SIGHUP reads the configuration file
// again: the new workers get its settings (raw_env, workers), a setting
// only a restart applies (bind) is kept and logged, and a file that now
// raises fails the reload while the workers serve on.
func TestHUPRereadsConfigFile(t *testing.T) {
	dir := t.TempDir()
	addr := freePort(t)
	conf := filepath.Join(dir, "gunicorn.conf.py")
	config := `bind = "{addr}"
workers = {workers}
raw_env = ["GENERATION={generation}"]
chdir = "{testdata}"
`
	writeConfig(t, conf, config, "{addr}", addr, "{workers}", "1", "{generation}", "one")
	s := launchIn(dir, nil, "serve", "e2eapp:app")
	s.addr = addr
	s.start(t)
	s.waitReady(t)
	if _, v := s.get(t, "/getenv?GENERATION"); v != "one" {
		t.Fatalf("GENERATION = %q", v)
	}

	old := childPIDs(t, s.cmd.Process.Pid)
	writeConfig(t, conf, config, "{addr}", "127.0.0.1:1", "{workers}", "2", "{generation}", "two")
	s.cmd.Process.Signal(syscall.SIGHUP)
	eventually(t, 60*time.Second, "reload complete, the old worker gone", func() bool {
		return strings.Contains(s.log.String(), "reload complete") &&
			!slices.ContainsFunc(childPIDs(t, s.cmd.Process.Pid), func(pid int) bool { return slices.Contains(old, pid) })
	})
	for range 6 {
		if _, v := s.get(t, "/getenv?GENERATION"); v != "two" {
			t.Errorf("GENERATION = %q after the reload, want the file's new \"two\"", v)
		}
	}
	eventually(t, 30*time.Second, "two workers", func() bool { return len(childPIDs(t, s.cmd.Process.Pid)) == 2 })
	if !strings.Contains(s.log.String(), `setting changed; it takes effect at the next start" setting=bind`) {
		t.Errorf("the log does not say that bind needs a restart:\n%s", s.log)
	}

	writeConfig(t, conf, "raise RuntimeError('half-edited')\n")
	s.cmd.Process.Signal(syscall.SIGHUP)
	eventually(t, 30*time.Second, "reload failed", func() bool { return strings.Contains(s.log.String(), "reload failed") })
	if !strings.Contains(s.log.String(), "RuntimeError: half-edited") {
		t.Errorf("the log lacks the file's traceback:\n%s", s.log)
	}
	if _, v := s.get(t, "/getenv?GENERATION"); v != "two" {
		t.Errorf("GENERATION = %q after a failed reload, want \"two\" still", v)
	}
}
