"""Thin Celery wrappers: they take ids and call services, and are safe to run twice."""

from celery import shared_task

from .models import WebhookEvent
from .services.media import MEDIA_MAX_ATTEMPTS, MediaFetchError, media_fetch
from .services.webhooks import webhook_event_process, webhook_events_sweep


def backoff(retries: int) -> int:
    return min(2 ** (retries + 1), 300)


@shared_task(
    bind=True, name="messaging.process_webhook_event", max_retries=WebhookEvent.MAX_ATTEMPTS - 1, acks_late=True
)
def process_webhook_event(self, event_id: str) -> None:
    try:
        webhook_event_process(event_id=event_id)
    except Exception as exc:
        if self.request.is_eager:
            raise  # in-process mode: the failure is recorded on the event and the sweep retries it
        raise self.retry(exc=exc, countdown=backoff(self.request.retries)) from exc


@shared_task(bind=True, name="messaging.fetch_media", max_retries=MEDIA_MAX_ATTEMPTS - 1, acks_late=True)
def fetch_media(self, media_id: str) -> None:
    try:
        media_fetch(media_id=media_id)
    except MediaFetchError as exc:
        if self.request.is_eager:
            raise
        raise self.retry(exc=exc, countdown=backoff(self.request.retries)) from exc


@shared_task(name="messaging.sweep_webhook_events")
def sweep_webhook_events() -> dict[str, int]:
    return webhook_events_sweep()
