"""Deleting a message and its media at Twilio (erasure), with the real twilio client."""

import requests
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.rest import Client

from messaging.backends.base import ProviderDeletion

NOT_FOUND = 404


def _status(exc: TwilioException) -> int | None:
    """The HTTP status of a refusal: a REST error's, or that of the page a list could not read (the client raises
    the base class there, with the response beside the text)."""
    if isinstance(exc, TwilioRestException):
        return exc.status
    response = exc.args[1] if len(exc.args) > 1 else None
    return getattr(response, "status_code", None)


def _error(exc: Exception) -> str:
    if isinstance(exc, TwilioRestException):
        return f"HTTP {exc.status}, error {exc.code}: {exc.msg}" if exc.code else f"HTTP {exc.status}: {exc.msg}"
    if isinstance(exc, TwilioException) and _status(exc):
        return f"HTTP {_status(exc)}: {exc.args[0]}"
    return f"{type(exc).__name__}: {exc}"


def message_delete(twilio: Client, sid: str) -> ProviderDeletion:
    """Each media of the message first (its list, then one DELETE each), then the message itself.

    Twilio answers 404 for a message it no longer has: that is recorded as absent, not as a failure. A message
    still being sent cannot be deleted yet (Twilio refuses it): recorded as failed with Twilio's reason."""
    message = twilio.messages(sid)
    deleted_media = 0
    try:
        for media in message.media.list():
            try:
                message.media(media.sid).delete()
            except TwilioRestException as exc:
                if exc.status != NOT_FOUND:
                    raise
            deleted_media += 1
        message.delete()
    except TwilioException as exc:
        if _status(exc) == NOT_FOUND:
            return ProviderDeletion(sid=sid, outcome=ProviderDeletion.ABSENT, media_deleted=deleted_media)
        return ProviderDeletion(
            sid=sid, outcome=ProviderDeletion.FAILED, media_deleted=deleted_media, error=_error(exc)
        )
    except requests.RequestException as exc:
        return ProviderDeletion(
            sid=sid, outcome=ProviderDeletion.FAILED, media_deleted=deleted_media, error=_error(exc)
        )
    return ProviderDeletion(sid=sid, outcome=ProviderDeletion.DELETED, media_deleted=deleted_media)
