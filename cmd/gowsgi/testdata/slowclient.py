"""For slowclient_test.go: answers the length of the request body it read."""


def app(environ, start_response):
    out = b"%d" % len(environ["wsgi.input"].read())
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(out)))])
    return [out]
