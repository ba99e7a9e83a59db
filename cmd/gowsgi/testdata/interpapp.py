"""An app that looks at the interpreter it runs in, for interpreter_test.go.

With INTERP_MARKERS set (a directory), it leaves files there when Python
finalizes: "atexit" from an atexit handler and "finalize" from a
weakref.finalize callback, each holding the worker's pid.
"""
import atexit
import json
import multiprocessing
import os
import subprocess
import sys
import threading
import time
import weakref

import __main__

# A thread the app starts at import: it must keep running between requests
# (the server idle) and while requests run.
ticks = 0


def _tick():
    global ticks
    while True:
        ticks += 1
        time.sleep(0.01)


threading.Thread(target=_tick, name="ticker", daemon=True).start()

_markers = os.environ.get("INTERP_MARKERS")


def _mark(name):
    with open(os.path.join(_markers, name), "w") as f:
        f.write(str(os.getpid()))


class _Resource:
    pass


_resource = _Resource()
if _markers:
    atexit.register(_mark, "atexit")
    weakref.finalize(_resource, _mark, "finalize")

_loaded_in_main_thread = threading.current_thread() is threading.main_thread()


def square(n):
    return n * n


def spawn_squares():
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(2) as pool:
        return pool.map(square, [1, 2, 3, 4])


def respond(start_response, body, content_type="text/plain"):
    if not isinstance(body, bytes):
        body = body.encode()
    start_response("200 OK", [("Content-Type", content_type), ("Content-Length", str(len(body)))])
    return [body]


def app(environ, start_response):
    path = environ["PATH_INFO"]
    if path == "/ticks":
        return respond(start_response, str(ticks))
    if path == "/spin":
        end = time.perf_counter() + 0.005
        while time.perf_counter() < end:
            pass
        return respond(start_response, "spun")
    if path == "/sys":
        child = subprocess.run([sys.executable, "-c", "import sys; print(sys.version)"],
                               capture_output=True, text=True, timeout=30)
        return respond(start_response, json.dumps({
            "argv": sys.argv,
            "executable": sys.executable,
            "version": sys.version,
            "child_version": child.stdout.strip(),
            "prefix": sys.prefix,
            "stdlib": os.path.dirname(os.__file__),
            "main_module": type(sys.modules.get("__main__")).__name__,
            "main_name": __main__.__name__,
            "main_thread_name": threading.main_thread().name,
            "loaded_in_main_thread": _loaded_in_main_thread,
            "serving_in_main_thread": threading.current_thread() is threading.main_thread(),
            "threads": sorted(t.name for t in threading.enumerate()),
        }), "application/json")
    if path == "/spawn":
        return respond(start_response, ",".join(map(str, spawn_squares())))
    if path == "/which":
        import bottle  # the venv's copy shadows Debian's
        import flask  # only the system has it

        return respond(start_response, "bottle=%s flask=%s" % (bottle.__file__, flask.__file__))
    start_response("404 Not Found", [("Content-Type", "text/plain")])
    return [b"not found"]
