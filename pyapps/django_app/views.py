from django.http import HttpResponse


def index(request):
    return HttpResponse("Hello from Django!\n", content_type="text/plain")
