"""The application the end-to-end tests serve through bin/gowsgi."""
import os
import time

calls = {"count": 0}
hoard = []


def respond(start_response, body, status="200 OK"):
    start_response(status, [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]


def read_body(environ):
    inp = environ["wsgi.input"]
    parts = []
    while True:
        b = inp.read(65536)
        if not b:
            return b"".join(parts)
        parts.append(b)


def hold(name):
    """Keeps a request in the app until the test lets it go: creates
    entered-NAME in $E2E_HOLD_DIR, then waits for release-NAME (or
    release-all) there. The test waits on the first file instead of guessing
    when the request has arrived."""
    where = os.environ["E2E_HOLD_DIR"]
    open(os.path.join(where, "entered-" + name), "w").close()
    released = [os.path.join(where, "release-" + name), os.path.join(where, "release-all")]
    deadline = time.monotonic() + 120
    while not any(os.path.exists(p) for p in released):
        if time.monotonic() > deadline:
            raise RuntimeError("request %s was never released" % name)
        time.sleep(0.005)


def app(environ, start_response):
    path = environ["PATH_INFO"]
    if path == "/count":
        return respond(start_response, str(calls["count"]).encode())
    calls["count"] += 1
    if path == "/echo":
        return respond(start_response, read_body(environ))
    if path == "/raise":
        raise RuntimeError("boom from e2eapp")
    if path == "/supervisor-env":
        return respond(start_response, " ".join(sorted(k for k in os.environ if k.startswith("GOWSGI_"))).encode())
    if path == "/executable":
        import sys
        return respond(start_response, sys.executable.encode())
    if path == "/getenv":
        return respond(start_response, os.environ.get(environ["QUERY_STRING"], "<unset>").encode())
    if path == "/print":
        print("app prints: %s" % environ["QUERY_STRING"], flush=True)
        return respond(start_response, b"printed")
    if path == "/log":
        environ["wsgi.errors"].write("app says: %s\n" % environ["QUERY_STRING"])
        return respond(start_response, b"logged")
    if path == "/alloc":
        hoard.append(bytearray(int(environ["QUERY_STRING"]) << 20))
        return respond(start_response, b"allocated")
    if path == "/script-name":
        return respond(start_response, ("%s|%s" % (environ["SCRIPT_NAME"], path)).encode())
    if path == "/remote":
        return respond(start_response, ("%s|%s|%s" % (
            environ["REMOTE_ADDR"], environ["wsgi.url_scheme"], environ.get("HTTP_X_FORWARDED_FOR", "-"))).encode())
    if path == "/pid":
        return respond(start_response, str(os.getpid()).encode())
    if path == "/spin":
        end = time.time() + float(environ["QUERY_STRING"] or "10")
        while time.time() < end:
            pass
        return respond(start_response, b"spun")
    if path == "/segfault":
        import ctypes
        ctypes.string_at(0)
    if path == "/slow":
        time.sleep(float(environ["QUERY_STRING"] or "1"))
        return respond(start_response, b"slept")
    if path == "/hold":
        hold(environ["QUERY_STRING"])
        return respond(start_response, b"held " + environ["QUERY_STRING"].encode())
    if path == "/stream":
        start_response("200 OK", [("Content-Type", "text/plain")])
        return (b"part%d;" % i for i in range(5))
    if path.startswith("/path/"):
        return respond(start_response, path.encode("latin-1"))
    return respond(start_response, b"Hello from e2eapp\n")


not_callable = "a string"


def factory():
    return app
