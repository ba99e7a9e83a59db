"""Reads the whole request body and lets any error propagate, as a plain
WSGI app does (issue 11, point 9). /upload creates $UPLOAD_DIR/reading-PID
once it has read its first bytes, so a test can cut the connection
mid-upload without guessing when the app got there."""
import os


def app(environ, start_response):
    body = environ["wsgi.input"]
    if environ["PATH_INFO"] == "/pid":
        data = b"%d" % os.getpid()
        start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(data)))])
        return [data]
    if environ["PATH_INFO"] == "/upload":
        first = body.read(1)
        open(os.path.join(os.environ["UPLOAD_DIR"], "reading-%d" % os.getpid()), "w").close()
        data = first + body.read()
    else:
        data = body.read()
    out = b"%d\n" % len(data)
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(out)))])
    return [out]
