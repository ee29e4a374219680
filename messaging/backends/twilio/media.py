"""Fetching a lead's attachments from Twilio: which URLs, and Twilio's credentials on its own origin only.

Each MediaUrlN is on Twilio's API origin (or on the stand-in TWILIO_API_BASE_URL points at), which may redirect
to its storage."""

from urllib.parse import urlsplit

from django.conf import settings

TWILIO_API_ORIGIN = "https://api.twilio.com"
DEFAULT_PORTS = {"http": 80, "https": 443}


def _origin(url: str) -> tuple[str, str, int] | None:
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    try:
        port = parts.port or DEFAULT_PORTS.get(scheme)
    except ValueError:
        return None
    if scheme not in DEFAULT_PORTS or not parts.hostname:
        return None
    return scheme, parts.hostname.lower(), port


def media_origin() -> tuple[str, str, int]:
    """Scheme, host and port every inbound media URL must start on."""
    return _origin(settings.TWILIO_API_BASE_URL or TWILIO_API_ORIGIN)


def media_url_refusal(url: str, hop: int) -> str | None:
    """The first URL must be on Twilio's API origin; a redirect may leave it (to Twilio's storage), and the
    outbound guard then allows only a public address."""
    if hop == 0 and _origin(url) != media_origin():
        scheme, host, port = media_origin()
        return f"not a Twilio media URL: only {scheme}://{host}:{port} is fetched"
    return None


def media_credentials(url: str) -> tuple[str, str] | None:
    """Twilio's credentials (for "HTTP auth on media URLs") go to Twilio's API origin only, never to a redirect."""
    if _origin(url) == media_origin() and settings.TWILIO_ACCOUNT_SID and settings.TWILIO_AUTH_TOKEN:
        return settings.TWILIO_ACCOUNT_SID, settings.TWILIO_AUTH_TOKEN
    return None
