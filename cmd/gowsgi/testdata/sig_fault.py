"""An app whose requests crash in C code (signals_test.go): /request reads
address 0 in the request's thread, /thread in a thread of its own; / answers
the worker's pid."""
import ctypes
import os
import threading


def crash_in_request():
    ctypes.string_at(0)


def crash_in_thread():
    ctypes.string_at(0)


def app(environ, start_response):
    path = environ["PATH_INFO"]
    if path == "/request":
        crash_in_request()
    elif path == "/thread":
        t = threading.Thread(target=crash_in_thread)
        t.start()
        t.join()
    body = str(os.getpid()).encode()
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]
