"""What agents' screens hear about messages: the payloads they read, recorded through notifications."""

from collections.abc import Sequence

from messaging.models import Message
from notifications.models import Event
from notifications.services import event_record, events_record


def _new_message_payload(message: Message, assignee_id=None) -> dict:
    """`assignee_id`: whose conversation it is (None: nobody's yet), whom the pages notify (everyone while nobody's)."""
    lead = message.lead
    return {
        "assignee_id": assignee_id,
        "message_id": str(message.pk),
        "lead_id": str(lead.pk),
        "lead_name": lead.name,
        "from": lead.phone or "",
        "channel": message.channel,
        "body": message.body[:100],
        "created_at": message.created_at.isoformat(),
    }


def _status_payload(message: Message) -> dict:
    return {
        "message_id": str(message.pk),
        "lead_id": str(message.lead_id),
        "status": message.status,
        "error_code": message.error_code,
    }


def event_new_message(*, message: Message) -> Event:
    """A lead wrote; the caller's transaction makes the event appear together with the message."""
    event = event_record(
        type=Event.Type.NEW_MESSAGE,
        lead_id=message.lead_id,
        message_id=message.pk,
        payload=_new_message_payload(message),
    )
    Message.objects.filter(pk=message.pk).update(is_notification_sent=True)
    message.is_notification_sent = True
    return event


def events_new_message(*, messages: Sequence[Message], assignees: dict | None = None) -> None:
    """Leads wrote (a worker's batch): one insert, and the messages marked notified in one update. `assignees`:
    each lead's conversation's assignee id."""
    if not messages:
        return
    assignees = assignees or {}
    events_record(
        type=Event.Type.NEW_MESSAGE,
        items=(
            (message.lead_id, message.pk, _new_message_payload(message, assignees.get(message.lead_id)))
            for message in messages
        ),
    )
    Message.objects.filter(pk__in=[message.pk for message in messages]).update(is_notification_sent=True)
    for message in messages:
        message.is_notification_sent = True


def event_status_update(*, message: Message) -> Event:
    return event_record(
        type=Event.Type.STATUS_UPDATE, lead_id=message.lead_id, message_id=message.pk, payload=_status_payload(message)
    )


def events_status_update(*, messages: Sequence[Message]) -> None:
    """Messages' statuses changed (a worker's batch of callbacks): one insert."""
    if messages:
        events_record(
            type=Event.Type.STATUS_UPDATE,
            items=((message.lead_id, message.pk, _status_payload(message)) for message in messages),
        )


def event_messages_sent(*, messages: Sequence[Message]) -> None:
    """We sent messages (an agent's reply, a template, a campaign's batch): every inbox re-sorts, and a colleague's
    open conversation shows them."""
    events_record(
        type=Event.Type.MESSAGE_SENT,
        items=(
            (
                message.lead_id,
                message.pk,
                {
                    "message_id": str(message.pk),
                    "lead_id": str(message.lead_id),
                    "channel": message.channel,
                    "created_at": message.created_at.isoformat(),
                },
            )
            for message in messages
        ),
    )
