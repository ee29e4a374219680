"""A received message's rich content (its provider's parser reads it into neutral objects) as `Message.content`
keeps it: messaging.content describes the shape."""

from messaging.backends.base import BaseBackend, RichContent
from messaging.content import coordinate
from messaging.opt_words import ConsentChange


def _kept(**parts: str) -> dict[str, str]:
    return {key: value for key, value in parts.items() if value}


def message_content(rich: RichContent) -> dict:
    """Only the parts the message has; `{}` for a plain one."""
    content: dict = {}
    if (location := rich.location) is not None:
        latitude, longitude = coordinate(location.latitude, limit=90), coordinate(location.longitude, limit=180)
        place = {"latitude": latitude, "longitude": longitude} if None not in (latitude, longitude) else {}
        if kept := {**place, **_kept(label=location.label, address=location.address)}:
            content["location"] = kept
    if (button := rich.button) is not None and (button.text or button.payload):
        content["choice"] = {"kind": button.kind, **_kept(title=button.text, id=button.payload)}
    if rich.replied_to_sid:
        content["quoted_sid"] = rich.replied_to_sid
    if (referral := rich.referral) is not None:
        kept = _kept(
            headline=referral.headline,
            body=referral.body,
            source_url=referral.source_url,
            source_type=referral.source_type,
            source_id=referral.source_id,
        )
        if kept:
            content["referral"] = kept
    return content


def stored_details_content(*, backend: BaseBackend, details: dict) -> dict:
    """The content of a message stored with only its provider's details (before `content` was kept)."""
    return message_content(backend.details_content(details)) if details else {}


def consent_content(change: ConsentChange | None) -> dict:
    """Why the message opted its lead out or in (Message.opt_change says which): our word or the provider's."""
    return {"consent": {"by": change.by, "word": change.word}} if change else {}
