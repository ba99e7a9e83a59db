import hashlib
import json

from django.http import HttpResponse, HttpResponseRedirect, JsonResponse, StreamingHttpResponse
from django.views.decorators.csrf import csrf_exempt


def text(body, status=200):
    return HttpResponse(body, status=status, content_type="text/plain; charset=utf-8")


def item(request, item):
    q = request.GET
    return text("item=%s q=%s tags=%s" % (item, q.get("q", ""), ",".join(q.getlist("tag"))))


def greetings(request):
    return text("grüße")


@csrf_exempt
def form(request):
    return text("form name=%s n=%s" % (request.POST["name"], request.POST["n"]))


@csrf_exempt
def upload(request):
    f = request.FILES["file"]
    digest, size = hashlib.sha256(), 0
    for chunk in f.chunks():
        digest.update(chunk)
        size += len(chunk)
    return text("upload title=%s filename=%s size=%d sha256=%s" % (
        request.POST["title"], f.name, size, digest.hexdigest()))


@csrf_exempt
def json_body(request):
    return JsonResponse({"received": json.loads(request.body)})


def session_set(request):
    request.session["v"] = request.GET["v"]
    return text("set")


def session_get(request):
    return text("session v=%s plain=%s" % (request.session.get("v"), request.COOKIES.get("plain")))


def go_elsewhere(request):
    return HttpResponseRedirect("/items/7")


def stream(request):
    return StreamingHttpResponse((("chunk %d\n" % i).encode() for i in range(5)), content_type="text/plain")


def error(request):
    raise RuntimeError("boom")


def handle_500(request):
    return text("error handled by django", status=500)
