"""A lead with something of every kind that erasure removes, and the rows of others that it must keep."""

from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.auth import get_user_model
from django.contrib.contenttypes.models import ContentType
from django.core.files.base import ContentFile

from campaigns.tests.factories import CampaignRecipientFactory
from conversations.models import Conversation, Mention, Note
from leads.models import Lead
from leads.tests.factories import LeadFactory
from messaging.models import MessageMedia, ProviderLog, WebhookEvent
from messaging.tests.factories import InboundMessageFactory, MessageFactory
from notifications.models import Event

JPEG = b"\xff\xd8\xff\xe0" + b"photo" * 50


def attachment(message, *, position=0, content=JPEG) -> MessageMedia:
    media = MessageMedia(message=message, position=position, content_type="image/jpeg", status="stored")
    media.file.save("attachment.jpg", ContentFile(content), save=False)
    media.size = len(content)
    media.save()
    return media


def event(*, sid="", sender="", recipient="", **payload) -> WebhookEvent:
    return WebhookEvent.objects.create(
        provider="twilio", kind="inbound", message_sid=sid, sender=sender, recipient=recipient,
        payload={"MessageSid": sid, **payload}, signature_valid=True,
    )  # fmt: skip


def full_lead(phone="+905551234567", name="Ayşe Yılmaz"):
    """The lead and what belongs to it: two messages (one with an attachment), webhook events by SID and by
    number, provider logs, a notification, a campaign place, admin history, its conversation with a private note
    mentioning an agent."""
    lead = LeadFactory(phone=phone, name=name)
    inbound = InboundMessageFactory(lead=lead, body="Merhaba, düğün için yer var mı?")
    outbound = MessageFactory(lead=lead, body="Evet, var.")
    media = attachment(inbound)
    event(sid=inbound.twilio_message_sid, sender=phone, From=f"whatsapp:{phone}", Body=inbound.body)
    event(sid=outbound.twilio_message_sid, recipient=phone, MessageStatus="delivered", To=f"whatsapp:{phone}")
    event(sid="SMnotoneofitsmessages", sender=phone, From=f"whatsapp:{phone}")  # its number: its event too
    for message in (inbound, outbound):
        ProviderLog.objects.create(provider="twilio", kind="send", method="POST", url="https://x", duration_ms=1,
                                   message=message, request_body=f"To={phone}")  # fmt: skip
    Event.objects.create(type=Event.Type.NEW_MESSAGE, lead=lead, message=inbound, payload={"body": inbound.body})
    CampaignRecipientFactory(lead=lead)
    conversation = Conversation.objects.create(lead=lead, opened_at=inbound.created_at)
    editor = get_user_model().objects.get_or_create(username="editor")[0]
    note = Note.objects.create(lead=lead, author=editor, body=f"{name} aradı, {phone}")
    Mention.objects.create(note=note, user=editor, lead=lead)
    assert conversation.pk
    LogEntry.objects.create(
        user=editor,
        content_type=ContentType.objects.get_for_model(Lead), object_id=str(lead.pk), object_repr=lead.name,
        action_flag=CHANGE, change_message="[]",
    )  # fmt: skip
    return lead, [inbound, outbound], media


def others(phone="+905551234567"):
    """Someone else whose number shares the lead's last ten digits (the fallback key), and an event from a number
    that contains the lead's as a substring: neither is the lead's."""
    near = LeadFactory(phone="+1" + phone[-10:], name="Başka Biri")
    message = InboundMessageFactory(lead=near)
    near_media = attachment(message)
    kept = [
        event(sid=message.twilio_message_sid, sender=near.phone, From=f"whatsapp:{near.phone}"),
        event(sid="SMsubstring", sender=phone + "0", From=f"whatsapp:{phone}0"),
    ]
    return near, near_media, kept
