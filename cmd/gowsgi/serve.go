package main

import (
	"fmt"
	"log/slog"
	"os"

	"github.com/gowsgi/gowsgi/prefork"
	"github.com/urfave/cli/v2"
)

func serveCommand() *cli.Command {
	return &cli.Command{
		Name:      "serve",
		Usage:     "serve a WSGI application",
		ArgsUsage: "MODULE[:CALLABLE]",
		Description: "MODULE:CALLABLE names the WSGI application as gunicorn reads it: module:app, " +
			"pkg.mod:obj.attr, module alone (its 'application'), or module:factory() (called once).",
		Flags:  serveFlags(),
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
	log := newLogger()
	var listeners []*os.File
	defer func() {
		for _, f := range listeners {
			f.Close()
		}
	}()
	for _, addr := range s.binds {
		f, err := prefork.Listen(addr)
		if err != nil {
			return cli.Exit(fmt.Sprintf("cannot listen on %s: %v", addr, err), 1)
		}
		listeners = append(listeners, f)
		log.Info("listening", "address", addr, "pid", os.Getpid())
	}
	sup := &prefork.Supervisor{
		Workers:         s.workers,
		Listeners:       listeners,
		Env:             s.env,
		GracefulTimeout: s.gracefulTimeout,
		Log:             log,
	}
	if err := sup.Run(); err != nil {
		return cli.Exit(err.Error(), 1)
	}
	log.Info("stopped")
	return nil
}

// newLogger is the server's log: text lines on standard error.
func newLogger() *slog.Logger {
	return slog.New(slog.NewTextHandler(os.Stderr, nil))
}
