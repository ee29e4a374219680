"""Delivery status from Twilio's callbacks: forward only, failures final."""

import datetime

from django.db import transaction
from django.utils import timezone

from leads.services import lead_set_opted_out
from messaging.backends.twilio import OPTED_OUT_ERROR
from messaging.models import Message, MessageStatus, WebhookEvent
from notifications.services import event_status_update

from .payloads import payload_field, payload_message_sid

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


ERROR_CODE_MAX = 2**31 - 1  # the column's range; Twilio's codes have five digits


def parse_error_code(value) -> int | None:
    """Twilio's ErrorCode, or None when it is missing or not a code (the status still applies)."""
    try:
        code = int(str(value).strip())
    except (TypeError, ValueError):
        return None
    return code if 0 < code <= ERROR_CODE_MAX else None


def message_status_apply(
    *, sid: str, status: str, error_code: int | None = None, error_message: str = ""
) -> WebhookEvent.Outcome:
    """Apply one status callback to the message with Twilio SID `sid`."""
    with transaction.atomic():
        message = Message.objects.select_for_update().select_related("lead").filter(twilio_message_sid=sid).first()
        if message is None:
            return WebhookEvent.Outcome.UNMATCHED
        if error_code == OPTED_OUT_ERROR:
            lead_set_opted_out(lead=message.lead, opted_out=True)
        if not status_supersedes(message.status, status):
            return WebhookEvent.Outcome.STATUS_STALE
        message.status = status
        if status in FAILURES:
            message.error_code = error_code
            message.error_message = error_message
        message.save(update_fields=["status", "error_code", "error_message", "updated_at"])
        event_status_update(message=message)
    return WebhookEvent.Outcome.STATUS_APPLIED


def status_callback_apply(*, event: WebhookEvent) -> tuple[WebhookEvent.Outcome, str]:
    payload = event.payload
    status_field = "MessageStatus" if payload.get("MessageStatus") else "SmsStatus"
    outcome = message_status_apply(
        sid=payload_message_sid(payload),
        status=payload_field(payload, status_field).lower(),
        error_code=parse_error_code(payload_field(payload, "ErrorCode")),
        error_message=payload_field(payload, "ErrorMessage"),
    )
    return outcome, ""


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
        outcome, _ = status_callback_apply(event=event)
        if outcome != WebhookEvent.Outcome.UNMATCHED:
            WebhookEvent.objects.filter(pk=event.pk).update(outcome=outcome, processed_at=timezone.now())
            replayed += 1
    return replayed


def message_sid_assign(*, message: Message, sid: str) -> Message:
    """Record the SID Twilio gave a sent message, then apply any of its callbacks that came first."""
    message.twilio_message_sid = sid
    message.save(update_fields=["twilio_message_sid", "updated_at"])
    status_callbacks_replay(sid=sid)
    message.refresh_from_db()
    return message
