"""An app whose /regex request is stuck in C code holding the GIL (a
catastrophic backtracking match), for the --timeout tests (issue 11,
point 3). Before it starts the match it creates $STUCK_DIR/entered-PID, so
a test knows the request is inside the app without guessing."""
import os
import re


def app(environ, start_response):
    path = environ["PATH_INFO"]
    if path == "/regex":
        open(os.path.join(os.environ["STUCK_DIR"], "entered-%d" % os.getpid()), "w").close()
        re.match(r"(a+)+$", "a" * 64 + "b")
        body = b"matched?\n"
    else:
        body = b"%d\n" % os.getpid()
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]
