package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"os/signal"
	"runtime"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/gowsgi/gowsgi/dispatch"
	"github.com/gowsgi/gowsgi/httpcore"
	"github.com/gowsgi/gowsgi/prefork"
	"github.com/gowsgi/gowsgi/static"
	"github.com/gowsgi/gowsgi/wsgi"
)

const (
	// stuckDrainTimeout is how long a worker with a stuck request lets its
	// other requests finish before it exits.
	stuckDrainTimeout = 5 * time.Second
	// stuckAnswerTimeout is how long the answers to the requests a stuck
	// worker gives up on get to reach their clients before it exits.
	stuckAnswerTimeout = time.Second
	// stuckHookTimeout is how long a worker that gives up on a stuck
	// request waits, once the others are done, for its worker_abort and
	// worker_exit hooks, which need the GIL the stuck thread may hold.
	stuckHookTimeout = time.Second
)

// runWorker loads the application into this process's interpreter and
// serves the inherited listeners until the supervisor signals: SIGTERM lets
// requests in progress finish and finalizes Python (atexit handlers run);
// SIGINT or SIGQUIT stops at once. It runs on the main goroutine, which
// stays on the main thread (see init), so Python's main thread is this one.
func runWorker(s *settings) error {
	logs, log := workerLogs(s)
	defer logs.close()
	if err := logs.openAccessLog(s); err != nil {
		logs.errors.Error("cannot open the access log", "err", err)
		os.Exit(prefork.ExitBootFailed)
	}
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM, syscall.SIGINT, syscall.SIGQUIT)
	// USR1 comes from the supervisor after log rotation.
	usr1 := make(chan os.Signal, 1)
	signal.Notify(usr1, syscall.SIGUSR1)
	go func() {
		for range usr1 {
			logs.reopen()
		}
	}()
	keepSignals(log)
	stuck := make(chan struct{}, 1)

	listeners, err := prefork.WorkerListeners()
	if err != nil {
		log.Error("no listeners from the supervisor", "err", err)
		os.Exit(prefork.ExitBootFailed)
	}
	enterAppDir(s, log)
	errorLog := slog.NewLogLogger(log.Handler(), slog.LevelError)
	setProcs(s.workers)
	var handler atomic.Pointer[dispatch.Handler] // for worker.nr, once there is one
	cfg := appConfig(s)
	cfg.SuspendStreams = s.suspendStreams
	cfg.ErrorLog = errorLog
	cfg.ClientLog = slog.NewLogLogger(log.Handler(), slog.LevelInfo)
	cfg.Timeout = s.timeout
	cfg.OnException = prefork.RecordException
	cfg.ExecutorBusy = prefork.ExecutorBusy
	cfg.ExecutorIdle = prefork.ExecutorIdle
	cfg.WaitBegin = prefork.BeginWait
	cfg.WaitEnd = prefork.EndWait
	cfg.OnStuck = func(request string) {
		log.Error("request stuck outside Python bytecode past --timeout (C code, or a thread holding the GIL); "+
			"answered 500, dumping tracebacks and replacing this worker", "request", request, "timeout", s.timeout)
		wsgi.DumpTracebacks()
		select {
		case stuck <- struct{}{}:
		default: // already stopping
		}
	}
	cfg.Hooks = wsgi.HookConfig{
		File:    s.pyConfig,
		Age:     prefork.WorkerAge(),
		Workers: prefork.WorkersWanted(),
		Log:     pythonLog(log),
		Requests: func() int64 {
			if h := handler.Load(); h != nil {
				return h.Served()
			}
			return 0
		},
	}
	app, err := wsgi.Start(cfg)
	if err != nil {
		if !errors.Is(err, wsgi.ErrLoad) {
			log.Error("cannot start Python", "err", err)
		}
		os.Exit(prefork.ExitBootFailed)
	}

	files, err := static.New(s.static)
	if err != nil {
		log.Error("--static", "err", err)
		os.Exit(prefork.ExitBootFailed)
	}
	defer files.Close()
	handler.Store(dispatch.New(dispatch.Config{
		App: app, Static: files, Access: logs.access, Trust: s.trust,
		MaxRequests: requestLimit(s.maxRequests, s.maxRequestsJitter), RootPath: s.rootPath,
	}))
	srv := &httpcore.Server{
		Handler:       handler.Load(),
		ServerHeader:  "gowsgi",
		KeepAlive:     s.keepAlive,
		HeaderTimeout: s.headerTimeout,
		SendTimeout:   s.sendTimeout,
		BodyBuffer:    s.bodyBuffer,
		StreamBuffer:  s.streamBuffer,
		ErrorLog:      errorLog,

		MaxConnections: s.maxConnections,

		LimitRequestLine:      noLimitIfZero(s.limitRequestLine),
		LimitRequestFields:    s.limitRequestFields,
		LimitRequestFieldSize: noLimitIfZero(s.limitRequestFieldSize),
		LimitRequestBody:      s.limitRequestBody,

		TLSConfig:     s.tls,
		ProxyProtocol: s.proxyProtocol,
		ProxyTrust:    s.trust.Trusted,
	}
	served := make(chan error, len(listeners))
	for _, l := range listeners {
		go func() { served <- srv.Serve(l) }()
	}
	// gowsgi ctl dump: every thread's traceback, taken without the GIL.
	if err := prefork.HandleDumps(wsgi.WriteTracebacks); err != nil {
		log.Error("cannot answer dump requests", "err", err)
	}
	if err := prefork.NotifyReady(); err != nil {
		log.Error("cannot tell the supervisor this worker is ready", "err", err)
	}
	serveDebug(log)
	log.Info("booted", "app", s.spec, "threads", s.threads, "procs", runtime.GOMAXPROCS(0))

	select {
	case sig := <-stop:
		if sig != syscall.SIGTERM {
			log.Info("stopping now", "signal", sig.String())
			// worker_int sees the requests still running (configs dump
			// their tracebacks); the supervisor's SIGKILL bounds both hooks.
			app.RunHook(wsgi.HookWorkerInt)
			srv.Close()
			app.RunHook(wsgi.HookWorkerExit)
			os.Exit(0)
		}
		log.Info("stopping gracefully", "signal", sig.String())
		ctx, cancel := context.WithTimeout(context.Background(), s.gracefulTimeout)
		defer cancel()
		drained := make(chan error, 1)
		go func() { drained <- srv.Shutdown(ctx) }()
		select {
		case err := <-drained:
			if err != nil {
				log.Warn("requests still running at the graceful timeout", "err", err)
				srv.Close()
			}
		case <-stuck:
			// a request got stuck while the others finished
			stopStuck(srv, app)
		}
	case err := <-served:
		log.Error("listener failed", "err", err)
		srv.Close()
	case <-stuck:
		stopStuck(srv, app)
	}
	app.RunHook(wsgi.HookWorkerExit)
	if err := app.Close(); errors.Is(err, wsgi.ErrStuck) {
		stopStuck(srv, app)
	} else if err != nil {
		log.Warn("Python finalization", "err", err)
	}
	return nil
}

// workerLogs opens a worker's (or zygote's) logs and makes the error log
// its standard error, where Python writes tracebacks, wsgi.errors and
// faulthandler dumps, and with --capture-output its standard output; it
// exits the process if the error log cannot be opened.
func workerLogs(s *settings) (*logs, *slog.Logger) {
	logs, err := openErrorLog(s)
	if err != nil {
		fmt.Fprintln(os.Stderr, "gowsgi:", err)
		os.Exit(prefork.ExitBootFailed)
	}
	if err := logs.errorFile.RedirectStderr(); err != nil {
		logs.errors.Error("cannot send standard error to the error log", "err", err)
	}
	if s.captureOutput {
		if err := logs.errorFile.CaptureStdout(); err != nil {
			logs.errors.Error("cannot send standard output to the error log", "err", err)
		}
	}
	return logs, logs.errors.With("worker", prefork.WorkerID(), "pid", os.Getpid())
}

// keepSignals keeps the supervisor's signals the worker's whatever the app
// installs.
func keepSignals(log *slog.Logger) {
	wsgi.KeepSignals(func(sig, where string) {
		log.Warn("the application tried to take a signal the server owns; the server keeps it", "signal", sig, "by", where)
	}, syscall.SIGTERM, syscall.SIGINT, syscall.SIGQUIT, syscall.SIGHUP, syscall.SIGUSR1, syscall.SIGTTIN, syscall.SIGTTOU,
		prefork.DumpSignal)
}

// enterAppDir changes to --chdir, where the app is imported from.
func enterAppDir(s *settings, log *slog.Logger) {
	if s.chdir == "" {
		return
	}
	if err := os.Chdir(s.chdir); err != nil {
		log.Error("cannot change directory", "err", err)
		os.Exit(prefork.ExitBootFailed)
	}
}

// appConfig is what the interpreter is started with and the app loaded
// with, the same in a worker and in a zygote.
func appConfig(s *settings) wsgi.Config {
	return wsgi.Config{
		Spec:           s.spec,
		PythonPath:     s.pythonPath,
		Venv:           s.venv,
		Virtualenv:     s.virtualenv,
		Threads:        s.threads,
		Multiprocess:   s.workers > 1,
		Argv:           os.Args,
		ServerSoftware: "gowsgi/" + Version,
	}
}

// runZygote loads the application in this process and forks the workers
// from it (--preload): it prepares the process as a worker would (logs,
// directory, the signals the server keeps), then hands over to
// wsgi.Preload, which does not return unless it fails.
func runZygote(s *settings) error {
	logs, log := workerLogs(s)
	defer logs.close()
	log = log.With("zygote", true)
	keepSignals(log)
	enterAppDir(s, log)
	err := wsgi.Preload(appConfig(s))
	log.Error("cannot start the zygote", "err", err)
	os.Exit(prefork.ExitBootFailed)
	return nil
}

// stopStuck ends a worker whose app is stuck: no new request reaches the
// app (those waiting for an executor, and any that arrive on open
// connections, are answered 503 with Retry-After), the requests running
// elsewhere in the app get stuckDrainTimeout to finish, and those that do
// not are answered 500. The stuck thread may hold the GIL, so Python is not
// finalized: the worker exits for the supervisor to replace it. The
// worker_abort and worker_exit hooks run meanwhile, if the GIL lets them.
func stopStuck(srv *httpcore.Server, app *wsgi.App) {
	hooked := make(chan struct{})
	go func() {
		app.RunHook(wsgi.HookWorkerAbort)
		app.RunHook(wsgi.HookWorkerExit)
		close(hooked)
	}()
	ctx, cancel := context.WithTimeout(context.Background(), stuckDrainTimeout)
	defer cancel()
	drained := make(chan error, 1)
	go func() { drained <- srv.Shutdown(ctx) }()
	app.Refuse()
	if <-drained != nil {
		app.AbandonRunning()
		last, cancel := context.WithTimeout(context.Background(), stuckAnswerTimeout)
		srv.Shutdown(last)
		cancel()
	}
	select {
	case <-hooked:
	case <-time.After(stuckHookTimeout): // the stuck thread holds the GIL
	}
	os.Exit(prefork.ExitStuck)
}

// noLimitIfZero maps gunicorn's "0 means no limit" to httpcore's negative.
func noLimitIfZero(n int) int {
	if n == 0 {
		return -1
	}
	return n
}

// requestLimit is this worker's --max-requests with its share of jitter.
func requestLimit(maxRequests, jitter int) int64 {
	if maxRequests <= 0 {
		return 0
	}
	return int64(maxRequests + rand.IntN(jitter+1))
}

// setProcs gives the Go scheduler the worker's share of the CPUs the
// process may use, less the one its app's thread takes, unless GOMAXPROCS
// is set. Python runs in cgo calls, which give up their P (the scheduler
// hands it on after 20 µs), so the app's thread is not among the Ps; and
// every P beyond what the connections need costs CPU, not speed: when a
// goroutine wakes and a P is idle, Go wakes a thread that spins looking
// for work. Measured on 2 cores (make bench, wrk -c32, and one paced
// keep-alive client): 1 worker with 1 P served Flask at 100 µs of CPU per
// request and 9,955 req/s, with 2 Ps 114 µs and 8,273 req/s; 2 workers
// with 1 P each, hello 57,647 req/s at 17 µs, with 2 each 36,634 at 22 µs;
// one client at 100 requests a second cost 133 µs per request with 1 P,
// 375 µs with 2. The CPUs counted are the runtime's default, which honours
// a cgroup CPU quota (a container limited to 1 CPU on a 32-core host gets
// 2, not 32); runtime.NumCPU would count the host's.
func setProcs(workers int) {
	if os.Getenv("GOMAXPROCS") == "" {
		runtime.GOMAXPROCS(workerProcs(runtime.GOMAXPROCS(0), workers))
	}
}

// workerProcs is a worker's Ps when workers share cpus.
func workerProcs(cpus, workers int) int {
	return max(1, cpus/max(1, workers)-1)
}
