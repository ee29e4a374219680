"""Production with static files collected under other settings (no manifest) must refuse to run, saying what to do."""

import runpy
import subprocess
import sys

import pytest
import yaml
from django.core.checks import run_checks
from django.core.management import call_command

from happycrm.settings.base import BASE_DIR
from happycrm.tests.test_settings import clean_env

PRODUCTION_LINE = "run DJANGO_SETTINGS_MODULE=happycrm.settings.production python manage.py collectstatic --no-input"
PRODUCTION_STATIC = "whitenoise.storage.CompressedManifestStaticFilesStorage"


def static_errors():
    return [message for message in run_checks() if message.id == "happycrm.E001"]


@pytest.fixture
def static_root(settings, tmp_path):
    settings.STATIC_ROOT = tmp_path / "static"
    return settings.STATIC_ROOT


def use_static_storage(settings, backend):
    settings.STORAGES = {**settings.STORAGES, "staticfiles": {"BACKEND": backend}}


def test_static_collected_under_local_settings_fails_the_check_under_production(settings, static_root, monkeypatch):
    use_static_storage(settings, "django.contrib.staticfiles.storage.StaticFilesStorage")
    call_command("collectstatic", interactive=False, verbosity=0)
    assert (static_root / "admin" / "css" / "base.css").exists()
    assert static_errors() == []  # a plain storage needs no manifest

    monkeypatch.setenv("DJANGO_SETTINGS_MODULE", "happycrm.settings.production")
    use_static_storage(settings, PRODUCTION_STATIC)
    [error] = static_errors()
    assert error.is_serious()
    assert error.msg.endswith(PRODUCTION_LINE)
    assert "\n" not in error.msg


def test_static_collected_under_production_settings_passes_the_check(settings, static_root):
    use_static_storage(settings, PRODUCTION_STATIC)
    assert static_errors()
    call_command("collectstatic", interactive=False, verbosity=0)
    assert (static_root / "staticfiles.json").exists()
    assert static_errors() == []


def test_collectstatic_itself_is_not_held_up_by_the_missing_manifest(settings, static_root):
    use_static_storage(settings, PRODUCTION_STATIC)
    call_command("collectstatic", interactive=False, verbosity=0)  # runs the staticfiles checks: ours is not one
    assert static_errors() == []


@pytest.mark.slow
def test_gunicorn_refuses_to_start_without_the_manifest(tmp_path):
    """The shipped start command, `gunicorn happycrm.wsgi:application` reading ./gunicorn.conf.py, under production
    settings whose STATIC_ROOT holds no manifest."""
    (tmp_path / "static").mkdir()
    (tmp_path / "production_here.py").write_text(
        f"from happycrm.settings.production import *  # noqa: F403\nSTATIC_ROOT = {str(tmp_path / 'static')!r}\n"
    )
    env = clean_env(
        tmp_path,
        DJANGO_SETTINGS_MODULE="production_here",
        DJANGO_SECRET_KEY="a-long-random-production-secret-key-for-this-test-only",
        ERASURE_HMAC_KEY="a-long-random-erasure-key-for-this-test-only",
        PYTHONPATH=f"{tmp_path}:{BASE_DIR}",
    )
    gunicorn = [sys.executable, "-m", "gunicorn", "happycrm.wsgi:application"]
    result = subprocess.run(gunicorn, env=env, cwd=BASE_DIR, capture_output=True, text=True, timeout=60)
    assert result.returncode != 0
    line = "run DJANGO_SETTINGS_MODULE=production_here python manage.py collectstatic --no-input"
    assert any(text.startswith("happycrm.E001: ") and text.endswith(line) for text in result.stderr.splitlines()), (
        result.stderr
    )
    assert "Booting worker" not in result.stderr


def test_every_start_command_uses_the_one_gunicorn_configuration(monkeypatch):
    monkeypatch.delenv("PORT", raising=False)
    monkeypatch.delenv("WEB_CONCURRENCY", raising=False)
    config = runpy.run_path(str(BASE_DIR / "gunicorn.conf.py"))
    # Threads for requests only: the live stream is the stream process's (uvicorn).
    assert (config["bind"], config["workers"], config["threads"]) == ("0.0.0.0:8000", 2, 4)
    monkeypatch.setenv("PORT", "5000")  # a platform running the Procfile picks the port
    assert runpy.run_path(str(BASE_DIR / "gunicorn.conf.py"))["bind"] == "0.0.0.0:5000"
    assert callable(config["on_starting"])
    compose = yaml.safe_load((BASE_DIR / "docker-compose.yml").read_text())
    commands = [
        (BASE_DIR / "Dockerfile").read_text().rsplit("CMD", 1)[1],
        compose["services"]["web"]["command"],
        (BASE_DIR / "README.md").read_text(),
        (BASE_DIR / "Procfile").read_text(),
    ]
    for command in commands:
        assert "gunicorn happycrm.wsgi:application" in command or '"gunicorn", "happycrm.wsgi:application"' in command
        assert "--bind" not in command and "--workers" not in command


@pytest.mark.slow
@pytest.mark.django_db
def test_the_start_checks_leave_no_pool_for_the_forked_workers(tmp_path):
    """gunicorn runs the checks in its master, then forks the workers: a pool the checks opened (reading the
    encryption keys in use) would be inherited without its threads, and the workers' requests would wait on it
    (the webhook benchmark answered 503s)."""
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("the connection pool is PostgreSQL's")
    db = connection.settings_dict
    (tmp_path / "production_here.py").write_text(
        "from happycrm.settings.production import *  # noqa: F403\n"
        "STORAGES['staticfiles'] = {'BACKEND': 'django.contrib.staticfiles.storage.StaticFilesStorage'}\n"
    )
    code = (
        "import runpy\n"
        "runpy.run_path('gunicorn.conf.py')['on_starting'](None)\n"
        "from django.db import connections\n"
        "print(sorted(type(connections['default'])._connection_pools))\n"
    )
    env = clean_env(
        tmp_path,
        DJANGO_SETTINGS_MODULE="production_here",
        DJANGO_SECRET_KEY="a-long-random-production-secret-key-for-this-test-only",
        ERASURE_HMAC_KEY="a-long-random-erasure-key-for-this-test-only",
        DATABASE_URL=f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        PYTHONPATH=f"{tmp_path}:{BASE_DIR}",
    )
    result = subprocess.run([sys.executable, "-c", code], env=env, cwd=BASE_DIR, capture_output=True, text=True,
                            timeout=60)  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "[]"  # no pool left open for the workers to inherit
