"""Keeping the provider HTTP log to its retention (PROVIDER_LOG_RETENTION_DAYS)."""

import datetime

from django.conf import settings
from django.utils import timezone

from messaging.models import ProviderLog

PRUNE_BATCH = 1000  # rows per DELETE: each statement commits on its own, so a large table is never locked long


def provider_logs_prune(*, older_than: datetime.timedelta | None = None, batch_size: int = PRUNE_BATCH) -> int:
    """Delete the exchanges older than the retention, oldest first, one batch per statement; how many went."""
    if older_than is None:
        older_than = datetime.timedelta(days=settings.PROVIDER_LOG_RETENTION_DAYS)
    cutoff = timezone.now() - older_than
    deleted = 0
    while True:
        batch = list(
            ProviderLog.objects.filter(created_at__lt=cutoff)
            .order_by("created_at")
            .values_list("pk", flat=True)[:batch_size]
        )
        if not batch:
            return deleted
        deleted += ProviderLog.objects.filter(pk__in=batch).delete()[0]
        if len(batch) < batch_size:
            return deleted
