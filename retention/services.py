"""Retention: one run prunes what each app keeps only for a while, each app through its own service."""

import datetime
import logging
from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from accounts.services import idempotent_requests_prune
from happycrm.pruning import PRUNE_BATCH
from messaging.services.provider_log import provider_logs_prune, webhook_events_prune
from notifications.services import events_prune
from webhooks.services import deliveries_prune

from .models import PruneRun

logger = logging.getLogger(__name__)

RUNS_KEPT = datetime.timedelta(days=365)  # the runs' own record is small: a year of it


@dataclass(frozen=True)
class Kind:
    key: str
    label: Promise
    setting: str
    prune: Callable[..., int]  # (*, older_than, batch_size, dry_run) -> rows (that would be) deleted

    @property
    def days(self) -> int:
        return getattr(settings, self.setting)


KINDS = (
    Kind("webhook_events", _("Processed webhook events"), "RETENTION_WEBHOOK_EVENTS_DAYS", webhook_events_prune),
    Kind("notification_events", _("Notification events"), "RETENTION_NOTIFICATION_EVENTS_DAYS", events_prune),
    Kind("provider_logs", _("Provider exchanges"), "RETENTION_PROVIDER_LOGS_DAYS", provider_logs_prune),
    Kind(
        "idempotent_requests",
        _("API answers kept for Idempotency-Key"),
        "RETENTION_IDEMPOTENT_REQUESTS_DAYS",
        idempotent_requests_prune,
    ),
    Kind(
        "webhook_deliveries",
        _("Finished outbound webhook deliveries"),
        "RETENTION_WEBHOOK_DELIVERIES_DAYS",
        deliveries_prune,
    ),
)
KIND_LABELS = {kind.key: kind.label for kind in KINDS}


def retention_prune(*, dry_run: bool = False, batch_size: int = PRUNE_BATCH) -> PruneRun:
    """Prune every kind older than its RETENTION_* age, in batches that each commit on their own (call it outside
    a transaction). A kind that fails is recorded with its error and the others still run. A real run is
    recorded (the dashboard shows it); a dry run only counts and returns an unsaved record."""
    run = PruneRun(results={})
    for kind in KINDS:
        result = {"days": kind.days, "deleted": 0, "error": ""}
        try:
            result["deleted"] = kind.prune(
                older_than=datetime.timedelta(days=kind.days), batch_size=batch_size, dry_run=dry_run
            )
        except Exception as exc:
            logger.exception("Retention could not prune %s", kind.key)
            result["error"] = f"{type(exc).__name__}: {exc}"
        run.results[kind.key] = result
    run.finished_at = timezone.now()
    if not dry_run:
        run.save()
        PruneRun.objects.filter(started_at__lt=timezone.now() - RUNS_KEPT).delete()
    return run
