"""What a message carries beyond its text and attachments, in our own terms: the shape `Message.content` keeps
(written when the message arrives, by messaging.services.content) and what the thread and the API show of it.

`Message.content` holds only what was there, each part under its key:
    location    {"latitude": float, "longitude": float, "label": str, "address": str} (no coordinates when the
                sender's were not a place on Earth)
    choice      {"kind": "button" | "list", "title": str, "id": str}: the option the lead chose
    quoted_sid  the provider's SID of the message this one quotes (ours or the lead's)
    referral    {"headline", "body", "source_url", "source_type", "source_id"}: the ad or post that started it
    consent     {"by": "word" | "provider", "word": str}: why it opted its lead out or in (Message.opt_change: which)
Everything is the sender's text, stored as it came and escaped where it is shown; a link is shown only for http(s).
"""

import math
from urllib.parse import urlsplit

from .media_types import normalize

OPENSTREETMAP = "https://www.openstreetmap.org/"  # a link the agent opens: no map is loaded into our pages (CSP)
MAP_ZOOM = 17
LINK_SCHEMES = frozenset({"http", "https"})
STICKER_TYPE = "image/webp"  # WhatsApp sends its stickers as WebP images, and nothing else in that format


def coordinate(value, *, limit: float) -> float | None:
    """A latitude (limit 90) or longitude (limit 180) as a number, or None when it is not one."""
    try:
        number = float(str(value).strip())
    except (TypeError, ValueError):
        return None
    if not math.isfinite(number) or abs(number) > limit:
        return None
    return number


def map_url(latitude: float, longitude: float) -> str:
    return f"{OPENSTREETMAP}?mlat={latitude:.6f}&mlon={longitude:.6f}#map={MAP_ZOOM}/{latitude:.6f}/{longitude:.6f}"


def safe_link(url) -> str:
    """`url` when it is an http(s) address with a host, else "" (a `javascript:` or `data:` one is never a link)."""
    if not isinstance(url, str):
        return ""
    url = url.strip()
    try:
        parts = urlsplit(url)
    except ValueError:
        return ""
    if parts.scheme.lower() not in LINK_SCHEMES or not parts.netloc or any(ord(char) < 33 for char in url):
        return ""
    return url


def _text(value) -> str:
    return value if isinstance(value, str) else ""


def location_view(stored) -> dict | None:
    if not isinstance(stored, dict):
        return None
    latitude = coordinate(stored.get("latitude"), limit=90)
    longitude = coordinate(stored.get("longitude"), limit=180)
    has_place = latitude is not None and longitude is not None
    return {
        "latitude": latitude if has_place else None,
        "longitude": longitude if has_place else None,
        "label": _text(stored.get("label")),
        "address": _text(stored.get("address")),
        "map_url": map_url(latitude, longitude) if has_place else "",
    }


def choice_view(stored) -> dict | None:
    if not isinstance(stored, dict):
        return None
    kind = "list" if stored.get("kind") == "list" else "button"
    return {"kind": kind, "title": _text(stored.get("title")), "id": _text(stored.get("id"))}


def referral_view(stored) -> dict | None:
    if not isinstance(stored, dict):
        return None
    source_url = _text(stored.get("source_url"))
    return {
        "headline": _text(stored.get("headline")),
        "body": _text(stored.get("body")),
        "url": safe_link(source_url),
        "source_url": source_url,
        "source_type": _text(stored.get("source_type")),
        "source_id": _text(stored.get("source_id")),
    }


def quote_view(sid: str, quoted) -> dict:
    """The quoted message (None when we do not have it) and what to show of it."""
    summary = ""
    if quoted is not None:
        location = location_view((quoted.content or {}).get("location"))
        summary = quoted.body or (location and (location["label"] or location["address"])) or ""
    return {"sid": sid, "message": quoted, "summary": summary, "has_media": bool(quoted and quoted.media_content_type)}


def is_sticker(*, channel: str, attachments) -> bool:
    """A WhatsApp sticker: its one attachment, stored, a WebP image."""
    if channel != "whatsapp" or len(attachments) != 1:
        return False
    media = attachments[0]
    return media.status == "stored" and normalize(media.content_type) == STICKER_TYPE


def consent_view(stored, *, change: str, channel: str) -> dict | None:
    if not change:
        return None
    stored = stored if isinstance(stored, dict) else {}
    by = "provider" if stored.get("by") == "provider" else "word"
    return {"change": change, "by": by, "word": _text(stored.get("word")), "channel": channel}


def content_view(*, content, channel: str, attachments, quoted, opt_change: str = "") -> dict:
    """What the thread and the API show of a message's content (`Message.rich`)."""
    content = content if isinstance(content, dict) else {}
    sid = _text(content.get("quoted_sid"))
    return {
        "consent": consent_view(content.get("consent"), change=opt_change, channel=channel),
        "location": location_view(content.get("location")),
        "choice": choice_view(content.get("choice")),
        "quote": quote_view(sid, quoted) if sid else None,
        "referral": referral_view(content.get("referral")),
        "contacts": [card for media in attachments for card in media.contacts or []],
        "sticker": is_sticker(channel=channel, attachments=attachments),
    }
