package main

import (
	"encoding/json"
	"fmt"
	"net"
	"sort"
	"strconv"
	"strings"
)

// gunicornSetting is one of gunicorn's settings (its reference, "Settings",
// is the source of names, options and defaults) and what gowsgi does with
// it: set a serve flag, run it as a hook, ignore it (saying why), or refuse
// to start. The README's "Coming from gunicorn" table is generated from
// gunicornSettings (TestREADMEGunicornTable).
type gunicornSetting struct {
	name    string
	options []string // gunicorn's command-line options, as GUNICORN_CMD_ARGS takes them
	takes   argKind

	flag string // the serve flag it sets, converted by conv
	conv func(v any) ([]string, error)

	ignored string // without a flag: why it changes nothing in gowsgi
	dflt    any    // with ignored: gunicorn's default, which warrants no warning (anyValue: no value does)

	hook bool // a server hook: a callable

	// special translates settings that need more than a flag: it may read
	// other settings (t.view) and add flag values, notes and refusals.
	special func(t *translator, v gunicornValue) error
	doc     string // with special: what gowsgi does; with flag: what to know of it (README)
}

// argKind is how a command-line option takes its value (argparse's action).
type argKind int

const (
	argNone   argKind = iota // no command-line option
	argValue                 // --name VALUE, --name=VALUE
	argAppend                // repeatable, each value added to a list
	argTrue                  // a switch: true
	argFalse                 // a switch: false (--no-sendfile)
)

// noDefault marks an ignored setting every value of which is worth a
// warning; anyValue one no value of which is.
var (
	noDefault = &struct{ noDefault bool }{}
	anyValue  = &struct{ anyValue bool }{}
)

const (
	whySyslog       = "no syslog: the error log goes to --error-logfile (standard error by default, which journald and containers collect)"
	whyStatsd       = "no StatsD: --metrics-bind serves Prometheus metrics from the parent"
	whyLogConfig    = "the server's logs are Go's (--error-logfile, --log-level, --log-json); Python logging configuration is not applied, the app may apply its own"
	whyStrictParser = "gowsgi's HTTP parser stays strict and has no switch for this"
	whyASGI         = "gowsgi serves WSGI only"
	whyControl      = "no control socket yet"
	whyHTTP2        = "gowsgi speaks HTTP/1.1 (put a proxy in front for HTTP/2)"
	whyDirty        = "gowsgi has no dirty arbiters"
	whyPaste        = "PasteDeploy is not supported: name the app as MODULE:CALLABLE"
)

// gunicornSettings are gunicorn's settings, in the order of its reference:
// gunicorn 23's, plus those 24 and 25 added (ASGI, HTTP/2, control socket,
// dirty arbiters).
var gunicornSettings = []gunicornSetting{
	// Config File
	{name: "config", options: []string{"-c", "--config"}, takes: argValue, special: configSetting, doc: "`--config`, as gunicorn finds it: the command line's `-c`, else `GUNICORN_CMD_ARGS`'s, else `GOWSGI_CONFIG`, else `./gunicorn.conf.py` if it exists; set in the file itself it changes nothing"},
	{name: "wsgi_app", special: wsgiApp, doc: "the application, when the command line names none"},
	// Debugging
	{name: "reload", options: []string{"--reload"}, takes: argTrue, flag: "reload", conv: asBool},
	{name: "reload_engine", options: []string{"--reload-engine"}, takes: argValue, ignored: "gowsgi polls the files once a second", dflt: "auto"},
	{name: "reload_extra_files", options: []string{"--reload-extra-file"}, takes: argAppend, ignored: "--reload watches the .py files under the app's directory and --pythonpath only", dflt: []any{}},
	{name: "spew", options: []string{"--spew"}, takes: argTrue, ignored: "no line tracing", dflt: false},
	{name: "check_config", options: []string{"--check-config"}, takes: argTrue, ignored: "use gowsgi check to import the app, or --print-config", dflt: false},
	{name: "print_config", options: []string{"--print-config"}, takes: argTrue, flag: "print-config", conv: asBool},
	// Logging
	{name: "accesslog", options: []string{"--access-logfile"}, takes: argValue, flag: "access-logfile", conv: asString},
	{name: "disable_redirect_access_to_syslog", options: []string{"--disable-redirect-access-to-syslog"}, takes: argTrue, ignored: whySyslog, dflt: false},
	{name: "access_log_format", options: []string{"--access-logformat"}, takes: argValue, flag: "access-logformat", conv: asString},
	{name: "errorlog", options: []string{"--error-logfile", "--log-file"}, takes: argValue, flag: "error-logfile", conv: asString},
	{name: "loglevel", options: []string{"--log-level"}, takes: argValue, flag: "log-level", conv: asLowerString},
	{name: "capture_output", options: []string{"--capture-output"}, takes: argTrue, flag: "capture-output", conv: asBool},
	{name: "logger_class", options: []string{"--logger-class"}, takes: argValue, ignored: whyLogConfig, dflt: "gunicorn.glogging.Logger"},
	{name: "logconfig", options: []string{"--log-config"}, takes: argValue, ignored: whyLogConfig, dflt: nil},
	{name: "logconfig_dict", ignored: whyLogConfig, dflt: map[string]any{}},
	{name: "logconfig_json", options: []string{"--log-config-json"}, takes: argValue, ignored: whyLogConfig, dflt: nil},
	{name: "syslog_addr", options: []string{"--log-syslog-to"}, takes: argValue, ignored: whySyslog, dflt: noDefault},
	{name: "syslog", options: []string{"--log-syslog"}, takes: argTrue, ignored: whySyslog, dflt: false},
	{name: "syslog_prefix", options: []string{"--log-syslog-prefix"}, takes: argValue, ignored: whySyslog, dflt: nil},
	{name: "syslog_facility", options: []string{"--log-syslog-facility"}, takes: argValue, ignored: whySyslog, dflt: "user"},
	{name: "enable_stdio_inheritance", options: []string{"-R", "--enable-stdio-inheritance"}, takes: argTrue, ignored: "gowsgi never daemonizes: standard streams are always inherited", dflt: anyValue},
	{name: "statsd_host", options: []string{"--statsd-host"}, takes: argValue, ignored: whyStatsd, dflt: nil},
	{name: "dogstatsd_tags", options: []string{"--dogstatsd-tags"}, takes: argValue, ignored: whyStatsd, dflt: ""},
	{name: "statsd_prefix", options: []string{"--statsd-prefix"}, takes: argValue, ignored: whyStatsd, dflt: ""},
	// Process Naming
	{name: "proc_name", options: []string{"-n", "--name"}, takes: argValue, ignored: "process titles are not set", dflt: nil},
	{name: "default_proc_name", ignored: "process titles are not set", dflt: noDefault},
	// SSL
	{name: "keyfile", options: []string{"--keyfile"}, takes: argValue, flag: "keyfile", conv: asString},
	{name: "certfile", options: []string{"--certfile"}, takes: argValue, flag: "certfile", conv: asString},
	{name: "ssl_version", options: []string{"--ssl-version"}, takes: argValue, ignored: "ignored by gunicorn too since 21.0; gowsgi's TLS is 1.2 or newer", dflt: anyValue},
	{name: "cert_reqs", options: []string{"--cert-reqs"}, takes: argValue, special: certReqs, doc: "2 (required) with `ca_certs`: `--ca-certs`, client certificates required; 0: none asked for; 1 (optional) is not supported: warned, none asked for"},
	{name: "ca_certs", options: []string{"--ca-certs"}, takes: argValue, special: caCerts, doc: "`--ca-certs` when `cert_reqs` is 2; otherwise gunicorn does not check client certificates either, and it is ignored"},
	{name: "suppress_ragged_eofs", options: []string{"--suppress-ragged-eofs"}, takes: argTrue, ignored: "a TLS connection cut without close_notify just ends", dflt: anyValue},
	{name: "do_handshake_on_connect", options: []string{"--do-handshake-on-connect"}, takes: argTrue, ignored: "the TLS handshake runs when the connection is first read", dflt: anyValue},
	{name: "ciphers", options: []string{"--ciphers"}, takes: argValue, ignored: "Go's default TLS 1.2+ cipher suites are used", dflt: nil},
	// Security
	{name: "limit_request_line", options: []string{"--limit-request-line"}, takes: argValue, flag: "limit-request-line", conv: asInt},
	{name: "limit_request_fields", options: []string{"--limit-request-fields"}, takes: argValue, flag: "limit-request-fields", conv: asInt},
	{name: "limit_request_field_size", options: []string{"--limit-request-field_size"}, takes: argValue, flag: "limit-request-field-size", conv: asInt},
	// Server Hooks
	{name: "on_starting", hook: true},
	{name: "on_reload", hook: true},
	{name: "when_ready", hook: true},
	{name: "pre_fork", hook: true},
	{name: "post_fork", hook: true},
	{name: "post_worker_init", hook: true},
	{name: "worker_int", hook: true},
	{name: "worker_abort", hook: true},
	{name: "pre_exec", hook: true},
	{name: "pre_request", hook: true},
	{name: "post_request", hook: true},
	{name: "child_exit", hook: true},
	{name: "worker_exit", hook: true},
	{name: "nworkers_changed", hook: true},
	{name: "on_exit", hook: true},
	{name: "ssl_context", hook: true},
	// Server Mechanics
	{name: "preload_app", options: []string{"--preload"}, takes: argTrue, flag: "preload", conv: asBool},
	{name: "sendfile", options: []string{"--no-sendfile"}, takes: argFalse, ignored: "gowsgi uses sendfile(2) for --static and wsgi.file_wrapper and has no switch for it", dflt: anyValue},
	{name: "reuse_port", options: []string{"--reuse-port"}, takes: argTrue, flag: "reuse-port", conv: asBool},
	{name: "chdir", options: []string{"--chdir"}, takes: argValue, flag: "chdir", conv: asString},
	{name: "daemon", options: []string{"-D", "--daemon"}, takes: argTrue, ignored: "gowsgi stays in the foreground: run it under systemd, a container or a process supervisor", dflt: false},
	{name: "raw_env", options: []string{"-e", "--env"}, takes: argAppend, flag: "env", conv: asList},
	{name: "pidfile", options: []string{"-p", "--pid"}, takes: argValue, flag: "pid", conv: asString},
	{name: "worker_tmp_dir", options: []string{"--worker-tmp-dir"}, takes: argValue, ignored: "not needed: gowsgi's worker heartbeat is a pipe, no file is written", dflt: nil},
	{name: "user", options: []string{"-u", "--user"}, takes: argValue, flag: "user", conv: asID},
	{name: "group", options: []string{"-g", "--group"}, takes: argValue, flag: "group", conv: asID},
	{name: "umask", options: []string{"-m", "--umask"}, takes: argValue, flag: "umask", conv: asUmask, doc: "gunicorn's number (`0o22`, `18`, `\"022\"`) as octal digits; it applies to unix socket files"},
	{name: "initgroups", options: []string{"--initgroups"}, takes: argTrue, ignored: "workers run with the user's uid and gid and no supplementary groups", dflt: false},
	{name: "tmp_upload_dir", ignored: "request bodies are held in memory up to --body-buffer and streamed beyond it; nothing is written to disk", dflt: nil},
	{name: "secure_scheme_headers", special: secureSchemeHeaders, doc: "gowsgi believes `X-Forwarded-Proto` (`https`) from `forwarded_allow_ips` peers, and no other scheme header: `{\"X-FORWARDED-PROTO\": \"https\"}` and gunicorn's default change nothing, another value is warned about"},
	{name: "forwarded_allow_ips", options: []string{"--forwarded-allow-ips"}, takes: argValue, flag: "forwarded-allow-ips", conv: asAddressList},
	{name: "pythonpath", options: []string{"--pythonpath"}, takes: argValue, flag: "pythonpath", conv: asCommaList},
	{name: "paste", options: []string{"--paste", "--paster"}, takes: argValue, ignored: whyPaste, dflt: nil},
	{name: "proxy_protocol", options: []string{"--proxy-protocol"}, takes: argTrue, flag: "proxy-protocol", conv: asBool},
	{name: "proxy_allow_ips", options: []string{"--proxy-allow-from"}, takes: argValue, special: proxyAllowIPs, doc: "gowsgi reads PROXY headers from `forwarded_allow_ips` peers (`--forwarded-allow-ips`); a different list is warned about and not used"},
	{name: "protocol", options: []string{"--protocol"}, takes: argValue, special: protocol, doc: "`http`: the only one; `uwsgi` is refused (exit 2): gowsgi speaks HTTP, and nginx's uwsgi_pass would get nothing it understands"},
	{name: "uwsgi_allow_ips", options: []string{"--uwsgi-allow-from"}, takes: argValue, ignored: "only with protocol uwsgi", dflt: anyValue},
	{name: "raw_paste_global_conf", options: []string{"--paste-global"}, takes: argAppend, ignored: whyPaste, dflt: []any{}},
	{name: "permit_obsolete_folding", options: []string{"--permit-obsolete-folding"}, takes: argTrue, ignored: whyStrictParser, dflt: false},
	{name: "strip_header_spaces", options: []string{"--strip-header-spaces"}, takes: argTrue, ignored: whyStrictParser, dflt: false},
	{name: "permit_unconventional_http_method", options: []string{"--permit-unconventional-http-method"}, takes: argTrue, ignored: whyStrictParser, dflt: false},
	{name: "permit_unconventional_http_version", options: []string{"--permit-unconventional-http-version"}, takes: argTrue, ignored: whyStrictParser, dflt: false},
	{name: "casefold_http_method", options: []string{"--casefold-http-method"}, takes: argTrue, ignored: whyStrictParser, dflt: false},
	{name: "forwarder_headers", options: []string{"--forwarder-headers"}, takes: argValue, ignored: "a proxy's SCRIPT_NAME and PATH_INFO headers are not read: set --root-path", dflt: "SCRIPT_NAME,PATH_INFO"},
	{name: "header_map", options: []string{"--header-map"}, takes: argValue, ignored: "header names with an underscore are dropped, as with gunicorn's default \"drop\"", dflt: "drop"},
	{name: "root_path", options: []string{"--root-path"}, takes: argValue, ignored: "it sets only gunicorn's ASGI root_path; gowsgi's --root-path sets a WSGI app's SCRIPT_NAME", dflt: ""},
	// Server Socket
	{name: "bind", options: []string{"-b", "--bind"}, takes: argAppend, flag: "bind", conv: asBindList, doc: "a HOST alone means port 8000, as in gunicorn"},
	{name: "backlog", options: []string{"--backlog"}, takes: argValue, flag: "backlog", conv: asInt},
	// Worker Processes
	{name: "workers", options: []string{"-w", "--workers"}, takes: argValue, flag: "workers", conv: asInt},
	{name: "worker_class", options: []string{"-k", "--worker-class"}, takes: argValue, special: workerClass, doc: "`sync` and `gthread` (and their class paths): the app runs on `threads` threads (`--threads`, 1 unless set), as under gthread; any other class (`gevent`, `eventlet`, `tornado`, `asgi`, `uvicorn.workers.UvicornWorker`, ...) is refused (exit 2), since an app written for it would run without what it relies on"},
	{name: "threads", options: []string{"--threads"}, takes: argValue, flag: "threads", conv: asInt},
	{name: "worker_connections", options: []string{"--worker-connections"}, takes: argValue, flag: "max-connections", conv: asInt, doc: "per worker; no limit unless set (gunicorn's default, 1000, is not applied)"},
	{name: "max_requests", options: []string{"--max-requests"}, takes: argValue, flag: "max-requests", conv: asInt},
	{name: "max_requests_jitter", options: []string{"--max-requests-jitter"}, takes: argValue, flag: "max-requests-jitter", conv: asInt},
	{name: "timeout", options: []string{"-t", "--timeout"}, takes: argValue, flag: "timeout", conv: asInt, doc: "bounds each request in the app, where gunicorn's bounds a worker's silence"},
	{name: "graceful_timeout", options: []string{"--graceful-timeout"}, takes: argValue, flag: "graceful-timeout", conv: asInt},
	{name: "keepalive", options: []string{"--keep-alive"}, takes: argValue, flag: "keepalive", conv: asInt, doc: "5 s unless set (gunicorn: 2)"},
	{name: "asgi_loop", options: []string{"--asgi-loop"}, takes: argValue, ignored: whyASGI, dflt: "auto"},
	{name: "asgi_lifespan", options: []string{"--asgi-lifespan"}, takes: argValue, ignored: whyASGI, dflt: "auto"},
	// Control (25)
	{name: "control_socket", options: []string{"--control-socket"}, takes: argValue, ignored: whyControl, dflt: noDefault},
	{name: "control_socket_mode", options: []string{"--control-socket-mode"}, takes: argValue, ignored: whyControl, dflt: json.Number("384")},
	{name: "no_control_socket", options: []string{"--no-control-socket"}, takes: argTrue, ignored: whyControl, dflt: anyValue},
	// HTTP/2 (25)
	{name: "http_protocols", options: []string{"--http-protocols"}, takes: argValue, ignored: whyHTTP2, dflt: noDefault},
	{name: "http2_max_concurrent_streams", options: []string{"--http2-max-concurrent-streams"}, takes: argValue, ignored: whyHTTP2, dflt: noDefault},
	{name: "http2_initial_window_size", options: []string{"--http2-initial-window-size"}, takes: argValue, ignored: whyHTTP2, dflt: noDefault},
	{name: "http2_max_frame_size", options: []string{"--http2-max-frame-size"}, takes: argValue, ignored: whyHTTP2, dflt: noDefault},
	{name: "http2_max_header_list_size", options: []string{"--http2-max-header-list-size"}, takes: argValue, ignored: whyHTTP2, dflt: noDefault},
	// Dirty Arbiters (25)
	{name: "dirty_apps", options: []string{"--dirty-app"}, takes: argAppend, special: dirtyApps, doc: "refused (exit 2) unless empty: " + whyDirty + ", and an app that calls its dirty apps would fail"},
	{name: "dirty_workers", options: []string{"--dirty-workers"}, takes: argValue, ignored: whyDirty, dflt: json.Number("0")},
	{name: "dirty_timeout", options: []string{"--dirty-timeout"}, takes: argValue, ignored: whyDirty, dflt: anyValue},
	{name: "dirty_threads", options: []string{"--dirty-threads"}, takes: argValue, ignored: whyDirty, dflt: anyValue},
	{name: "dirty_graceful_timeout", options: []string{"--dirty-graceful-timeout"}, takes: argValue, ignored: whyDirty, dflt: anyValue},
	{name: "on_dirty_starting", ignored: whyDirty, dflt: anyValue},
	{name: "dirty_post_fork", ignored: whyDirty, dflt: anyValue},
	{name: "dirty_worker_init", ignored: whyDirty, dflt: anyValue},
	{name: "dirty_worker_exit", ignored: whyDirty, dflt: anyValue},
}

// gunicornSettingNamed returns gunicorn's setting name, or nil.
func gunicornSettingNamed(name string) *gunicornSetting {
	for i := range gunicornSettings {
		if gunicornSettings[i].name == name {
			return &gunicornSettings[i]
		}
	}
	return nil
}

// gunicornValue is one gunicorn setting's value from one source.
type gunicornValue struct {
	// value is what the source gave: from a Python file a JSON value
	// (string, json.Number, bool, nil, []any, map[string]any) or a
	// pyObject; from GUNICORN_CMD_ARGS a string, []any of strings or a bool.
	value  any
	layer  layer
	source string // "GUNICORN_CMD_ARGS", "file /etc/app/gunicorn.conf.py"
	origin string // how the source names it: "--workers", "workers"
}

// label names the value's source and how it named the setting.
func (v gunicornValue) label() string { return v.source + " (" + v.origin + ")" }

// pyObject is a Python value a configuration file defined that JSON cannot
// carry: a function, a class or another object.
type pyObject struct {
	kind string // "function", "class" or "object"
	name string // the qualified name; an object's repr
}

// flagSetting is a value for a serve flag from some source.
type flagSetting struct {
	flag   string
	values []string
	layer  layer
	source string
}

// note is what became of a gunicorn setting, or a name a Python
// configuration file defined, that sets no flag: printed by --print-config;
// warned about or refused if it says so.
type note struct {
	name   string
	value  string // as printed
	source string
	what   string
	warn   bool
	refuse bool
}

// translator turns gunicorn's settings into serve's.
type translator struct {
	view  map[string]gunicornValue // every setting given, the higher source's value kept
	flags []flagSetting
	notes []note
	app   *gunicornValue // wsgi_app
}

// translateGunicorn translates the settings of view (by gunicorn's name) in
// the order of gunicornSettings.
func translateGunicorn(view map[string]gunicornValue) (*translator, error) {
	t := &translator{view: view}
	for i := range gunicornSettings {
		g := &gunicornSettings[i]
		v, ok := view[g.name]
		if !ok {
			continue
		}
		if err := t.translate(g, v); err != nil {
			return nil, fmt.Errorf("%s: %s: %w", v.source, v.origin, err)
		}
	}
	return t, nil
}

func (t *translator) translate(g *gunicornSetting, v gunicornValue) error {
	if obj, ok := v.value.(pyObject); ok && !g.hook && g.special == nil && g.ignored == "" {
		return fmt.Errorf("want a value, got %s %s", obj.kind, obj.name)
	}
	switch {
	case g.hook:
		obj, ok := v.value.(pyObject)
		if !ok || obj.kind == "object" {
			return fmt.Errorf("a server hook must be a callable, got %s", printable(v.value))
		}
		switch g.name {
		case "pre_fork", "pre_exec":
			// gunicorn calls them in the arbiter before it forks or
			// re-executes, which gowsgi never does (README: Server hooks)
			t.note(g.name, v, "hook never called: gowsgi starts workers afresh, it does not fork or re-execute", true)
		default:
			t.note(g.name, v, "hook", false)
		}
	case g.flag != "":
		values, err := g.conv(v.value)
		if err != nil {
			return err
		}
		if values != nil {
			t.set(g.flag, values, v)
		}
	case g.special != nil:
		return g.special(t, v)
	default:
		moot := g.dflt == anyValue || (g.dflt != noDefault && sameValue(v.value, g.dflt))
		if moot {
			t.note(g.name, v, "no effect: "+g.ignored, false)
		} else {
			t.note(g.name, v, "ignored: "+g.ignored, true)
		}
	}
	return nil
}

// set sets a flag from gunicorn value v.
func (t *translator) set(flag string, values []string, v gunicornValue) {
	t.flags = append(t.flags, flagSetting{flag: flag, values: values, layer: v.layer, source: v.label()})
}

// note records what became of a setting.
func (t *translator) note(name string, v gunicornValue, what string, warn bool) {
	t.notes = append(t.notes, note{name: name, value: printable(v.value), source: v.label(), what: what, warn: warn})
}

// refuse records a setting gowsgi will not start with.
func (t *translator) refuse(name string, v gunicornValue, why string) {
	t.notes = append(t.notes, note{name: name, value: printable(v.value), source: v.label(), what: "refused: " + why, refuse: true})
}

// configSetting: the configuration file is found before any is read
// (resolver.configFile), and --print-config shows it as --config.
func configSetting(*translator, gunicornValue) error { return nil }

func wsgiApp(t *translator, v gunicornValue) error {
	if v.value == nil {
		return nil
	}
	if _, err := asString(v.value); err != nil {
		return err
	}
	t.app = &v
	return nil
}

// workerClass accepts the worker classes whose model gowsgi's is: sync (one
// request at a time per thread) and gthread (threads).
func workerClass(t *translator, v gunicornValue) error {
	class := ""
	switch x := v.value.(type) {
	case string:
		class = strings.TrimSpace(x)
	case pyObject:
		class = x.name
	default:
		return fmt.Errorf("want a worker class name, got %s", printable(v.value))
	}
	switch class {
	case "sync", "gthread", "gunicorn.workers.sync.SyncWorker", "gunicorn.workers.gthread.ThreadWorker":
		t.note("worker_class", v, "gowsgi's threads model: --threads requests run at once in each worker", false)
		return nil
	}
	why := "gowsgi runs WSGI apps on OS threads (--threads), like gunicorn's sync and gthread workers; "
	switch lc := strings.ToLower(class); {
	case strings.Contains(lc, "gevent"), strings.Contains(lc, "eventlet"):
		why += "an app written for " + class + " counts on monkey-patched cooperative I/O and on thousands of concurrent " +
			"requests per worker, and would run with neither"
	case strings.Contains(lc, "tornado"):
		why += "a Tornado app needs Tornado's IOLoop, which gowsgi does not run"
	case strings.Contains(lc, "asgi"), strings.Contains(lc, "uvicorn"), strings.Contains(lc, "aiohttp"):
		why += "an ASGI (asyncio) app cannot be served as WSGI"
	default:
		why += "a custom worker class " + class + " cannot be run"
	}
	t.refuse("worker_class", v, why)
	return nil
}

// certReqs is read with ca_certs (caCerts); on its own it only warns about
// optional client certificates.
func certReqs(t *translator, v gunicornValue) error {
	n, err := asInt(v.value)
	if err != nil {
		return err
	}
	switch n[0] {
	case "0":
		t.note("cert_reqs", v, "no client certificate asked for", false)
	case "1":
		t.note("cert_reqs", v, "ignored: optional client certificates are not supported; none is asked for", true)
	case "2":
		if ca, ok := t.view["ca_certs"]; !ok || ca.value == nil {
			return fmt.Errorf("2 (client certificates required) needs ca_certs")
		}
		t.note("cert_reqs", v, "client certificates required: --ca-certs", false)
	default:
		return fmt.Errorf("want 0, 1 or 2, got %s", n[0])
	}
	return nil
}

// caCerts maps to --ca-certs only when cert_reqs requires client
// certificates: gowsgi's --ca-certs always does, and gunicorn verifies
// nothing with CA certificates alone.
func caCerts(t *translator, v gunicornValue) error {
	ca, err := asString(v.value)
	if err != nil || ca == nil {
		return err
	}
	if reqs, ok := t.view["cert_reqs"]; ok {
		if n, err := asInt(reqs.value); err == nil && n[0] == "2" {
			t.set("ca-certs", ca, v)
			return nil
		}
	}
	t.note("ca_certs", v, "no effect: cert_reqs does not require client certificates (gunicorn checks none either)", false)
	return nil
}

// secureSchemeHeaders compares the headers a configuration trusts for the
// scheme with the one gowsgi trusts: X-Forwarded-Proto: https.
func secureSchemeHeaders(t *translator, v gunicornValue) error {
	m, ok := v.value.(map[string]any)
	if !ok {
		return fmt.Errorf("want a dict of header names and values, got %s", printable(v.value))
	}
	upper := map[string]any{}
	var other []string
	proto := false
	for name, value := range m {
		upper[strings.ToUpper(name)] = value
		if strings.EqualFold(name, "X-Forwarded-Proto") && value == "https" {
			proto = true
		} else {
			other = append(other, fmt.Sprintf("%s: %v", name, value))
		}
	}
	sort.Strings(other)
	switch {
	case sameValue(upper, gunicornSchemeHeaders):
		t.note("secure_scheme_headers", v, "gunicorn's default: gowsgi believes X-Forwarded-Proto: https from --forwarded-allow-ips peers, not the others", false)
	case len(other) > 0:
		t.note("secure_scheme_headers", v, "partly ignored: gowsgi believes only X-Forwarded-Proto: https from --forwarded-allow-ips peers, not "+strings.Join(other, ", "), true)
	case !proto:
		t.note("secure_scheme_headers", v, "partly ignored: gowsgi believes X-Forwarded-Proto: https from --forwarded-allow-ips peers all the same", true)
	default:
		t.note("secure_scheme_headers", v, "as gowsgi does: X-Forwarded-Proto: https from --forwarded-allow-ips peers", false)
	}
	return nil
}

// gunicornSchemeHeaders is gunicorn's default secure_scheme_headers.
var gunicornSchemeHeaders = map[string]any{"X-FORWARDED-PROTOCOL": "ssl", "X-FORWARDED-PROTO": "https", "X-FORWARDED-SSL": "on"}

// proxyAllowIPs is checked against the effective --forwarded-allow-ips once
// every source is read (resolve).
func proxyAllowIPs(t *translator, v gunicornValue) error {
	_, err := asAddressList(v.value)
	return err
}

func protocol(t *translator, v gunicornValue) error {
	p, err := asString(v.value)
	if err != nil {
		return err
	}
	if p == nil || strings.EqualFold(p[0], "http") {
		t.note("protocol", v, "no effect: gowsgi speaks HTTP", false)
		return nil
	}
	t.refuse("protocol", v, "gowsgi speaks HTTP only; a front end sending "+p[0]+" would get nothing it understands")
	return nil
}

func dirtyApps(t *translator, v gunicornValue) error {
	apps, err := asList(v.value)
	if err != nil {
		return err
	}
	if len(apps) == 0 {
		t.note("dirty_apps", v, "no effect: "+whyDirty, false)
		return nil
	}
	t.refuse("dirty_apps", v, whyDirty+"; an app that calls its dirty apps would fail")
	return nil
}

// Conversions of gunicorn values to flag values, as gunicorn's validators
// read them. A nil result (Python's None) leaves the flag alone.

func asString(v any) ([]string, error) {
	switch x := v.(type) {
	case nil:
		return nil, nil
	case string:
		return []string{strings.TrimSpace(x)}, nil
	}
	return nil, fmt.Errorf("want a string, got %s", printable(v))
}

func asLowerString(v any) ([]string, error) {
	s, err := asString(v)
	if s != nil {
		s[0] = strings.ToLower(s[0])
	}
	return s, err
}

// asInt takes a whole number, or a string of one (int(s, 0), as gunicorn's
// validate_pos_int), not negative.
func asInt(v any) ([]string, error) {
	var n int64
	var err error
	switch x := v.(type) {
	case json.Number:
		n, err = strconv.ParseInt(string(x), 10, 64)
	case string:
		n, err = strconv.ParseInt(strings.TrimSpace(x), 0, 64)
	default:
		err = fmt.Errorf("not a number")
	}
	if err != nil || n < 0 {
		return nil, fmt.Errorf("want a whole number, 0 or more, got %s", printable(v))
	}
	return []string{strconv.FormatInt(n, 10)}, nil
}

func asBool(v any) ([]string, error) {
	switch x := v.(type) {
	case nil:
		return nil, nil
	case bool:
		return []string{strconv.FormatBool(x)}, nil
	case string:
		switch strings.ToLower(strings.TrimSpace(x)) {
		case "true":
			return []string{"true"}, nil
		case "false":
			return []string{"false"}, nil
		}
	}
	return nil, fmt.Errorf("want True or False, got %s", printable(v))
}

// asList takes a list of strings, or one string (gunicorn's legacy form).
func asList(v any) ([]string, error) {
	switch x := v.(type) {
	case nil:
		return nil, nil
	case string:
		return []string{strings.TrimSpace(x)}, nil
	case []any:
		var out []string
		for _, e := range x {
			s, ok := e.(string)
			if !ok {
				return nil, fmt.Errorf("want a list of strings, got %s", printable(v))
			}
			out = append(out, strings.TrimSpace(s))
		}
		return out, nil
	}
	return nil, fmt.Errorf("want a list of strings, got %s", printable(v))
}

// asBindList takes addresses as gunicorn reads them: HOST alone means port
// 8000, and unix://PATH and tcp://HOST:PORT are accepted.
func asBindList(v any) ([]string, error) {
	l, err := asList(v)
	for i, a := range l {
		switch {
		case strings.HasPrefix(a, "unix://"):
			l[i] = "unix:" + strings.TrimPrefix(a, "unix://")
		case strings.HasPrefix(a, "unix:"), strings.HasPrefix(a, "fd://"):
		default:
			a = strings.TrimPrefix(a, "tcp://")
			if _, _, err := net.SplitHostPort(a); err != nil {
				if _, _, err := net.SplitHostPort(a + ":8000"); err == nil {
					a += ":8000"
				}
			}
			l[i] = a
		}
	}
	return l, err
}

// asCommaList takes a comma-separated string (pythonpath) or a list.
func asCommaList(v any) ([]string, error) {
	s, ok := v.(string)
	if !ok {
		return asList(v)
	}
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out, nil
}

// asAddressList takes a comma-separated string or a list, as one
// comma-separated --forwarded-allow-ips value.
func asAddressList(v any) ([]string, error) {
	l, err := asList(v)
	if err != nil || l == nil {
		return l, err
	}
	return []string{strings.Join(l, ",")}, nil
}

// asUmask takes a number, or a string as int(s, 0) reads it with a leading
// 0 meaning octal (gunicorn's auto_int), as --umask's octal digits.
func asUmask(v any) ([]string, error) {
	n, err := asInt(v)
	if err != nil {
		return nil, err
	}
	m, _ := strconv.ParseInt(n[0], 10, 64)
	return []string{strconv.FormatInt(m, 8)}, nil
}

// asID takes a user or group name, or a numeric id.
func asID(v any) ([]string, error) {
	if n, ok := v.(json.Number); ok {
		return asInt(n)
	}
	return asString(v)
}

// sameValue reports whether two gunicorn values are equal as JSON.
func sameValue(a, b any) bool {
	ja, errA := json.Marshal(a)
	jb, errB := json.Marshal(b)
	return errA == nil && errB == nil && string(ja) == string(jb)
}

// printable shows a gunicorn value as Python would write it, roughly.
func printable(v any) string {
	switch x := v.(type) {
	case pyObject:
		return "<" + x.kind + " " + x.name + ">"
	case nil:
		return "None"
	case bool:
		if x {
			return "True"
		}
		return "False"
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}
