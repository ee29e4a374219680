"""Delivery status from the provider's callbacks: forward only, failures final."""

import datetime

from django.db import transaction
from django.utils import timezone

from leads.services import lead_set_opted_out
from messaging.backends.base import StatusUpdate
from messaging.models import Message, MessageStatus, WebhookEvent

from .events import event_status_update
from .payloads import webhook_event_parse

S = MessageStatus
# accepted/scheduled < queued < sending < sent < delivered < read
FORWARD_RANK = {
    S.ACCEPTED: 0,
    S.SCHEDULED: 0,
    S.QUEUED: 1,
    S.SENDING: 2,
    S.SENT: 3,
    S.DELIVERED: 4,
    S.PARTIALLY_DELIVERED: 4,
    S.READ: 5,
}
FAILURES = frozenset({S.FAILED, S.UNDELIVERED, S.CANCELED})
UNMATCHED_REPLAY_WINDOW = datetime.timedelta(hours=1)


def status_supersedes(current: str, new: str) -> bool:
    """Whether a callback saying `new` may replace `current`, whatever order callbacks arrive in."""
    if current in FAILURES:
        return False
    if new in FAILURES:
        return current != S.READ  # a read receipt proves delivery
    if new not in FORWARD_RANK:
        return False
    return FORWARD_RANK[new] > FORWARD_RANK.get(current, -1)


def message_status_apply(*, update: StatusUpdate) -> WebhookEvent.Outcome:
    """Apply one status update to the message the provider knows as `update.sid`."""
    with transaction.atomic():
        message = (
            Message.objects.select_for_update().select_related("lead").filter(twilio_message_sid=update.sid).first()
        )
        if message is None:
            return WebhookEvent.Outcome.UNMATCHED
        if update.recipient_opted_out:
            lead_set_opted_out(lead=message.lead, opted_out=True)
        if not status_supersedes(message.status, update.status):
            return WebhookEvent.Outcome.STATUS_STALE
        message.status = update.status
        if update.status in FAILURES:
            message.error_code = update.error_code
            message.error_message = update.error_message
        message.save(update_fields=["status", "error_code", "error_message", "updated_at"])
        event_status_update(message=message)
    return WebhookEvent.Outcome.STATUS_APPLIED


def status_callbacks_replay(*, sid: str | None = None) -> int:
    """Apply callbacks that arrived before their message had its SID; returns how many found their message.

    Called when a send stores its SID, and by the sweep for callbacks that raced that moment.
    """
    events = WebhookEvent.objects.filter(
        kind=WebhookEvent.Kind.STATUS,
        outcome=WebhookEvent.Outcome.UNMATCHED,
        received_at__gte=timezone.now() - UNMATCHED_REPLAY_WINDOW,
    )
    events = (
        events.filter(message_sid=sid)
        if sid
        else events.filter(
            message_sid__in=Message.objects.filter(twilio_message_sid__isnull=False).values("twilio_message_sid")
        )
    )
    replayed = 0
    for event in events.order_by("received_at"):
        outcome = message_status_apply(update=webhook_event_parse(event))
        if outcome != WebhookEvent.Outcome.UNMATCHED:
            WebhookEvent.objects.filter(pk=event.pk).update(outcome=outcome, processed_at=timezone.now())
            replayed += 1
    return replayed


def message_sid_assign(*, message: Message, sid: str) -> Message:
    """Record the SID the provider gave a sent message, then apply any of its callbacks that came first."""
    message.twilio_message_sid = sid
    message.save(update_fields=["twilio_message_sid", "updated_at"])
    status_callbacks_replay(sid=sid)
    message.refresh_from_db()
    return message
