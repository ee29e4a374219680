"""Settings shared by every environment.

Every external system is configured through environment variables (an optional `.env`
file is read too); with none set the project runs on SQLite, eager Celery, local media
and the simulator messaging backend. `.env.example` documents each variable.
"""

import datetime
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent.parent


class Env(environ.Env):
    """django-environ, except that every value is taken as written: it would read a value starting with "$" as the
    name of another variable, so a generated secret that starts so would be lost (and the development key used)."""

    def get_value(self, var, cast=None, default=environ.Env.NOTSET, parse_default=False):
        value = self.ENVIRON.get(f"{self.prefix}{var}")
        if isinstance(value, str) and value.startswith("$"):
            return self.parse_value(value, cast) if cast is not None else value
        return super().get_value(var, cast=cast, default=default, parse_default=parse_default)


env = Env()
# Variables already in the environment win over the file.
Env.read_env(env.path("DJANGO_ENV_FILE", default=BASE_DIR / ".env"), overwrite=False)

# Only good for development: local.py accepts it while DEBUG is on, nothing accepts it with DEBUG off.
DEVELOPMENT_SECRET_KEY = "django-insecure-happycrm-development-key-never-use-in-production"  # noqa: S105

SECRET_KEY = env("DJANGO_SECRET_KEY", default=DEVELOPMENT_SECRET_KEY)
DEBUG = env.bool("DJANGO_DEBUG", default=False)
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])

# Behind a proxy that terminates HTTPS, trust its X-Forwarded-Proto header (and only then).
if env.bool("DJANGO_TRUST_X_FORWARDED_PROTO", default=False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

INSTALLED_APPS = [
    "happycrm.admin_site.HappyCRMAdminConfig",  # django.contrib.admin, its site refusing NUL in addresses
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "knox",  # django-rest-knox: hashed API tokens (accounts.ApiToken)
    "happycrm.rest.apps.SpectacularConfig",  # drf-spectacular: the API's OpenAPI 3 schema
    "happycrm.rest.apps.SpectacularSidecarConfig",  # Swagger UI and ReDoc from our static files, no CDN
    "django_htmx",
    "axes",
    "csp",
    "leads.imports.apps.ImportExportConfig",  # django-import-export
    "leads",
    "templates_app",
    "messaging",
    "conversations",
    "messaging.inbox",
    "campaigns",
    "notifications",
    "accounts",
    "privacy",
    "retention",
    "dashboard",
    "encryption",
    "webhooks",
]

MIDDLEWARE = [
    "happycrm.request_id.RequestIdMiddleware",  # first: every log line of the request carries its id
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "accounts.middleware.UserLanguageMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "happycrm.csp.CSPMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "axes.middleware.AxesMiddleware",  # last: turns a login refused by the lockout into the lockout page
]

# What the endpoints other servers call (views marked @machine_endpoint) get instead: the security headers
# (and CommonMiddleware's Content-Length).
ENDPOINT_MIDDLEWARE = [
    "happycrm.request_id.RequestIdMiddleware",  # first: every log line of the request carries its id
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "happycrm.urls"
WSGI_APPLICATION = "happycrm.wsgi.application"
ASGI_APPLICATION = "happycrm.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "happycrm" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
POSTGRESQL_ENGINE = "happycrm.db.postgresql"  # Django's, with a connection pool that survives a database restart
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    DATABASES["default"]["ENGINE"] = POSTGRESQL_ENGINE
# The statements the code asks the server to prepare (the webhook's insert, happycrm.db.postgresql) are prepared
# once per connection; Django's own queries never are. Off behind a pooler in transaction mode that does not keep
# prepared statements (PgBouncer before 1.21).
DATABASE_PREPARED_STATEMENTS = env.bool("DATABASE_PREPARED_STATEMENTS", default=True)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTHENTICATION_BACKENDS = [
    "accounts.backends.LoginThrottleBackend",  # django-axes: refuses a locked-out login before the password is checked
    "accounts.backends.CachedPermissionsBackend",  # Django's model permissions, kept in the shared cache
]

# Login throttling (django-axes 8): after AXES_FAILURE_LIMIT failed logins for one username from one client
# address, that pair is locked for the cool-off (every attempt meanwhile starts it again); a success resets the
# count. Both login forms (/accounts/login/, /admin/login/) go through it.
AXES_FAILURE_LIMIT = env.int("DJANGO_LOGIN_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = datetime.timedelta(minutes=env.int("DJANGO_LOGIN_COOLOFF_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "accounts.views.locked_out"
AXES_HTTP_RESPONSE_CODE = 429
# The client address is REMOTE_ADDR; behind proxies that append to X-Forwarded-For, set how many stand in front
# (accounts.client_address). Left at 0 the header is ignored: a client cannot choose the address it is counted under.
TRUSTED_PROXY_COUNT = env.int("DJANGO_TRUSTED_PROXY_COUNT", default=0)
AXES_CLIENT_IP_CALLABLE = "accounts.client_address.client_ip_address"
# Axes' records are in the admin through accounts.admin (names and titles that read in Turkish, in local time).
AXES_ENABLE_ADMIN = False

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = env("LANGUAGE_CODE", default="tr")
LANGUAGES = [("tr", _("Turkish")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
FORMAT_MODULE_PATH = ["happycrm.formats"]
TIME_ZONE = env("TIME_ZONE", default="Europe/Istanbul")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
MEDIA_URL = "/media/"
MEDIA_ROOT = BASE_DIR / "media"

# Media on local disk unless an S3 bucket is configured.
AWS_STORAGE_BUCKET_NAME = env("AWS_STORAGE_BUCKET_NAME", default="")
if AWS_STORAGE_BUCKET_NAME:
    _default_storage = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": AWS_STORAGE_BUCKET_NAME,
            "endpoint_url": env("AWS_S3_ENDPOINT_URL", default=None),
            "access_key": env("AWS_ACCESS_KEY_ID", default=None),
            "secret_key": env("AWS_SECRET_ACCESS_KEY", default=None),
            "region_name": env("AWS_S3_REGION_NAME", default=None),
            "default_acl": None,
            "file_overwrite": False,
            "querystring_auth": True,
        },
    }
else:
    _default_storage = {"BACKEND": "django.core.files.storage.FileSystemStorage"}
# Lead files uploaded for import wait in the default storage; larger ones are refused.
LEAD_IMPORT_MAX_MB = env.int("LEAD_IMPORT_MAX_MB", default=50)
STORAGES = {
    "default": _default_storage,
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

# Redis is the Celery broker and the real-time fan-out; without it tasks run eagerly in-process.
REDIS_URL = env("REDIS_URL", default="")
CELERY_BROKER_URL = REDIS_URL or "memory://localhost/"
CELERY_RESULT_BACKEND = None
CELERY_TASK_ALWAYS_EAGER = not REDIS_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TIMEZONE = TIME_ZONE
# A broker that is down must not hold a webhook request: fail fast, the stored event is swept later.
CELERY_BROKER_CONNECTION_TIMEOUT = 2
# Campaign sends go on their own queue (CAMPAIGN_QUEUE) to a worker of their own (the Procfile's `bulk`), so
# neither they nor agent replies and webhooks wait behind the other.
# A broker that hangs (no answer on an open connection) fails a publish after socket_timeout too; it must stay
# above the workers' 1 s BRPOP wait.
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "socket_connect_timeout": 1,
    "socket_timeout": 2,
    "queue_order_strategy": "priority",
}
CAMPAIGN_QUEUE = "campaigns"
# Outbound webhooks (the webhooks app) go to a queue and a worker of their own (the Procfile's `hooks`): a slow
# receiver holds that worker only, never a send or an inbound webhook.
WEBHOOK_QUEUE = "webhooks"
CELERY_TASK_ROUTES = {"webhooks.*": {"queue": WEBHOOK_QUEUE}}
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 1, "interval_start": 0, "interval_step": 0.2, "interval_max": 0.2}
CELERY_BEAT_SCHEDULE = {
    "sweep-webhook-events": {"task": "messaging.sweep_webhook_events", "schedule": 60.0},
    "start-due-campaigns": {"task": "campaigns.start_due_campaigns", "schedule": 60.0},
    "resume-lost-campaigns": {"task": "campaigns.resume_lost_campaigns", "schedule": 60.0},
    # Campaigns whose every message is queued: finished once all outcomes are final (not checked per callback), or
    # CAMPAIGN_SETTLE_HOURS after their run without the delivery reports still missing.
    "finish-campaigns": {"task": "campaigns.finish_campaigns", "schedule": 30.0},
    "sync-templates": {"task": "templates_app.sync_templates", "schedule": 3600.0},
    "retention-prune": {"task": "retention.prune", "schedule": 3600.0},
    "retry-erased-files": {"task": "privacy.retry_pending_file_deletions", "schedule": 900.0},
    "requeue-lead-imports": {"task": "leads.requeue_imports", "schedule": 300.0},
    # New events become outbound webhook deliveries within two seconds; a delivery whose retry is due (or whose
    # queued task was lost) is sent again by the sweep.
    "dispatch-webhooks": {"task": "webhooks.dispatch", "schedule": 2.0},
    "retry-webhook-deliveries": {"task": "webhooks.retry_due", "schedule": 30.0},
    "wake-snoozed-conversations": {"task": "conversations.wake_snoozed", "schedule": 30.0},
}
# New conversations given to the agents marked available, in turn (round robin); off: they wait unassigned.
INBOX_AUTO_ASSIGN = env.bool("INBOX_AUTO_ASSIGN", default=False)
# A campaign waits this long after its run completed for its messages' delivery reports, which can be lost or never
# come (a phone off for weeks); then the finish sweep finishes it without the missing ones (counted unconfirmed).
CAMPAIGN_SETTLE_HOURS = env.int("CAMPAIGN_SETTLE_HOURS", default=72)
if CAMPAIGN_SETTLE_HOURS < 1:
    raise ImproperlyConfigured("CAMPAIGN_SETTLE_HOURS must be a number of hours, at least 1.")

if REDIS_URL:
    CACHES = {"default": {"BACKEND": "happycrm.cache.RedisCache", "LOCATION": REDIS_URL}}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# Twilio and the messaging backend.
PUBLIC_BASE_URL = env("PUBLIC_BASE_URL", default="").rstrip("/")
TWILIO_ACCOUNT_SID = env("TWILIO_ACCOUNT_SID", default="")
TWILIO_AUTH_TOKEN = env("TWILIO_AUTH_TOKEN", default="")
TWILIO_PHONE_NUMBER = env("TWILIO_PHONE_NUMBER", default="")
TWILIO_MESSAGING_SERVICE_SID = env("TWILIO_MESSAGING_SERVICE_SID", default="")
TWILIO_API_BASE_URL = env("TWILIO_API_BASE_URL", default="").rstrip("/")
TWILIO_CONTENT_BASE_URL = env("TWILIO_CONTENT_BASE_URL", default="").rstrip("/")
TWILIO_VALIDATE_SIGNATURE = env.bool("TWILIO_VALIDATE_SIGNATURE", default=True)
# Messages per second per sender, never exceeded (Twilio: WhatsApp 80 by default, a US long code 1).
TWILIO_WHATSAPP_MPS = env.float("TWILIO_WHATSAPP_MPS", default=80.0)
TWILIO_SMS_MPS = env.float("TWILIO_SMS_MPS", default=1.0)

TWILIO_BACKEND = "messaging.backends.twilio.TwilioBackend"
SIMULATOR_BACKEND = "messaging.backends.simulator.SimulatorBackend"
MESSAGING_BACKEND = env(
    "MESSAGING_BACKEND",
    default=TWILIO_BACKEND if TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN else SIMULATOR_BACKEND,
)
# Every backend whose webhook is served and whose stored events can be read, besides those configured: an event
# keeps the name of the provider that received it, so reprocessing it later needs that provider's parser.
MESSAGING_PROVIDERS = [TWILIO_BACKEND, SIMULATOR_BACKEND, "messaging.backends.locmem.LocmemBackend"]
# A channel through another provider than MESSAGING_BACKEND's, e.g.
# MESSAGING_CHANNEL_BACKENDS="sms=messaging.backends.simulator.SimulatorBackend"; empty: every channel uses it.
MESSAGING_CHANNEL_BACKENDS = env.dict("MESSAGING_CHANNEL_BACKENDS", default={})

# Our own opt-out and opt-in words, per channel, besides the provider's keywords (Twilio's STOP, START, …): a
# lead's message that is only one of them opts the lead out or in (case, accents and the dotted/dotless i ignored).
# Defaults: Turkish commercial messaging's. RET is İYS's word for refusing commercial messages (its status for a
# refusal, and what a recipient texts to İYS's SMS number); İPTAL ("cancel") is the other one Turkish senders take;
# BAŞLA ("start", Twilio's START in Turkish) opts in again. İYS's word for consent, ONAY, is left out: "Onay" is
# an everyday answer to a booking, and an opt-in must not be read into it.
OPT_OUT_WORDS = {
    "whatsapp": env.list("OPT_OUT_WORDS_WHATSAPP", default=["RET", "İPTAL", "IPTAL"]),
    "sms": env.list("OPT_OUT_WORDS_SMS", default=["RET", "İPTAL", "IPTAL"]),
}
OPT_IN_WORDS = {
    "whatsapp": env.list("OPT_IN_WORDS_WHATSAPP", default=["BAŞLA", "BASLA"]),
    "sms": env.list("OPT_IN_WORDS_SMS", default=["BAŞLA", "BASLA"]),
}

# Retention (the retention app, hourly and `manage.py prune`): days each kind is kept. The provider log's age was
# PROVIDER_LOG_RETENTION_DAYS before; that name is still read when the new one is unset.
RETENTION_WEBHOOK_EVENTS_DAYS = env.int("RETENTION_WEBHOOK_EVENTS_DAYS", default=30)  # processed ones only
RETENTION_NOTIFICATION_EVENTS_DAYS = env.int("RETENTION_NOTIFICATION_EVENTS_DAYS", default=7)
RETENTION_PROVIDER_LOGS_DAYS = env.int(
    "RETENTION_PROVIDER_LOGS_DAYS", default=env.int("PROVIDER_LOG_RETENTION_DAYS", default=14)
)
RETENTION_IDEMPOTENT_REQUESTS_DAYS = 1  # the API keeps an Idempotency-Key's answer for a day, as it promises
RETENTION_WEBHOOK_DELIVERIES_DAYS = env.int("RETENTION_WEBHOOK_DELIVERIES_DAYS", default=14)  # finished ones only
for _name in (
    "RETENTION_WEBHOOK_EVENTS_DAYS",
    "RETENTION_NOTIFICATION_EVENTS_DAYS",
    "RETENTION_PROVIDER_LOGS_DAYS",
    "RETENTION_WEBHOOK_DELIVERIES_DAYS",
):
    if globals()[_name] < 1:
        raise ImproperlyConfigured(f"{_name} must be a number of days, at least 1.")

DEFAULT_PHONE_REGION = env("DEFAULT_PHONE_REGION", default="TR").upper()

# Erasure receipts keep the phone only as an HMAC under this key (its own secret: rotating SECRET_KEY must not
# make earlier erasures unrecognisable). Production refuses the development value.
DEVELOPMENT_ERASURE_HMAC_KEY = "happycrm-development-erasure-key-never-use-in-production"
ERASURE_HMAC_KEY = env("ERASURE_HMAC_KEY", default=DEVELOPMENT_ERASURE_HMAC_KEY)

# Encryption at rest of message content (happycrm.crypto): Fernet keys, newest first (it encrypts; the others
# still decrypt, for rotation). Empty: off, everything is stored as before.
MESSAGE_ENCRYPTION_KEYS = env.list("MESSAGE_ENCRYPTION_KEYS", default=[])

# Outbound requests to addresses that came from input (media URLs, later webhooks) never reach our own
# networks (happycrm.outbound_http); these CIDRs are let through all the same, e.g. "10.0.5.0/24". Empty by default.
OUTBOUND_HTTP_ALLOWED_NETWORKS = env.list("OUTBOUND_HTTP_ALLOWED_NETWORKS", default=[])
# Outbound webhooks to https:// URLs only (their bodies carry leads' numbers and messages); production defaults
# to true.
WEBHOOK_HTTPS_ONLY = env.bool("WEBHOOK_HTTPS_ONLY", default=False)

# Content Security Policy (django-csp 4): our pages load scripts, styles and connections from our own origin
# only, and no site may frame them. The admin alone adds inline styles (happycrm.csp); attachments are served
# with their own `sandbox` policy, which the middleware leaves alone.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:", "blob:"],
        "connect-src": ["'self'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
        "base-uri": ["'self'"],
        "object-src": ["'none'"],
    },
}

REST_FRAMEWORK = {
    # The token first: a request without credentials is told how to authenticate (401 with WWW-Authenticate:
    # Bearer); a page's session still authenticates (with CSRF) when no token is sent.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "accounts.authentication.ApiTokenAuthentication",  # Authorization: Bearer <token>, for integrations
        "rest_framework.authentication.SessionAuthentication",  # the pages (with CSRF)
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    # JSON bodies only: a form's values are all strings ("0" a boolean, "" no value), so a typed field could not
    # be told from a missing one. The views that take a file add multipart themselves.
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_PAGINATION_CLASS": "happycrm.rest.pagination.PagePagination",
    "PAGE_SIZE": 50,
    "EXCEPTION_HANDLER": "happycrm.rest.errors.exception_handler",
    "DEFAULT_THROTTLE_CLASSES": [
        "happycrm.rest.throttling.TokenRateThrottle",
        "happycrm.rest.throttling.UserRateThrottle",
        "happycrm.rest.throttling.AnonymousRateThrottle",
    ],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
}
# Requests per period (second, minute, hour or day) through the API, counted in the shared cache; empty: none.
API_THROTTLE_TOKEN = env("API_THROTTLE_TOKEN", default="600/minute")  # per token
API_THROTTLE_USER = env("API_THROTTLE_USER", default="1200/minute")  # per user, whatever the token
API_THROTTLE_ANONYMOUS = env("API_THROTTLE_ANONYMOUS", default="60/minute")  # per address, before a login

SPECTACULAR_SETTINGS = {
    "TITLE": "Happy CRM API",
    "DESCRIPTION": (
        "Leads, their WhatsApp and SMS conversations, templates, campaigns and outbound webhooks. Authenticate "
        "with a personal API token (`Authorization: Bearer <token>`, made on your API tokens page); each action "
        "needs the same permission as in the admin. Errors have one format: "
        '`{"error": {"code", "message", "fields"}}`.'
    ),
    "VERSION": "1",
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
    "SERVE_AUTHENTICATION": [
        "accounts.authentication.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "MessageStatusEnum": "messaging.models.MessageStatus",
        "MessageMediaStatusEnum": "messaging.models.MessageMedia.Status",
    },
    "PREPROCESSING_HOOKS": ["happycrm.rest.schema.v1_only"],
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "happycrm.rest.schema.error_responses_hook",
        "happycrm.rest.schema.page_examples_hook",
    ],
}

# Personal API tokens (accounts.ApiToken, through django-rest-knox): a public prefix, 32 random bytes in hex, the
# SHA-256 of the whole stored (never the token); sent as "Authorization: Bearer <token>".
KNOX_TOKEN_MODEL = "accounts.ApiToken"  # noqa: S105 -- a model's name
# knox's own migrations build its default token table whether or not it is swapped out; without them nothing of
# knox's is created (a swapped model is never migrated).
MIGRATION_MODULES = {"knox": None}
REST_KNOX = {
    "SECURE_HASH_ALGORITHM": "hashlib.sha256",
    "AUTH_TOKEN_CHARACTER_LENGTH": 64,
    "AUTH_HEADER_PREFIX": "Bearer",
    "TOKEN_PREFIX": "hcrm_",
    "TOKEN_TTL": None,  # a token expires only when its creator gives it an expiry
}

# Email (password reset) through EMAIL_URL (django-environ: smtp+tls://user:password@host:587, consolemail://, ...).
# Unset: no email is sent and the login page says to ask an administrator instead of offering a reset. The local
# settings default to the console.
EMAIL_URL = env("EMAIL_URL", default="")


def email_settings(url: str) -> dict:
    if not url:
        return {"EMAIL_BACKEND": "django.core.mail.backends.dummy.EmailBackend"}
    return {key: value for key, value in Env.email_url_config(url).items() if value not in ("", None)}


vars().update(email_settings(EMAIL_URL))
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="Happy CRM <noreply@localhost>")
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=10)  # seconds: a mail server that hangs must not hold a request

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "inbox:index"
LOGOUT_REDIRECT_URL = "login"

# The request id (happycrm.request_id): taken from X-Request-ID only when a proxy in front sets it.
TRUST_REQUEST_ID_HEADER = env.bool("DJANGO_TRUST_REQUEST_ID_HEADER", default=False)
# "plain" lines, or "json": one JSON object per line (time, level, logger, message, request_id, exc_info).
LOG_FORMAT = env("DJANGO_LOG_FORMAT", default="plain")
if LOG_FORMAT not in ("plain", "json"):
    raise ImproperlyConfigured(f"DJANGO_LOG_FORMAT={LOG_FORMAT!r}: use plain or json.")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": "%(levelname)s %(name)s %(message)s %(request_id)s",
            "rename_fields": {"levelname": "level", "name": "logger"},
            "timestamp": "time",  # ISO 8601, UTC
            "json_ensure_ascii": False,
        },
    },
    # Tasks that log one summary line per batch instead of Celery's per-task "received" and "succeeded" lines, or
    # whose every run is a row to read (an outbound webhook's delivery, in the admin).
    "filters": {
        "quiet_tasks": {
            "()": "happycrm.logfilters.QuietTaskLines",
            "tasks": ["messaging.process_webhook_events", "webhooks.deliver", "webhooks.dispatch"],
        },
        "request_id": {"()": "happycrm.request_id.RequestIdFilter"},
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT, "filters": ["request_id"]}},
    "loggers": {
        "celery.app.trace": {"filters": ["quiet_tasks"]},
        "celery.worker.strategy": {"filters": ["quiet_tasks"]},
        # The twilio client writes every request and its headers and body (a message's text, a lead's number) at
        # INFO: several lines a send. The provider log keeps each exchange, redacted; only its problems go here.
        "twilio.http_client": {"level": "WARNING"},
    },
    "root": {"handlers": ["console"], "level": env("DJANGO_LOG_LEVEL", default="INFO")},
}

# Readiness (/readyz, manage.py healthcheck): how long a check may take, and when the webhook backlog is a problem.
HEALTHCHECK_TIMEOUT_SECONDS = env.float("HEALTHCHECK_TIMEOUT_SECONDS", default=2.0)
HEALTHCHECK_WEBHOOK_BACKLOG_MAX = env.int("HEALTHCHECK_WEBHOOK_BACKLOG_MAX", default=1000)
HEALTHCHECK_WEBHOOK_OLDEST_SECONDS = env.int("HEALTHCHECK_WEBHOOK_OLDEST_SECONDS", default=300)

# Sentry (happycrm.sentry: Django and Celery, nothing personal sent). The release defaults to the image's
# APP_RELEASE, which the Dockerfile sets from its RELEASE build argument.
SENTRY_DSN = env("SENTRY_DSN", default="")
SENTRY_ENVIRONMENT = env("SENTRY_ENVIRONMENT", default="production")
SENTRY_RELEASE = env("SENTRY_RELEASE", default=env("APP_RELEASE", default=""))
SENTRY_TRACES_SAMPLE_RATE = env.float("SENTRY_TRACES_SAMPLE_RATE", default=0.0)
if SENTRY_DSN:
    from happycrm.sentry import sentry_init

    sentry_init(
        dsn=SENTRY_DSN,
        environment=SENTRY_ENVIRONMENT,
        release=SENTRY_RELEASE,
        traces_sample_rate=SENTRY_TRACES_SAMPLE_RATE,
    )


def refuse_insecure_settings(*, debug: bool, secret_key: str) -> None:
    """Called at the end of each settings module, once DEBUG is final."""
    if not debug and secret_key == DEVELOPMENT_SECRET_KEY:
        raise ImproperlyConfigured(
            "DJANGO_SECRET_KEY is not set: with DJANGO_DEBUG off the development secret key is refused. "
            "Set DJANGO_SECRET_KEY to a long random value."
        )
