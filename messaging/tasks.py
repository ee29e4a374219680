"""Thin Celery wrappers: they take ids and call services, and are safe to run twice."""

import logging

from celery import shared_task

from .backends.base import RetryableSendError
from .backends.simulator import PROVIDER as SIMULATOR
from .backends.simulator import status_callback_payload
from .models import Message, WebhookEvent
from .services.campaigns import campaign_run, campaigns_start_due
from .services.media import MEDIA_MAX_ATTEMPTS, MediaFetchError, media_fetch
from .services.outbound import message_deliver, message_send_failed
from .services.provider_log import provider_logs_prune
from .services.webhooks import webhook_event_process, webhook_event_store, webhook_events_sweep

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
    """A batch of campaign messages, each at its sender's rate; those Twilio did not take are retried."""
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


@shared_task(name="messaging.run_campaign")
def run_campaign(campaign_id: str) -> None:
    campaign_run(campaign_id=campaign_id)


@shared_task(name="messaging.start_due_campaigns")
def start_due_campaigns() -> int:
    return campaigns_start_due()


@shared_task(name="messaging.sweep_webhook_events")
def sweep_webhook_events() -> dict[str, int]:
    return webhook_events_sweep()


@shared_task(name="messaging.prune_provider_logs")
def prune_provider_logs() -> int:
    return provider_logs_prune()


@shared_task(name="messaging.simulate_status_callback")
def simulate_status_callback(*, sid: str, status: str, error_code: int | None, **_queued_before) -> None:
    """The simulator's delivery progress: its callback stored and processed like any provider's webhook."""
    payload = status_callback_payload(sid=sid, status=status, error_code=error_code)
    webhook_event_store(provider=SIMULATOR, payload=payload, signature_valid=None)
