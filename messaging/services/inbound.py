"""A message a lead sent us: matched to its lead (created when new), stored once, its media fetched after."""

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from happycrm.queue import enqueue_on_commit
from leads.phones import normalize_phone
from leads.services import lead_get_or_create_for_phone, lead_record_inbound, lead_set_opted_out
from messaging.backends.base import Attachment, InboundMessage, PermanentWebhookError
from messaging.models import Channel, Message, MessageMedia, MessageStatus, WebhookEvent

from .events import event_new_message

SOURCE_URL_MAX_LENGTH = MessageMedia._meta.get_field("source_url").max_length
CONTENT_TYPE_MAX_LENGTH = MessageMedia._meta.get_field("content_type").max_length
FETCH_MEDIA_TASK = "messaging.fetch_media"


def inbound_attachment(*, position: int, attachment: Attachment) -> MessageMedia:
    """An attachment to fetch, or one refused at once (with the reason) when its URL cannot even be kept; the
    declared type is only a hint (the stored one is sniffed from the bytes), so an over-long one is dropped."""
    url, content_type = attachment.url, attachment.content_type
    if len(content_type) > CONTENT_TYPE_MAX_LENGTH:
        content_type = ""
    if len(url) > SOURCE_URL_MAX_LENGTH:
        return MessageMedia(
            position=position,
            content_type=content_type,
            status=MessageMedia.Status.FAILED,
            error=f"Refused: the URL is {len(url)} characters long; at most {SOURCE_URL_MAX_LENGTH} are kept.",
        )
    return MessageMedia(position=position, source_url=url, content_type=content_type)


def inbound_message_receive(*, message: InboundMessage, provider: str, received_at) -> tuple[WebhookEvent.Outcome, str]:
    """Store `message` once, however often the provider delivers it; returns the outcome and a note."""
    try:
        e164 = normalize_phone(message.sender)
    except ValidationError:
        raise PermanentWebhookError(f"The sender {message.sender!r} is not a phone number.") from None
    if message.channel not in Channel.values:
        raise PermanentWebhookError(f"Unknown channel {message.channel!r}.")
    if Message.objects.filter(twilio_message_sid=message.sid).exists():
        return WebhookEvent.Outcome.DUPLICATE, ""

    match, _ = lead_get_or_create_for_phone(e164=e164, profile_name=message.profile_name)
    lead = match.lead
    note = ""
    if match.ambiguous:
        note = f"{match.candidates} leads share the last 10 digits of {e164}; matched the most recently active one."

    attachments = [
        inbound_attachment(position=index, attachment=attachment)
        for index, attachment in enumerate(message.attachments)
    ]
    try:
        with transaction.atomic():
            stored = Message.objects.create(
                lead=lead,
                body=message.body,
                channel=message.channel,
                provider=provider,
                is_from_lead=True,
                is_read=False,
                status=MessageStatus.RECEIVED,
                twilio_message_sid=message.sid,
                metadata=message.details,
                media_url=attachments[0].get_absolute_url() if attachments else "",
                media_content_type=attachments[0].content_type if attachments else "",
                created_at=received_at,
            )
    except IntegrityError:
        # The same SID was stored by a concurrent delivery of this message.
        return WebhookEvent.Outcome.DUPLICATE, note

    for attachment in attachments:
        attachment.message = stored
    MessageMedia.objects.bulk_create(attachments)

    lead_record_inbound(lead_id=lead.pk, at=stored.created_at)
    if message.opt_out is not None:
        lead_set_opted_out(lead=lead, opted_out=message.opt_out)

    event_new_message(message=stored)
    for attachment in attachments:
        if attachment.status == MessageMedia.Status.PENDING:
            enqueue_on_commit(FETCH_MEDIA_TASK, str(attachment.pk))
    return WebhookEvent.Outcome.STORED, note
