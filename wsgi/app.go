package wsgi

// #include <stdlib.h>
// #include "bridge.h"
import "C"

import (
	_ "embed"
	"errors"
	"fmt"
	"log"
	"os"
	"runtime"
	"strings"
	"sync"
	"time"
	"unsafe"

	"github.com/gowsgi/gowsgi/internal/hopbyhop"
)

//go:embed boot.py
var bootSource string

// pythonHome is the prefix of the Python installation gowsgi was built
// against (PyConfig.home), set at link time by the Makefile for a build
// other than the system's:
//
//	-ldflags "-X github.com/gowsgi/gowsgi/wsgi.pythonHome=$(pkg-config --variable=prefix python3-embed)"
//
// Empty (the default build) lets Python find its prefix itself.
var pythonHome string

// Config is what Start needs to load an application.
type Config struct {
	// Spec names the application: "module:callable", "pkg.mod:obj.attr",
	// "module" (its "application"), or "module:factory()".
	Spec string
	// PythonPath entries go to the front of sys.path, after the working
	// directory.
	PythonPath []string
	// Venv, if its Dir is set, is the virtualenv the interpreter runs as,
	// as the venv's own python would: sys.executable is its bin/python,
	// sys.prefix the venv, and site-packages its own (and the system's
	// only if its pyvenv.cfg includes them). The binary is meant to live
	// in it (ExecutableVenv).
	Venv Venv
	// Virtualenv, if set, is a virtualenv whose site-packages are used
	// ahead of the system's.
	Virtualenv string
	// Threads is the number of executors (threads running the app).
	Threads int
	// SuspendStreams lets a streamed response whose client cannot take
	// more now give its slot to other requests while it waits; its
	// iterable stays unadvanced, on the same thread, until the client
	// takes more (the sink must be a Suspender).
	SuspendStreams bool
	// Multiprocess says whether other worker processes serve the same app
	// (wsgi.multiprocess).
	Multiprocess bool
	// Argv becomes sys.argv.
	Argv []string
	// ServerSoftware is SERVER_SOFTWARE.
	ServerSoftware string
	// ErrorLog receives application tracebacks; nil means log.Default().
	ErrorLog *log.Logger
	// ClientLog receives one line per request whose body the client broke
	// (malformed, or cut off by a disconnect) when the app failed on it;
	// nil means ErrorLog.
	ClientLog *log.Logger
	// Timeout, if positive, ends a request that runs longer: RequestTimeout
	// is raised in the app's thread, so it unwinds and the client gets 500.
	Timeout time.Duration
	// OnException, if set, is called each time the application fails a
	// request (an exception, a timeout, a broken response): 500 or a cut
	// connection. It must not block.
	OnException func()
	// ExecutorBusy, if set with Timeout, is called on executor i's thread
	// each time it enters the app for a request (method and target are
	// valid during the call only), and ExecutorIdle each time it comes
	// back (time spent writing to the client is outside): for a supervisor
	// that watches for executors stuck in the app from outside the
	// process. Neither may block.
	ExecutorBusy func(executor int, started time.Time, method, target []byte)
	ExecutorIdle func(executor int)
	// WaitBegin and WaitEnd, if both set, are called on a request's
	// goroutine around its wait for a slot (one of Threads): WaitBegin
	// before it waits, WaitEnd once it has its slot, or was refused (see
	// Refuse), with how long it waited. Neither may block.
	WaitBegin func()
	WaitEnd   func(waited time.Duration)
	// OnStuck is called (from another goroutine) when a request is still
	// inside the app a few seconds after RequestTimeout was due: its thread
	// is in C code or asleep (maybe holding the GIL), where no exception
	// reaches it. The request has been answered 500 already; the worker
	// should Refuse new requests, let the others finish for a while,
	// AbandonRunning and exit. The request is described as "METHOD target
	// (running 35s)".
	OnStuck func(request string)
	// Hooks are the server hooks of a config file that run in this worker
	// (see HookConfig); the zero value runs none.
	Hooks HookConfig
}

// ErrLoad is returned by Start when the application cannot be loaded; the
// reason (a traceback or a one-line message) has been written to stderr.
var ErrLoad = errors.New("the application could not be loaded")

// App is a loaded application with its executors.
type App struct {
	heldSets
	slots
	suspend    bool          // Config.SuspendStreams
	refused    chan struct{} // closed by Refuse
	refuseOnce sync.Once
	errorLog   *log.Logger
	clientLog  *log.Logger
	timeout    time.Duration
	onExc      func()
	onBusy     func(executor int, started time.Time, method, target []byte)
	onIdle     func(executor int)
	waitBegin  func()
	waitEnd    func(waited time.Duration)
	watchdog   *watchdog
	closeOnce  sync.Once
	stuck      chan struct{} // closed when the watchdog abandons a request
	stuckOnce  sync.Once
	hooks      []string // the hooks Config.Hooks.File defines
}

// ErrStuck is returned by Close when a request is stuck in the app: the
// interpreter cannot be finalized, and the process should exit.
var ErrStuck = errors.New("wsgi: a request is stuck in the application; Python was not finalized")

var started bool

// Start initialises the interpreter, loads the application and starts its
// executors. It may be called once per process, from the goroutine that
// will also call Close, locked to its OS thread (that thread becomes
// Python's main thread). In a worker forked from a zygote (Preloaded) the
// interpreter and the app are there already, on the main thread, which
// must be the calling goroutine's: Start completes them (cfg's Spec,
// paths and Threads were the zygote's to apply; the worker's own settings,
// its hooks and logs, apply here).
func Start(cfg Config) (*App, error) {
	if started {
		return nil, errors.New("wsgi: Start called twice")
	}
	started = true
	if cfg.Threads < 1 {
		cfg.Threads = 1
	}
	if cfg.ErrorLog == nil {
		cfg.ErrorLog = log.Default()
	}
	if cfg.ClientLog == nil {
		cfg.ClientLog = cfg.ErrorLog
	}
	if err := initInterpreter(&cfg); err != nil {
		return nil, err
	}
	a := &App{errorLog: cfg.ErrorLog, clientLog: cfg.ClientLog, timeout: cfg.Timeout, onExc: cfg.OnException,
		suspend: cfg.SuspendStreams, refused: make(chan struct{}), stuck: make(chan struct{}), hooks: definedHooks()}
	a.slots.init(cfg.Threads)
	if a.timeout > 0 && cfg.ExecutorBusy != nil && cfg.ExecutorIdle != nil {
		a.onBusy, a.onIdle = cfg.ExecutorBusy, cfg.ExecutorIdle
	}
	if cfg.WaitBegin != nil && cfg.WaitEnd != nil {
		a.waitBegin, a.waitEnd = cfg.WaitBegin, cfg.WaitEnd
	}
	if a.timeout > 0 {
		a.watchdog = newWatchdog(a, a.timeout, cfg.OnStuck)
		go a.watchdog.run()
	}
	return a, nil
}

// initInterpreter starts Python and loads the app, or in a worker forked
// from a zygote (--preload) completes the interpreter it took over.
func initInterpreter(cfg *Config) error {
	// The hooks may log and ask for worker.nr from the start (post_fork).
	hookConfig = cfg.Hooks
	tracebackFD := newTracebackFile(cfg.ErrorLog)
	var mem cMemory
	defer mem.free()
	c, err := cConfig(cfg, &mem)
	if err != nil {
		return err
	}
	c.traceback_fd = C.int(tracebackFD)
	c.traceback_signal = C.int(tracebackSignal)
	c.hooks_file = mem.str(cfg.Hooks.File)
	c.worker_age = C.int(cfg.Hooks.Age)
	c.num_workers = C.int(cfg.Hooks.Workers)
	var rc C.int
	if Preloaded() {
		rc = C.gw_adopt(&c)
	} else {
		rc = C.gw_init(&c)
	}
	if rc != 0 {
		return ErrLoad
	}
	return nil
}

// cConfig is what the interpreter is started with, the same in a worker
// and in a zygote; the worker's own settings (its traceback file and
// hooks) are left unset.
func cConfig(cfg *Config, mem *cMemory) (C.gw_config, error) {
	var executable string
	if cfg.Venv.Dir != "" {
		var err error
		if executable, err = cfg.Venv.python(); err != nil {
			return C.gw_config{}, err
		}
	}
	argc, argv := mem.argv(cfg.Argv)
	return C.gw_config{
		argc:            argc,
		argv:            argv,
		boot_source:     mem.str(bootSource),
		spec:            mem.str(cfg.Spec),
		pythonpath:      mem.str(strings.Join(cfg.PythonPath, "\n")),
		virtualenv:      mem.str(cfg.Virtualenv),
		multithread:     boolInt(cfg.Threads > 1),
		multiprocess:    boolInt(cfg.Multiprocess),
		server_software: mem.str(cfg.ServerSoftware),
		errfd:           2,
		home:            mem.str(pythonHome),
		executable:      mem.str(executable),
		hop_by_hop:      mem.str(strings.Join(hopbyhop.Names, "\n")),
		environ_keys:    mem.str(strings.Join(environKeys(), "\n")),
		traceback_fd:    -1,
		hooks_source:    mem.str(hooksSource),
		hooks_file:      mem.str(""),
	}, nil
}

// cMemory is C memory that lives for one call into C.
type cMemory []unsafe.Pointer

// str copies s into C memory.
func (m *cMemory) str(s string) *C.char {
	p := C.CString(s)
	*m = append(*m, unsafe.Pointer(p))
	return p
}

// argv copies args (or, if empty, this program's name) into a C argv.
func (m *cMemory) argv(args []string) (C.int, **C.char) {
	if len(args) == 0 {
		args = []string{os.Args[0]}
	}
	p := C.malloc(C.size_t(len(args)) * C.size_t(unsafe.Sizeof((*C.char)(nil))))
	*m = append(*m, p)
	av := unsafe.Slice((**C.char)(p), len(args))
	for i, a := range args {
		av[i] = m.str(a)
	}
	return C.int(len(args)), (**C.char)(p)
}

// free releases the memory.
func (m *cMemory) free() {
	for _, p := range *m {
		C.free(p)
	}
}

func boolInt(b bool) C.int {
	if b {
		return 1
	}
	return 0
}

// Serve runs one request through the application and writes its response
// to sink. It blocks until the response is complete; it may be called from
// any number of goroutines, each request waiting for a free executor.
//
// The app runs on the calling goroutine, locked to its OS thread for the
// request (a generator resumes on the thread that started it), so a
// request crosses no thread to reach Python and back: the cost of serving
// is the cost of the connection's own goroutine, plus the app's.
func (a *App) Serve(r *Request, sink ResponseSink) {
	if a.enter() != nil {
		refuse(sink)
		return
	}
	var e *executor
	defer func() { a.leave(e) }()
	slot, ok := a.waitForSlot()
	if !ok {
		refuse(sink)
		return
	}
	e, err := a.executor()
	if err != nil {
		a.giveSlot(slot)
		panic(err) // the connection answers 500
	}
	e.slot = slot
	runtime.LockOSThread()
	defer func() {
		runtime.UnlockOSThread()
		if e.slot >= 0 {
			a.giveSlot(e.slot)
			e.slot = -1
		}
	}()
	e.serve(r, sink)
}

// Close finalizes the interpreter (atexit handlers run) once the requests
// in the app are done; requests still to come are refused (503). It must
// be called from the goroutine that called Start, after every Serve has
// returned. If a request is or gets stuck in the app, Close returns
// ErrStuck at once without finalizing.
func (a *App) Close() error {
	var err error
	a.closeOnce.Do(func() {
		// The watchdog keeps watching until every request has ended: one
		// that gets stuck meanwhile would otherwise hold Close for ever.
		select {
		case <-a.closeSlots():
		case <-a.stuck:
			err = ErrStuck
			return
		}
		if a.watchdog != nil {
			close(a.watchdog.stop)
			<-a.watchdog.done
		}
		for _, e := range a.executors() {
			C.gw_exec_free(e.c)
		}
		if C.gw_finalize() != 0 {
			err = fmt.Errorf("wsgi: Python finalization reported an error")
		}
	})
	return err
}

// ErrorLog is the log application errors go to.
func (a *App) ErrorLog() *log.Logger { return a.errorLog }

// PythonVersion is the embedded interpreter's version (sys.version).
func PythonVersion() string { return C.GoString(C.gw_python_version()) }
