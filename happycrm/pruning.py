"""Deleting old rows without locking a table: the one mechanism every app's retention service uses.

Each statement deletes at most `batch_size` rows and commits on its own (never inside an atomic block), so a
webhook or a send waiting on one of those tables waits for one batch at most, never for the whole prune. The
callers (the retention task and command) run outside a transaction."""

import datetime
from collections.abc import Callable

from django.db import transaction
from django.db.models import Min, QuerySet

PRUNE_BATCH = 5000  # rows per DELETE


def prune_by_id_ranges(
    queryset: QuerySet,
    *,
    field: str,
    cutoff: datetime.datetime,
    batch_size: int = PRUNE_BATCH,
    dry_run: bool = False,
    after_batch: Callable[[int], None] | None = None,
) -> int:
    """Delete the rows of `queryset` whose `field` is before `cutoff`, for a table with an ascending integer key:
    the key range from the oldest row to the newest old one, `batch_size` keys per statement, each in its own
    transaction; `after_batch(highest key of the range)` runs inside that transaction. How many rows (would) go.

    A row committed out of order (an older time under a newer key than the range's end) goes on the next run."""
    old = queryset.filter(**{f"{field}__lt": cutoff})
    if dry_run:
        return old.count()
    lowest = queryset.aggregate(lowest=Min("pk"))["lowest"]
    highest = old.order_by(f"-{field}", "-pk").values_list("pk", flat=True).first()  # the last of equal times
    if lowest is None or highest is None:
        return 0
    deleted = 0
    for start in range(lowest, highest + 1, batch_size):
        end = min(start + batch_size - 1, highest)
        with transaction.atomic():
            deleted += old.filter(pk__gte=start, pk__lte=end).delete()[0]
            if after_batch is not None:
                after_batch(end)
    return deleted


def prune_by_key_batches(
    queryset: QuerySet,
    *,
    field: str,
    cutoff: datetime.datetime,
    batch_size: int = PRUNE_BATCH,
    dry_run: bool = False,
) -> int:
    """The same for a table whose key is not ordered (UUIDs): the oldest `batch_size` keys by `field` (from its
    index), then a DELETE of exactly those, each batch in its own transaction."""
    old = queryset.filter(**{f"{field}__lt": cutoff})
    if dry_run:
        return old.count()
    deleted = 0
    while True:
        keys = list(old.order_by(field).values_list("pk", flat=True)[:batch_size])
        if not keys:
            return deleted
        with transaction.atomic():
            deleted += queryset.model._default_manager.filter(pk__in=keys).delete()[0]
        if len(keys) < batch_size:
            return deleted
