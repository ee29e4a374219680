"""Production's HSTS: a year by default; subdomains and preloading only when their variables say so."""

import json

import pytest

from happycrm.tests.test_settings import run

pytestmark = pytest.mark.slow

HSTS = """
import json
from django.conf import settings
print(json.dumps([settings.SECURE_HSTS_SECONDS, settings.SECURE_HSTS_INCLUDE_SUBDOMAINS, settings.SECURE_HSTS_PRELOAD]))
"""
KEY = {"DJANGO_SECRET_KEY": "x" * 60, "ERASURE_HMAC_KEY": "e" * 40}


def hsts(tmp_path, **env):
    result = run(tmp_path, module="happycrm.settings.production", code=HSTS, **KEY, **env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_a_year_without_subdomains_or_preload_by_default(tmp_path):
    assert hsts(tmp_path) == [31536000, False, False]


def test_subdomains_and_preload_are_turned_on_by_their_variables(tmp_path):
    assert hsts(
        tmp_path,
        DJANGO_SECURE_HSTS_SECONDS="63072000",
        DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS="true",
        DJANGO_SECURE_HSTS_PRELOAD="true",
    ) == [63072000, True, True]


def test_the_header_a_browser_gets(tmp_path):
    code = """
from django.test import Client
response = Client().get("/healthz", secure=True, HTTP_HOST="crm.example.com")
print(response.headers.get("Strict-Transport-Security"))
"""
    result = run(
        tmp_path, module="happycrm.settings.production", code=code, DJANGO_ALLOWED_HOSTS="crm.example.com", **KEY
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "max-age=31536000"
    on = run(
        tmp_path,
        module="happycrm.settings.production",
        code=code,
        DJANGO_ALLOWED_HOSTS="crm.example.com",
        DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS="true",
        DJANGO_SECURE_HSTS_PRELOAD="true",
        **KEY,
    )
    assert on.stdout.strip().splitlines()[-1] == "max-age=31536000; includeSubDomains; preload"
