"""Readiness: can this process reach what it needs (the database, Redis, the broker, the media storage)?

One implementation for `GET /readyz` and `manage.py healthcheck`. The checks run side by side, each in a thread of
its own, and the answer waits for them at most HEALTHCHECK_TIMEOUT_SECONDS: a server that hangs (no answer on an
open connection) is reported as down in time instead of holding the probe. A check still hanging from an earlier
call is not started again (probes every few seconds must not pile up threads on a dead server): it is reported
down until it returns.
"""

import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.core.files.storage import default_storage
from django.db import connection

logger = logging.getLogger(__name__)

STORAGE_PROBE = "readyz-probe"  # a name looked up, never written: a HEAD request on S3, a stat on disk


@dataclass
class CheckResult:
    name: str
    ok: bool
    seconds: float
    error: str = ""  # why it is down, for operators (the command, the log)
    reason: str = ""  # the same without addresses or messages, for the unauthenticated endpoint
    skipped: bool = False  # not configured here (no Redis in the zero-config run)

    def as_dict(self) -> dict:
        answer = {"ok": self.ok, "ms": round(self.seconds * 1000, 1)}
        if self.skipped:
            answer["skipped"] = "not configured"
        if not self.ok:
            answer["error"] = self.reason
        return answer


class Skipped(Exception):
    """The system is not configured in this deployment: nothing to reach."""


def check_database() -> None:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    finally:
        connection.close()  # this thread's connection (returned to the pool under PostgreSQL)


def check_redis() -> None:
    if not settings.REDIS_URL:
        raise Skipped
    import redis

    timeout = settings.HEALTHCHECK_TIMEOUT_SECONDS
    client = redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=timeout, socket_timeout=timeout)
    try:
        client.ping()
    finally:
        client.close()


def check_broker() -> None:
    from happycrm.celery import app

    if app.conf.task_always_eager:
        raise Skipped  # tasks run in-process: there is no broker to reach
    with app.connection_for_write() as broker:
        broker.ensure_connection(max_retries=0, timeout=settings.HEALTHCHECK_TIMEOUT_SECONDS)
        broker.default_channel  # noqa: B018 -- opening the channel is the round trip (a PING on Redis)


def check_storage() -> None:
    default_storage.exists(STORAGE_PROBE)
    location = getattr(default_storage, "location", None)
    if location is not None:  # local disk: media must be writable where it goes (the folder is made on first save)
        folder = os.path.abspath(location)
        while not os.path.exists(folder):
            folder = os.path.dirname(folder)
        if not (os.path.isdir(folder) and os.access(folder, os.W_OK | os.X_OK)):
            raise PermissionError(f"{folder} is not a writable folder")


CHECKS: dict[str, Callable[[], None]] = {
    "database": check_database,
    "redis": check_redis,
    "broker": check_broker,
    "storage": check_storage,
}

_in_flight: dict[str, threading.Thread] = {}
_in_flight_lock = threading.Lock()


class _Run:
    def __init__(self, name: str, check: Callable[[], None]):
        self.name, self.check = name, check
        self.started = time.monotonic()
        self.result: CheckResult | None = None
        self.thread = threading.Thread(target=self._run, name=f"health-{name}", daemon=True)

    def _run(self) -> None:
        try:
            self.check()
        except Skipped:
            self.result = CheckResult(self.name, True, time.monotonic() - self.started, skipped=True)
        except Exception as exc:
            error = f"{type(exc).__name__}: {exc}".strip().rstrip(":")
            self.result = CheckResult(self.name, False, time.monotonic() - self.started, error, type(exc).__name__)
        else:
            self.result = CheckResult(self.name, True, time.monotonic() - self.started)
        finally:
            with _in_flight_lock:
                if _in_flight.get(self.name) is self.thread:
                    del _in_flight[self.name]


def readiness(checks: dict[str, Callable[[], None]] | None = None, timeout: float | None = None) -> list[CheckResult]:
    """Run every check at once; each result says whether it is up and how long it took (or how long it was given)."""
    checks = CHECKS if checks is None else checks
    timeout = settings.HEALTHCHECK_TIMEOUT_SECONDS if timeout is None else timeout
    runs, hanging = [], []
    with _in_flight_lock:
        for name, check in checks.items():
            if name in _in_flight:
                hanging.append(name)
                continue
            run = _Run(name, check)
            _in_flight[name] = run.thread
            runs.append(run)
    for run in runs:
        run.thread.start()
    deadline = time.monotonic() + timeout
    for run in runs:
        run.thread.join(max(0.0, deadline - time.monotonic()))
    results = {name: CheckResult(name, False, 0.0, "still hanging since an earlier check", "hanging")
               for name in hanging}  # fmt: skip
    for run in runs:
        results[run.name] = run.result or CheckResult(
            run.name, False, time.monotonic() - run.started, f"no answer within {timeout:g} s", "timeout"
        )
    ordered = [results[name] for name in checks]
    for result in ordered:
        if not result.ok:
            logger.warning("Readiness: %s is down (%s, %.0f ms)", result.name, result.error, result.seconds * 1000)
    return ordered
