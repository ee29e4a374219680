"""A stored webhook payload: what the database can hold of it, and what its provider's parser reads from it.

A request the provider signed is always stored (refusing it loses it: providers do not retry a 4xx);
what processing cannot use is rejected there, with its reason, by PermanentWebhookError."""

from urllib.parse import quote

from messaging.backends.base import InboundMessage, PermanentWebhookError, StatusUpdate, backend_for_provider
from messaging.models import WebhookEvent

NUL = "\x00"
REPLACEMENT = "\ufffd"  # PostgreSQL stores no NUL in text or jsonb


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


def webhook_event_parse(event: WebhookEvent) -> InboundMessage | StatusUpdate:
    """The stored payload read by the parser of the provider that received it (so old events reprocess too);
    PermanentWebhookError when it cannot be read."""
    try:
        backend = backend_for_provider(event.provider)
    except LookupError as exc:
        raise PermanentWebhookError(str(exc)) from None
    return backend.parse(event.payload)
