"""Copying a lead's attachments from the provider that received them into our storage."""

from urllib.parse import urlsplit

from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone

from happycrm.outbound_http import OutboundRequestFailed, OutboundRequestRefused, guarded_get
from messaging.backends.base import BaseBackend, backend_for_provider
from messaging.backends.httplog import exchange_logged, log_context
from messaging.media_types import content_type_for
from messaging.models import Message, MessageMedia, ProviderLog
from messaging.vcard import read_contacts

VCARD = "text/vcard"  # media_types folds text/x-vcard into it

MEDIA_MAX_BYTES = 25 * 1024 * 1024  # above WhatsApp's 16 MB and MMS's 5 MB limits
MEDIA_TIMEOUT = (5, 30)  # connect, read (seconds)
MEDIA_MAX_ATTEMPTS = 6


class MediaFetchError(Exception):
    """Fetching failed in a way that may pass (a fresh URL's brief 404, a timeout, a 5xx)."""


def _download(url: str, backend: BaseBackend) -> tuple[bytes, str]:
    """The attachment's bytes and the server's Content-Type; OutboundRequestRefused when the URL is not allowed.

    Recorded in the provider log as one exchange (the redirect to the provider's storage included)."""
    try:
        with exchange_logged(
            provider=backend.provider, kind=ProviderLog.Kind.MEDIA_DOWNLOAD, method="GET", url=url
        ) as exchange:
            response = guarded_get(
                url,
                policy=backend.media_url_refusal,
                auth_for=exchange.sending(backend.media_credentials),
                timeout=MEDIA_TIMEOUT,
                max_bytes=MEDIA_MAX_BYTES,
            )
            exchange.answered(
                status=response.status, body=response.content, content_type=response.content_type, url=response.url
            )
    except OutboundRequestFailed as exc:
        raise MediaFetchError(str(exc)) from exc
    if response.status >= 400:
        raise MediaFetchError(f"HTTP {response.status} from {urlsplit(response.url).hostname}")
    if response.status >= 300:
        host = urlsplit(response.url).hostname
        raise MediaFetchError(f"HTTP {response.status} without a usable redirect from {host}")
    return response.content, response.content_type


def media_fetch(*, media_id) -> MessageMedia | None:
    """Download one attachment through the outbound guard and store it under a random key.

    Only a URL the provider vouches for is requested, with its credentials where it says; a refused URL
    (another host, a redirect to a private address, too large) fails the attachment at once with the reason.
    A failure that may pass is recorded and raised for the caller to retry; after MEDIA_MAX_ATTEMPTS the
    attachment is marked failed. The stored content type is the one the bytes show. The message's text is
    never touched. None when the attachment was erased meanwhile: then no file is left behind.
    """
    media = MessageMedia.objects.select_related("message").filter(pk=media_id).first()
    if media is None:  # erased (with its message) before the fetch began
        return None
    if media.status == MessageMedia.Status.STORED:
        return media
    attempts = media.attempts + 1
    try:
        with log_context(message=media.message):
            content, served_type = _download(media.source_url, backend_for_provider(media.message.provider))
    except OutboundRequestRefused as exc:
        MessageMedia.objects.filter(pk=media.pk).update(
            attempts=attempts,
            error=f"Refused: {exc.reason}",
            status=MessageMedia.Status.FAILED,
            updated_at=timezone.now(),
        )
        media.refresh_from_db()
        return media
    except MediaFetchError as exc:
        status = MessageMedia.Status.FAILED if attempts >= MEDIA_MAX_ATTEMPTS else MessageMedia.Status.PENDING
        MessageMedia.objects.filter(pk=media.pk).update(
            attempts=attempts, error=str(exc), status=status, updated_at=timezone.now()
        )
        raise
    content_type = content_type_for(content, declared=media.content_type or served_type)
    with transaction.atomic():
        # The row is locked while the file is written: an erasure of its message waits for it and then removes
        # the file, or went first and the row is gone here, so nothing is written.
        if not MessageMedia.objects.select_for_update().filter(pk=media.pk).exists():
            return None
        media.file.save("attachment", ContentFile(content), save=False)
        try:
            media.content_type = content_type
            media.size = len(content)
            media.status = MessageMedia.Status.STORED
            media.attempts = attempts
            media.error = ""
            media.updated_at = timezone.now()
            media.contacts = read_contacts(content) if content_type == VCARD else []  # what its bubble shows
            fields = ["content_type", "size", "status", "attempts", "error", "updated_at", "file", "contacts"]
            stored = MessageMedia.objects.filter(pk=media.pk).update(**{name: getattr(media, name) for name in fields})
            if stored and media.position == 0:  # the message's summary of its first attachment follows the bytes
                Message.objects.filter(pk=media.message_id).update(media_content_type=content_type)
        except BaseException:
            media.file.storage.delete(media.file.name)
            raise
        if not stored:  # erased between the check and the write (a database without row locks): leave no file
            media.file.storage.delete(media.file.name)
            return None
    return media
