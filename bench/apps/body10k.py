"""Benchmark case "body10k": a 10 KiB body (10240 bytes of "x") with Content-Length."""

BODY = b"x" * 10240
HEADERS = [("Content-Type", "application/octet-stream"), ("Content-Length", str(len(BODY)))]


def app(environ, start_response):
    start_response("200 OK", HEADERS)
    return [BODY]
