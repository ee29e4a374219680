"""Tests: the same configuration as any run (DATABASE_URL and REDIS_URL are honoured), made fast and isolated."""

from .base import *  # noqa: F403

SECRET_KEY = "happycrm-test-secret-key-only-for-the-test-suite"  # noqa: S105
DEBUG = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# Tasks run in-process; a test that needs a real worker starts one against REDIS_URL.
CELERY_TASK_ALWAYS_EAGER = True
MESSAGING_BACKEND = "messaging.backends.locmem.LocmemBackend"
TWILIO_WHATSAPP_MPS = TWILIO_SMS_MPS = 10_000.0  # the rate limiter's own tests set real rates
LANGUAGE_CODE = "en"
