package main

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/gowsgi/gowsgi/httpcore"
	"github.com/gowsgi/gowsgi/prefork"
	"github.com/gowsgi/gowsgi/wsgi"
)

// runWorker loads the application into this process's interpreter and
// serves the inherited listeners until the supervisor signals: SIGTERM lets
// requests in progress finish and finalizes Python (atexit handlers run);
// SIGINT or SIGQUIT stops at once. It runs on the main goroutine, which
// stays on the main thread (see init), so Python's main thread is this one.
func runWorker(s *settings) error {
	log := newLogger().With("worker", prefork.WorkerID(), "pid", os.Getpid())
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM, syscall.SIGINT, syscall.SIGQUIT)

	listeners, err := prefork.WorkerListeners()
	if err != nil {
		log.Error("no listeners from the supervisor", "err", err)
		os.Exit(prefork.ExitBootFailed)
	}
	if s.chdir != "" {
		if err := os.Chdir(s.chdir); err != nil {
			log.Error("cannot change directory", "err", err)
			os.Exit(prefork.ExitBootFailed)
		}
	}
	errorLog := slog.NewLogLogger(log.Handler(), slog.LevelError)
	app, err := wsgi.Start(wsgi.Config{
		Spec:           s.spec,
		PythonPath:     s.pythonPath,
		Virtualenv:     s.virtualenv,
		Threads:        s.threads,
		Multiprocess:   s.workers > 1,
		Argv:           os.Args,
		ServerSoftware: "gowsgi/" + Version,
		ErrorLog:       errorLog,
	})
	if err != nil {
		if !errors.Is(err, wsgi.ErrLoad) {
			log.Error("cannot start Python", "err", err)
		}
		os.Exit(prefork.ExitBootFailed)
	}

	srv := &httpcore.Server{
		Handler:       newBridge(app),
		ServerHeader:  "gowsgi",
		KeepAlive:     s.keepAlive,
		HeaderTimeout: s.headerTimeout,
		ErrorLog:      errorLog,
	}
	served := make(chan error, len(listeners))
	for _, l := range listeners {
		go func() { served <- srv.Serve(l) }()
	}
	if err := prefork.NotifyReady(); err != nil {
		log.Error("cannot tell the supervisor this worker is ready", "err", err)
	}
	log.Info("booted", "app", s.spec, "threads", s.threads)

	select {
	case sig := <-stop:
		if sig != syscall.SIGTERM {
			log.Info("stopping now", "signal", sig.String())
			srv.Close()
			os.Exit(0)
		}
		log.Info("stopping gracefully", "signal", sig.String())
		ctx, cancel := context.WithTimeout(context.Background(), s.gracefulTimeout)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			log.Warn("requests still running at the graceful timeout", "err", err)
			srv.Close()
		}
	case err := <-served:
		log.Error("listener failed", "err", err)
		srv.Close()
	}
	if err := app.Close(); err != nil {
		log.Warn("Python finalization", "err", err)
	}
	return nil
}
