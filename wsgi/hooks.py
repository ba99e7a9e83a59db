# The server hooks of a gunicorn config file (gunicorn.conf.py), as the
# module _gowsgi_hooks. The file runs as a module named __config__ with its
# __file__ set, as gunicorn runs it; the callables it defines under the hook
# names are called with objects that carry the attributes configs use, with
# gunicorn's meanings.
#
# In a worker, boot.py calls post_fork and post_worker_init around loading
# the app, C calls make_request, pre_request and post_request around each
# request (hooks.c), and Go calls run() for worker_int, worker_abort and
# worker_exit. In the hook runner, a process of its own beside the
# supervisor (gowsgi never runs Python in the supervisor), Go hands each of
# the supervisor's events to event().
import os
import sys
import traceback

import _gowsgi

WORKER_HOOKS = ("post_fork", "post_worker_init", "pre_request", "post_request",
                "worker_int", "worker_abort", "worker_exit")
SUPERVISOR_HOOKS = ("on_starting", "when_ready", "on_reload", "on_exit", "child_exit", "nworkers_changed")

_hooks = {}  # hook name -> the config file's callable

# C calls these around each request when the file defines pre_request or
# post_request, and skips them (at the cost of one test) when they are None.
make_request = None
pre_request = None
post_request = None

worker = None  # this worker, in a worker
server = None  # the supervisor as the hooks see it


class Log:
    """worker.log and server.log: gunicorn's logger methods, writing to
    gowsgi's error log. Messages are formatted as logging formats them
    (msg % args)."""

    def log(self, level, msg, *args, exc_info=False, **_):
        text = str(msg) % args if args else str(msg)
        if exc_info:
            if isinstance(exc_info, BaseException):
                exc_info = (type(exc_info), exc_info, exc_info.__traceback__)
            elif not isinstance(exc_info, tuple):
                exc_info = sys.exc_info()
            if exc_info[0] is not None:
                text += "\n" + "".join(traceback.format_exception(*exc_info)).rstrip("\n")
        _gowsgi.log(int(level), text)

    def debug(self, msg, *args, **kw):
        self.log(10, msg, *args, **kw)

    def info(self, msg, *args, **kw):
        self.log(20, msg, *args, **kw)

    def warning(self, msg, *args, **kw):
        self.log(30, msg, *args, **kw)

    warn = warning

    def error(self, msg, *args, **kw):
        self.log(40, msg, *args, **kw)

    def critical(self, msg, *args, **kw):
        self.log(50, msg, *args, **kw)

    def exception(self, msg, *args, exc_info=True, **kw):
        self.log(40, msg, *args, exc_info=exc_info, **kw)


class Server:
    """The supervisor (gunicorn's arbiter) as hooks see it."""

    def __init__(self, pid, num_workers):
        self.pid = pid
        self.num_workers = num_workers
        self.log = Log()

    def __str__(self):
        return "<Arbiter %s>" % self.pid


class Worker:
    """A worker: pid, ppid, age (the order in which the supervisor started
    it: 1 for the first), nr (requests it has served), alive, booted,
    aborted, log."""

    def __init__(self, pid, ppid, age, nr=0, alive=True):
        self.pid = pid
        self.ppid = ppid
        self.age = age
        self._nr = nr
        self.alive = alive
        self.booted = False
        self.aborted = False
        self.log = Log()

    @property
    def nr(self):
        # this worker's own count comes from the server as it is asked for
        return _gowsgi.requests_served() if self is worker else self._nr

    def __str__(self):
        return "<Worker %s>" % self.pid


class Request:
    """pre_request's and post_request's req: method, uri, path, query,
    fragment, version, scheme, headers (a list of (NAME, value), names upper
    case as gunicorn gives them), peer_addr and remote_addr."""

    def __init__(self, environ):
        self.method = environ["REQUEST_METHOD"]
        self.uri = uri = environ.get("RAW_URI", "")
        rest, _, self.fragment = uri.partition("#")
        if not rest.startswith("/") and "://" in rest:  # absolute form
            rest = "/" + rest.split("://", 1)[1].partition("/")[2]
        self.path, _, self.query = rest.partition("?")
        proto = environ.get("SERVER_PROTOCOL", "HTTP/1.1")
        self.version = tuple(int(n) for n in proto[5:].split(".")) if proto.startswith("HTTP/") else (1, 1)
        self.scheme = environ.get("wsgi.url_scheme", "http")
        headers = []
        for key, value in environ.items():
            if key.startswith("HTTP_"):
                headers.append((key[5:].replace("_", "-"), value))
            elif key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
                headers.append((key.replace("_", "-"), value))
        self.headers = headers
        addr = environ.get("REMOTE_ADDR", "")
        port = environ.get("REMOTE_PORT", "")
        self.peer_addr = self.remote_addr = (addr, int(port)) if port.isdigit() else addr

    def __str__(self):
        return "<Request %s %s>" % (self.method, self.uri)


class Response:
    """post_request's resp: status ("200 OK"), status_code, headers (a list
    of (name, value)) and sent (body bytes handed to the connection)."""

    def __init__(self, status, headers, sent):
        self.status = status
        self.status_code = int(status[:3])
        self.headers = list(headers)
        self.sent = sent

    def __str__(self):
        return "<Response %s>" % self.status


def load(path, names):
    """Runs the config file at path as the module __config__ and returns
    its callables named in names, by name."""
    import importlib.util
    from importlib.machinery import SourceFileLoader

    # SourceFileLoader reads any file name, as gunicorn's does: the file
    # need not end in .py.
    loader = SourceFileLoader("__config__", path)
    spec = importlib.util.spec_from_file_location("__config__", path, loader=loader)
    module = importlib.util.module_from_spec(spec)
    sys.modules["__config__"] = module
    loader.exec_module(module)
    hooks = {}
    for name in names:
        fn = getattr(module, name, None)
        if fn is None:
            continue
        if not callable(fn):
            raise TypeError("%s in %s must be callable, not %s" % (name, path, type(fn).__name__))
        hooks[name] = fn
    return hooks


def _defined(names):
    return "\n".join(n for n in names if n in _hooks)


def load_worker(path, age, num_workers):
    """Loads the worker hooks of the file at path for this worker, the
    age-th the supervisor started while it wanted num_workers. Returns the
    names of the hooks defined, separated by newlines."""
    global worker, server, make_request, pre_request, post_request
    _hooks.update(load(path, WORKER_HOOKS))
    ppid = os.getppid()
    server = Server(ppid, num_workers)
    worker = Worker(os.getpid(), ppid, age)
    if "pre_request" in _hooks or "post_request" in _hooks:
        make_request = Request
    if "pre_request" in _hooks:
        pre_request = _pre_request
    if "post_request" in _hooks:
        post_request = _post_request
    return _defined(WORKER_HOOKS)


def call_boot_hook(name):
    """Calls post_fork or post_worker_init. An exception propagates: as
    under gunicorn, the worker then fails to boot."""
    fn = _hooks.get(name)
    if name == "post_worker_init":
        worker.booted = True
    if fn is None:
        return
    if name == "post_fork":
        fn(server, worker)
    else:
        fn(worker)


def _pre_request(req):
    # An exception propagates: the request is answered 500 and its
    # traceback logged, as gunicorn does.
    _hooks["pre_request"](worker, req)


def _post_request(req, environ, status, headers, sent):
    # status is None when the app failed before it started its response,
    # which the server then answers 500.
    fn = _hooks.get("post_request")
    if fn is None:
        return
    resp = Response(status or "500 Internal Server Error", headers or (), sent)
    try:
        fn(worker, req, environ, resp)
    except Exception:
        worker.log.exception("Exception in post_request hook")


def run(name):
    """Calls worker_int, worker_abort or worker_exit, if defined; an
    exception is logged with its traceback."""
    if name in ("worker_int", "worker_abort", "worker_exit"):
        worker.alive = False
    if name == "worker_abort":
        worker.aborted = True
    fn = _hooks.get(name)
    if fn is None:
        return
    try:
        if name == "worker_exit":
            fn(server, worker)
        else:
            fn(worker)
    except Exception:
        worker.log.exception("Exception in %s hook", name)


_config_path = None  # the config file, in the hook runner


def load_supervisor(path):
    """Loads the supervisor hooks of the file at path, in the hook runner.
    Returns the names of the hooks defined, separated by newlines."""
    global server, _config_path
    server = Server(0, 0)
    _config_path = path
    _hooks.update(load(path, SUPERVISOR_HOOKS))
    return _defined(SUPERVISOR_HOOKS)


def event(line):
    """Runs what one event from the supervisor names (a JSON object: hook,
    server {pid, num_workers}, and worker {pid, age, nr} for child_exit,
    new and old for nworkers_changed). The event "reload" is gunicorn's
    SIGHUP: the file runs again and its hooks replace the old ones (which
    stay if it fails), then nworkers_changed(new, old) and on_reload run.
    An exception a hook raises is logged with its traceback. Returns the
    names of the hooks defined, separated by newlines."""
    import json

    ev = json.loads(line)
    name = ev["hook"]
    s = ev.get("server") or {}
    server.pid = s.get("pid", server.pid)
    server.num_workers = s.get("num_workers", server.num_workers)
    if name == "child_exit":
        w = ev["worker"]
        _call(name, server, Worker(w["pid"], server.pid, w["age"], w.get("nr", 0), alive=False))
    elif name == "nworkers_changed":
        _call(name, server, ev["new"], ev["old"])
    elif name == "reload":
        try:
            fresh = load(_config_path, SUPERVISOR_HOOKS)
        except Exception:
            server.log.exception("The config file %s failed to run again; its previous hooks stay", _config_path)
        else:
            _hooks.clear()
            _hooks.update(fresh)
        _call("nworkers_changed", server, ev["new"], ev["old"])
        _call("on_reload", server)
    else:
        _call(name, server)
    return _defined(SUPERVISOR_HOOKS)


def _call(name, *args):
    fn = _hooks.get(name)
    if fn is None:
        return
    try:
        fn(*args)
    except Exception:
        server.log.exception("Exception in %s hook", name)
