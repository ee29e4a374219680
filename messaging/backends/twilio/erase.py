"""Deleting a message and its media at Twilio (erasure), with the real twilio client."""

import requests
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.rest import Client

from messaging.backends.base import ProviderDeletion

NOT_FOUND = 404


def _error(exc: Exception) -> str:
    if isinstance(exc, TwilioRestException):
        return f"HTTP {exc.status}, error {exc.code}: {exc.msg}" if exc.code else f"HTTP {exc.status}: {exc.msg}"
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
    except TwilioRestException as exc:
        if exc.status == NOT_FOUND:
            return ProviderDeletion(sid=sid, outcome=ProviderDeletion.ABSENT, media_deleted=deleted_media)
        return ProviderDeletion(
            sid=sid, outcome=ProviderDeletion.FAILED, media_deleted=deleted_media, error=_error(exc)
        )
    except (TwilioException, requests.RequestException) as exc:
        return ProviderDeletion(
            sid=sid, outcome=ProviderDeletion.FAILED, media_deleted=deleted_media, error=_error(exc)
        )
    return ProviderDeletion(sid=sid, outcome=ProviderDeletion.DELETED, media_deleted=deleted_media)
