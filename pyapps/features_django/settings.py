"""Settings of the Django features sample: no database, signed-cookie sessions."""
SECRET_KEY = "gowsgi-sample-not-secret"
DEBUG = False
ALLOWED_HOSTS = ["*"]
ROOT_URLCONF = "features_django.urls"
INSTALLED_APPS = []
MIDDLEWARE = [
    "django.middleware.common.CommonMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
]
SESSION_ENGINE = "django.contrib.sessions.backends.signed_cookies"
DATABASES = {}
USE_TZ = True
# the 5 MB upload goes to a temporary file, as in production
FILE_UPLOAD_MAX_MEMORY_SIZE = 1 << 20
