import sys

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import DatabaseError
from django.utils import timezone

from happycrm.health import readiness
from messaging.selectors import webhook_backlog


class Command(BaseCommand):
    help = (
        "Check what /readyz checks (database, Redis, broker, storage) and the webhook backlog against "
        "HEALTHCHECK_WEBHOOK_BACKLOG_MAX and HEALTHCHECK_WEBHOOK_OLDEST_SECONDS. Exit 0 when all is well, else 1 "
        "with one line per problem."
    )

    def handle(self, *args, **options):
        results = readiness()
        problems = [f"{result.name}: down ({result.error})" for result in results if not result.ok]
        for result in results:
            state = "not configured" if result.skipped else "ok" if result.ok else "DOWN"
            self.stdout.write(f"{result.name}: {state} ({result.seconds * 1000:.0f} ms)")
        if any(result.name == "database" and not result.ok for result in results):
            problems.append("webhook backlog: not read (the database is down)")
        else:
            problems += self._backlog()
        if problems:
            for problem in problems:
                self.stderr.write(problem)
            sys.exit(1)

    def _backlog(self) -> list[str]:
        try:
            backlog = webhook_backlog()
        except DatabaseError as exc:  # e.g. not migrated yet
            return [f"webhook backlog: not read ({type(exc).__name__}: {exc})"]
        waiting, oldest = backlog["waiting"], backlog["oldest"]
        age = (timezone.now() - oldest).total_seconds() if oldest else 0.0
        self.stdout.write(
            f"webhook backlog: {waiting} events waiting" + (f", the oldest for {age:.0f} s" if oldest else "")
        )
        problems = []
        if waiting > settings.HEALTHCHECK_WEBHOOK_BACKLOG_MAX:
            problems.append(
                f"webhook backlog: {waiting} events waiting (more than {settings.HEALTHCHECK_WEBHOOK_BACKLOG_MAX})"
            )
        if age > settings.HEALTHCHECK_WEBHOOK_OLDEST_SECONDS:
            problems.append(
                f"webhook backlog: the oldest unprocessed event has waited {age:.0f} s "
                f"(more than {settings.HEALTHCHECK_WEBHOOK_OLDEST_SECONDS} s)"
            )
        return problems
