package wsgi

// #include <stdlib.h>
// #include "bridge.h"
import "C"

import (
	_ "embed"
	"errors"
	"runtime"
	"slices"
	"strings"
	"unsafe"
)

// The server hooks of a gunicorn config file (gunicorn.conf.py) run as
// gunicorn runs them, with objects that carry the attributes configs use
// (hooks.py). A worker runs the file at start-up and its worker hooks:
// post_fork before the app is imported (a worker is not forked, but it is
// as fresh a process as a forked one), post_worker_init after, pre_request
// and post_request around each request on the request's thread (hooks.c),
// and worker_int, worker_abort and worker_exit when the server calls
// App.RunHook. The supervisor's hooks run in a process of their own, the
// hook runner (HookRunner), never in the supervisor.

//go:embed hooks.py
var hooksSource string

// The worker hooks the server calls with App.RunHook.
const (
	HookWorkerInt   = "worker_int"   // the worker stops at once (SIGINT, SIGQUIT)
	HookWorkerAbort = "worker_abort" // the worker gives up on a request stuck past the timeout
	HookWorkerExit  = "worker_exit"  // the worker exits, before Python is finalized
)

// HookConfig says whose hooks run in a process, and what their arguments
// report that Python cannot know.
type HookConfig struct {
	// File is the config file (an absolute path) whose worker hooks the
	// worker runs; "" for none.
	File string
	// Age is worker.age: the order in which the supervisor started this
	// worker, 1 for the first.
	Age int
	// Workers is server.num_workers: the workers the supervisor wanted
	// when it started this one.
	Workers int
	// Log receives the lines of worker.log and server.log (and the
	// tracebacks of hooks that raise), with Python's logging level: 10
	// debug, 20 info, 30 warning, 40 error, 50 critical. Nil drops them.
	Log func(level int, msg string)
	// Requests, if set, is worker.nr: the requests this worker has served.
	Requests func() int64
}

// hookConfig is the process's HookConfig, for the callbacks below.
var hookConfig HookConfig

// gowsgiHookLog passes a line of worker.log or server.log to HookConfig.Log.
//
//export gowsgiHookLog
func gowsgiHookLog(level C.int, text *C.char) {
	if hookConfig.Log != nil {
		hookConfig.Log(int(level), C.GoString(text))
	}
}

// gowsgiRequestsServed is worker.nr.
//
//export gowsgiRequestsServed
func gowsgiRequestsServed() C.longlong {
	if hookConfig.Requests == nil {
		return 0
	}
	return C.longlong(hookConfig.Requests())
}

// definedHooks lists the hooks the config file defines, once the
// interpreter has loaded it.
func definedHooks() []string { return hookNames(C.gw_hooks_defined()) }

// hookNames splits C's list of hook names, separated by '\n'.
func hookNames(names *C.char) []string {
	return slices.DeleteFunc(strings.Split(C.GoString(names), "\n"), func(s string) bool { return s == "" })
}

// HasHook reports whether the config file defines the named hook.
func (a *App) HasHook(name string) bool { return slices.Contains(a.hooks, name) }

// RunHook calls the named worker hook (HookWorkerInt, HookWorkerAbort,
// HookWorkerExit) with the worker, and the server for worker_exit, on the
// calling goroutine's thread; it does nothing if the config file does not
// define it. An exception the hook raises is logged with its traceback.
// It waits for the GIL: call it where no request can be stuck holding it,
// or from a goroutine the caller need not wait for.
func (a *App) RunHook(name string) {
	if !a.HasHook(name) {
		return
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	cname := C.CString(name)
	defer C.free(unsafe.Pointer(cname))
	C.gw_hooks_run(cname) // a failure is printed to stderr, the error log
}

// HookRunnerConfig is what StartHookRunner needs.
type HookRunnerConfig struct {
	// File is the config file, an absolute path.
	File string
	// PythonPath and Virtualenv prepare sys.path as for the app, so the
	// file can import the project's modules.
	PythonPath []string
	Virtualenv string
	// Argv becomes sys.argv.
	Argv []string
	// Log receives server.log's lines, as HookConfig.Log.
	Log func(level int, msg string)
}

// HookRunner holds the supervisor's hooks of a config file (on_starting,
// when_ready, on_reload, on_exit, child_exit, nworkers_changed), loaded
// into this process's interpreter: the hook runner, a process beside the
// supervisor, which never starts Python itself.
type HookRunner struct {
	defined []string
}

// StartHookRunner starts the interpreter and runs the config file. Like
// Start, it may be called once per process, from the goroutine that also
// calls Run and Close, locked to its OS thread. A file that fails to run
// gives ErrLoad, its traceback written to stderr.
func StartHookRunner(cfg HookRunnerConfig) (*HookRunner, error) {
	if started {
		return nil, errors.New("wsgi: the interpreter was started already")
	}
	started = true
	err := initInterpreter(&Config{
		PythonPath: cfg.PythonPath,
		Virtualenv: cfg.Virtualenv,
		Argv:       cfg.Argv,
		Hooks:      HookConfig{File: cfg.File, Log: cfg.Log},
	})
	if err != nil {
		return nil, err
	}
	return &HookRunner{defined: definedHooks()}, nil
}

// Defined lists the supervisor hooks the file defines, in hooks.py's
// order, as of the last Run.
func (h *HookRunner) Defined() []string { return h.defined }

// Run runs the hook an event names, a JSON object: {"hook": NAME,
// "server": {"pid", "num_workers"}} and, for child_exit, "worker": {"pid",
// "age", "nr"}, for nworkers_changed "new" and "old" (null at start-up).
// With "reload": true the config file is run again first, as gunicorn
// re-reads it on SIGHUP, and its hooks replace the old ones (which stay if
// it fails). Run returns once the hook has; an exception the hook raises is
// logged with its traceback, and is no error. Call it from the goroutine
// that called StartHookRunner.
func (h *HookRunner) Run(event string) error {
	cevent := C.CString(event)
	defer C.free(unsafe.Pointer(cevent))
	out := C.gw_hooks_event(cevent)
	if out == nil {
		return errors.New("wsgi: the hook event could not be run (the reason is on stderr)")
	}
	defer C.free(unsafe.Pointer(out))
	h.defined = hookNames(out)
	return nil
}

// Close finalizes the interpreter: atexit handlers run, and it waits for
// the threads the hooks started that are not daemons.
func (h *HookRunner) Close() error {
	if C.gw_finalize() != 0 {
		return errors.New("wsgi: Python finalization reported an error")
	}
	return nil
}
