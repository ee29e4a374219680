"""After PostgreSQL drops its connections (a restart, a failover), the production pool costs no request.

The pool is configured exactly as production configures it (read from the production settings in a fresh
interpreter); the server backends of this test's pooled connections are terminated for real."""

import json
import os
import subprocess
import sys
import time

import psycopg
import pytest
from django.core.management.utils import get_random_secret_key
from django.db import connection
from django.urls import reverse

from happycrm.settings.base import BASE_DIR
from leads.models import Lead

pytestmark = [
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="the connection pool is PostgreSQL's"),
]

PROBE = """
import json
from django.conf import settings
default = settings.DATABASES["default"]
print(json.dumps({"pool": default["OPTIONS"]["pool"], "CONN_HEALTH_CHECKS": default["CONN_HEALTH_CHECKS"]}))
"""


def production_pool_settings() -> dict:
    env = {key: value for key, value in os.environ.items() if not key.startswith("DJANGO_")}
    env.update(
        DJANGO_SETTINGS_MODULE="happycrm.settings.production",
        DJANGO_SECRET_KEY=get_random_secret_key(),
        ERASURE_HMAC_KEY=get_random_secret_key(),
        DJANGO_ENV_FILE=str(BASE_DIR / "absent.env"),
    )
    result = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()\n" + PROBE],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.fixture
def production_pool():
    """The default connection switched to the production pool for this test, and back afterwards."""
    wanted = production_pool_settings()
    assert wanted["pool"]["min_size"] >= 1
    saved = {key: connection.settings_dict[key] for key in ("OPTIONS", "CONN_HEALTH_CHECKS", "CONN_MAX_AGE")}
    connection.close()
    connection.settings_dict.update(
        OPTIONS={**saved["OPTIONS"], "pool": wanted["pool"]},
        CONN_HEALTH_CHECKS=wanted["CONN_HEALTH_CHECKS"],
        CONN_MAX_AGE=0,
    )
    connection.close_pool()  # a pool made earlier with other options
    yield connection.pool
    connection.close()
    connection.close_pool()
    connection.settings_dict.update(saved)


def admin_conninfo() -> str:
    settings = connection.settings_dict
    return psycopg.conninfo.make_conninfo(
        dbname=settings["NAME"],
        user=settings["USER"] or None,
        password=settings["PASSWORD"] or None,
        host=settings["HOST"] or None,
        port=settings["PORT"] or None,
    )


def kill_backends(pids: list[int]) -> None:
    """pg_terminate_backend from a connection of our own, for these backends only; wait until they are gone."""
    with psycopg.connect(admin_conninfo(), autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(pid) FROM unnest(%s::int[]) AS pid", [pids])
        for _ in range(100):
            alive = admin.execute("SELECT count(*) FROM pg_stat_activity WHERE pid = ANY(%s)", [pids]).fetchone()[0]
            if not alive:
                return
            time.sleep(0.05)
    raise AssertionError("the backends did not go away")


def request_status(client, url) -> int:
    status = client.get(url).status_code
    connection.close()  # what every request's end does (close_old_connections; the test client skips it)
    return status


def test_dead_pooled_connections_cost_no_request(production_pool, client, django_user_model):
    user = django_user_model.objects.create_user(username="agent", is_staff=True, is_superuser=True)
    client.force_login(user)
    client.raise_request_exception = False
    inbox = reverse("inbox:index")
    assert request_status(client, inbox) == 200

    # The pool grown to its size (a busy moment of 16 threads opens them all), then every connection killed:
    # checked one by one with psycopg's growing pauses (1 s, 2 s, 4 s...) they would outlast the pool's timeout.
    held = [production_pool.getconn() for _ in range(production_pool.max_size)]
    for conn in held:
        production_pool.putconn(conn)
    held = [production_pool.getconn() for _ in range(production_pool.get_stats()["pool_available"])]
    pids = [conn.info.backend_pid for conn in held]
    for conn in held:
        production_pool.putconn(conn)
    assert len(pids) >= 8
    kill_backends(pids)

    codes = [request_status(client, inbox) for _ in range(len(pids))]
    codes.append(request_status(client, reverse("login")))
    assert codes == [200] * (len(pids) + 1), codes
    assert Lead.objects.count() == 0  # and a plain query outside a request
    assert production_pool.get_stats()["connections_num"] > len(pids), "the dead ones were replaced"
