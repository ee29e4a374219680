"""Production: HTTPS-only cookies and redirects, HSTS, hashed static files; refuses insecure defaults."""

from django.core.exceptions import ImproperlyConfigured

from .base import *  # noqa: F403
from .base import env, refuse_insecure_settings

if DEBUG:  # noqa: F405
    raise ImproperlyConfigured("DJANGO_DEBUG is on under production settings: unset it or set DJANGO_DEBUG=false.")
if not TWILIO_VALIDATE_SIGNATURE:  # noqa: F405
    raise ImproperlyConfigured(
        "TWILIO_VALIDATE_SIGNATURE=false is refused under production settings: "
        "unset it so Twilio's webhook signatures are checked."
    )
refuse_insecure_settings(debug=DEBUG, secret_key=SECRET_KEY)  # noqa: F405

SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=True)
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SECURE_HSTS_SECONDS = env.int("DJANGO_SECURE_HSTS_SECONDS", default=60)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
SECURE_HSTS_PRELOAD = env.bool("DJANGO_SECURE_HSTS_PRELOAD", default=True)
SECURE_CONTENT_TYPE_NOSNIFF = True
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])

STORAGES["staticfiles"] = {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"}  # noqa: F405
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DJANGO_CONN_MAX_AGE", default=60)  # noqa: F405
