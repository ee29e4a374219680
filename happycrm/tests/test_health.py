"""/readyz and manage.py healthcheck: one set of checks, each timed, down ones named, hanging ones cut short."""

import datetime
import socket
import threading
import time

import pytest
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.utils import timezone

from happycrm import health
from happycrm.endpoints import machine_endpoint_paths
from happycrm.tests.test_settings import PRODUCTION_SECRETS, run
from messaging.tests.factories import WebhookEventFactory

pytestmark = pytest.mark.django_db


def dead_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def silent_server():
    """Accepts connections and never answers (a hung Redis)."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    yield sock.getsockname()[1]
    sock.close()


@pytest.fixture
def check(monkeypatch):
    """Replace one of the checks."""

    def replace(name, function):
        monkeypatch.setitem(health.CHECKS, name, function)

    return replace


def readyz():
    response = Client().get("/readyz")
    assert response["Content-Type"] == "application/json" and response["Cache-Control"] == "no-store"
    return response


def test_ready_when_everything_answers_each_check_timed():
    response = readyz()
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok" and "down" not in body
    assert list(body["checks"]) == ["database", "redis", "broker", "storage"]
    assert all(result["ok"] and result["ms"] >= 0 for result in body["checks"].values())


def test_a_system_that_is_down_is_named_with_503_and_no_detail_that_would_leak(check):
    def refused():
        raise ConnectionRefusedError("connection to 10.0.5.7:6379 refused")

    check("storage", refused)
    response = readyz()
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "down" and body["down"] == ["storage"]
    assert body["checks"]["storage"] == {
        "ok": False,
        "ms": body["checks"]["storage"]["ms"],
        "error": "ConnectionRefusedError",
    }
    assert "10.0.5.7" not in response.content.decode()
    assert body["checks"]["database"]["ok"]


def test_redis_refusing_and_redis_hanging_are_down_within_the_timeout(settings, silent_server):
    settings.HEALTHCHECK_TIMEOUT_SECONDS = 0.5
    settings.REDIS_URL = f"redis://127.0.0.1:{dead_port()}/0"
    assert readyz().json()["down"] == ["redis"]
    settings.REDIS_URL = f"redis://127.0.0.1:{silent_server}/0"
    started = time.monotonic()
    response = readyz()
    assert time.monotonic() - started < 1.5
    assert response.status_code == 503 and response.json()["checks"]["redis"]["error"] in {"timeout", "TimeoutError"}


def test_a_hanging_check_is_cut_short_and_not_started_again_while_it_hangs(check, settings):
    settings.HEALTHCHECK_TIMEOUT_SECONDS = 0.2
    release, calls = threading.Event(), []

    def hangs():
        calls.append(1)
        release.wait(5)

    check("broker", hangs)
    started = time.monotonic()
    first = readyz()
    assert time.monotonic() - started < 1
    assert first.status_code == 503 and first.json()["checks"]["broker"]["error"] == "timeout"
    assert readyz().json()["checks"]["broker"]["error"] == "hanging"
    assert len(calls) == 1
    release.set()
    deadline = time.monotonic() + 2
    while "broker" in health._in_flight and time.monotonic() < deadline:
        time.sleep(0.01)
    assert readyz().status_code == 200 and len(calls) == 2


def test_storage_that_cannot_be_written_is_down(settings, tmp_path):
    not_a_folder = tmp_path / "media"
    not_a_folder.write_text("")
    settings.MEDIA_ROOT = not_a_folder
    assert readyz().json()["down"] == ["storage"]
    settings.MEDIA_ROOT = tmp_path / "not" / "made" / "yet"  # made on the first upload
    assert readyz().status_code == 200


def test_readyz_is_a_machine_endpoint_and_needs_no_login():
    assert "/readyz" in machine_endpoint_paths()
    assert Client().get("/readyz").status_code == 200


@pytest.mark.slow
def test_production_answers_plain_http_probes_without_redirecting(tmp_path):
    code = """
from django.test import Client
client = Client(HTTP_HOST="localhost")
print(client.get("/readyz").status_code, client.get("/healthz").status_code, client.get("/admin/").status_code)
"""
    result = run(tmp_path, module="happycrm.settings.production", code=code, **PRODUCTION_SECRETS)
    assert result.returncode == 0, result.stderr
    readyz_status, healthz_status, admin_status = result.stdout.split()[-3:]
    assert (readyz_status, healthz_status, admin_status) == ("200", "200", "301")


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="points the connection at a server that is down")
def test_the_database_down_is_named():
    saved = connection.settings_dict["HOST"], connection.settings_dict["PORT"]
    connection.close()
    connection.settings_dict.update(HOST="127.0.0.1", PORT=str(dead_port()))
    try:
        response = readyz()
    finally:
        connection.close()
        connection.settings_dict.update(HOST=saved[0], PORT=saved[1])
    assert response.status_code == 503 and response.json()["down"] == ["database"]


def test_healthcheck_command_is_quiet_about_problems_when_all_is_well(capsys):
    WebhookEventFactory()
    call_command("healthcheck")
    out = capsys.readouterr()
    assert "database: ok" in out.out and "webhook backlog: 1 events waiting" in out.out
    assert out.err == ""


def test_healthcheck_command_exits_non_zero_with_one_line_per_problem(capsys, settings, check):
    settings.HEALTHCHECK_WEBHOOK_BACKLOG_MAX = 1
    settings.HEALTHCHECK_WEBHOOK_OLDEST_SECONDS = 60
    WebhookEventFactory(received_at=timezone.now() - datetime.timedelta(minutes=5))
    WebhookEventFactory()
    WebhookEventFactory(processed_at=timezone.now())  # processed: not waiting

    def refused():
        raise ConnectionRefusedError("connection refused")

    check("storage", refused)
    with pytest.raises(SystemExit) as exit_:
        call_command("healthcheck")
    assert exit_.value.code == 1
    problems = capsys.readouterr().err.strip().splitlines()
    assert problems[0] == "storage: down (ConnectionRefusedError: connection refused)"
    assert problems[1] == "webhook backlog: 2 events waiting (more than 1)"
    assert problems[2].startswith("webhook backlog: the oldest unprocessed event has waited 30")
    assert problems[2].endswith("s (more than 60 s)") and len(problems) == 3
