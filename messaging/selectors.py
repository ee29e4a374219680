import datetime

from django.core.cache import cache
from django.db.models import Count, Q
from django.utils import timezone

from leads.models import Lead
from leads.phones import fallback_digits

from .models import Message, MessageMedia, WebhookEvent

SIGNATURE_REJECTIONS_KEY = "webhook-signature-rejections:{day}"


def media_pending_for_retry(*, older_than: datetime.timedelta) -> list[str]:
    """Attachments still waiting (a lost task, a broker that was down), for the sweep."""
    pending = MessageMedia.objects.filter(
        status=MessageMedia.Status.PENDING, updated_at__lt=timezone.now() - older_than
    )
    return [str(pk) for pk in pending.values_list("pk", flat=True)[:1000]]


def webhook_events_unfinished(*, older_than: datetime.timedelta, include_failed: bool = False):
    """Events not processed yet: left behind by a broker that was down, a lost task or a crash."""
    events = WebhookEvent.objects.filter(processed_at__isnull=True, received_at__lt=timezone.now() - older_than)
    if not include_failed:
        events = events.filter(attempts__lt=WebhookEvent.MAX_ATTEMPTS)
    return events.order_by("received_at")


def signature_rejections(*, days: int = 7) -> dict[str, int]:
    today = timezone.localdate()
    keys = [SIGNATURE_REJECTIONS_KEY.format(day=today - datetime.timedelta(days=n)) for n in range(days)]
    values = cache.get_many(keys)
    return {"today": values.get(keys[0], 0), f"last_{days}_days": sum(values.values())}


def _event_row(event: WebhookEvent) -> dict:
    return {
        "id": str(event.pk),
        "kind": event.kind,
        "message_sid": event.message_sid,
        "status": event.payload.get("MessageStatus") or event.payload.get("SmsStatus", ""),
        "received_at": event.received_at.isoformat(),
        "attempts": event.attempts,
        "outcome": event.outcome,
        "last_error": event.last_error,
        "notes": event.notes,
    }


def webhook_diagnostics(*, recent: int = 20) -> dict:
    """The spec's webhook diagnostics: events by state, what failed lately, what could not be matched."""
    unfinished = Q(processed_at__isnull=True)
    totals = WebhookEvent.objects.aggregate(
        total=Count("pk"),
        pending=Count("pk", filter=unfinished & Q(attempts=0)),
        retrying=Count("pk", filter=unfinished & Q(attempts__gt=0, attempts__lt=WebhookEvent.MAX_ATTEMPTS)),
        failed=Count("pk", filter=unfinished & Q(attempts__gte=WebhookEvent.MAX_ATTEMPTS)),
        rejected=Count("pk", filter=Q(outcome=WebhookEvent.Outcome.REJECTED)),
        unsigned=Count("pk", filter=Q(signature_valid__isnull=True)),
    )
    by_outcome = dict(
        WebhookEvent.objects.filter(processed_at__isnull=False)
        .values_list("outcome")
        .annotate(n=Count("pk"))
        .order_by()
    )
    oldest = WebhookEvent.objects.filter(unfinished).order_by("received_at").values_list("received_at", flat=True)
    failures = WebhookEvent.objects.exclude(last_error="").order_by("-received_at")[:recent]
    unmatched = WebhookEvent.objects.filter(outcome=WebhookEvent.Outcome.UNMATCHED).order_by("-received_at")[:recent]
    media = dict(MessageMedia.objects.values_list("status").annotate(n=Count("pk")).order_by())
    failed_media = MessageMedia.objects.exclude(error="").order_by("-updated_at")[:recent]
    oldest_at = oldest.first()
    return {
        "events": {**totals, "processed_by_outcome": by_outcome},
        "oldest_unprocessed_at": oldest_at.isoformat() if oldest_at else None,
        "recent_failures": [_event_row(event) for event in failures],
        "unmatched_status_callbacks": [_event_row(event) for event in unmatched],
        "media": {
            "by_status": media,
            "recent_failures": [
                {
                    "id": str(item.pk),
                    "message_id": str(item.message_id),
                    "status": item.status,
                    "attempts": item.attempts,
                    "error": item.error,
                }
                for item in failed_media
            ],
        },
        "signature_rejections": signature_rejections(),
    }


def leads_for_phone(*, e164: str):
    """Every lead the phone could belong to: the exact number and the last-10-digits fallback."""
    return Lead.objects.filter(Q(phone=e164) | Q(phone_national=fallback_digits(e164))).select_related("stage")


def messages_for_leads(*, leads, limit: int = 100):
    return (
        Message.objects.filter(lead__in=leads)
        .select_related("lead", "template")
        .prefetch_related("media")
        .order_by("-created_at")[:limit]
    )
