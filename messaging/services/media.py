"""Copying a lead's attachments from Twilio into our storage."""

import mimetypes
from urllib.parse import urlsplit

import requests
from django.conf import settings
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone

from messaging.models import MessageMedia

TWILIO_API_HOST = "api.twilio.com"
MEDIA_MAX_BYTES = 25 * 1024 * 1024  # above WhatsApp's 16 MB and MMS's 5 MB limits
MEDIA_TIMEOUT = (5, 30)  # connect, read (seconds)
MEDIA_MAX_ATTEMPTS = 6


class MediaFetchError(Exception):
    """Fetching failed in a way that may pass (a fresh URL's brief 404, a timeout, a 5xx)."""


def twilio_credentials_for(url: str) -> tuple[str, str] | None:
    """Twilio's credentials go to Twilio's own host only (or the configured stand-in), never to a URL from a payload."""
    host = urlsplit(url).hostname
    allowed = {TWILIO_API_HOST}
    if settings.TWILIO_API_BASE_URL:
        allowed.add(urlsplit(settings.TWILIO_API_BASE_URL).hostname)
    if host in allowed and settings.TWILIO_ACCOUNT_SID and settings.TWILIO_AUTH_TOKEN:
        return settings.TWILIO_ACCOUNT_SID, settings.TWILIO_AUTH_TOKEN
    return None


def _download(url: str) -> tuple[bytes, str]:
    try:
        with requests.get(
            url, auth=twilio_credentials_for(url), timeout=MEDIA_TIMEOUT, allow_redirects=True, stream=True
        ) as response:
            if response.status_code >= 400:
                raise MediaFetchError(f"HTTP {response.status_code} from {urlsplit(response.url).hostname}")
            content = bytearray()
            for chunk in response.iter_content(chunk_size=64 * 1024):
                content.extend(chunk)
                if len(content) > MEDIA_MAX_BYTES:
                    raise MediaFetchError(f"larger than {MEDIA_MAX_BYTES // (1024 * 1024)} MB")
            content_type = response.headers.get("Content-Type", "").split(";")[0].strip()
    except requests.RequestException as exc:
        raise MediaFetchError(f"{type(exc).__name__}: {exc}") from exc
    return bytes(content), content_type


def media_fetch(*, media_id) -> MessageMedia:
    """Download one attachment with Twilio's basic auth (redirects followed) and store it under a random key.

    A failure is recorded on the attachment and raised for the caller to retry; after
    MEDIA_MAX_ATTEMPTS the attachment is marked failed. The message's text is never touched.
    """
    media = MessageMedia.objects.get(pk=media_id)
    if media.status == MessageMedia.Status.STORED:
        return media
    attempts = media.attempts + 1
    try:
        content, content_type = _download(media.source_url)
    except MediaFetchError as exc:
        status = MessageMedia.Status.FAILED if attempts >= MEDIA_MAX_ATTEMPTS else MessageMedia.Status.PENDING
        MessageMedia.objects.filter(pk=media.pk).update(
            attempts=attempts, error=str(exc), status=status, updated_at=timezone.now()
        )
        raise
    content_type = media.content_type or content_type
    extension = mimetypes.guess_extension(content_type or "") or ""
    with transaction.atomic():
        media.file.save(f"attachment{extension}", ContentFile(content), save=False)
        media.content_type = content_type
        media.size = len(content)
        media.status = MessageMedia.Status.STORED
        media.attempts = attempts
        media.error = ""
        media.save()
    return media
