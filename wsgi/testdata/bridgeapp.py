"""The application the wsgi package's tests serve: one behaviour per path."""
import json
import sys

closes = {"count": 0}


def respond(start_response, body, status="200 OK", ctype="text/plain"):
    start_response(status, [("Content-Type", ctype), ("Content-Length", str(len(body)))])
    return [body]


def environ_view(environ, start_response):
    keys = [
        "REQUEST_METHOD", "SCRIPT_NAME", "PATH_INFO", "QUERY_STRING", "CONTENT_TYPE", "CONTENT_LENGTH",
        "SERVER_NAME", "SERVER_PORT", "SERVER_PROTOCOL", "REMOTE_ADDR", "REMOTE_PORT", "RAW_URI",
        "wsgi.url_scheme", "wsgi.multithread", "wsgi.multiprocess", "wsgi.run_once",
        "wsgi.input_terminated", "HTTP_HOST", "HTTP_X_CUSTOM_THING", "HTTP_ACCEPT", "HTTP_X_FOO",
    ]
    view = {k: environ[k] for k in keys if k in environ}
    view["wsgi.version"] = list(environ["wsgi.version"])
    view["types"] = {k: type(v).__name__ for k, v in environ.items() if k.isupper()}
    view["has_errors_write"] = hasattr(environ["wsgi.errors"], "write")
    view["http_keys"] = sorted(k for k in environ if k.startswith("HTTP_"))
    return respond(start_response, json.dumps(view).encode(), ctype="application/json")


def echo(environ, start_response):
    return respond(start_response, environ["wsgi.input"].read())


def read_pieces(environ, start_response):
    n = int(environ["QUERY_STRING"] or "7")
    parts = []
    while True:
        b = environ["wsgi.input"].read(n)
        if not b:
            break
        parts.append(b)
    body = json.dumps([p.decode("latin-1") for p in parts]).encode()
    return respond(start_response, body, ctype="application/json")


def readline(environ, start_response):
    inp = environ["wsgi.input"]
    size = int(environ["QUERY_STRING"]) if environ["QUERY_STRING"] else -1
    lines = []
    while True:
        line = inp.readline(size)
        if not line:
            break
        lines.append(line.decode("latin-1"))
    return respond(start_response, json.dumps(lines).encode(), ctype="application/json")


def readlines(environ, start_response):
    lines = [l.decode("latin-1") for l in environ["wsgi.input"].readlines()]
    return respond(start_response, json.dumps(lines).encode(), ctype="application/json")


def iterate(environ, start_response):
    lines = [l.decode("latin-1") for l in environ["wsgi.input"]]
    return respond(start_response, json.dumps(lines).encode(), ctype="application/json")


def stream(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    for i in range(3):
        yield b"chunk%d\n" % i


def generator_late_start(environ, start_response):
    # start_response only runs at the first next(), as in any generator app
    yield from stream(environ, start_response)


def write_app(environ, start_response):
    write = start_response("200 OK", [("Content-Type", "text/plain")])
    write(b"written ")
    return [b"returned"]


def raise_app(environ, start_response):
    raise RuntimeError("boom from the app")


def raise_after(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    yield b"first"
    raise RuntimeError("boom mid-stream")


class Closing:
    def __init__(self, items, fail=False):
        self.items = items
        self.fail = fail

    def __iter__(self):
        for item in self.items:
            if self.fail:
                raise ValueError("iteration failed")
            yield item

    def close(self):
        closes["count"] += 1


def closing(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return Closing([b"a", b"b"], fail=environ["QUERY_STRING"] == "fail")


def close_count(environ, start_response):
    return respond(start_response, str(closes["count"]).encode())


def bad_status(environ, start_response):
    start_response("200", [])
    return [b""]


def header_injection(environ, start_response):
    start_response("200 OK", [("X-Bad", "a\r\nSet-Cookie: x=1")])
    return [b""]


def no_start(environ, start_response):
    return [b"no start_response"]


def non_bytes(environ, start_response):
    start_response("200 OK", [])
    return ["a str"]


def exc_info(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    try:
        raise KeyError("x")
    except KeyError:
        start_response("503 Unavailable", [("Content-Type", "text/plain")], sys.exc_info())
    return [b"recovered"]


def exc_info_late(environ, start_response):
    write = start_response("200 OK", [("Content-Type", "text/plain")])
    write(b"head is out")
    try:
        raise KeyError("too late")
    except KeyError:
        start_response("500 Internal Server Error", [], sys.exc_info())  # re-raises
    return [b"never"]


def twice(environ, start_response):
    start_response("200 OK", [])
    start_response("200 OK", [])
    return [b""]


def latin1(environ, start_response):
    start_response("200 OK", [("X-Name", "caf\u00e9")])
    return [environ["PATH_INFO"].encode("latin-1")]


def errors_write(environ, start_response):
    environ["wsgi.errors"].write("note from the app\n")
    environ["wsgi.errors"].writelines(["line one\n", "line two\n"])
    environ["wsgi.errors"].flush()
    return respond(start_response, b"ok")


def declared(environ, start_response):
    start_response("200 OK", [("Content-Length", "5")])
    return iter([b"hel", b"lo"])


class CountingFile:
    """A real file whose close() is counted."""

    def __init__(self, path):
        self.f = open(path, "rb")

    def fileno(self):
        return self.f.fileno()

    def read(self, n=-1):
        return self.f.read(n)

    def tell(self):
        return self.f.tell()

    def close(self):
        closes["count"] += 1
        self.f.close()


def send_file(environ, start_response):
    # QUERY_STRING: path[,declared length][,skip]
    args = environ["QUERY_STRING"].split(",")
    headers = [("Content-Type", "application/octet-stream")]
    if len(args) > 1 and args[1]:
        headers.append(("Content-Length", args[1]))
    start_response("200 OK", headers)
    f = CountingFile(args[0])
    if len(args) > 2:
        f.f.seek(int(args[2]))
    return environ["wsgi.file_wrapper"](f, 4096)


def send_filelike(environ, start_response):
    import io
    start_response("200 OK", [("Content-Type", "text/plain")])
    return environ["wsgi.file_wrapper"](io.BytesIO(b"from a BytesIO " * 1000), 1000)


def hop_by_hop(environ, start_response):
    # ?NAME: a hop-by-hop field the app may not send, except Connection,
    # which the server honours
    start_response("200 OK", [(environ["QUERY_STRING"], "close")])
    return [b"sent"]


ROUTES = {
    "/file": send_file,
    "/filelike": send_filelike,
    "/hop-by-hop": hop_by_hop,
    "/environ": environ_view,
    "/echo": echo,
    "/read": read_pieces,
    "/readline": readline,
    "/readlines": readlines,
    "/iter": iterate,
    "/stream": stream,
    "/generator": generator_late_start,
    "/write": write_app,
    "/raise": raise_app,
    "/raise-after": raise_after,
    "/closing": closing,
    "/close-count": close_count,
    "/bad-status": bad_status,
    "/header-injection": header_injection,
    "/no-start": no_start,
    "/non-bytes": non_bytes,
    "/exc-info": exc_info,
    "/twice": twice,
    "/exc-info-late": exc_info_late,
    "/errors": errors_write,
    "/declared": declared,
}


def app(environ, start_response):
    path = environ["PATH_INFO"]
    if path.startswith("/latin1/"):
        return latin1(environ, start_response)
    handler = ROUTES.get(path)
    if handler is None:
        return respond(start_response, b"not found", status="404 Not Found")
    return handler(environ, start_response)


def hello(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "13")])
    return [b"Hello, World!"]


ROUTES["/hello"] = hello
