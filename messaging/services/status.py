"""Delivery status from the provider's callbacks: forward only, failures final."""

import datetime
from collections import defaultdict
from collections.abc import Sequence

from django.db import transaction
from django.utils import timezone

from leads.services import leads_set_opted_out
from messaging.backends.base import StatusUpdate
from messaging.models import Message, MessageStatus, WebhookEvent

from .events import events_status_update
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
    [outcome] = message_statuses_apply(updates=[update])
    return outcome


def message_statuses_apply(*, updates: Sequence[StatusUpdate]) -> list[WebhookEvent.Outcome]:
    """Apply status updates as if one after another in the order given (two for one message included: folded in
    memory to where they lead), in a fixed number of statements whatever their number: each one's outcome.

    The messages are locked in one order, so two workers' batches wait for each other and never deadlock."""
    outcomes = []
    with transaction.atomic(savepoint=False):
        messages = {
            message.twilio_message_sid: message
            for message in Message.objects.select_for_update()
            .filter(twilio_message_sid__in={update.sid for update in updates})
            .order_by("pk")
        }
        changed, opted_out = {}, set()
        for update in updates:
            message = messages.get(update.sid)
            if message is None:
                outcomes.append(WebhookEvent.Outcome.UNMATCHED)
                continue
            if update.recipient_opted_out:
                opted_out.add(message.lead_id)
            if not status_supersedes(message.status, update.status):
                outcomes.append(WebhookEvent.Outcome.STATUS_STALE)
                continue
            message.status = update.status
            if update.status in FAILURES:
                message.error_code = update.error_code
                message.error_message = update.error_message
            changed[message.pk] = message
            outcomes.append(WebhookEvent.Outcome.STATUS_APPLIED)
        if opted_out:
            leads_set_opted_out(lead_ids=opted_out, opted_out=True)
        if changed:
            now = timezone.now()
            # One UPDATE per distinct new status (a few per batch): bulk_update's CASE per row costs more in Python.
            groups = defaultdict(list)
            for message in changed.values():
                message.updated_at = now
                groups[(message.status, message.error_code, message.error_message)].append(message.pk)
            for (status, error_code, error_message), pks in groups.items():
                Message.objects.filter(pk__in=pks).update(
                    status=status, error_code=error_code, error_message=error_message, updated_at=now
                )
            events_status_update(messages=list(changed.values()))
    return outcomes


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
    events = list(events.order_by("received_at"))
    if not events:
        return 0
    with transaction.atomic():
        outcomes = message_statuses_apply(updates=[webhook_event_parse(event) for event in events])
        now, replayed = timezone.now(), defaultdict(list)
        for event, outcome in zip(events, outcomes, strict=True):
            if outcome != WebhookEvent.Outcome.UNMATCHED:
                replayed[outcome].append(event.pk)
        for outcome, pks in replayed.items():
            WebhookEvent.objects.filter(pk__in=pks).update(outcome=outcome, processed_at=now)
    return sum(map(len, replayed.values()))


def message_sid_assign(*, message: Message, sid: str) -> Message:
    """Record the SID the provider gave a sent message, then apply any of its callbacks that came first."""
    now = timezone.now()
    Message.objects.filter(pk=message.pk).update(twilio_message_sid=sid, updated_at=now)
    message.twilio_message_sid, message.updated_at = sid, now
    if status_callbacks_replay(sid=sid):
        message.refresh_from_db()
    return message
