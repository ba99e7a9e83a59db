"""Benchmark case "stream": a generator yielding 100 chunks, with no Content-Length,
so the server streams it (chunked on HTTP/1.1)."""

CHUNK = b"chunk of a streamed body\n"  # 25 bytes; 100 of them make 2500
CHUNKS = 100


def app(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return _chunks()


def _chunks():
    for _ in range(CHUNKS):
        yield CHUNK
