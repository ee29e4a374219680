"""Settings are read in a fresh interpreter per case, with a controlled environment, as a deployment would."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management.utils import get_random_secret_key

from happycrm.settings.base import BASE_DIR

pytestmark = pytest.mark.slow

SETTINGS_FILES = sorted((BASE_DIR / "happycrm" / "settings").glob("*.py"))
ENV_READ = re.compile(r"""env(?:\.\w+)?\(\s*["']([A-Z0-9_]+)["']""")
PROBE = """
import json
from django.conf import settings
print(json.dumps({
    "DEBUG": settings.DEBUG,
    "DB_ENGINE": settings.DATABASES["default"]["ENGINE"],
    "DB_NAME": str(settings.DATABASES["default"]["NAME"]),
    "DB_PREPARE": settings.DATABASE_PREPARED_STATEMENTS,
    "DB_PREPARE_THRESHOLD": settings.DATABASES["default"].get("OPTIONS", {}).get("prepare_threshold"),
    "EAGER": settings.CELERY_TASK_ALWAYS_EAGER,
    "BROKER": settings.CELERY_BROKER_URL,
    "CACHE": settings.CACHES["default"]["BACKEND"],
    "STORAGE": settings.STORAGES["default"]["BACKEND"],
    "STORAGE_OPTIONS": settings.STORAGES["default"].get("OPTIONS", {}),
    "MEDIA_ROOT": str(settings.MEDIA_ROOT),
    "MESSAGING_BACKEND": settings.MESSAGING_BACKEND,
    "LANGUAGE_CODE": settings.LANGUAGE_CODE,
    "TIME_ZONE": settings.TIME_ZONE,
    "DEFAULT_PHONE_REGION": settings.DEFAULT_PHONE_REGION,
    "TWILIO_VALIDATE_SIGNATURE": settings.TWILIO_VALIDATE_SIGNATURE,
    "PUBLIC_BASE_URL": settings.PUBLIC_BASE_URL,
    "ALLOWED_HOSTS": settings.ALLOWED_HOSTS,
}))
"""


def variables_read_by_settings() -> set[str]:
    return {name for path in SETTINGS_FILES for name in ENV_READ.findall(path.read_text())}


def documented_variables() -> set[str]:
    text = (BASE_DIR / ".env.example").read_text()
    return set(re.findall(r"^#?\s*([A-Z][A-Z0-9_]+)=", text, flags=re.MULTILINE))


def clean_env(tmp_path: Path, **overrides: str) -> dict[str, str]:
    """The machine's environment without any of the project's variables, and no .env file."""
    ours = variables_read_by_settings() | {"DJANGO_SETTINGS_MODULE"}
    env = {key: value for key, value in os.environ.items() if key not in ours}
    env["DJANGO_ENV_FILE"] = str(tmp_path / "absent.env")
    env.update(overrides)
    return env


# The secrets production settings refuse to start without.
PRODUCTION_SECRETS = {"DJANGO_SECRET_KEY": "x" * 60, "ERASURE_HMAC_KEY": "e" * 40}


def run(tmp_path, module="happycrm.settings.local", code=PROBE, args=None, **overrides):
    env = clean_env(tmp_path, DJANGO_SETTINGS_MODULE=module, **overrides)
    command = [sys.executable, *(args or ["-c", "import django; django.setup()\n" + code])]
    return subprocess.run(command, env=env, cwd=BASE_DIR, capture_output=True, text=True, timeout=120)


def probe(tmp_path, **kwargs) -> dict:
    result = run(tmp_path, **kwargs)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_zero_config_defaults(tmp_path):
    values = probe(tmp_path)
    assert values["DEBUG"] is True
    assert values["DB_ENGINE"] == "django.db.backends.sqlite3"
    assert values["DB_NAME"] == str(BASE_DIR / "db.sqlite3")
    assert values["EAGER"] is True
    assert values["CACHE"].endswith("LocMemCache")
    assert values["STORAGE"] == "django.core.files.storage.FileSystemStorage"
    assert values["MEDIA_ROOT"] == str(BASE_DIR / "media")
    assert values["MESSAGING_BACKEND"] == "messaging.backends.simulator.SimulatorBackend"
    assert values["LANGUAGE_CODE"] == "tr"
    assert values["TIME_ZONE"] == "Europe/Istanbul"
    assert values["DEFAULT_PHONE_REGION"] == "TR"
    assert values["TWILIO_VALIDATE_SIGNATURE"] is True


def test_real_deployment_variables_are_wired(tmp_path):
    values = probe(
        tmp_path,
        DATABASE_URL="postgres://crm:secret@db.internal:5432/happycrm",
        REDIS_URL="redis://cache.internal:6379/0",
        AWS_STORAGE_BUCKET_NAME="crm-media",
        AWS_S3_ENDPOINT_URL="http://s3.internal:9000",
        AWS_ACCESS_KEY_ID="key",
        AWS_SECRET_ACCESS_KEY="secret",
        TWILIO_ACCOUNT_SID="AC" + "0" * 32,
        TWILIO_AUTH_TOKEN="token",
        PUBLIC_BASE_URL="https://crm.example.com/",
        LANGUAGE_CODE="en",
        TIME_ZONE="UTC",
        DEFAULT_PHONE_REGION="us",
        DJANGO_ALLOWED_HOSTS="crm.example.com,www.example.com",
        TWILIO_VALIDATE_SIGNATURE="false",
    )
    assert values["DB_ENGINE"] == "happycrm.db.postgresql"
    assert values["DB_NAME"] == "happycrm"
    assert values["DB_PREPARE"] is True and values["DB_PREPARE_THRESHOLD"] is None  # Django's queries never are
    assert values["EAGER"] is False
    assert values["BROKER"] == "redis://cache.internal:6379/0"
    assert values["CACHE"].endswith("RedisCache")
    assert values["STORAGE"] == "storages.backends.s3.S3Storage"
    assert values["STORAGE_OPTIONS"]["bucket_name"] == "crm-media"
    assert values["STORAGE_OPTIONS"]["endpoint_url"] == "http://s3.internal:9000"
    assert values["MESSAGING_BACKEND"] == "messaging.backends.twilio.TwilioBackend"
    assert values["PUBLIC_BASE_URL"] == "https://crm.example.com"
    assert (values["LANGUAGE_CODE"], values["TIME_ZONE"], values["DEFAULT_PHONE_REGION"]) == ("en", "UTC", "US")
    assert values["ALLOWED_HOSTS"] == ["crm.example.com", "www.example.com"]
    assert values["TWILIO_VALIDATE_SIGNATURE"] is False


def test_prepared_statements_can_be_switched_off_for_a_pooler(tmp_path):
    url = "postgres://crm:secret@db.internal:5432/happycrm"
    values = probe(tmp_path, DATABASE_URL=url, DATABASE_PREPARED_STATEMENTS="false")
    assert values["DB_ENGINE"] == "happycrm.db.postgresql" and values["DB_PREPARE"] is False


def test_messaging_backend_can_be_chosen_explicitly(tmp_path):
    values = probe(tmp_path, MESSAGING_BACKEND="messaging.backends.locmem.LocmemBackend")
    assert values["MESSAGING_BACKEND"] == "messaging.backends.locmem.LocmemBackend"


OPT_WORDS_PROBE = """
import json
from django.conf import settings
print(json.dumps({"out": settings.OPT_OUT_WORDS, "in": settings.OPT_IN_WORDS}))
"""


def test_opt_out_and_opt_in_words_default_to_turkish_and_are_set_per_channel(tmp_path):
    words = probe(tmp_path, code=OPT_WORDS_PROBE)
    assert words == {
        "out": {"whatsapp": ["RET", "İPTAL", "IPTAL"], "sms": ["RET", "İPTAL", "IPTAL"]},
        "in": {"whatsapp": ["BAŞLA", "BASLA"], "sms": ["BAŞLA", "BASLA"]},
    }
    words = probe(tmp_path, code=OPT_WORDS_PROBE, OPT_OUT_WORDS_SMS="DUR,İPTAL", OPT_IN_WORDS_WHATSAPP="")
    assert words["out"] == {"whatsapp": ["RET", "İPTAL", "IPTAL"], "sms": ["DUR", "İPTAL"]}
    assert words["in"] == {"whatsapp": [], "sms": ["BAŞLA", "BASLA"]}


def test_dot_env_file_is_read_and_the_environment_wins(tmp_path):
    env_file = tmp_path / "crm.env"
    env_file.write_text("TIME_ZONE=UTC\nDEFAULT_PHONE_REGION=DE\n")
    values = probe(tmp_path, DJANGO_ENV_FILE=str(env_file), DEFAULT_PHONE_REGION="GB")
    assert values["TIME_ZONE"] == "UTC"
    assert values["DEFAULT_PHONE_REGION"] == "GB"


@pytest.mark.parametrize("module", ["happycrm.settings.local", "happycrm.settings.production"])
def test_debug_off_refuses_the_development_secret_key(tmp_path, module):
    result = run(tmp_path, module=module, DJANGO_DEBUG="false")
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY" in result.stderr.strip().splitlines()[-1]


def test_production_refuses_debug_and_disabled_signatures(tmp_path):
    key = {"DJANGO_SECRET_KEY": "x" * 60, "ERASURE_HMAC_KEY": "e" * 40}
    debug = run(tmp_path, module="happycrm.settings.production", DJANGO_DEBUG="true", **key)
    assert debug.returncode != 0
    assert "DJANGO_DEBUG" in debug.stderr.strip().splitlines()[-1]
    unsigned = run(tmp_path, module="happycrm.settings.production", TWILIO_VALIDATE_SIGNATURE="false", **key)
    assert unsigned.returncode != 0
    assert "TWILIO_VALIDATE_SIGNATURE" in unsigned.stderr.strip().splitlines()[-1]


@pytest.mark.parametrize("value", [None, "", "short", "happycrm-development-erasure-key-never-use-in-production"])
def test_production_refuses_an_insecure_erasure_key(tmp_path, value):
    key = {"DJANGO_SECRET_KEY": "x" * 60} | ({} if value is None else {"ERASURE_HMAC_KEY": value})
    result = run(tmp_path, module="happycrm.settings.production", **key)
    assert result.returncode != 0
    assert "ERASURE_HMAC_KEY" in result.stderr.strip().splitlines()[-1]


def test_campaign_settle_hours_default_to_72_and_refuse_less_than_an_hour(tmp_path):
    code = "from django.conf import settings; print(settings.CAMPAIGN_SETTLE_HOURS)"
    assert run(tmp_path, code=code).stdout.split()[-1] == "72"
    assert run(tmp_path, code=code, CAMPAIGN_SETTLE_HOURS="240").stdout.split()[-1] == "240"
    refused = run(tmp_path, code=code, CAMPAIGN_SETTLE_HOURS="0")
    assert refused.returncode != 0
    assert "CAMPAIGN_SETTLE_HOURS" in refused.stderr.strip().splitlines()[-1]


def test_a_value_starting_with_a_dollar_is_taken_as_written(tmp_path):
    """A generated secret may start with "$": it is the key, not the name of another variable."""
    secret = "$" + get_random_secret_key()
    code = "from django.conf import settings; print(settings.SECRET_KEY == " + repr(secret) + ")"
    result = run(
        tmp_path, module="happycrm.settings.production", code=code, DJANGO_SECRET_KEY=secret, ERASURE_HMAC_KEY="e" * 40
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "True"


def test_check_deploy_is_clean_under_production_settings(tmp_path):
    # As deployed: collectstatic has run (a manifest in STATIC_ROOT), whatever this checkout has collected.
    static_root = tmp_path / "static"
    static_root.mkdir()
    (static_root / "staticfiles.json").write_text('{"paths": {}, "version": "1.1"}')
    (tmp_path / "collected.py").write_text(
        f"from happycrm.settings.production import *  # noqa: F403\nSTATIC_ROOT = {str(static_root)!r}\n"
    )
    result = run(
        tmp_path,
        module="collected",
        args=["manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        DJANGO_SECRET_KEY=get_random_secret_key(),
        ERASURE_HMAC_KEY=get_random_secret_key(),
        DJANGO_ALLOWED_HOSTS="crm.example.com",
        PYTHONPATH=f"{tmp_path}:{BASE_DIR}",
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_env_example_documents_every_variable_and_nothing_else():
    read = variables_read_by_settings() | {"DJANGO_SETTINGS_MODULE"}
    assert documented_variables() == read


def test_issue_contract_variable_names_are_read():
    contract = {
        "DJANGO_SECRET_KEY", "DJANGO_DEBUG", "DJANGO_ALLOWED_HOSTS", "DATABASE_URL", "REDIS_URL", "PUBLIC_BASE_URL",
        "TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "TWILIO_PHONE_NUMBER", "TWILIO_MESSAGING_SERVICE_SID",
        "TWILIO_API_BASE_URL", "TWILIO_CONTENT_BASE_URL", "TWILIO_VALIDATE_SIGNATURE", "MESSAGING_BACKEND",
        "DEFAULT_PHONE_REGION", "TIME_ZONE", "LANGUAGE_CODE", "AWS_STORAGE_BUCKET_NAME", "AWS_S3_ENDPOINT_URL",
        "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "SENTRY_DSN",
    }  # fmt: skip
    assert contract <= variables_read_by_settings()
