"""The Pyramid sample: gowsgi serve --chdir pyapps pyramid_app:app"""
from pyramid.config import Configurator
from pyramid.response import Response


def index(request):
    return Response("Hello from Pyramid!\n", content_type="text/plain")


def make_app():
    with Configurator() as config:
        config.add_route("index", "/")
        config.add_view(index, route_name="index")
        return config.make_wsgi_app()


app = make_app()
