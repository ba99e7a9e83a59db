"""Falcon through every feature the framework tests exercise (see
cmd/gowsgi/frameworks_test.go): gowsgi serve --chdir pyapps features_falcon:app"""
import hashlib
import secrets

import falcon

# Falcon has no sessions: a server-side store keyed by a random cookie.
SESSIONS = {}


class Item:
    def on_get(self, req, resp, item):
        resp.content_type = falcon.MEDIA_TEXT
        resp.text = "item=%s q=%s tags=%s" % (item, req.get_param("q", default=""),
                                              ",".join(req.get_param_as_list("tag") or []))


class Greetings:
    def on_get(self, req, resp):
        resp.content_type = falcon.MEDIA_TEXT
        resp.text = "grüße"


class Form:
    def on_post(self, req, resp):
        form = req.get_media()  # URL-encoded form handler
        resp.content_type = falcon.MEDIA_TEXT
        resp.text = "form name=%s n=%s" % (form["name"], form["n"])


class Upload:
    def on_post(self, req, resp):
        fields, file_name, size, digest = {}, None, 0, hashlib.sha256()
        for part in req.get_media():
            if part.filename:
                file_name = part.filename
                while True:
                    block = part.stream.read(65536)
                    if not block:
                        break
                    size += len(block)
                    digest.update(block)
            else:
                fields[part.name] = part.text
        resp.content_type = falcon.MEDIA_TEXT
        resp.text = "upload title=%s filename=%s size=%d sha256=%s" % (
            fields["title"], file_name, size, digest.hexdigest())


class JSONBody:
    def on_post(self, req, resp):
        resp.media = {"received": req.get_media()}


class SessionSet:
    def on_get(self, req, resp):
        sid = secrets.token_hex(16)
        SESSIONS[sid] = {"v": req.get_param("v")}
        resp.set_cookie("sid", sid, secure=False, path="/")
        resp.content_type = falcon.MEDIA_TEXT
        resp.text = "set"


class SessionGet:
    def on_get(self, req, resp):
        data = SESSIONS.get((req.get_cookie_values("sid") or [""])[0], {})
        plain = req.get_cookie_values("plain")
        resp.content_type = falcon.MEDIA_TEXT
        resp.text = "session v=%s plain=%s" % (data.get("v"), plain[0] if plain else None)


class Redirect:
    def on_get(self, req, resp):
        raise falcon.HTTPFound("/items/7")


class Stream:
    def on_get(self, req, resp):
        resp.content_type = falcon.MEDIA_TEXT
        resp.stream = (("chunk %d\n" % i).encode() for i in range(5))


class Error:
    def on_get(self, req, resp):
        raise RuntimeError("boom")


def handle_error(req, resp, ex, params):
    resp.status = falcon.HTTP_500
    resp.content_type = falcon.MEDIA_TEXT
    resp.text = "error handled by falcon"


app = falcon.App()
app.req_options.auto_parse_qs_csv = False
app.add_route("/items/{item}", Item())
app.add_route("/grüße", Greetings())
app.add_route("/form", Form())
app.add_route("/upload", Upload())
app.add_route("/json", JSONBody())
app.add_route("/session/set", SessionSet())
app.add_route("/session/get", SessionGet())
app.add_route("/redirect", Redirect())
app.add_route("/stream", Stream())
app.add_route("/error", Error())
app.add_error_handler(Exception, handle_error)
