package main

import (
	"crypto/tls"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/gowsgi/gowsgi/accesslog"
	"github.com/gowsgi/gowsgi/httpcore"
	"github.com/gowsgi/gowsgi/proxy"
	"github.com/gowsgi/gowsgi/static"
	"github.com/gowsgi/gowsgi/wsgi"
	"github.com/urfave/cli/v2"
)

// settings are the serve command's options, each declared once in
// serveFlags with its documentation (the README's flag table follows it).
// appSettings say where the application is.
type appSettings struct {
	spec       string
	chdir      string
	pythonPath []string
	virtualenv string
	venv       wsgi.Venv // the virtualenv gowsgi is installed in, if any
}

type settings struct {
	appSettings
	binds           []string
	workers         int
	threads         int
	keepAlive       time.Duration
	headerTimeout   time.Duration
	gracefulTimeout time.Duration
	timeout         time.Duration
	sendTimeout     time.Duration // negative: none
	bodyBuffer      int64         // negative: none
	suspendStreams  bool
	preload         bool
	streamBuffer    int64 // negative: none
	env             []string

	maxRequests       int
	maxRequestsJitter int
	maxWorkerMemoryMB int64
	bindGiven         bool // given anywhere but PORT: systemd's sockets are not used
	backlog           int
	reusePort         bool
	umask             int
	pidFile           string
	user, group       string
	reload            bool
	rootPath          string
	metricsBind       string
	controlSocket     string // "" for the default path
	noControlSocket   bool
	accessLogfile     string
	accessLogFormat   string
	errorLogfile      string
	captureOutput     bool
	logLevel          string
	logJSON           bool
	trust             *proxy.Trust
	proxyProtocol     bool
	tls               *tls.Config
	static            []static.Mount

	limitRequestLine      int
	limitRequestFields    int
	limitRequestFieldSize int
	limitRequestBody      int64
	maxConnections        int

	pyConfig string // the gunicorn-style Python config file (pyConfigFile), absolute; "" for none
}

// appFlags are the flags that say where the application is; serve and
// check share them.
func appFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{
			Name: "chdir", EnvVars: []string{"GOWSGI_CHDIR"},
			Usage: "change to `DIR` in each worker before loading the app, and put it first on sys.path",
		},
		&cli.StringSliceFlag{
			Name: "pythonpath", EnvVars: []string{"GOWSGI_PYTHONPATH"},
			Usage: "add `DIR` to sys.path, after the working directory; repeat or separate with commas",
		},
		&cli.StringFlag{
			Name: "virtualenv", EnvVars: virtualenvEnvVars(),
			Usage: "use the site-packages of the virtualenv at `DIR` ahead of the system's " +
				"(default: $VIRTUAL_ENV, unless gowsgi is installed in a virtualenv: that one is used, as its python would)",
		},
	}
}

func serveFlags() []cli.Flag {
	return append(appFlags(), []cli.Flag{
		&cli.StringSliceFlag{
			Name: "bind", Aliases: []string{"b"}, Value: cli.NewStringSlice("127.0.0.1:8000"),
			EnvVars: []string{"GOWSGI_BIND"},
			Usage: "address to listen on: `HOST:PORT`, [IPv6]:PORT, unix:PATH or fd://N; repeat for several " +
				"(none given and systemd's LISTEN_FDS set: the sockets systemd passed)",
		},
		&cli.IntFlag{
			Name: "workers", Aliases: []string{"w"}, Value: 1, EnvVars: []string{"GOWSGI_WORKERS"},
			Usage: "number of worker processes, each with its own Python interpreter",
		},
		&cli.IntFlag{
			Name: "threads", Value: 1, EnvVars: []string{"GOWSGI_THREADS"},
			Usage: "requests that may run the application at once in each worker",
		},
		&cli.StringSliceFlag{
			Name: "env", Aliases: []string{"e"}, EnvVars: []string{"GOWSGI_ENV"},
			Usage: "set `KEY=VALUE` in the environment of the workers (and so of the app); repeat for several",
		},
		&cli.StringFlag{
			Name: "root-path", EnvVars: []string{"GOWSGI_ROOT_PATH"},
			Usage: "`PREFIX` the app is mounted under behind a proxy: SCRIPT_NAME, and removed from PATH_INFO",
		},
		&cli.StringSliceFlag{
			Name: "static", EnvVars: []string{"GOWSGI_STATIC"},
			Usage: "serve the files of DIR under the URL prefix, from Go without calling the app: `/URL=DIR`; repeat for several",
		},
		&cli.StringFlag{
			Name: "metrics-bind", EnvVars: []string{"GOWSGI_METRICS_BIND"},
			Usage: "serve Prometheus metrics of all workers at http://`HOST:PORT`/metrics from the parent",
		},
		&cli.StringFlag{
			Name: "control-socket", EnvVars: []string{"GOWSGI_CONTROL_SOCKET"},
			Usage: "answer gowsgi ctl on the unix socket `PATH`, mode 0600 (default: $XDG_RUNTIME_DIR/gowsgi-PID.ctl, " +
				"or ./gowsgi.ctl without XDG_RUNTIME_DIR)",
		},
		&cli.BoolFlag{
			Name: "no-control-socket", EnvVars: []string{"GOWSGI_NO_CONTROL_SOCKET"},
			Usage: "open no control socket (gowsgi ctl cannot reach the server; signals still work)",
		},
		&cli.StringFlag{
			Name: "access-logfile", EnvVars: []string{"GOWSGI_ACCESS_LOGFILE"},
			Usage: "write an access log line per request to `FILE` (- for standard output)",
		},
		&cli.StringFlag{
			Name: "access-logformat", Value: accesslog.DefaultFormat, EnvVars: []string{"GOWSGI_ACCESS_LOGFORMAT"},
			Usage: "`FORMAT` of access log lines, with gunicorn's atoms: %(h)s remote address, %(r)s request line, %(s)s status, %(L)s seconds taken...",
		},
		&cli.StringFlag{
			Name: "error-logfile", Value: "-", EnvVars: []string{"GOWSGI_ERROR_LOGFILE"},
			Usage: "write the error log (server messages, app tracebacks, wsgi.errors) to `FILE` (- for standard error)",
		},
		&cli.BoolFlag{
			Name: "capture-output", EnvVars: []string{"GOWSGI_CAPTURE_OUTPUT"},
			Usage: "send the workers' standard output (the app's print()) to --error-logfile too, when that is a file",
		},
		&cli.StringFlag{
			Name: "log-level", Value: "info", EnvVars: []string{"GOWSGI_LOG_LEVEL"},
			Usage: "least severe error log messages written: debug, info, warning, error or critical",
		},
		&cli.BoolFlag{
			Name: "log-json", EnvVars: []string{"GOWSGI_LOG_JSON"},
			Usage: "write access and error log lines as JSON objects, one per line",
		},
		&cli.StringFlag{
			Name: "forwarded-allow-ips", Value: "127.0.0.1", EnvVars: []string{"GOWSGI_FORWARDED_ALLOW_IPS", "FORWARDED_ALLOW_IPS"},
			Usage: "`IPS` (comma list of addresses or CIDRs, or *) whose X-Forwarded-For/-Proto headers and PROXY headers are believed",
		},
		&cli.BoolFlag{
			Name: "proxy-protocol", EnvVars: []string{"GOWSGI_PROXY_PROTOCOL"},
			Usage: "read a PROXY protocol v1 or v2 header from trusted peers (--forwarded-allow-ips) at the start of each connection",
		},
		&cli.StringFlag{
			Name: "certfile", EnvVars: []string{"GOWSGI_CERTFILE"},
			Usage: "serve HTTPS with the certificate (chain) in PEM `FILE`",
		},
		&cli.StringFlag{
			Name: "keyfile", EnvVars: []string{"GOWSGI_KEYFILE"},
			Usage: "the private key in PEM `FILE` for --certfile",
		},
		&cli.StringFlag{
			Name: "ca-certs", EnvVars: []string{"GOWSGI_CA_CERTS"},
			Usage: "require client certificates signed by the CAs in PEM `FILE`",
		},
		&cli.IntFlag{
			Name: "keepalive", Value: 5, EnvVars: []string{"GOWSGI_KEEPALIVE"},
			Usage: "`SECONDS` an idle keep-alive connection is kept open between requests",
		},
		&cli.IntFlag{
			Name: "header-timeout", Value: 10, EnvVars: []string{"GOWSGI_HEADER_TIMEOUT"},
			Usage: "`SECONDS` a client has to send a whole request head once it has started",
		},
		&cli.IntFlag{
			Name: "send-timeout", Value: 60, EnvVars: []string{"GOWSGI_SEND_TIMEOUT"},
			Usage: "`SECONDS` a client may take no response bytes before it is disconnected; 0 for no limit",
		},
		&cli.Int64Flag{
			Name: "body-buffer", Value: 1 << 20, EnvVars: []string{"GOWSGI_BODY_BUFFER"},
			Usage: "request bodies up to `BYTES` are read whole before the app is called; 0 to stream every body",
		},
		&cli.BoolFlag{
			Name: "preload", EnvVars: []string{"GOWSGI_PRELOAD"},
			Usage: "import the app once, in a zygote process, and fork the workers from it: they share its memory " +
				"copy-on-write and a replacement worker is ready in milliseconds (threads and connections opened at import: see README)",
		},
		&cli.BoolFlag{
			Name: "suspend-streams", EnvVars: []string{"GOWSGI_SUSPEND_STREAMS"},
			Usage: "a streamed response whose client is slow gives its thread to other requests until the client takes more; " +
				"unsafe for apps that keep thread-bound state across a generator's yields (see README)",
		},
		&cli.Int64Flag{
			Name: "stream-buffer", Value: 256 << 10, EnvVars: []string{"GOWSGI_STREAM_BUFFER"},
			Usage: "a streamed response may run `BYTES` ahead of its client before the app waits for it; 0 to wait at each chunk",
		},
		&cli.IntFlag{
			Name: "graceful-timeout", Value: 30, EnvVars: []string{"GOWSGI_GRACEFUL_TIMEOUT"},
			Usage: "`SECONDS` workers get to finish their requests on SIGTERM before they are killed",
		},
		&cli.IntFlag{
			Name: "timeout", Aliases: []string{"t"}, Value: 30, EnvVars: []string{"GOWSGI_TIMEOUT"},
			Usage: "`SECONDS` a request may run: then RequestTimeout is raised in the app (500); " +
				"a request stuck in C code gets its tracebacks dumped and its worker replaced; 0 for none",
		},
		&cli.IntFlag{
			Name: "max-requests", Value: 0, EnvVars: []string{"GOWSGI_MAX_REQUESTS"},
			Usage: "recycle a worker gracefully after about `N` requests (0: never)",
		},
		&cli.IntFlag{
			Name: "max-requests-jitter", Value: 0, EnvVars: []string{"GOWSGI_MAX_REQUESTS_JITTER"},
			Usage: "add a random 0..`J` to --max-requests per worker, so workers do not recycle together",
		},
		&cli.Int64Flag{
			Name: "max-worker-memory", Value: 0, EnvVars: []string{"GOWSGI_MAX_WORKER_MEMORY"},
			Usage: "recycle a worker gracefully once its resident memory passes `MB` megabytes (0: never)",
		},
		&cli.IntFlag{
			Name: "backlog", Value: 2048, EnvVars: []string{"GOWSGI_BACKLOG"},
			Usage: "most connections waiting to be accepted on each listener",
		},
		&cli.IntFlag{
			Name: "max-connections", Value: 0, EnvVars: []string{"GOWSGI_MAX_CONNECTIONS"},
			Usage: "most connections open at once in each worker; at it the worker stops accepting and new connections " +
				"wait in the listen backlog (0: no limit)",
		},
		&cli.BoolFlag{
			Name: "reuse-port", EnvVars: []string{"GOWSGI_REUSE_PORT"},
			Usage: "set SO_REUSEPORT on TCP listeners",
		},
		&cli.StringFlag{
			Name: "umask", Value: "0", EnvVars: []string{"GOWSGI_UMASK"},
			Usage: "`MASK` (octal, e.g. 007) cleared from the mode of unix socket files",
		},
		&cli.StringFlag{
			Name: "pid", EnvVars: []string{"GOWSGI_PID"},
			Usage: "write the parent's process id to `FILE` (removed at exit)",
		},
		&cli.StringFlag{
			Name: "user", Aliases: []string{"u"}, EnvVars: []string{"GOWSGI_USER"},
			Usage: "run workers as `USER` (name or uid), after binding; needs root",
		},
		&cli.StringFlag{
			Name: "group", Aliases: []string{"g"}, EnvVars: []string{"GOWSGI_GROUP"},
			Usage: "run workers as `GROUP` (name or gid; default: the user's primary group)",
		},
		&cli.BoolFlag{
			Name: "reload", EnvVars: []string{"GOWSGI_RELOAD"},
			Usage: "restart workers when a .py file under the app's directories changes (development)",
		},
		&cli.IntFlag{
			Name: "limit-request-line", Value: 4094, EnvVars: []string{"GOWSGI_LIMIT_REQUEST_LINE"},
			Usage: "longest request line in `BYTES` (longer: 414); 0 for no limit but the head's",
		},
		&cli.IntFlag{
			Name: "limit-request-fields", Value: 100, EnvVars: []string{"GOWSGI_LIMIT_REQUEST_FIELDS"},
			Usage: "most header fields in a request (more: 431)",
		},
		&cli.IntFlag{
			Name: "limit-request-field-size", Value: 8190, EnvVars: []string{"GOWSGI_LIMIT_REQUEST_FIELD_SIZE"},
			Usage: "longest header field line in `BYTES` (longer: 431)",
		},
		&cli.Int64Flag{
			Name: "limit-request-body", Value: 0, EnvVars: []string{"GOWSGI_LIMIT_REQUEST_BODY"},
			Usage: "largest request body in `BYTES` (larger: 413, before the app reads past it); 0 for no limit",
		},
	}...)
}

// flagReader reads flag values by long name: a *cli.Context, or the
// flagValues serve resolves from every source.
type flagReader interface {
	String(name string) string
	StringSlice(name string) []string
	Int(name string) int
	Int64(name string) int64
	Bool(name string) bool
}

// readAppSettings checks command's application spec (args, the arguments
// after the flags) and appFlags.
func readAppSettings(c flagReader, args []string, command string) (appSettings, error) {
	a := appSettings{
		chdir:      c.String("chdir"),
		pythonPath: c.StringSlice("pythonpath"),
		virtualenv: c.String("virtualenv"),
	}
	// main checked it: the error, if any, has ended the process
	a.venv, _ = installedVenv()
	if len(args) != 1 {
		if len(args) == 0 {
			return a, fmt.Errorf("%s needs an application, e.g. gowsgi %s myapp:app", command, command)
		}
		return a, fmt.Errorf("%s takes one application spec, got %q (flags go before the spec)", command, args)
	}
	a.spec = args[0]
	if a.chdir != "" {
		if fi, err := os.Stat(a.chdir); err != nil || !fi.IsDir() {
			return a, fmt.Errorf("--chdir %s: not a directory", a.chdir)
		}
	}
	if a.virtualenv != "" {
		if fi, err := os.Stat(a.virtualenv); err != nil || !fi.IsDir() {
			return a, fmt.Errorf("--virtualenv %s: not a directory", a.virtualenv)
		}
	}
	return a, nil
}

// readSettings checks serve's flags and application spec and turns them
// into settings.
func readSettings(c flagReader, args []string) (*settings, error) {
	app, err := readAppSettings(c, args, "serve")
	if err != nil {
		return nil, err
	}
	s := &settings{
		appSettings:     app,
		binds:           c.StringSlice("bind"),
		workers:         c.Int("workers"),
		threads:         c.Int("threads"),
		keepAlive:       seconds(c.Int("keepalive")),
		headerTimeout:   seconds(c.Int("header-timeout")),
		gracefulTimeout: seconds(c.Int("graceful-timeout")),
		timeout:         seconds(c.Int("timeout")),
		sendTimeout:     seconds(noLimitIfZero(c.Int("send-timeout"))),
		bodyBuffer:      int64(noLimitIfZero(int(c.Int64("body-buffer")))),
		streamBuffer:    int64(noLimitIfZero(int(c.Int64("stream-buffer")))),
		env:             c.StringSlice("env"),

		maxRequests:       c.Int("max-requests"),
		maxRequestsJitter: c.Int("max-requests-jitter"),
		maxWorkerMemoryMB: c.Int64("max-worker-memory"),
		backlog:           c.Int("backlog"),
		reusePort:         c.Bool("reuse-port"),
		pidFile:           c.String("pid"),
		user:              c.String("user"),
		group:             c.String("group"),
		reload:            c.Bool("reload"),
		rootPath:          strings.TrimRight(c.String("root-path"), "/"),
		metricsBind:       c.String("metrics-bind"),
		controlSocket:     c.String("control-socket"),
		noControlSocket:   c.Bool("no-control-socket"),
		accessLogfile:     c.String("access-logfile"),
		accessLogFormat:   c.String("access-logformat"),
		errorLogfile:      c.String("error-logfile"),
		captureOutput:     c.Bool("capture-output"),
		logLevel:          c.String("log-level"),
		logJSON:           c.Bool("log-json"),
		proxyProtocol:     c.Bool("proxy-protocol"),
		suspendStreams:    c.Bool("suspend-streams"),
		preload:           c.Bool("preload"),

		limitRequestLine:      c.Int("limit-request-line"),
		limitRequestFields:    c.Int("limit-request-fields"),
		limitRequestFieldSize: c.Int("limit-request-field-size"),
		limitRequestBody:      c.Int64("limit-request-body"),
		maxConnections:        c.Int("max-connections"),
	}
	switch {
	case s.workers < 1:
		return nil, fmt.Errorf("--workers must be at least 1, got %d", s.workers)
	case s.threads < 1:
		return nil, fmt.Errorf("--threads must be at least 1, got %d", s.threads)
	case c.Int("keepalive") < 0 || c.Int("header-timeout") < 1 || c.Int("graceful-timeout") < 0 || c.Int("timeout") < 0 ||
		c.Int("send-timeout") < 0 || c.Int64("body-buffer") < 0 || c.Int64("stream-buffer") < 0:
		return nil, fmt.Errorf("--keepalive, --timeout, --graceful-timeout, --send-timeout, --body-buffer and --stream-buffer must be 0 or more and --header-timeout 1 or more")
	case s.limitRequestLine < 0 || s.limitRequestFields < 1 || s.limitRequestFieldSize < 0 || s.limitRequestBody < 0:
		return nil, fmt.Errorf("--limit-request-* values must be 0 or more (--limit-request-fields at least 1)")
	case s.maxRequests < 0 || s.maxRequestsJitter < 0 || s.maxWorkerMemoryMB < 0 || s.maxConnections < 0 || s.backlog < 1:
		return nil, fmt.Errorf("--max-requests, --max-requests-jitter, --max-worker-memory and --max-connections must be 0 or more, --backlog 1 or more")
	case len(s.binds) == 0:
		return nil, fmt.Errorf("--bind needs an address")
	}
	if s.trust, err = proxy.ParseTrust(c.String("forwarded-allow-ips")); err != nil {
		return nil, fmt.Errorf("--forwarded-allow-ips: %w", err)
	}
	if s.tls, err = tlsConfig(c.String("certfile"), c.String("keyfile"), c.String("ca-certs")); err != nil {
		return nil, err
	}
	if _, err := accesslog.ParseLevel(s.logLevel); err != nil {
		return nil, fmt.Errorf("--log-level: %w", err)
	}
	if s.rootPath != "" && !strings.HasPrefix(s.rootPath, "/") {
		return nil, fmt.Errorf("--root-path %q must start with /", c.String("root-path"))
	}
	for _, v := range c.StringSlice("static") {
		m, err := static.ParseMount(v)
		if err != nil {
			return nil, err
		}
		// relative to where gowsgi was started, not to --chdir
		if m.Dir, err = filepath.Abs(m.Dir); err != nil {
			return nil, fmt.Errorf("--static %s: %w", v, err)
		}
		s.static = append(s.static, m)
	}
	umask, err := strconv.ParseInt(c.String("umask"), 8, 32)
	if err != nil || umask < 0 || umask > 0o777 {
		return nil, fmt.Errorf("--umask %q: want an octal mask such as 022", c.String("umask"))
	}
	s.umask = int(umask)
	for _, kv := range s.env {
		if k, _, ok := strings.Cut(kv, "="); !ok || k == "" || strings.ContainsAny(k, "\x00") {
			return nil, fmt.Errorf("--env %q: want KEY=VALUE", kv)
		}
	}
	s.pyConfig = pyConfigFile(c.String("config"))
	return s, nil
}

func seconds(n int) time.Duration { return time.Duration(n) * time.Second }

// tlsConfig loads --certfile/--keyfile/--ca-certs; nil when TLS is off.
func tlsConfig(cert, key, ca string) (*tls.Config, error) {
	switch {
	case cert == "" && key == "" && ca == "":
		return nil, nil
	case cert == "" || key == "":
		return nil, fmt.Errorf("--certfile and --keyfile go together (--ca-certs needs both)")
	}
	return httpcore.LoadTLSConfig(cert, key, ca)
}
