"""Benchmark case "echo": answers a POST with its body, read whole with wsgi.input.read()."""


def app(environ, start_response):
    body = environ["wsgi.input"].read()
    start_response("200 OK", [("Content-Type", "application/octet-stream"), ("Content-Length", str(len(body)))])
    return [body]
