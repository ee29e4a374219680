"""Production: HTTPS-only cookies and redirects, HSTS, hashed static files; refuses insecure defaults."""

from django.core.exceptions import ImproperlyConfigured

from .base import *  # noqa: F403
from .base import (
    DATABASES,
    DEBUG,
    DEVELOPMENT_ERASURE_HMAC_KEY,
    ERASURE_HMAC_KEY,
    MIDDLEWARE,
    POSTGRESQL_ENGINE,
    PUBLIC_BASE_URL,
    SECRET_KEY,
    STORAGES,
    TWILIO_VALIDATE_SIGNATURE,
    env,
    refuse_insecure_settings,
)

if DEBUG:
    raise ImproperlyConfigured("DJANGO_DEBUG is on under production settings: unset it or set DJANGO_DEBUG=false.")
if not TWILIO_VALIDATE_SIGNATURE:
    raise ImproperlyConfigured(
        "TWILIO_VALIDATE_SIGNATURE=false is refused under production settings: "
        "unset it so Twilio's webhook signatures are checked."
    )
refuse_insecure_settings(debug=DEBUG, secret_key=SECRET_KEY)
if len(ERASURE_HMAC_KEY) < 32 or ERASURE_HMAC_KEY == DEVELOPMENT_ERASURE_HMAC_KEY:
    raise ImproperlyConfigured(
        "ERASURE_HMAC_KEY is not set or too short: erasure receipts need a secret of their own. "
        "Set ERASURE_HMAC_KEY to a long random value (at least 32 characters) and keep it."
    )

SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=True)
# Load balancers and containers probe over plain HTTP, inside the network.
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
# HSTS for a year; subdomains and the browsers' preload list only when asked (both bind every subdomain).
SECURE_HSTS_SECONDS = env.int("DJANGO_SECURE_HSTS_SECONDS", default=31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS", default=False)
SECURE_HSTS_PRELOAD = env.bool("DJANGO_SECURE_HSTS_PRELOAD", default=False)
# Off by choice, not by oversight: `check --deploy` would warn about each.
SILENCED_SYSTEM_CHECKS = [
    *([] if SECURE_HSTS_INCLUDE_SUBDOMAINS else ["security.W005"]),
    *([] if SECURE_HSTS_PRELOAD else ["security.W021"]),
]
SECURE_CONTENT_TYPE_NOSNIFF = True
# An outbound webhook's body (a lead's number, a message) never crosses the network in the clear.
WEBHOOK_HTTPS_ONLY = env.bool("WEBHOOK_HTTPS_ONLY", default=True)
CSRF_TRUSTED_ORIGINS = [PUBLIC_BASE_URL] if PUBLIC_BASE_URL else []

# Static files (the admin's too) served by the app itself, hashed and compressed.
MIDDLEWARE.insert(
    MIDDLEWARE.index("django.middleware.security.SecurityMiddleware") + 1, "whitenoise.middleware.WhiteNoiseMiddleware"
)
STORAGES["staticfiles"] = {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"}
if DATABASES["default"]["ENGINE"] == POSTGRESQL_ENGINE:
    # A connection pool per process: persistent connections (CONN_MAX_AGE) leak under ASGI, where each
    # request runs in a thread of its own. A request that waits longer than the timeout gets a 503.
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    # Each connection is checked as it leaves the pool (Django passes psycopg's check only with this on), so
    # after a database restart a dead one is replaced instead of failing the request that drew it.
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
        "min_size": 1,
        "max_size": env.int("DJANGO_DB_POOL_SIZE", default=10),
        "timeout": 5,
    }
