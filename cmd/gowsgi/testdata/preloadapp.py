"""The application of preload_test.go: what it did at import, and what a
worker forked from the zygote has of it.

At import it appends its pid to $PRELOAD_IMPORT_LOG, starts a thread,
opens a file and draws a random number, and tries to take SIGTERM. Then
GET /state answers, as JSON, the worker's pid, parent and the rest."""
import json
import os
import random
import signal
import subprocess
import threading
import time

with open(os.environ["PRELOAD_IMPORT_LOG"], "a") as _log:
    _log.write("%d\n" % os.getpid())

import_pid = os.getpid()
import_random = random.random()
_ticker = threading.Thread(target=lambda: time.sleep(3600), name="started-at-import", daemon=True)
_ticker.start()
_shared_file = open(os.environ["PRELOAD_IMPORT_LOG"])
# The server keeps its signals: refused, with a warning in the log.
signal.signal(signal.SIGTERM, lambda *a: None)
# Memory the import fills, which the workers share: 20 MB of objects.
ballast = [str(i) * 4 for i in range(400_000)]


def app(environ, start_response):
    path = environ["PATH_INFO"]
    if path == "/state":
        body = json.dumps({
            "pid": os.getpid(),
            "ppid": os.getppid(),
            "import_pid": import_pid,
            "import_random": import_random,
            "random": random.random(),
            "threads": sorted(t.name for t in threading.enumerate()),
            "main_thread_alive": threading.main_thread().is_alive(),
            "shared_file_open": not _shared_file.closed and os.fstat(_shared_file.fileno()) is not None,
            "gowsgi_env": sorted(k for k in os.environ if k.startswith("GOWSGI_")),
            "ballast": len(ballast),
        }).encode()
    elif path == "/orphan":
        # a child this worker never waits for: it outlives the worker
        body = str(subprocess.Popen(["sleep", environ["QUERY_STRING"] or "1"]).pid).encode()
    elif path == "/grow":
        # memory only this worker has
        ballast.extend(str(i) * 4 for i in range(int(environ["QUERY_STRING"])))
        body = b"grown"
    else:
        body = b"preloaded"
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]
