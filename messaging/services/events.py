"""What agents' screens hear about messages: the payloads they read, recorded through notifications."""

from collections.abc import Sequence

from messaging.models import Message
from notifications.models import Event
from notifications.services import event_record, events_record


def event_new_message(*, message: Message) -> Event:
    """A lead wrote; the caller's transaction makes the event appear together with the message."""
    lead = message.lead
    event = event_record(
        type=Event.Type.NEW_MESSAGE,
        lead_id=lead.pk,
        message_id=message.pk,
        payload={
            "message_id": str(message.pk),
            "lead_id": str(lead.pk),
            "lead_name": lead.name,
            "from": lead.phone or "",
            "channel": message.channel,
            "body": message.body[:100],
            "created_at": message.created_at.isoformat(),
        },
    )
    Message.objects.filter(pk=message.pk).update(is_notification_sent=True)
    message.is_notification_sent = True
    return event


def event_status_update(*, message: Message) -> Event:
    return event_record(
        type=Event.Type.STATUS_UPDATE,
        lead_id=message.lead_id,
        message_id=message.pk,
        payload={
            "message_id": str(message.pk),
            "lead_id": str(message.lead_id),
            "status": message.status,
            "error_code": message.error_code,
        },
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
