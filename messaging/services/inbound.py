"""A message a lead sent us: matched to its lead (created when new), stored once, its media fetched after."""

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F, Value
from django.db.models.functions import Coalesce, Greatest
from django.utils import timezone

from happycrm.queue import enqueue_on_commit
from leads.models import Lead
from leads.phones import normalize_phone
from leads.services import lead_get_or_create_for_phone, lead_set_opted_out
from messaging.backends.twilio import OPT_IN_KEYWORDS, OPT_OUT_KEYWORDS, media_count
from messaging.models import Channel, Message, MessageMedia, MessageStatus, WebhookEvent
from notifications.services import event_new_message

from .payloads import PermanentWebhookError, payload_field, payload_message_sid

METADATA_FIELDS = (
    "ProfileName",
    "WaId",
    "Forwarded",
    "FrequentlyForwarded",
    "ButtonText",
    "ButtonPayload",
    "ButtonType",
    "Latitude",
    "Longitude",
    "Address",
    "Label",
    "OriginalRepliedMessageSid",
    "MessagingServiceSid",
    "NumSegments",
    "FromCountry",
    "FromState",
    "FromCity",
)
METADATA_PREFIXES = ("Referral",)


def channel_for_sender(sender: str) -> str:
    """A `whatsapp:` sender is WhatsApp, whatever else the request says; anything else is SMS."""
    return Channel.WHATSAPP if sender.strip().lower().startswith("whatsapp:") else Channel.SMS


def inbound_metadata(payload: dict) -> dict:
    return {
        key: value
        for key, value in payload.items()
        if value not in ("", None) and (key in METADATA_FIELDS or key.startswith(METADATA_PREFIXES))
    }


SOURCE_URL_MAX_LENGTH = MessageMedia._meta.get_field("source_url").max_length
CONTENT_TYPE_MAX_LENGTH = MessageMedia._meta.get_field("content_type").max_length


def inbound_media(payload: dict) -> list[tuple[str, str]]:
    """(MediaUrlN, MediaContentTypeN) for N below NumMedia, never more than Twilio's ten however many are posted.

    A repeated one of these fields cannot be read (PermanentWebhookError, like any field processing needs)."""
    items = []
    for index in range(media_count(payload_field(payload, "NumMedia"))):
        url = payload_field(payload, f"MediaUrl{index}")
        if url:
            items.append((url, payload_field(payload, f"MediaContentType{index}")))
    return items


def inbound_attachment(*, position: int, url: str, content_type: str) -> MessageMedia:
    """An attachment to fetch, or one refused at once (with the reason) when its URL cannot even be kept; the
    declared type is only a hint (the stored one is sniffed from the bytes), so an over-long one is dropped."""
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


def inbound_message_receive(*, event: WebhookEvent) -> tuple[WebhookEvent.Outcome, str]:
    """Store the message in `event` once, however often Twilio delivers it; returns the outcome and a note."""
    payload = event.payload
    sid = payload_message_sid(payload)
    sender = payload_field(payload, "From")
    body = payload_field(payload, "Body")
    profile_name = payload_field(payload, "ProfileName")
    try:
        e164 = normalize_phone(sender)
    except ValidationError:
        raise PermanentWebhookError(f"The sender {sender!r} is not a phone number.") from None
    if Message.objects.filter(twilio_message_sid=sid).exists():
        return WebhookEvent.Outcome.DUPLICATE, ""

    match, _ = lead_get_or_create_for_phone(e164=e164, profile_name=profile_name)
    lead = match.lead
    note = ""
    if match.ambiguous:
        note = f"{match.candidates} leads share the last 10 digits of {e164}; matched the most recently active one."

    attachments = [
        inbound_attachment(position=index, url=url, content_type=content_type)
        for index, (url, content_type) in enumerate(inbound_media(payload))
    ]
    try:
        with transaction.atomic():
            message = Message.objects.create(
                lead=lead,
                body=body,
                channel=channel_for_sender(sender),
                is_from_lead=True,
                is_read=False,
                status=MessageStatus.RECEIVED,
                twilio_message_sid=sid,
                metadata=inbound_metadata(payload),
                media_url=attachments[0].get_absolute_url() if attachments else "",
                media_content_type=attachments[0].content_type if attachments else "",
                created_at=event.received_at,
            )
    except IntegrityError:
        # The same SID was stored by a concurrent delivery of this message.
        return WebhookEvent.Outcome.DUPLICATE, note

    for attachment in attachments:
        attachment.message = message
    MessageMedia.objects.bulk_create(attachments)

    received = Value(message.created_at)
    Lead.objects.filter(pk=lead.pk).update(
        unread_count=F("unread_count") + 1,
        last_inbound_at=Greatest(Coalesce("last_inbound_at", received), received),
        last_message_at=Greatest(Coalesce("last_message_at", received), received),
        updated_at=timezone.now(),
    )
    keyword = message.body.strip().upper()
    if keyword in OPT_OUT_KEYWORDS:
        lead_set_opted_out(lead=lead, opted_out=True)
    elif keyword in OPT_IN_KEYWORDS:
        lead_set_opted_out(lead=lead, opted_out=False)

    event_new_message(message=message)
    from messaging.tasks import fetch_media

    for attachment in attachments:
        if attachment.status == MessageMedia.Status.PENDING:
            enqueue_on_commit(fetch_media, str(attachment.pk))
    return WebhookEvent.Outcome.STORED, note
