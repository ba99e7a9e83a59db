"""The application the stress suite serves: plain WSGI that counts its calls
by kind and the close() calls of its streamed responses, so the suite can
check from outside that invalid requests never reached it and that every
response was closed."""
import gc
import json
import threading
import time

_lock = threading.Lock()
stats = {"valid": 0, "other": 0, "upload": 0, "upload_read": 0, "stream": 0, "closed": 0}


def bump(key, n=1):
    with _lock:
        stats[key] += n


def respond(start_response, body, status="200 OK"):
    start_response(status, [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]


class Chunks:
    """A streamed response of n chunks whose close() is counted."""

    def __init__(self, n, chunk):
        self.n, self.chunk = n, chunk

    def __iter__(self):
        for _ in range(self.n):
            yield self.chunk

    def close(self):
        bump("closed")


CHUNK = b"x" * 65536


def app(environ, start_response):
    path = environ["PATH_INFO"]
    query = environ["QUERY_STRING"]
    if path == "/stats":
        gc.collect()
        with _lock:
            out = dict(stats, objects=len(gc.get_objects()))
        return respond(start_response, json.dumps(out).encode())
    if path == "/valid":
        bump("valid")
        return respond(start_response, b"ok " + query.encode())
    if path == "/upload":
        bump("upload")
        inp, n = environ["wsgi.input"], 0
        try:
            while True:
                b = inp.read(65536)
                if not b:
                    break
                n += len(b)
        finally:
            with _lock:
                stats["upload_read"] = n
        return respond(start_response, str(n).encode())
    if path == "/download":
        size = int(query)
        start_response("200 OK", [("Content-Type", "application/octet-stream"), ("Content-Length", str(size))])
        return Chunks(size // len(CHUNK), CHUNK)
    if path == "/stream":
        bump("stream")
        start_response("200 OK", [("Content-Type", "application/octet-stream")])
        return Chunks(int(query or "64"), CHUNK)
    if path == "/slow":
        bump("valid")
        time.sleep(float(query or "1"))
        return respond(start_response, b"slept")
    bump("other")
    if path == "/raise":
        raise RuntimeError("stress: deliberate exception")
    if path == "/segfault":
        import ctypes
        ctypes.string_at(0)
    if path == "/loop":
        while True:
            pass
    return respond(start_response, b"Hello from stressapp\n")
