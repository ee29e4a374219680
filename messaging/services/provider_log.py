"""Keeping the provider HTTP log and the processed webhook events to their retention (the retention app's
RETENTION_* settings), through the shared batched delete."""

import datetime

from django.utils import timezone

from happycrm.pruning import PRUNE_BATCH, prune_by_id_ranges, prune_by_key_batches
from messaging.models import ProviderLog, WebhookEvent


def provider_logs_prune(*, older_than: datetime.timedelta, batch_size: int = PRUNE_BATCH, dry_run: bool = False) -> int:
    """Delete the exchanges older than `older_than` by id ranges, one batch per statement; how many (would) go."""
    return prune_by_id_ranges(
        ProviderLog.objects.all(),
        field="created_at",
        cutoff=timezone.now() - older_than,
        batch_size=batch_size,
        dry_run=dry_run,
    )


def webhook_events_prune(
    *, older_than: datetime.timedelta, batch_size: int = PRUNE_BATCH, dry_run: bool = False
) -> int:
    """Delete processed webhook events received before `older_than` ago. An unprocessed one is never pruned, however
    old: it is evidence of something still to do (the sweep or an operator re-runs it)."""
    return prune_by_key_batches(
        WebhookEvent.objects.filter(processed_at__isnull=False),
        field="received_at",
        cutoff=timezone.now() - older_than,
        batch_size=batch_size,
        dry_run=dry_run,
    )
