"""The Django sample, a minimal project without a database:
gowsgi serve --chdir pyapps django_app:app"""
import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "django_app.settings")

from django.core.wsgi import get_wsgi_application  # noqa: E402

app = get_wsgi_application()
