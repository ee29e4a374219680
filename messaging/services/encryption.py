"""Messaging's stored content under MESSAGE_ENCRYPTION_KEYS: its rows and attachment files counted per key and
rewritten under the newest key (or in plaintext), for `manage.py encryption`."""

import logging
from collections import Counter
from collections.abc import Callable

from django.db import transaction

from happycrm import crypto
from happycrm.crypto_rows import PLAINTEXT, REWRITE_BATCH, model_key_counts, model_rewrite
from messaging.models import Message, MessageMedia, ProviderLog, WebhookEvent, media_upload_to

logger = logging.getLogger(__name__)

ENCRYPTED_MODELS = (Message, MessageMedia, WebhookEvent, ProviderLog)  # MessageMedia: its contacts; files below
FILES = "messagemedia.file"


def _stored_files():
    return MessageMedia.objects.exclude(file="").order_by("pk")


def messaging_key_counts() -> dict[str, Counter]:
    """{"model.field": {key id or "plaintext": values}}, the attachment files included (each one's first bytes
    read from storage; a file missing from storage is not counted)."""
    counts = {}
    for model in ENCRYPTED_MODELS:
        for name, counter in model_key_counts(model).items():
            counts[f"{model._meta.model_name}.{name}"] = counter
    files = Counter()
    for media in _stored_files().iterator(chunk_size=REWRITE_BATCH):
        try:
            files[media.file.stored_key_id() or PLAINTEXT] += 1
        except Exception:  # a storage's own errors (S3's ClientError) are no OSError
            logger.warning("Attachment %s: its file %s could not be read", media.pk, media.file.name)
    counts[FILES] = files
    return counts


def messaging_reencrypt(*, batch_size: int = REWRITE_BATCH, progress: Callable[[str, int], None] | None = None) -> int:
    """Messaging's rows and attachment files under the newest key (or in plaintext): how many were rewritten."""
    done = 0
    for model in ENCRYPTED_MODELS:
        name = model._meta.model_name
        done += model_rewrite(
            model, batch_size=batch_size, progress=progress and (lambda n, name=name: progress(name, n))
        )
    return done + media_files_rewrite(progress=progress and (lambda n: progress(FILES, n)))


def media_files_rewrite(*, progress: Callable[[int], None] | None = None) -> int:
    """Each attachment not stored under the newest key (or in plaintext) written again under a new name, the row
    pointed at it in its own transaction, and the old file deleted once that committed: an interrupted run
    leaves every row pointing at a complete file."""
    primary = crypto.keyring().primary
    done = 0
    for media in _stored_files().iterator(chunk_size=REWRITE_BATCH):
        storage = media.file.storage
        try:
            if media.file.stored_key_id() == primary:
                continue
            rewritten = media.file.rewritten()
        except (crypto.UnknownKeyError, crypto.DecryptionError):
            raise
        except Exception:  # a missing file is export's and erasure's concern, not ours
            logger.warning("Attachment %s: its file %s could not be read", media.pk, media.file.name)
            continue
        old = media.file.name
        with rewritten:
            new = storage.save(media_upload_to(media, old), rewritten)
        with transaction.atomic():
            updated = MessageMedia.objects.filter(pk=media.pk, file=old).update(file=new)
        if updated:
            storage.delete(old)
            done += 1
            if progress:
                progress(done)
        else:  # erased or replaced meanwhile: the copy is nobody's
            storage.delete(new)
    return done
