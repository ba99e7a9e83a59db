"""A plain WSGI application, no framework: gowsgi serve --chdir pyapps hello:app"""


def app(environ, start_response):
    body = b"Hello, World!\n"
    start_response("200 OK", [("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", str(len(body)))])
    return [body]
