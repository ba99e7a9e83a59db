"""Reached by the dotted spec pkg.mod:holder.wsgi."""


class holder:
    @staticmethod
    def wsgi(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"dotted"]


def application(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"module alone"]
