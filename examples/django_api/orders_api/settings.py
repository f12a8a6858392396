"""Settings of the Orders API. Everything deployment-specific comes from the environment."""

import os

from django.core.exceptions import ImproperlyConfigured
from django.core.management.utils import get_random_secret_key

# The authorization server whose tokens are accepted, exactly as its tokens' `iss`.
PORTCULLIS_ISSUER = os.environ.get("PORTCULLIS_ISSUER")
# This API's identifier, as registered with `portcullis resource create --identifier`:
# the `aud` its tokens must carry.
API_AUDIENCE = os.environ.get("API_AUDIENCE")
if not PORTCULLIS_ISSUER or not API_AUDIENCE:
    raise ImproperlyConfigured("set PORTCULLIS_ISSUER and API_AUDIENCE")
# The `id` and `secret` printed by `portcullis resource create --json`: only the
# introspecting route (GET /orders/<id>/live) needs them.
API_INTROSPECTION_ID = os.environ.get("API_INTROSPECTION_ID")
API_INTROSPECTION_SECRET = os.environ.get("API_INTROSPECTION_SECRET")

# Nothing here signs anything with it (no sessions, no CSRF: callers authenticate with
# bearer tokens), but Django wants a key: set one, or get a random one per process.
SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY") or get_random_secret_key()
DEBUG = os.environ.get("DJANGO_DEBUG") == "1"
ALLOWED_HOSTS = os.environ.get("DJANGO_ALLOWED_HOSTS", "127.0.0.1,localhost").split(",")

INSTALLED_APPS = ["rest_framework"]
# No session, auth or CSRF middleware: a caller proves who it is with a bearer token it
# sends explicitly, never with a cookie a browser would attach on its own.
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.common.CommonMiddleware",
]
ROOT_URLCONF = "orders_api.urls"
APPEND_SLASH = False
DATABASES = {}  # orders are kept in memory; a real API has a database
USE_TZ = True

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "orders_api.authentication.PortcullisTokenAuthentication",
    ],
    # Deny by default: a view that forgets its permission classes needs a valid token.
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    # No django.contrib.auth: the caller is whoever the token says.
    "UNAUTHENTICATED_USER": None,
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {"orders_api": {"handlers": ["console"], "level": "INFO"}},
}
