"""The crash-loop tests' app (cmd/gowsgi/crashloop_test.go).

CRASHLOOP_DIR is the test's directory. While CRASHLOOP_DIR/broken exists,
the import fails. With CRASHLOOP_LOOP set, the first worker to create
CRASHLOOP_DIR/healthy serves for good, and every other one notes its pid in
CRASHLOOP_DIR/starts and exits 0.3 s after it has loaded: one slot loops
while the other serves. Every response says which kind of worker sent it.
"""
import os
import threading
import time

_dir = os.environ["CRASHLOOP_DIR"]
if os.path.exists(os.path.join(_dir, "broken")):
    raise RuntimeError("the application is broken (the test made it so)")


def _claim_healthy():
    try:
        fd = os.open(os.path.join(_dir, "healthy"), os.O_CREAT | os.O_EXCL | os.O_WRONLY)
    except FileExistsError:
        return False
    os.close(fd)
    return True


def _die_soon():
    time.sleep(0.3)
    os._exit(1)


HEALTHY = not os.environ.get("CRASHLOOP_LOOP") or _claim_healthy()
if not HEALTHY:
    with open(os.path.join(_dir, "starts"), "a") as f:
        f.write("%d\n" % os.getpid())
    threading.Thread(target=_die_soon, daemon=True).start()


def app(environ, start_response):
    body = ("%s %d" % ("healthy" if HEALTHY else "looping", os.getpid())).encode()
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]
