package main

import (
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"

	"github.com/gowsgi/gowsgi/metrics"

	"github.com/gowsgi/gowsgi/prefork"
	"github.com/urfave/cli/v2"
)

func serveCommand() *cli.Command {
	return &cli.Command{
		Name:      "serve",
		Usage:     "serve a WSGI application",
		ArgsUsage: "MODULE[:CALLABLE]",
		Description: "MODULE:CALLABLE names the WSGI application as gunicorn reads it: module:app, " +
			"pkg.mod:obj.attr, module alone (its 'application'), or module:factory() (called once). " +
			"Settings come from the command line, then GUNICORN_CMD_ARGS, then the environment, then the " +
			"configuration file (gunicorn's Python, or TOML), then PORT and WEB_CONCURRENCY.",
		Flags:  allServeFlags(),
		Action: serve,
	}
}

// serve runs the parent (the supervisor, which never starts Python) or, in
// a process the supervisor started, a worker, which takes the settings the
// parent resolved.
func serve(c *cli.Context) error {
	if prefork.IsWorker() || prefork.IsZygote() {
		s, err := workerSettings()
		if err != nil {
			return cli.Exit(err.Error(), 2)
		}
		if prefork.IsZygote() {
			return runZygote(s)
		}
		return runWorker(s)
	}
	// serve's arguments, as the app's context holds them after "serve"
	args := c.Lineage()[1].Args().Tail()
	p := &parentConfig{resolver: resolver{args: args, lookup: os.LookupEnv, stderr: os.Stderr}}
	res, err := p.resolver.resolve()
	if err != nil {
		return cli.Exit(err.Error(), 2)
	}
	if res.values.Bool("print-config") {
		return printConfig(c.App.Writer, c.App.ErrWriter, res)
	}
	if err := res.refusal(); err != nil {
		return cli.Exit(err.Error(), 2)
	}
	s, err := res.settings()
	if err != nil {
		return cli.Exit(err.Error(), 2)
	}
	p.current, p.settings = res, s
	return runParent(p)
}

func runParent(p *parentConfig) error {
	s := p.settings
	logs, err := openErrorLog(s)
	if err != nil {
		return cli.Exit(err.Error(), 2)
	}
	defer logs.close()
	p.log = logs.errors
	p.current.logWarnings(p.log)
	// Open the access log once here, so that a bad format or an
	// unwritable file is reported before anything starts; workers write it.
	if err := logs.openAccessLog(s); err != nil {
		return cli.Exit(err.Error(), 2)
	}
	logs.access.Close()
	logs.access = nil
	log := logs.errors
	cred, err := workerCredential(s.user, s.group)
	if err != nil {
		return cli.Exit(err.Error(), 2)
	}
	// The config file's supervisor hooks run in a process of their own;
	// gunicorn's arbiter runs on_starting before it binds, when_ready once
	// it has, and on_exit last.
	hooks, err := startHookClient(s, log)
	if err != nil {
		return cli.Exit(err.Error(), 1)
	}
	defer hooks.close()
	hooks.starting(s.workers)
	listeners, err := openListeners(s, log)
	if err != nil {
		return cli.Exit(err.Error(), 2)
	}
	defer func() {
		for _, f := range listeners {
			f.Close()
		}
	}()
	env, err := p.current.workerEnv(s)
	if err != nil {
		return cli.Exit(err.Error(), 2)
	}
	sup := &prefork.Supervisor{
		Workers:          s.workers,
		Listeners:        listeners,
		Env:              env,
		Reconfigure:      p.reload,
		GracefulTimeout:  s.gracefulTimeout,
		HeartbeatTimeout: prefork.DefaultHeartbeatTimeout,
		MaxWorkerMemory:  s.maxWorkerMemoryMB << 20,
		RequestTimeout:   s.timeout,
		PIDFile:          s.pidFile,
		OnReopenLogs: func() {
			logs.reopen()
			hooks.reopenLogs()
		},
		Credential: cred,
		Preload:    s.preload,
		Log:        log,
	}
	if hooks != nil {
		sup.Hooks = hooks
	}
	if s.metricsBind != "" {
		ln, err := net.Listen("tcp", s.metricsBind)
		if err != nil {
			return cli.Exit(fmt.Sprintf("--metrics-bind %s: %v", s.metricsBind, err), 2)
		}
		srv := metrics.Serve(ln, sup.Metrics, slog.NewLogLogger(log.Handler(), slog.LevelError))
		defer srv.Close()
		log.Info("serving metrics", "address", "http://"+ln.Addr().String()+"/metrics")
	}
	ctl, err := openControl(s, sup, log)
	if err != nil {
		return cli.Exit(err.Error(), 2)
	}
	if ctl != nil {
		defer ctl.Close()
	}
	if s.reload {
		sup.WatchPaths = watchPaths(s)
		log.Info("reloading on changes", "paths", sup.WatchPaths)
	}
	log.Info("starting gowsgi", "version", Version, "pid", os.Getpid(), "app", s.spec, "config", p.current.values.String("config"))
	hooks.ready()
	err = sup.Run()
	hooks.exiting()
	if err != nil {
		return cli.Exit(err.Error(), 1)
	}
	log.Info("stopped")
	return nil
}

// watchPaths are the directories --reload watches: the app's directory
// (--chdir, else the working directory) and the --pythonpath entries.
func watchPaths(s *settings) []string {
	base := s.chdir
	if base == "" {
		base, _ = os.Getwd()
	}
	paths := []string{base}
	for _, p := range s.pythonPath {
		if !filepath.IsAbs(p) {
			p = filepath.Join(base, p)
		}
		paths = append(paths, p)
	}
	return paths
}
