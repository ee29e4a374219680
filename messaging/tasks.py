"""Thin Celery wrappers: they take ids and call services, and are safe to run twice."""

import logging

from celery import shared_task

from happycrm.request_id import request_id_bound

from .backends.simulator import PROVIDER as SIMULATOR
from .backends.simulator import status_callback_payload
from .models import Message, WebhookEvent
from .services.media import MEDIA_MAX_ATTEMPTS, MediaFetchError, media_fetch
from .services.outbound import message_send_failed, messages_deliver
from .services.webhooks import webhook_event_store, webhook_events_process, webhook_events_sweep

logger = logging.getLogger(__name__)

SEND_MAX_RETRIES = 6  # about two minutes of backoff before a message the provider keeps refusing is failed


def backoff(retries: int) -> int:
    return min(2 ** (retries + 1), 300)


def final_attempt(task) -> bool:
    """In-process (eager) or the last retry: what fails now is not tried again by this task."""
    return task.request.is_eager or task.request.retries >= task.max_retries


def retry_later(task, *, exc: Exception, args=None):
    """The one retry of every task here: the same task again after an exponential backoff (2 s to 5 min)."""
    return task.retry(args=args, exc=exc, countdown=backoff(task.request.retries))


class WebhookEventsFailed(Exception):
    """Some events of a batch failed; each one's error is recorded on the event."""


@shared_task(bind=True, name="messaging.process_webhook_events", max_retries=WebhookEvent.MAX_ATTEMPTS - 1)
def process_webhook_events(self, event_ids: list[str]) -> None:
    """A batch of stored events, processed together; those that failed are retried after a backoff.

    Its one INFO line is the batch's summary (Celery's own "received"/"succeeded" lines for it are filtered out
    in LOGGING: at hundreds of events a second they were most of a worker's log)."""
    batch = webhook_events_process(event_ids=event_ids)
    request_ids = {event.pk: event.request_id for event in batch.events}
    for event_id, exc in batch.failures.items():
        with request_id_bound(request_ids.get(event_id) or batch.request_id):
            logger.warning("Webhook event %s failed", event_id, exc_info=exc)
    with request_id_bound(batch.request_id):
        logger.info("Processed %s", batch.summary())
    if not batch.failures:
        return
    failed = [str(event_id) for event_id in batch.failures]
    error = WebhookEventsFailed(f"{len(failed)} of {len(event_ids)} events failed")
    if self.request.is_eager:
        raise error  # in-process mode: the sweep retries them
    raise retry_later(self, exc=error, args=[failed])


@shared_task(bind=True, name="messaging.fetch_media", max_retries=MEDIA_MAX_ATTEMPTS - 1)
def fetch_media(self, media_id: str) -> None:
    try:
        media_fetch(media_id=media_id)
    except MediaFetchError as exc:
        if self.request.is_eager:
            raise
        raise retry_later(self, exc=exc) from exc


def _deliver(task, message_ids: list[str]) -> tuple[list[str], Exception | None]:
    """Send each message; those the provider certainly did not take are retried, or failed on the final attempt.
    Returns the ids to retry and the last reason."""
    retry, reason = [], None
    for message_id, exc in messages_deliver(message_ids=message_ids).items():
        if final_attempt(task):
            message_send_failed(message=Message.objects.get(pk=message_id), code=exc.code, error=exc.message)
        else:
            retry.append(message_id)
            reason = exc
    return retry, reason


@shared_task(bind=True, name="messaging.send_message", max_retries=SEND_MAX_RETRIES)
def send_message(self, message_id: str) -> None:
    retry, reason = _deliver(self, [message_id])
    if retry:
        raise retry_later(self, exc=reason)


@shared_task(bind=True, name="messaging.send_messages", max_retries=SEND_MAX_RETRIES)
def send_messages(self, message_ids: list[str]) -> None:
    """A batch of bulk messages, each at its sender's rate; those the provider did not take are retried."""
    retry, reason = _deliver(self, message_ids)
    if retry:
        raise retry_later(self, exc=reason, args=[retry])


@shared_task(name="messaging.sweep_webhook_events")
def sweep_webhook_events() -> dict[str, int]:
    return webhook_events_sweep()


@shared_task(name="messaging.simulate_status_callback")
def simulate_status_callback(*, sid: str, status: str, error_code: int | None, **_queued_before) -> None:
    """The simulator's delivery progress: its callback stored and processed like any provider's webhook."""
    payload = status_callback_payload(sid=sid, status=status, error_code=error_code)
    webhook_event_store(provider=SIMULATOR, payload=payload, signature_valid=None)
