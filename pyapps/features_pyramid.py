"""Pyramid through every feature the framework tests exercise (see
cmd/gowsgi/frameworks_test.go): gowsgi serve --chdir pyapps features_pyramid:app"""
import hashlib

from pyramid.config import Configurator
from pyramid.httpexceptions import HTTPFound
from pyramid.response import Response
from pyramid.session import SignedCookieSessionFactory


def text(body, status=200):
    return Response(body, status=status, content_type="text/plain", charset="utf-8")


def item(request):
    q = request.GET
    return text("item=%s q=%s tags=%s" % (request.matchdict["item"], q.get("q", ""), ",".join(q.getall("tag"))))


def greetings(request):
    return text("grüße")


def form(request):
    return text("form name=%s n=%s" % (request.POST["name"], request.POST["n"]))


def upload(request):
    f = request.POST["file"]
    data = f.file.read()
    return text("upload title=%s filename=%s size=%d sha256=%s" % (
        request.POST["title"], f.filename, len(data), hashlib.sha256(data).hexdigest()))


def json_body(request):
    return {"received": request.json_body}


def session_set(request):
    request.session["v"] = request.GET["v"]
    return text("set")


def session_get(request):
    return text("session v=%s plain=%s" % (request.session.get("v"), request.cookies.get("plain")))


def go_elsewhere(request):
    return HTTPFound(location="/items/7")


def stream(request):
    return Response(app_iter=(("chunk %d\n" % i).encode() for i in range(5)), content_type="text/plain")


def error(request):
    raise RuntimeError("boom")


def handle_error(exc, request):
    return text("error handled by pyramid", status=500)


def make_app():
    with Configurator(session_factory=SignedCookieSessionFactory("gowsgi-sample-not-secret")) as config:
        routes = [
            ("item", "/items/{item}", item, None),
            ("greetings", "/grüße", greetings, None),
            ("form", "/form", form, None),
            ("upload", "/upload", upload, None),
            ("json", "/json", json_body, "json"),
            ("session_set", "/session/set", session_set, None),
            ("session_get", "/session/get", session_get, None),
            ("redirect", "/redirect", go_elsewhere, None),
            ("stream", "/stream", stream, None),
            ("error", "/error", error, None),
        ]
        for name, pattern, view, renderer in routes:
            config.add_route(name, pattern)
            config.add_view(view, route_name=name, renderer=renderer)
        config.add_exception_view(handle_error, context=Exception)
        return config.make_wsgi_app()


app = make_app()
