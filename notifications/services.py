"""Recording what agents' screens should learn about. Callers pass ids and the payload their screens read; this
app writes only its own rows."""

import datetime
from collections import Counter
from collections.abc import Callable, Iterable, Sequence

from django.db.models import F
from django.db.models.functions import Greatest
from django.utils import timezone

from happycrm.crypto_rows import REWRITE_BATCH, model_key_counts, model_rewrite
from happycrm.pruning import PRUNE_BATCH, prune_by_id_ranges

from .broadcast import announce
from .models import Event, PruneMark


def event_record(*, type: Event.Type, lead_id, payload: dict, message_id=None, user_ids: Sequence[int] = ()) -> Event:
    """One event; the caller's transaction makes it appear together with what it reports. With `user_ids` only
    those users' screens hear of it (an assignee's notification)."""
    event = Event.objects.create(
        type=type, lead_id=lead_id, message_id=message_id, payload=payload, user_ids=list(user_ids)
    )
    announce([event.pk])
    return event


def events_record(*, type: Event.Type, items: Iterable[tuple]) -> None:
    """Many events of one type in one insert: (lead id, message id or None, payload) each."""
    events = Event.objects.bulk_create(
        Event(type=type, lead_id=lead_id, message_id=message_id, payload=payload)
        for lead_id, message_id, payload in items
    )
    announce(event.pk for event in events)


def event_read(*, lead_ids) -> None:
    """Messages were read (an agent opened the conversation) or marked unread again: every screen updates its
    unread counts."""
    events_record(type=Event.Type.READ, items=((lead_id, None, {"lead_id": str(lead_id)}) for lead_id in lead_ids))


def event_lead_changed(*, lead_id, lead_name: str) -> Event:
    """A lead's details or opt-out changed: its open conversation re-reads its heading, notices and composer."""
    return event_record(
        type=Event.Type.LEAD_CHANGED, lead_id=lead_id, payload={"lead_id": str(lead_id), "lead_name": lead_name}
    )


def event_campaign_finished(*, campaign_id, payload: dict) -> Event:
    """A campaign finished (every recipient's outcome final, or its wait for the missing delivery reports over): for
    the outbound webhooks reading this feed. It names no lead; agents' pages have no listener for it and let it
    pass."""
    return event_record(
        type=Event.Type.CAMPAIGN_FINISHED, lead_id=None, payload={"campaign_id": str(campaign_id), **payload}
    )


def _prune_mark_raise(pruned_through: int) -> None:
    _, created = PruneMark.objects.get_or_create(pk=1, defaults={"pruned_through": pruned_through})
    if not created:
        PruneMark.objects.filter(pk=1).update(pruned_through=Greatest(F("pruned_through"), pruned_through))


def events_prune(*, older_than: datetime.timedelta, batch_size: int = PRUNE_BATCH, dry_run: bool = False) -> int:
    """Events are for screens catching up, not an archive: drop those older than the retention, by id ranges.
    Each batch raises the prune mark in its own transaction, so a client whose cursor fell in it learns so."""
    return prune_by_id_ranges(
        Event.objects.all(),
        field="created_at",
        cutoff=timezone.now() - older_than,
        batch_size=batch_size,
        dry_run=dry_run,
        after_batch=_prune_mark_raise,
    )


def lead_events_erase(*, lead_id) -> int:
    """A lead's events, for its erasure (their payloads hold its name and messages): how many were deleted."""
    deleted, _ = Event.objects.filter(lead_id=lead_id).delete()
    return deleted


def events_key_counts() -> dict[str, Counter]:
    """The events' payloads per encryption key (MESSAGE_ENCRYPTION_KEYS), for `manage.py encryption status`."""
    return {f"event.{name}": counter for name, counter in model_key_counts(Event).items()}


def events_reencrypt(*, batch_size: int = REWRITE_BATCH, progress: Callable[[str, int], None] | None = None) -> int:
    """The events' payloads rewritten under the newest key (or in plaintext), in batches."""
    return model_rewrite(Event, batch_size=batch_size, progress=progress and (lambda n: progress("event", n)))
