"""A lead's messaging data, removed for its erasure (privacy calls these; the lead's own row is leads')."""

import logging
from dataclasses import dataclass, field

from django.core.files.storage import default_storage
from django.db import transaction

from messaging.backends.base import ProviderDeletion, backend_for_provider
from messaging.backends.httplog import log_context_cleared
from messaging.models import ErasedMessage, Message, MessageMedia, ProviderLog, WebhookEvent
from messaging.selectors import lead_webhook_events_q

logger = logging.getLogger(__name__)


@dataclass
class MessagingErased:
    """What was removed (per kind), the stored files to delete once that commits, and the provider's copies to
    delete then: (provider, SID) each."""

    counts: dict[str, int] = field(default_factory=dict)
    files: list[str] = field(default_factory=list)
    provider_messages: list[tuple[str, str]] = field(default_factory=list)


def lead_messaging_erase(*, lead_id, e164: str) -> MessagingErased:
    """Delete the lead's messages, attachment rows, webhook events and provider log entries, and keep each SID
    as a tombstone; in the caller's transaction. Files and the provider's copies are the caller's to delete after
    the commit (they cannot be rolled back)."""
    with transaction.atomic(savepoint=False):
        messages = list(
            Message.objects.select_for_update()
            .filter(lead_id=lead_id)
            .values_list("pk", "twilio_message_sid", "provider")
        )
        ids = [pk for pk, _, _ in messages]
        sids = [sid for _, sid, _ in messages if sid]
        # Locked: a fetch writing one of these files finishes first (its file is then in the list), or finds
        # its row gone afterwards and writes nothing.
        media = list(MessageMedia.objects.select_for_update().filter(message_id__in=ids).values_list("pk", "file"))
        erased = MessagingErased(
            files=[name for _, name in media if name],
            provider_messages=[(provider, sid) for _, sid, provider in messages if sid],
        )
        ErasedMessage.objects.bulk_create(
            [ErasedMessage(sid_hash=ErasedMessage.hash_sid(sid)) for sid in sids], ignore_conflicts=True
        )
        events, _ = WebhookEvent.objects.filter(lead_webhook_events_q(sids=sids, e164=e164)).delete()
        logs, _ = ProviderLog.objects.filter(message_id__in=ids).delete()
        MessageMedia.objects.filter(message_id__in=ids).delete()
        Message.objects.filter(pk__in=ids).delete()
        erased.counts = {
            "messages": len(ids),
            "attachments": len(media),
            "files": len(erased.files),
            "webhook_events": events,
            "provider_logs": logs,
            "provider_messages": len(sids),
        }
    return erased


def provider_messages_delete(*, messages: list[tuple[str, str]]) -> list[ProviderDeletion]:
    """Delete each (provider, SID) at its provider; one that fails is recorded, never raised."""
    outcomes = []
    with log_context_cleared():  # the messages are gone: their log lines must not point at them
        for provider, sid in messages:
            outcomes.append(_provider_message_delete(provider, sid))
    return outcomes


def _provider_message_delete(provider: str, sid: str) -> ProviderDeletion:
    try:
        backend = backend_for_provider(provider)
    except LookupError as exc:
        return ProviderDeletion(sid=sid, outcome=ProviderDeletion.FAILED, error=str(exc))
    return backend.message_delete(sid)


def stored_files_delete(*, names: list[str]) -> dict[str, str]:
    """Remove stored files (local disk or S3): those that could not be removed, with the reason."""
    failed = {}
    for name in names:
        try:
            default_storage.delete(name)
        except Exception as exc:
            logger.warning("Could not remove the stored file %s", name, exc_info=True)
            failed[name] = f"{type(exc).__name__}: {exc}"
    return failed
