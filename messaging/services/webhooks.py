"""Webhook events from every provider: stored first, processed exactly once, swept when anything was lost.

The sweep is the project's periodic safety net for everything that crosses the broker."""

import datetime
import logging
from collections import Counter

from django.core.cache import cache
from django.db import DataError, transaction
from django.utils import timezone

from happycrm.db.insert import row_insert
from happycrm.queue import Batcher, enqueue_on_commit
from messaging.backends.base import InboundMessage, PermanentWebhookError, backend_for_provider
from messaging.models import WebhookEvent
from messaging.selectors import SIGNATURE_REJECTIONS_KEY, media_pending_for_retry, webhook_events_unfinished

from .inbound import FETCH_MEDIA_TASK, inbound_message_receive
from .outbound import messages_mark_stuck, messages_requeue_overdue
from .payloads import payload_storable, webhook_event_parse
from .status import message_status_apply, status_callbacks_replay

logger = logging.getLogger(__name__)

PROCESS_TASK = "messaging.process_webhook_events"
SWEEP_GRACE = datetime.timedelta(seconds=30)
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
webhook_events_queue = Batcher(PROCESS_TASK)


def webhook_event_store(
    *, provider: str, payload: dict, signature_valid: bool | None, idempotency_token: str = ""
) -> WebhookEvent:
    """Keep the request `provider` received as it came (unknown fields included) and queue its processing once
    committed.

    Whatever the fields hold is stored: a NUL (which the database refuses) is replaced in the payload and
    kept exactly in `original_fields`; a SID that is repeated or too long is left out of the SID column,
    and processing rejects the event with that reason."""
    payload, original_fields = payload_storable(payload)
    kind, message_sid = backend_for_provider(provider).event_kind_and_sid(payload)
    event = row_insert(
        WebhookEvent(
            provider=provider,
            kind=kind,
            payload=payload,
            original_fields=original_fields,
            message_sid=message_sid,
            signature_valid=signature_valid,
            idempotency_token=idempotency_token[:128],
        )
    )
    webhook_events_queue.add_on_commit(str(event.pk))
    return event


def webhook_event_process(*, event_id, retry_rejected: bool = False) -> WebhookEvent:
    """Process one stored event; safe to run twice, concurrently included (the event row is locked).

    A transient failure is recorded on the event and raised (the task retries it); a
    permanent one ends the event as rejected; `retry_rejected` tries those again (after a fix).
    """
    failure = None
    with transaction.atomic():
        event = WebhookEvent.objects.select_for_update().get(pk=event_id)
        finished = event.processed_at is not None
        if finished and not (retry_rejected and event.outcome == WebhookEvent.Outcome.REJECTED):
            return event
        event.attempts += 1
        try:
            with transaction.atomic():
                result = _event_apply(event)
        except PermanentWebhookError as exc:
            event.outcome, event.last_error = WebhookEvent.Outcome.REJECTED, str(exc)
        except DataError as exc:
            # The database refuses these values (too long, out of range): the same every time, so not retried.
            event.outcome, event.last_error = WebhookEvent.Outcome.REJECTED, f"The database refused a value: {exc}"
        except Exception as exc:
            failure = exc
            event.last_error = f"{type(exc).__name__}: {exc}"
        else:
            event.outcome, event.notes = result
            event.last_error = ""
        if failure is None:
            event.processed_at = timezone.now()
        event.save(update_fields=["attempts", "outcome", "notes", "last_error", "processed_at"])
    if failure is not None:
        raise failure
    return event


def _event_apply(event: WebhookEvent) -> tuple[WebhookEvent.Outcome, str]:
    parsed = webhook_event_parse(event)
    if isinstance(parsed, InboundMessage):
        return inbound_message_receive(message=parsed, provider=event.provider, received_at=event.received_at)
    return message_status_apply(update=parsed), ""


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
