"""Reading a stored webhook payload: what the database can hold, and one value of a field for processing.

A request Twilio signed is always stored (refusing it loses it: Twilio does not retry a 4xx);
what processing cannot use is rejected there, with its reason, by PermanentWebhookError."""

from urllib.parse import quote

from messaging.models import WebhookEvent

NUL = "\x00"
REPLACEMENT = "\ufffd"  # PostgreSQL stores no NUL in text or jsonb
SID_MAX_LENGTH = WebhookEvent._meta.get_field("message_sid").max_length


class PermanentWebhookError(Exception):
    """The event can never be processed as it stands; retrying would not help."""


def _replace_nul(value):
    if isinstance(value, list):
        return [_replace_nul(item) for item in value]
    return value.replace(NUL, REPLACEMENT) if isinstance(value, str) else value


def _has_nul(value) -> bool:
    if isinstance(value, list):
        return any(_has_nul(item) for item in value)
    return isinstance(value, str) and NUL in value


def _percent_encoded(value):
    if isinstance(value, list):
        return [_percent_encoded(item) for item in value]
    return quote(value, safe="") if isinstance(value, str) else value


def payload_storable(payload: dict) -> tuple[dict, dict]:
    """The payload with every NUL replaced by U+FFFD, and the fields that held one, percent-encoded as received.

    The second mapping is keyed and valued percent-encoded (`urllib.parse.unquote` gives back the exact text).
    """
    storable, originals = {}, {}
    for name, value in payload.items():
        if _has_nul(name) or _has_nul(value):
            originals[_percent_encoded(name)] = _percent_encoded(value)
        storable[_replace_nul(name)] = _replace_nul(value)
    return storable, originals


def payload_field(payload: dict, name: str, *, max_length: int | None = None) -> str:
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


def payload_message_sid(payload: dict) -> str:
    """The message's SID (MessageSid, or the older SmsSid), one value that fits where SIDs are stored."""
    name = "MessageSid" if payload.get("MessageSid") else "SmsSid"
    sid = payload_field(payload, name, max_length=SID_MAX_LENGTH)
    if not sid:
        raise PermanentWebhookError("The request has no MessageSid.")
    return sid
