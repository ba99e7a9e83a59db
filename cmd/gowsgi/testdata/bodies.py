"""Response bodies in every form PEP 3333 allows, each large enough that its
bytes are read by Go after the app returned (issue 11, point 1), and a
barrier for requests that must run together (point 6).

GET /FORM?n=BYTES answers n bytes of a pattern that differs per form and per
offset, so a body read after its object was freed, or another request's
bytes, cannot pass a digest check. /together?n=N&id=ID waits until N
requests are inside the app at once.
"""
import hashlib
import threading

FORMS = ("tuple", "list", "generator", "onechunk", "subclass", "parts", "write", "iterable")


class Blob(bytes):
    """A bytes subclass, which PEP 3333 allows as a body item."""


class OneChunk:
    """An iterable that is not a list, with close(), like a framework's."""

    def __init__(self, data):
        self.data = data

    def __iter__(self):
        yield self.data

    def close(self):
        pass


def pattern(form, n):
    seed = hashlib.sha256(form.encode()).digest()
    out = bytearray()
    block = seed
    while len(out) < n:
        block = hashlib.sha256(block).digest()
        out += block * 64
    return bytes(out[:n])


def body(form, n):
    data = pattern(form, n)
    if form == "tuple":
        return (data,)
    if form == "list":
        return [data]
    if form == "generator":
        return (data[i:i + 65536] for i in range(0, n, 65536))
    if form == "onechunk":
        return OneChunk(data)
    if form == "subclass":
        return [Blob(data)]
    if form == "parts":
        third = n // 3
        return (data[:third], data[third:2 * third], data[2 * third:])
    if form == "iterable":
        return iter([data[: n // 2], data[n // 2:]])
    raise KeyError(form)


_lock = threading.Lock()
_barriers = {}


def together(n, key):
    with _lock:
        b = _barriers.setdefault(key, threading.Barrier(n, timeout=15))
    b.wait()
    return b"together\n"


def app(environ, start_response):
    path = environ["PATH_INFO"].strip("/")
    q = dict(p.split("=", 1) for p in environ["QUERY_STRING"].split("&") if "=" in p)
    if path == "together":
        try:
            out = together(int(q["n"]), q["id"])
        except threading.BrokenBarrierError:
            start_response("503 Service Unavailable", [("Content-Type", "text/plain")])
            return [b"not together\n"]
        start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(out)))])
        return [out]
    n = int(q.get("n", "1048576"))
    if path == "biggen":
        # a stream: the executor writes it chunk by chunk
        start_response("200 OK", [("Content-Type", "application/octet-stream")])
        return (b"x" * 65536 for _ in range(n // 65536))
    if path == "big":
        # cheap to make: for clients that will not read it
        start_response("200 OK", [("Content-Type", "application/octet-stream"), ("Content-Length", str(n))])
        return [b"x" * n]
    headers = [("Content-Type", "application/octet-stream"), ("Content-Length", str(n)),
               ("X-Sha256", hashlib.sha256(pattern(path, n)).hexdigest())]
    if path == "write":
        write = start_response("200 OK", headers)
        data = pattern(path, n)
        write(data[: n // 2])
        return (data[n // 2:],)
    start_response("200 OK", headers)
    return body(path, n)
