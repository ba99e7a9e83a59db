"""Django through every feature the framework tests exercise (see
cmd/gowsgi/frameworks_test.go), without a database (sessions are signed
cookies): gowsgi serve --chdir pyapps features_django:app"""
import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "features_django.settings")

from django.core.wsgi import get_wsgi_application  # noqa: E402

app = get_wsgi_application()
