"""Flask through every feature the framework tests exercise (see
cmd/gowsgi/frameworks_test.go for the contract all features_* apps share):
gowsgi serve --chdir pyapps features_flask:app"""
import hashlib
import os

from flask import Flask, jsonify, redirect, request, send_file, session, stream_with_context

app = Flask(__name__)
app.secret_key = "gowsgi-sample-not-secret"
HERE = os.path.dirname(os.path.abspath(__file__))


@app.route("/items/<item>")
def item(item):
    return "item=%s q=%s tags=%s" % (item, request.args.get("q", ""), ",".join(request.args.getlist("tag")))


@app.route("/grüße")
def greetings():
    return "grüße"


@app.route("/form", methods=["POST"])
def form():
    return "form name=%s n=%s" % (request.form["name"], request.form["n"])


@app.route("/upload", methods=["POST"])
def upload():
    f = request.files["file"]
    data = f.read()
    return "upload title=%s filename=%s size=%d sha256=%s" % (
        request.form["title"], f.filename, len(data), hashlib.sha256(data).hexdigest())


@app.route("/json", methods=["POST"])
def json_body():
    return jsonify(received=request.get_json())


@app.route("/session/set")
def session_set():
    session["v"] = request.args["v"]
    return "set"


@app.route("/session/get")
def session_get():
    return "session v=%s plain=%s" % (session.get("v"), request.cookies.get("plain"))


@app.route("/redirect")
def go_elsewhere():
    return redirect("/items/7", code=302)


@app.route("/stream")
def stream():
    return app.response_class((("chunk %d\n" % i).encode() for i in range(5)), mimetype="text/plain")


@app.route("/error")
def error():
    raise RuntimeError("boom")


@app.errorhandler(500)
def handle_500(e):
    return "error handled by flask", 500


# Flask only: send_file goes out through wsgi.file_wrapper (sendfile), and
# stream_with_context keeps the request context alive while streaming.
@app.route("/file")
def a_file():
    return send_file(os.path.join(HERE, "hello.py"), mimetype="text/plain")


@app.route("/stream-ctx")
def stream_ctx():
    def gen():
        yield "hello "
        yield request.args["name"]
        yield "\n"
    return app.response_class(stream_with_context(gen()), mimetype="text/plain")
