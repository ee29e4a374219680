"""Twilio's webhook form, read into our neutral objects: an inbound message or a status update.

Every field is read as one value; a repeated or over-long one cannot be processed (PermanentWebhookError), and
the stored event says why."""

from messaging.backends.base import (
    AdReferral,
    Attachment,
    Button,
    InboundMessage,
    Location,
    PermanentWebhookError,
    RichContent,
    StatusUpdate,
)
from messaging.models import Channel, WebhookEvent

from .codes import INBOUND_STATUSES, MAX_MEDIA_PER_MESSAGE, OPTED_OUT_ERROR, STATUS_MAPPING, error_code, opt_change

SID_MAX_LENGTH = WebhookEvent._meta.get_field("message_sid").max_length
# What else Twilio says about an inbound message that is worth keeping (the rest: account, API version, …).
DETAIL_FIELDS = (
    "ProfileName",
    "WaId",
    "Forwarded",
    "FrequentlyForwarded",
    "ButtonText",
    "ButtonPayload",
    "ButtonType",
    "ListId",
    "ListTitle",
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
REFERRAL_PREFIX = "Referral"
# A click-to-WhatsApp ad's fields in our names (Chatwoot's Twilio::ReferralParamsHelper reads the same ones).
REFERRAL_FIELDS = {
    "headline": "ReferralHeadline",
    "body": "ReferralBody",
    "source_url": "ReferralSourceUrl",
    "source_type": "ReferralSourceType",
    "source_id": "ReferralSourceId",
}


def field(payload: dict, name: str, *, max_length: int | None = None) -> str:
    """The one value of field `name` ("" when absent); a repeated or over-long field cannot be processed."""
    value = payload.get(name)
    if value is None:
        return ""
    if isinstance(value, list):
        raise PermanentWebhookError(f"The field {name} is repeated ({len(value)} values); it must have one value.")
    value = str(value)
    if max_length is not None and len(value) > max_length:
        raise PermanentWebhookError(
            f"The field {name} is {len(value)} characters long; at most {max_length} can be processed."
        )
    return value


def message_sid(payload: dict) -> str:
    """The message's SID (MessageSid, or the older SmsSid), one value that fits where SIDs are stored."""
    name = "MessageSid" if payload.get("MessageSid") else "SmsSid"
    sid = field(payload, name, max_length=SID_MAX_LENGTH)
    if not sid:
        raise PermanentWebhookError("The request has no MessageSid.")
    return sid


def _status_values(payload: dict) -> list[str]:
    value = payload.get("MessageStatus") or payload.get("SmsStatus") or ""
    return [str(status).lower() for status in (value if isinstance(value, list) else [value])]


def is_status_callback(payload: dict) -> bool:
    """A status callback carries a delivery status; an inbound message has none, or `received`.

    A repeated status field counts as a callback when any of its values is one (parsing then rejects it)."""
    return any(status and status not in INBOUND_STATUSES for status in _status_values(payload))


def kind_and_sid(payload: dict) -> tuple[str, str]:
    kind = WebhookEvent.Kind.STATUS if is_status_callback(payload) else WebhookEvent.Kind.INBOUND
    try:
        sid = message_sid(payload)
    except PermanentWebhookError:
        sid = ""
    return kind, sid


def parties(payload: dict) -> tuple[str, str]:
    """(From, To) without their channel prefix (`whatsapp:`); "" for one that is missing or repeated."""

    def number(name: str) -> str:
        value = payload.get(name)
        if not isinstance(value, str):
            return ""
        return value.split(":", 1)[1] if ":" in value else value

    return number("From"), number("To")


def channel_for_sender(sender: str) -> str:
    """A `whatsapp:` sender is WhatsApp, whatever else the request says; anything else is SMS."""
    return Channel.WHATSAPP if sender.strip().lower().startswith("whatsapp:") else Channel.SMS


def media_count(num_media) -> int:
    """How many MediaUrlN to read: NumMedia, never more than Twilio's ten (0 when it is missing or not a number)."""
    try:
        count = int(str(num_media).strip())
    except (TypeError, ValueError):
        return 0
    return max(0, min(count, MAX_MEDIA_PER_MESSAGE))


def attachments(payload: dict) -> tuple[Attachment, ...]:
    """(MediaUrlN, MediaContentTypeN) for N below NumMedia, never more than Twilio's ten however many are posted."""
    items = []
    for index in range(media_count(field(payload, "NumMedia"))):
        url = field(payload, f"MediaUrl{index}")
        if url:
            items.append(Attachment(url=url, content_type=field(payload, f"MediaContentType{index}")))
    return tuple(items)


def details(payload: dict) -> dict:
    return {
        key: value
        for key, value in payload.items()
        if value not in ("", None) and (key in DETAIL_FIELDS or key.startswith(REFERRAL_PREFIX))
    }


def chosen_option(payload: dict) -> Button | None:
    """A quick-reply button (ButtonText, ButtonPayload) or a list-picker item (ListTitle, ListId) the lead chose."""
    list_id, list_title = field(payload, "ListId"), field(payload, "ListTitle")
    if list_id or list_title:
        return Button(text=list_title or field(payload, "Body"), payload=list_id, kind=Button.LIST)
    button_text, button_payload = field(payload, "ButtonText"), field(payload, "ButtonPayload")
    if button_text or button_payload:
        return Button(text=button_text or field(payload, "Body"), payload=button_payload, kind=Button.BUTTON)
    return None


def rich_content(payload: dict) -> RichContent:
    """The option chosen, the location shared, the message quoted and the ad that started it, in our terms."""
    location = None
    if latitude := field(payload, "Latitude"):
        location = Location(
            latitude=latitude,
            longitude=field(payload, "Longitude"),
            address=field(payload, "Address"),
            label=field(payload, "Label"),
        )
    referral = AdReferral(**{ours: field(payload, theirs) for ours, theirs in REFERRAL_FIELDS.items()})
    quoted = field(payload, "OriginalRepliedMessageSid")
    return RichContent(
        button=chosen_option(payload),
        location=location,
        replied_to_sid=quoted if len(quoted) <= SID_MAX_LENGTH else "",  # no SID of ours is longer: none we have
        referral=referral if referral != AdReferral() else None,  # ReferralNumMedia=0 comes with every message
    )


def details_content(details: dict) -> RichContent:
    """The rich content of a message stored with only Twilio's fields (`details`); nothing when they are unreadable."""
    try:
        return rich_content(details)
    except PermanentWebhookError:
        return RichContent()


def inbound_message(payload: dict) -> InboundMessage:
    sender = field(payload, "From")
    body = field(payload, "Body")
    rich = rich_content(payload)
    return InboundMessage(
        sid=message_sid(payload),
        sender=sender.split(":", 1)[1] if ":" in sender else sender,
        channel=channel_for_sender(sender),
        body=body,
        profile_name=field(payload, "ProfileName"),
        attachments=attachments(payload),
        button=rich.button,
        location=rich.location,
        replied_to_sid=rich.replied_to_sid,
        referral=rich.referral,
        details=details(payload),
        opt_out=opt_change(body),
    )


def status_update(payload: dict) -> StatusUpdate:
    status_field = "MessageStatus" if payload.get("MessageStatus") else "SmsStatus"
    status = field(payload, status_field).lower()
    code = error_code(field(payload, "ErrorCode"))
    return StatusUpdate(
        sid=message_sid(payload),
        status=STATUS_MAPPING.get(status, status),
        error_code=code,
        error_message=field(payload, "ErrorMessage"),
        recipient_opted_out=code == OPTED_OUT_ERROR,
    )


def parse(payload: dict) -> InboundMessage | StatusUpdate:
    return status_update(payload) if is_status_callback(payload) else inbound_message(payload)
