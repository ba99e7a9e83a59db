"""Bottle through every feature the framework tests exercise (see
cmd/gowsgi/frameworks_test.go): gowsgi serve --chdir pyapps features_bottle:app"""
import hashlib
import json

import bottle
from bottle import Bottle, redirect, request, response

app = Bottle()
SECRET = "gowsgi-sample-not-secret"


@app.get("/items/<item>")
def item(item):
    return "item=%s q=%s tags=%s" % (item, request.query.getunicode("q", ""), ",".join(request.query.getall("tag")))


@app.get("/grüße")
def greetings():
    return "grüße"


@app.post("/form")
def form():
    return "form name=%s n=%s" % (request.forms.getunicode("name"), request.forms.getunicode("n"))


@app.post("/upload")
def upload():
    f = request.files.get("file")
    data = f.file.read()
    return "upload title=%s filename=%s size=%d sha256=%s" % (
        request.forms.getunicode("title"), f.raw_filename, len(data), hashlib.sha256(data).hexdigest())


@app.post("/json")
def json_body():
    response.content_type = "application/json"
    return json.dumps({"received": json.loads(request.body.read())})


@app.get("/session/set")
def session_set():
    # a signed cookie is Bottle's session
    response.set_cookie("session", {"v": request.query.getunicode("v")}, secret=SECRET, path="/")
    return "set"


@app.get("/session/get")
def session_get():
    data = request.get_cookie("session", secret=SECRET) or {}
    return "session v=%s plain=%s" % (data.get("v"), request.get_cookie("plain"))


@app.get("/redirect")
def go_elsewhere():
    redirect("/items/7", code=302)


@app.get("/stream")
def stream():
    response.content_type = "text/plain"
    return (("chunk %d\n" % i).encode() for i in range(5))


@app.get("/error")
def error():
    raise RuntimeError("boom")


@app.error(500)
def handle_500(err):
    return "error handled by bottle"


# Bottle re-raises nothing by default; make sure tracebacks are not shown.
bottle.debug(False)
