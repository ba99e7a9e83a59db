"""An app wrapped in wsgiref.validate: any PEP 3333 violation by the server
(or the app) raises, and turns into a 500 the test sees."""
import warnings
from wsgiref.validate import WSGIWarning, validator

warnings.simplefilter("error", WSGIWarning)


def inner(environ, start_response):
    inp = environ["wsgi.input"]
    body = b""
    while True:
        part = inp.read(4096)
        if not part:
            break
        body += part
    # exercise readline and iteration on an exhausted stream too
    assert inp.readline(10) == b""
    out = b"%s %s %d:%s" % (environ["REQUEST_METHOD"].encode(), environ["PATH_INFO"].encode(), len(body), body)
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(out)))])
    return [out]


app = validator(inner)
