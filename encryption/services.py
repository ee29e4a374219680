"""Encryption at rest run over every app's stored content: counts per key, rotation and decryption, each app
rewriting its own rows through its service; and the record of which keys are in use, for the start-up check."""

from collections import Counter
from collections.abc import Callable

from django.db import transaction
from django.utils.translation import gettext as _

from happycrm import crypto
from happycrm.crypto_rows import PLAINTEXT, REWRITE_BATCH
from messaging.services.encryption import messaging_key_counts, messaging_reencrypt
from notifications.services import events_key_counts, events_reencrypt
from webhooks.services import webhooks_key_counts, webhooks_reencrypt

from .models import KeyInUse

COUNTERS = (messaging_key_counts, events_key_counts, webhooks_key_counts)
REWRITERS = (messaging_reencrypt, events_reencrypt, webhooks_reencrypt)


class EncryptionRefused(Exception):
    """Why a command cannot run with the configured keys (one line)."""


def keys_unknown() -> list[str]:
    """The key ids rows are recorded under that MESSAGE_ENCRYPTION_KEYS does not hold."""
    configured = set(crypto.keyring().key_ids)
    return sorted(kid for kid in KeyInUse.objects.values_list("key_id", flat=True) if kid not in configured)


def key_in_use_record(*, key_id: str) -> None:
    KeyInUse.objects.bulk_create([KeyInUse(key_id=key_id)], ignore_conflicts=True)


def _keys_in_use_set(key_ids: set[str]) -> None:
    """The record made exact from a count; the newest key stays (processes starting now write under it)."""
    primary = crypto.keyring().primary
    if primary:
        key_ids = key_ids | {primary}
    with transaction.atomic():
        KeyInUse.objects.exclude(key_id__in=key_ids).delete()
        KeyInUse.objects.bulk_create([KeyInUse(key_id=kid) for kid in sorted(key_ids)], ignore_conflicts=True)


def encryption_status() -> dict[str, Counter]:
    """{"model.field": {key id or "plaintext": values}} for every encrypted column and the attachment files; the
    keys-in-use record is set from what was counted."""
    counts = {}
    for counter in COUNTERS:
        counts.update(counter())
    _keys_in_use_set({kid for counter in counts.values() for kid in counter if kid != PLAINTEXT})
    return counts


def _refuse_unreadable() -> None:
    unknown = keys_unknown()
    if unknown:
        raise EncryptionRefused(
            _(
                "Rows are encrypted under the key(s) %(keys)s, which MESSAGE_ENCRYPTION_KEYS does not hold: add them "
                "back (after the newest key) and run again."
            )
            % {"keys": ", ".join(unknown)}
        )


def encryption_rotate(*, batch_size: int = REWRITE_BATCH, progress: Callable[[str, int], None] | None = None) -> int:
    """Every stored value and file not under the newest key (plaintext ones included) rewritten under it, in
    batches; rerunning it continues where it stopped. Returns how many rows and files were rewritten."""
    ring = crypto.keyring()
    if ring.primary is None:
        raise EncryptionRefused(
            _("MESSAGE_ENCRYPTION_KEYS names no key to encrypt with (its first entry must be a key).")
        )
    _refuse_unreadable()
    key_in_use_record(key_id=ring.primary)
    done = sum(rewrite(batch_size=batch_size, progress=progress) for rewrite in REWRITERS)
    encryption_status()
    return done


def encryption_decrypt(*, batch_size: int = REWRITE_BATCH, progress: Callable[[str, int], None] | None = None) -> int:
    """Every encrypted value and file rewritten in plaintext (the folded search copies filled again), in batches.

    Processes still running with a key first keep encrypting what they write: restart them with `plaintext` as
    the first entry of MESSAGE_ENCRYPTION_KEYS before, and remove the variable after."""
    if not crypto.keyring().key_ids:
        raise EncryptionRefused(
            _("MESSAGE_ENCRYPTION_KEYS is empty: the keys the rows are encrypted under are needed.")
        )
    _refuse_unreadable()
    with crypto.writing_plaintext():
        done = sum(rewrite(batch_size=batch_size, progress=progress) for rewrite in REWRITERS)
        encryption_status()
    return done
