"""What a server or worker checks as it starts, before it takes requests or tasks (runserver, migrate and the
commands run every check on their own; gunicorn's `on_starting` too)."""

from django.core.checks import run_checks
from django.core.exceptions import ImproperlyConfigured
from django.db import connections

# Stored messages under a key the process does not have would fail on every read (encryption.checks).
STARTUP_TAGS = ("encryption",)


def startup_checks_run() -> None:
    """Refuse to start (ImproperlyConfigured naming each problem) when a start-up check fails."""
    try:
        errors = [error for error in run_checks(tags=STARTUP_TAGS) if error.is_serious()]
    finally:
        for connection in connections.all(initialized_only=True):
            if not connection.in_atomic_block:  # this thread's connection: the process's requests open their own
                connection.close()
    if errors:
        raise ImproperlyConfigured(" ".join(f"{error.id}: {error.msg}" for error in errors))
