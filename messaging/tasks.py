"""Thin Celery wrappers: they take ids and call services, and are safe to run twice."""

import logging

from celery import shared_task

from happycrm.queue import Batcher

from .backends.base import RetryableSendError
from .models import Message, WebhookEvent
from .services.media import MEDIA_MAX_ATTEMPTS, MediaFetchError, media_fetch
from .services.outbound import message_deliver, message_send_failed
from .services.webhooks import webhook_event_process, webhook_events_sweep

logger = logging.getLogger(__name__)

SEND_MAX_RETRIES = 6  # about two minutes of backoff before a message Twilio keeps refusing is failed


def backoff(retries: int) -> int:
    return min(2 ** (retries + 1), 300)


class WebhookEventsFailed(Exception):
    """Some events of a batch failed; each one's error is recorded on the event."""


@shared_task(bind=True, name="messaging.process_webhook_events", max_retries=WebhookEvent.MAX_ATTEMPTS - 1)
def process_webhook_events(self, event_ids: list[str]) -> None:
    failed = []
    for event_id in event_ids:
        try:
            webhook_event_process(event_id=event_id)
        except Exception:
            logger.warning("Webhook event %s failed", event_id, exc_info=True)
            failed.append(event_id)
    if not failed:
        return
    error = WebhookEventsFailed(f"{len(failed)} of {len(event_ids)} events failed")
    if self.request.is_eager:
        raise error  # in-process mode: the sweep retries them
    raise self.retry(args=[failed], exc=error, countdown=backoff(self.request.retries))


# Webhook requests hand their events to this per-process batcher instead of publishing one task each.
webhook_events_queue = Batcher(process_webhook_events)


@shared_task(bind=True, name="messaging.fetch_media", max_retries=MEDIA_MAX_ATTEMPTS - 1)
def fetch_media(self, media_id: str) -> None:
    try:
        media_fetch(media_id=media_id)
    except MediaFetchError as exc:
        if self.request.is_eager:
            raise
        raise self.retry(exc=exc, countdown=backoff(self.request.retries)) from exc


@shared_task(bind=True, name="messaging.send_message", max_retries=SEND_MAX_RETRIES)
def send_message(self, message_id: str) -> None:
    try:
        message_deliver(message_id=message_id)
    except RetryableSendError as exc:
        if self.request.is_eager or self.request.retries >= self.max_retries:
            message = Message.objects.get(pk=message_id)
            message_send_failed(message=message, code=exc.code, error=exc.message)
            return
        raise self.retry(exc=exc, countdown=backoff(self.request.retries)) from exc


@shared_task(bind=True, name="messaging.send_messages", max_retries=SEND_MAX_RETRIES)
def send_messages(self, message_ids: list[str]) -> None:
    """A batch of bulk messages, each at its sender's rate; those Twilio did not take are retried."""
    retry = []
    for message_id in message_ids:
        try:
            message_deliver(message_id=message_id)
        except RetryableSendError as exc:
            if self.request.is_eager or self.request.retries >= self.max_retries:
                message_send_failed(message=Message.objects.get(pk=message_id), code=exc.code, error=exc.message)
            else:
                retry.append(message_id)
    if retry:
        raise self.retry(args=[retry], countdown=backoff(self.request.retries))


@shared_task(name="messaging.sweep_webhook_events")
def sweep_webhook_events() -> dict[str, int]:
    return webhook_events_sweep()


@shared_task(name="messaging.simulate_status_callback")
def simulate_status_callback(*, sid: str, to: str, channel: str, status: str, error_code: int | None) -> None:
    from .backends.simulator import deliver_status_callback

    deliver_status_callback(sid=sid, to=to, channel=channel, status=status, error_code=error_code)
