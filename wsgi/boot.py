# The boot module: run once in each worker, before serving, to set up
# sys.path and sys.executable, to load the application from its spec and the
# server hooks of the config file (hooks.py); and once in the hook runner,
# for the hooks alone. With --preload the zygote loads the application
# (preload) and each worker forked from it sets up the rest (after_fork). It runs inside the _gowsgi module; the C side calls
# boot().
import _signal
import faulthandler
import gc
import importlib
import os
import signal
import site
import sys
import traceback

import _gowsgi
import _gowsgi_hooks

hooks_defined = ""  # the hooks the config file defines, separated by newlines


class AppLoadError(Exception):
    """The spec names nothing usable; the message is the whole reason."""


def _real_executable():
    # Embedded, sys.executable is the gowsgi binary; apps that spawn
    # sys.executable (multiprocessing's spawn, subprocess) need Python.
    name = "python%d.%d" % sys.version_info[:2]
    for prefix in (sys.base_exec_prefix, sys.exec_prefix):
        path = os.path.join(prefix, "bin", name)
        if os.access(path, os.X_OK):
            return path
    return sys.executable


def _add_virtualenv(venv):
    lib = os.path.join(venv, "lib", "python%d.%d" % sys.version_info[:2], "site-packages")
    if not os.path.isdir(lib):
        raise AppLoadError("virtualenv %r has no %s" % (venv, lib))
    before = list(sys.path)
    site.addsitedir(lib)
    # addsitedir appends; the venv's packages must win over the system's.
    added = [p for p in sys.path if p not in before]
    sys.path[:] = added + before


def _setup_paths(pythonpath, virtualenv):
    if virtualenv:
        _add_virtualenv(virtualenv)
    entries = [os.path.abspath(p) for p in pythonpath.split("\n") if p]
    first = [os.getcwd()] + entries
    sys.path[:] = first + [p for p in sys.path if p not in first and p != ""]


def _resolve(spec):
    module_name, sep, expr = spec.partition(":")
    if not module_name or (sep and not expr):
        raise AppLoadError("malformed application spec %r: expected MODULE or MODULE:CALLABLE" % spec)
    if not sep:
        expr = "application"
    call = expr.endswith("()")
    if call:
        expr = expr[:-2]
    if not all(part.isidentifier() for part in expr.split(".")):
        raise AppLoadError(
            "malformed application spec %r: %r is not an attribute name or a call like factory()" % (spec, expr)
        )
    try:
        obj = importlib.import_module(module_name)
    except ModuleNotFoundError as e:
        if e.name is not None and (module_name + ".").startswith(e.name + "."):
            raise AppLoadError("no module named %r (sys.path: %s)" % (module_name, sys.path[:3])) from None
        raise
    for part in expr.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise AppLoadError("failed to find attribute %r in %r" % (expr, module_name)) from None
    if call:
        if not callable(obj):
            raise AppLoadError("%r in %r is not callable, cannot call it as a factory" % (expr, module_name))
        obj = obj()
    if not callable(obj):
        raise AppLoadError("application object %r in %r must be callable, got %s" % (expr, module_name, type(obj).__name__))
    return obj


def _install_faulthandler(traceback_fd, traceback_signal):
    # A crash in C or Python code (SIGSEGV...) prints every thread's Python
    # traceback before Go's handler ends the worker; SIGUSR2 prints them and
    # goes on (the watchdog's report on a request stuck outside bytecode);
    # traceback_signal writes them to traceback_fd and goes on (Go's
    # WriteTracebacks, which reads them back). seal_signals puts a router in
    # front of faulthandler, so that a fault in Go code still reaches Go's
    # handler (a nil dereference is a panic Go may recover), and keeps these
    # handlers the server's.
    faulthandler.enable(file=sys.stderr, all_threads=True)
    faulthandler.register(signal.SIGUSR2, file=sys.stderr, all_threads=True, chain=False)
    if traceback_fd >= 0:
        faulthandler.register(traceback_signal, file=traceback_fd, all_threads=True, chain=False)
    _gowsgi.seal_signals(traceback_signal)


def _caller():
    # The first frame outside the signal module: the code that asked.
    frame = sys._getframe(2)
    while frame is not None and frame.f_code.co_filename == signal.__file__:
        frame = frame.f_back
    if frame is None:
        return "unknown code"
    return "%s:%d in %s" % (frame.f_code.co_filename, frame.f_lineno, frame.f_code.co_name)


def _guard_signals():
    # The signals the server keeps (TERM, INT, QUIT, HUP, ...) stay its own:
    # a handler set from Python would run only when the main thread runs
    # bytecode, which in a worker it does not, and Go would never see the
    # signal. The attempt is logged and the current handler returned, as if
    # it had been replaced and put back. signal.signal calls _signal.signal.
    kept = _gowsgi.kept_signals()
    set_handler = _signal.signal

    def guarded_signal(signalnum, handler):
        if int(signalnum) in kept and _gowsgi.refuse_signal(int(signalnum), _caller()):
            return _signal.getsignal(signalnum)
        return set_handler(signalnum, handler)

    guarded_signal.__doc__ = set_handler.__doc__
    _signal.signal = guarded_signal


def _load_hooks(load, *args):
    # A config file that fails to run stops the process's boot, with its
    # traceback, as the file would stop gunicorn.
    try:
        return load(*args)
    except Exception:
        traceback.print_exc()
        raise AppLoadError("the config file %s failed (the traceback is above)" % args[0]) from None


def _boot_hook(name, hooks_file):
    # post_fork and post_worker_init that raise make the worker fail to
    # boot, as under gunicorn.
    try:
        _gowsgi_hooks.call_boot_hook(name)
    except Exception:
        traceback.print_exc()
        raise AppLoadError("the %s hook of %s raised (the traceback is above)" % (name, hooks_file)) from None


def _prepare(pythonpath, virtualenv, venv_python):
    _guard_signals()
    # In a venv, sys.executable is already its python (PyConfig.executable);
    # the base interpreter is what _real_executable finds.
    base = _real_executable()
    if not venv_python:
        sys.executable = base
    if hasattr(sys, "_base_executable"):
        sys._base_executable = base
    _setup_paths(pythonpath, virtualenv)


def _worker_hooks(hooks_file, age, num_workers):
    global hooks_defined
    hooks_defined = _load_hooks(_gowsgi_hooks.load_worker, hooks_file, age, num_workers)
    _boot_hook("post_fork", hooks_file)


def boot(spec, pythonpath, virtualenv, venv_python, traceback_fd, traceback_signal, hooks_file, age, num_workers):
    """Prepares the interpreter and returns the application, with the
    worker hooks of hooks_file (if given) loaded and post_fork and
    post_worker_init called around the import. With no spec this is the
    hook runner: it loads the supervisor hooks and returns None. Either
    way the result of loading the hooks is left in hooks_defined."""
    global hooks_defined
    _install_faulthandler(traceback_fd, traceback_signal)
    _prepare(pythonpath, virtualenv, venv_python)
    if not spec:
        hooks_defined = _load_hooks(_gowsgi_hooks.load_supervisor, hooks_file)
        return None
    if hooks_file:
        _worker_hooks(hooks_file, age, num_workers)
    app = _resolve(spec)
    if hooks_file:
        _boot_hook("post_worker_init", hooks_file)
    return app


def preload(spec, pythonpath, virtualenv, venv_python):
    """Loads the application in a zygote, the process workers are forked
    from (--preload), and returns it, as the gc module's documentation
    advises for a process that forks without exec: no collection runs
    during the import (a collection frees objects all over the heap, and
    a worker allocating into those holes unshares their pages), and the
    objects that exist then are frozen: the collector no longer visits
    them, so a collection in a worker does not write to their pages.
    after_fork enables the collector again in each worker."""
    # A crash while importing prints its traceback; a worker forked from
    # here disables this before its Go runtime starts, then installs its
    # own (after_fork).
    faulthandler.enable(file=sys.stderr, all_threads=True)
    gc.disable()
    _prepare(pythonpath, virtualenv, venv_python)
    app = _resolve(spec)
    gc.freeze()
    return app


def after_fork(traceback_fd, traceback_signal, hooks_file, age, num_workers):
    """Completes a worker forked from the zygote, as gunicorn's worker
    completes after preload_app: its fault handlers, then the config file's
    worker hooks with post_fork and post_worker_init."""
    gc.enable()
    _install_faulthandler(traceback_fd, traceback_signal)
    if hooks_file:
        _worker_hooks(hooks_file, age, num_workers)
        _boot_hook("post_worker_init", hooks_file)
