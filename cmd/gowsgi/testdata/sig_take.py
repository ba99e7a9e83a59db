"""An app that tries to take the server's signals at import (signals_test.go).

SIG_TAKE says how: "python" sets handlers for SIGTERM, SIGINT and SIGHUP with
signal.signal, "libc" ignores SIGTERM through libc's signal(), as a C
extension might; "later" does nothing at import, and the same as "libc"
when asked for /take. SIG_DIR is where it leaves its markers: "started" when
/slow is in the app, "atexit" from its atexit handler; /slow answers once
the test creates "release".
"""
import atexit
import ctypes
import os
import signal
import time

MARKERS = os.environ["SIG_DIR"]


def on_signal(signum, frame):
    raise SystemExit("the app's handler for %d ran" % signum)


def ignore_term_with_libc():
    libc = ctypes.CDLL(None, use_errno=True)
    libc.signal.restype = ctypes.c_void_p
    libc.signal.argtypes = (ctypes.c_int, ctypes.c_void_p)
    if libc.signal(signal.SIGTERM, 1) == 2**64 - 1:  # 1 is SIG_IGN, SIG_ERR is -1
        raise OSError(ctypes.get_errno(), "signal(SIGTERM, SIG_IGN)")


if os.environ["SIG_TAKE"] == "python":
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, on_signal)
elif os.environ["SIG_TAKE"] == "libc":
    ignore_term_with_libc()


def mark(name):
    with open(os.path.join(MARKERS, name), "w") as f:
        f.write(str(os.getpid()))


atexit.register(mark, "atexit")


def app(environ, start_response):
    if environ["PATH_INFO"] == "/take":
        ignore_term_with_libc()
        body = b"taken"
    elif environ["PATH_INFO"] == "/slow":
        mark("started")
        deadline = time.monotonic() + 20
        while not os.path.exists(os.path.join(MARKERS, "release")) and time.monotonic() < deadline:
            time.sleep(0.01)
        body = b"finished"
    else:
        body = str(os.getpid()).encode()
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]
