import datetime

from django.utils import timezone

from messaging.models import Message

from .broadcast import announce
from .models import Event

RETENTION = datetime.timedelta(days=7)


def event_new_message(*, message: Message) -> Event:
    """Record that a lead wrote; the caller's transaction makes it appear together with the message."""
    lead = message.lead
    event = Event.objects.create(
        type=Event.Type.NEW_MESSAGE,
        lead=lead,
        message=message,
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
    announce()
    return event


def event_status_update(*, message: Message) -> Event:
    event = Event.objects.create(
        type=Event.Type.STATUS_UPDATE,
        lead_id=message.lead_id,
        message=message,
        payload={
            "message_id": str(message.pk),
            "lead_id": str(message.lead_id),
            "status": message.status,
            "error_code": message.error_code,
        },
    )
    announce()
    return event


def event_read(*, lead_ids) -> None:
    """Messages were read (an agent opened the conversation): every screen updates its unread counts."""
    Event.objects.bulk_create(
        Event(type=Event.Type.READ, lead_id=lead_id, payload={"lead_id": str(lead_id)}) for lead_id in lead_ids
    )
    announce()


def event_messages_sent(*, messages) -> None:
    """We sent messages (an agent's reply, a template, a campaign's batch): every inbox re-sorts, and a colleague's
    open conversation shows them."""
    Event.objects.bulk_create(
        Event(
            type=Event.Type.MESSAGE_SENT,
            lead_id=message.lead_id,
            message=message,
            payload={
                "message_id": str(message.pk),
                "lead_id": str(message.lead_id),
                "channel": message.channel,
                "created_at": message.created_at.isoformat(),
            },
        )
        for message in messages
    )
    announce()


def event_lead_changed(*, lead) -> Event:
    """A lead's details or opt-out changed: its open conversation re-reads its heading, notices and composer."""
    event = Event.objects.create(
        type=Event.Type.LEAD_CHANGED, lead=lead, payload={"lead_id": str(lead.pk), "lead_name": lead.name}
    )
    announce()
    return event


def events_prune() -> int:
    """Events are for screens catching up, not an archive: drop those older than a week."""
    deleted, _ = Event.objects.filter(created_at__lt=timezone.now() - RETENTION).delete()
    return deleted
