"""Webhook events from every provider: stored first, processed exactly once, swept when anything was lost.

The sweep is the project's periodic safety net for everything that crosses the broker."""

import datetime
import functools
import logging
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import DataError, transaction
from django.utils import timezone

from happycrm.db.insert import row_insert
from happycrm.queue import Batcher, enqueue_on_commit
from happycrm.request_id import request_id_bound, request_id_get
from leads.phones import normalize_phone
from messaging.backends.base import InboundMessage, PermanentWebhookError, backend_for_provider
from messaging.models import ErasedMessage, WebhookEvent
from messaging.selectors import (
    SIGNATURE_REJECTIONS_KEY,
    SWEEP_GRACE,
    media_pending_for_retry,
    webhook_events_unfinished,
)

from .inbound import FETCH_MEDIA_TASK, Delivery, inbound_message_receive, inbound_messages_receive
from .outbound import messages_mark_stuck, messages_requeue_overdue
from .payloads import payload_storable, webhook_event_parse
from .status import message_status_apply, message_statuses_apply, status_callbacks_replay

logger = logging.getLogger(__name__)

PROCESS_TASK = "messaging.process_webhook_events"
SWEEP_BATCH = 1000
SWEEP_CHUNK = 100
SIGNATURE_REJECTIONS_TTL = 8 * 24 * 3600


def signature_rejection_record() -> None:
    """Count a refused request (per day, in the cache: a flood of forgeries must not write to the database)."""
    key = SIGNATURE_REJECTIONS_KEY.format(day=timezone.localdate())
    try:
        cache.add(key, 0, timeout=SIGNATURE_REJECTIONS_TTL)
        cache.incr(key)
    except Exception:
        logger.warning("Could not count a signature rejection", exc_info=True)


# Webhook requests hand their events to this per-process batcher instead of publishing one task each.
# Within 100 ms: a campaign's callback storm (240/s) then reaches the worker in batches of a dozen, not of one or
# two, whose per-task cost left the worker behind (bench/campaign_storm.py).
webhook_events_queue = Batcher(PROCESS_TASK, interval=0.1)


def webhook_event_store(
    *, provider: str, payload: dict, signature_valid: bool | None, idempotency_token: str = ""
) -> WebhookEvent | None:
    """Keep the request `provider` received as it came (unknown fields included) and queue its processing once
    committed; None when it is about an erased message (a late callback, a retried webhook): dropped unstored.

    Whatever the fields hold is stored: a NUL (which the database refuses) is replaced in the payload and
    kept exactly in `original_fields`; a SID that is repeated or too long is left out of the SID column,
    and processing rejects the event with that reason."""
    payload, original_fields = payload_storable(payload)
    kind, message_sid = backend_for_provider(provider).event_kind_and_sid(payload)
    sender, recipient = event_parties(provider=provider, payload=payload)
    event = WebhookEvent(
        provider=provider,
        kind=kind,
        payload=payload,
        original_fields=original_fields,
        message_sid=message_sid,
        sender=sender,
        recipient=recipient,
        signature_valid=signature_valid,
        idempotency_token=idempotency_token[:128],
        request_id=request_id_get(),
    )
    # Not for an erased message: its tombstone is looked for by the insert itself (one round trip).
    tombstone = (ErasedMessage, "sid_hash", ErasedMessage.hash_sid(message_sid)) if message_sid else None
    if row_insert(event, unless=tombstone) is None:
        logger.info("A webhook for an erased message was dropped")
        return None
    webhook_events_queue.add_on_commit(str(event.pk))
    return event


@dataclass
class ProcessedBatch:
    """What a batch of events came to: the events processed (outcomes set), the transient failures (event id →
    the error, recorded on the event and left for a retry) and how long it took."""

    events: list[WebhookEvent] = field(default_factory=list)
    failures: dict = field(default_factory=dict)
    skipped: int = 0  # locked by another worker, already processed or gone
    seconds: float = 0.0

    @property
    def request_id(self) -> str:
        """The ids of the requests that brought the batch's events: its log lines carry them all."""
        return ",".join(dict.fromkeys(event.request_id for event in self.events if event.request_id)) or "-"

    def summary(self) -> str:
        counts = Counter(event.outcome for event in self.events if event.pk not in self.failures)
        parts = [f"{count} {outcome}" for outcome, count in sorted(counts.items())]
        parts.append(f"{len(self.failures)} failed")
        if self.skipped:
            parts.append(f"{self.skipped} skipped")
        return f"{len(self.events)} webhook events in {self.seconds:.3f} s: " + ", ".join(parts)


def webhook_events_process(*, event_ids, retry_rejected: bool = False, skip_locked: bool = True) -> ProcessedBatch:
    """Process stored events together, in one transaction and a fixed number of queries whatever their number;
    safe to run twice, concurrently included.

    The events are locked together; with `skip_locked` those another worker holds are left to it, so two workers
    split a batch rather than wait. A transient failure is recorded on its event (the caller retries it), a
    permanent one ends the event as rejected; `retry_rejected` tries those again (after a fix).
    """
    started = time.monotonic()
    batch = ProcessedBatch()
    with transaction.atomic():
        events = list(
            WebhookEvent.objects.select_for_update(skip_locked=skip_locked)
            .filter(pk__in=event_ids)
            .order_by("received_at", "pk")
        )
        events = _events_drop_erased(events)
        batch.events = [
            event
            for event in events
            if event.processed_at is None or (retry_rejected and event.outcome == WebhookEvent.Outcome.REJECTED)
        ]
        batch.skipped = len(set(map(str, event_ids))) - len(batch.events)
        for event in batch.events:
            event.attempts += 1
        with request_id_bound(batch.request_id):
            results, now = _events_apply(batch.events), timezone.now()
            for event, result in results.items():
                if not _event_settle(event, result, now=now):
                    batch.failures[event.pk] = result
            _events_save(batch.events)
    batch.seconds = time.monotonic() - started
    return batch


def webhook_event_process(*, event_id, retry_rejected: bool = False) -> WebhookEvent:
    """Process one stored event (the admin's and the command's reprocess): the batch of one, waiting for a worker
    that holds it. A transient failure is recorded on the event and raised."""
    batch = webhook_events_process(event_ids=[event_id], retry_rejected=retry_rejected, skip_locked=False)
    if batch.failures:
        raise next(iter(batch.failures.values()))
    return batch.events[0] if batch.events else WebhookEvent.objects.get(pk=event_id)


def _events_apply(events: list[WebhookEvent]) -> dict:
    """Each event's (outcome, notes), or the error that stopped it. The events are applied together; when that
    fails, each one alone (its own savepoint), so one failing event never fails the others."""
    results, parsed = {}, {}
    for event in events:
        try:
            parsed[event] = webhook_event_parse(event)
        except Exception as exc:
            results[event] = exc
    if len(parsed) > 1:
        try:
            with transaction.atomic():
                results.update(_events_apply_together(parsed))
            return results
        except Exception:
            logger.info(
                "A batch of %d webhook events failed together; processing each alone", len(parsed), exc_info=True
            )
    for event, item in parsed.items():
        results[event] = _event_apply_alone(event, item)
    return results


def _events_apply_together(parsed: dict) -> dict:
    inbound = [(event, item) for event, item in parsed.items() if isinstance(item, InboundMessage)]
    status = [(event, item) for event, item in parsed.items() if not isinstance(item, InboundMessage)]
    results = {}
    if inbound:
        received = inbound_messages_receive(
            deliveries=[
                Delivery(message=item, provider=event.provider, received_at=event.received_at)
                for event, item in inbound
            ]
        )
        results.update((event, result) for (event, _), result in zip(inbound, received, strict=True))
    if status:
        outcomes = message_statuses_apply(updates=[item for _, item in status])
        results.update((event, (outcome, "")) for (event, _), outcome in zip(status, outcomes, strict=True))
    return results


def _event_apply_alone(event: WebhookEvent, item) -> tuple[WebhookEvent.Outcome, str] | Exception:
    try:
        with transaction.atomic():
            if isinstance(item, InboundMessage):
                return inbound_message_receive(message=item, provider=event.provider, received_at=event.received_at)
            return message_status_apply(update=item), ""
    except Exception as exc:
        return exc


def _events_save(events: list[WebhookEvent]) -> None:
    """One UPDATE per distinct result (a few per batch: most events end alike)."""
    groups = defaultdict(list)
    for event in events:
        groups[(event.attempts, event.outcome, event.notes, event.last_error, event.processed_at)].append(event.pk)
    for (attempts, outcome, notes, last_error, processed_at), pks in groups.items():
        WebhookEvent.objects.filter(pk__in=pks).update(
            attempts=attempts, outcome=outcome, notes=notes, last_error=last_error, processed_at=processed_at
        )


def _event_settle(event: WebhookEvent, result, *, now) -> bool:
    """Record what became of an event on it (saved by the caller); False when it is to be tried again."""
    if isinstance(result, PermanentWebhookError):
        event.outcome, event.last_error = WebhookEvent.Outcome.REJECTED, str(result)
    elif isinstance(result, DataError):
        # The database refuses these values (too long, out of range): the same every time, so not retried.
        event.outcome, event.last_error = WebhookEvent.Outcome.REJECTED, f"The database refused a value: {result}"
    elif isinstance(result, Exception):
        event.last_error = f"{type(result).__name__}: {result}"
        return False
    else:
        event.outcome, event.notes = result
        event.last_error = ""
    event.processed_at = now
    return True


def webhook_events_reprocess(*, event_ids, retry_rejected: bool = False) -> Counter:
    """Process events here and now (the admin action, the command): counts processed, rejected and failed."""
    counts = Counter()
    for event_id in event_ids:
        try:
            event = webhook_event_process(event_id=event_id, retry_rejected=retry_rejected)
        except Exception:
            logger.warning("Reprocessing webhook event %s failed", event_id, exc_info=True)
            counts["failed"] += 1
            continue
        counts["rejected" if event.outcome == WebhookEvent.Outcome.REJECTED else "processed"] += 1
    return counts


def webhook_events_sweep() -> dict[str, int]:
    """The periodic safety net: queue what was left unprocessed, retry waiting media, replay raced callbacks and
    queue again the sends no worker took."""
    unfinished = webhook_events_unfinished(older_than=SWEEP_GRACE)
    event_ids = [str(pk) for pk in unfinished.values_list("pk", flat=True)[:SWEEP_BATCH]]
    for start in range(0, len(event_ids), SWEEP_CHUNK):
        enqueue_on_commit(PROCESS_TASK, event_ids[start : start + SWEEP_CHUNK])
    media_ids = media_pending_for_retry(older_than=datetime.timedelta(minutes=5))
    for media_id in media_ids:
        enqueue_on_commit(FETCH_MEDIA_TASK, media_id)
    replayed = status_callbacks_replay()
    stuck = messages_mark_stuck()
    requeued = messages_requeue_overdue()
    if event_ids or media_ids or replayed or stuck or any(requeued.values()):
        logger.info(
            "Sweep: %d events queued, %d attachments retried, %d callbacks replayed, %d sends marked for attention, "
            "%d replies and %d bulk messages queued again",
            len(event_ids),
            len(media_ids),
            replayed,
            stuck,
            requeued["replies"],
            requeued["bulk"],
        )
    return {
        "events": len(event_ids),
        "media": len(media_ids),
        "replayed": replayed,
        "stuck": stuck,
        "requeued_replies": requeued["replies"],
        "requeued_campaign": requeued["bulk"],
    }


@functools.lru_cache(maxsize=10_000)
def _e164_or_blank(value: str, region: str) -> str:
    """Remembered: every webhook names our own number, and a conversation's sender comes back again and again
    (a parse costs about 0.1 ms of a webhook's CPU)."""
    try:
        return normalize_phone(value, region=region) if value else ""
    except ValidationError:
        return ""


def event_parties(*, provider: str, payload: dict) -> tuple[str, str]:
    """The (sender, recipient) a stored payload names, each in E.164 or "" (none, or not a phone number)."""
    try:
        backend = backend_for_provider(provider)
    except LookupError:
        return "", ""
    return tuple(_e164_or_blank(value, settings.DEFAULT_PHONE_REGION) for value in backend.event_parties(payload))


def _events_drop_erased(events: list[WebhookEvent]) -> list[WebhookEvent]:
    """Events stored for a message while it was being erased (they passed the store's check just before its
    tombstone committed) are deleted, never processed: the rest."""
    hashes = {ErasedMessage.hash_sid(event.message_sid): event for event in events if event.message_sid}
    if not hashes:
        return events
    erased = {
        hashes[h].pk for h in ErasedMessage.objects.filter(sid_hash__in=hashes).values_list("sid_hash", flat=True)
    }
    if erased:
        WebhookEvent.objects.filter(pk__in=erased).delete()
    return [event for event in events if event.pk not in erased]
