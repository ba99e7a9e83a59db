"""ContextVars per request (issue 12): /leak reports the value it found and
then sets one that must not reach the next request on the same thread;
/stream sets a value in the app call and reads it back in each chunk of
its generator, which runs in later calls from the server."""
import contextvars
import os

request_id = contextvars.ContextVar("request_id", default="unset")


def app(environ, start_response):
    path = environ["PATH_INFO"]
    mine = environ["QUERY_STRING"] or "x"
    if path == "/stream":
        request_id.set(mine)
        start_response("200 OK", [("Content-Type", "text/plain")])

        def chunks():
            for i in range(5):
                yield ("%s;" % request_id.get()).encode()

        return chunks()
    found = request_id.get()
    request_id.set(mine)
    body = ("%s %d" % (found, os.getpid())).encode()
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]
