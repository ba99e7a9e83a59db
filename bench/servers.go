package main

import (
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
)

// launch is what a server's command line is built from.
type launch struct {
	Addr    string // 127.0.0.1:PORT
	Workers int
	Dir     string // absolute directory of the case's module
	Case    benchCase
	Tmp     string // a directory of the server's own, for its generated files
}

// serverKind is one server under test.
type serverKind struct {
	Name string
	// HasWorkers is false for servers with no worker processes (waitress,
	// the ceiling): they run once and their figure stands for every
	// worker count.
	HasWorkers bool
	// Python is false only for the ceiling.
	Python bool
	// Check reports why the server cannot run here (not installed), or nil.
	Check func(cfg *config) error
	// Argv is the command line serving l, after writing any file it needs
	// into l.Tmp.
	Argv func(cfg *config, l launch) ([]string, error)
	// ReadyLine, when set, is a log line the server writes once per ready
	// worker; the server is ready when it has written it Workers times.
	ReadyLine string
	// Cases, when set, are the only cases the server can serve (nginx
	// answers hello itself, with no application behind it).
	Cases []string
	// LightLoad marks the servers measured at light load, one paced
	// keep-alive client (see lightload.go).
	LightLoad bool
}

// Serves says whether the server can serve case c.
func (s serverKind) Serves(c benchCase) bool {
	return s.Cases == nil || slices.Contains(s.Cases, c.Name)
}

// Debian's entry points: they run /usr/bin/python3 (or embed Debian's
// libpython), not whatever python3 comes first on PATH.
const (
	gunicornBin    = "/usr/bin/gunicorn"
	uwsgiBin       = "/usr/bin/uwsgi"
	uwsgiPython3   = "/usr/lib/uwsgi/plugins/python3_plugin.so"
	waitressBin    = "/usr/bin/waitress-serve"
	nginxBin       = "/usr/sbin/nginx"
	debianPython   = "/usr/bin/python3"
	debInstallHint = "run bench/deps.sh"
)

// allServers are the servers in report order; gowsgi comes first as the one
// every ratio is taken against.
var allServers = []serverKind{
	{
		Name: "gowsgi", HasWorkers: true, Python: true,
		Check: func(cfg *config) error { return needFile(cfg.gowsgi, "run make build") },
		Argv: func(cfg *config, l launch) ([]string, error) {
			return []string{cfg.gowsgi, "serve", "--bind", l.Addr, "--workers", strconv.Itoa(l.Workers), "--chdir", l.Dir, l.Case.Spec}, nil
		},
		ReadyLine: `msg="worker ready"`,
		LightLoad: true,
	},
	{
		Name: "gunicorn-sync", HasWorkers: true, Python: true,
		Check: func(*config) error { return needFile(gunicornBin, debInstallHint) },
		Argv: func(_ *config, l launch) ([]string, error) {
			return []string{gunicornBin, "-w", strconv.Itoa(l.Workers), "-k", "sync", "-b", l.Addr, "--chdir", l.Dir, "--log-level", "warning", l.Case.Spec}, nil
		},
	},
	{
		Name: "gunicorn-gthread", HasWorkers: true, Python: true,
		Check: func(*config) error { return needFile(gunicornBin, debInstallHint) },
		Argv: func(_ *config, l launch) ([]string, error) {
			return []string{gunicornBin, "-w", strconv.Itoa(l.Workers), "-k", "gthread", "--threads", "4", "-b", l.Addr, "--chdir", l.Dir, "--log-level", "warning", l.Case.Spec}, nil
		},
	},
	// --http-socket closes the connection after every response without
	// saying so; the header lets wrk reconnect without counting a read
	// error per request.
	uwsgiKind("uwsgi-http", false, "--http-socket", "--add-header", "Connection: close"),
	uwsgiKind("uwsgi-http11", true, "--http11-socket"),
	{
		Name: "waitress", Python: true,
		Check: func(*config) error { return needFile(waitressBin, debInstallHint) },
		Argv: func(_ *config, l launch) ([]string, error) {
			// waitress-serve has no --chdir: the process runs in l.Dir,
			// which is also on PYTHONPATH.
			return []string{waitressBin, "--listen=" + l.Addr, l.Case.Spec}, nil
		},
	},
	{
		Name: "nginx", HasWorkers: true,
		Check:     func(*config) error { return needFile(nginxBin, debInstallHint) },
		Argv:      nginxArgv,
		Cases:     []string{"hello"},
		LightLoad: true,
	},
	{
		// The ceiling runs one Go P per worker: at 1 worker it has one
		// core, as every other server's worker has.
		Name: "ceiling", HasWorkers: true,
		Check: func(cfg *config) error { return cfg.ceilingErr },
		Argv: func(cfg *config, l launch) ([]string, error) {
			return []string{cfg.ceiling, "-bind", l.Addr, "-case", l.Case.Name, "-procs", strconv.Itoa(l.Workers)}, nil
		},
		// At light load it shows what Go's runtime costs a server
		// doing nothing else: the floor under gowsgi's figure.
		LightLoad: true,
	},
}

// uwsgiKind is uWSGI serving HTTP itself on a socket of the given kind, with
// a master process, request logging off (as in the other servers), and
// SIGTERM meaning stop rather than reload.
func uwsgiKind(name string, lightLoad bool, socketFlag string, extra ...string) serverKind {
	return serverKind{
		Name: name, HasWorkers: true, Python: true, LightLoad: lightLoad,
		Check: func(*config) error {
			if err := needFile(uwsgiBin, debInstallHint); err != nil {
				return err
			}
			return needFile(uwsgiPython3, "install uwsgi-plugin-python3 (bench/deps.sh)")
		},
		Argv: func(_ *config, l launch) ([]string, error) {
			module, callable, _ := strings.Cut(l.Case.Spec, ":")
			argv := []string{uwsgiBin, "--plugin", "python3", socketFlag, l.Addr,
				"--master", "--processes", strconv.Itoa(l.Workers),
				"--chdir", l.Dir, "--pythonpath", l.Dir, "--module", module, "--callable", callable,
				"--need-app", "--die-on-term", "--disable-logging"}
			return append(argv, extra...), nil
		},
	}
}

// needFile says the server is not installed when path is missing.
func needFile(path, hint string) error {
	if _, err := os.Stat(path); err != nil {
		return fmt.Errorf("%s not found (%s)", path, hint)
	}
	return nil
}

// serverEnv is the environment every server runs with: Debian's /usr/bin
// first on PATH, no inherited Python settings that could point at another
// interpreter's packages, the case's directory (if any) on PYTHONPATH, and no
// .pyc written into the repository.
func serverEnv(dir string) []string {
	var env []string
	for _, kv := range os.Environ() {
		key, _, _ := strings.Cut(kv, "=")
		switch key {
		case "PATH", "PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "PYTHONSTARTUP", "PYTHONDONTWRITEBYTECODE":
			continue
		}
		if strings.HasPrefix(key, "GOWSGI_") {
			continue
		}
		env = append(env, kv)
	}
	env = append(env, "PATH=/usr/bin:/bin:/usr/sbin:/sbin:"+os.Getenv("PATH"), "PYTHONDONTWRITEBYTECODE=1")
	if dir != "" {
		env = append(env, "PYTHONPATH="+dir)
	}
	return env
}

// selectServers keeps the servers named in filter (a comma list; "" keeps
// all). A name also selects its variants: "uwsgi" is uwsgi-http and
// uwsgi-http11.
func selectServers(filter string) ([]serverKind, error) {
	if filter == "" {
		return allServers, nil
	}
	var out []serverKind
	for _, want := range splitList(filter) {
		found := false
		for _, s := range allServers {
			if s.Name == want || strings.HasPrefix(s.Name, want+"-") {
				out = appendServer(out, s)
				found = true
			}
		}
		if !found {
			return nil, fmt.Errorf("unknown server %q", want)
		}
	}
	return out, nil
}

func appendServer(list []serverKind, s serverKind) []serverKind {
	for _, have := range list {
		if have.Name == s.Name {
			return list
		}
	}
	return append(list, s)
}

// selectCases keeps the cases named in filter (a comma list; "" keeps all).
func selectCases(filter string) ([]benchCase, error) {
	if filter == "" {
		return allCases, nil
	}
	var out []benchCase
	for _, want := range splitList(filter) {
		found := false
		for _, c := range allCases {
			if c.Name == want {
				out = append(out, c)
				found = true
			}
		}
		if !found {
			return nil, fmt.Errorf("unknown case %q", want)
		}
	}
	return out, nil
}

func splitList(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}
