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
	flags := append(fromFile(serveFlags()), configFlag)
	return &cli.Command{
		Name:      "serve",
		Usage:     "serve a WSGI application",
		ArgsUsage: "MODULE[:CALLABLE]",
		Description: "MODULE:CALLABLE names the WSGI application as gunicorn reads it: module:app, " +
			"pkg.mod:obj.attr, module alone (its 'application'), or module:factory() (called once).",
		Flags:  flags,
		Before: loadConfig(flags),
		Action: serve,
	}
}

// serve runs the parent (the supervisor, which never starts Python) or, in
// a process the supervisor started, a worker.
func serve(c *cli.Context) error {
	s, err := readSettings(c)
	if err != nil {
		return cli.Exit(err.Error(), 2)
	}
	if prefork.IsWorker() {
		return runWorker(s)
	}
	return runParent(s)
}

func runParent(s *settings) error {
	logs, err := openErrorLog(s)
	if err != nil {
		return cli.Exit(err.Error(), 2)
	}
	defer logs.close()
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
	sup := &prefork.Supervisor{
		Workers:          s.workers,
		Listeners:        listeners,
		Env:              s.env,
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
	if s.reload {
		sup.WatchPaths = watchPaths(s)
		log.Info("reloading on changes", "paths", sup.WatchPaths)
	}
	log.Info("starting gowsgi", "version", Version, "pid", os.Getpid(), "app", s.spec)
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
