"""Apps wrapped in wsgiref.validate: any PEP 3333 violation by the server
(or the app) raises, and turns into a 500 the test sees. One inner app per
path: plain, streaming, write(), wsgi.file_wrapper and exc_info."""
import os
import sys
import tempfile
import warnings
from wsgiref.validate import WSGIWarning, validator

warnings.simplefilter("error", WSGIWarning)

_fd, FILE_PATH = tempfile.mkstemp(prefix="gowsgi-validated-")
os.write(_fd, b"file body " * 100)
os.close(_fd)


def read_all(environ):
    inp = environ["wsgi.input"]
    body = b""
    while True:
        part = inp.read(4096)
        if not part:
            break
        body += part
    # exercise readline on an exhausted stream too
    assert inp.readline(10) == b""
    return body


def summary(environ):
    body = read_all(environ)
    return b"%s %s %d:%s" % (environ["REQUEST_METHOD"].encode(), environ["PATH_INFO"].encode(), len(body), body)


def plain(environ, start_response):
    out = summary(environ)
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(out)))])
    return [out]


def stream(environ, start_response):
    out = summary(environ)
    start_response("200 OK", [("Content-Type", "text/plain")])
    yield out
    for i in range(3):
        yield b";%d" % i


def write(environ, start_response):
    out = summary(environ)
    w = start_response("200 OK", [("Content-Type", "text/plain")])
    w(out)
    w(b";written")
    return [b";returned"]


def file(environ, start_response):
    read_all(environ)
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(os.path.getsize(FILE_PATH)))])
    return environ["wsgi.file_wrapper"](open(FILE_PATH, "rb"))


def excinfo(environ, start_response):
    read_all(environ)
    start_response("200 OK", [("Content-Type", "text/plain")])
    try:
        raise KeyError("handled")
    except KeyError:
        start_response("500 Internal Server Error", [("Content-Type", "text/plain")], sys.exc_info())
    return [b"handled the error"]


ROUTES = {"/stream": stream, "/write": write, "/file": file, "/excinfo": excinfo}


def inner(environ, start_response):
    return ROUTES.get(environ["PATH_INFO"], plain)(environ, start_response)


app = validator(inner)
