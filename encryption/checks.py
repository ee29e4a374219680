"""The start-up refusal: stored values under a key that is not configured would fail to read on every page."""

from django.core.checks import Error
from django.core.exceptions import ImproperlyConfigured
from django.db import DatabaseError

from happycrm import crypto

from .services import key_in_use_record, keys_unknown

TAG = "encryption"


def encryption_keys_check(app_configs=None, **kwargs):
    """MESSAGE_ENCRYPTION_KEYS must hold Fernet keys, and every key the keys-in-use record names. A process that
    passes records its newest key, so the rows it writes are known to the next start.

    Not tagged `database` so that runserver, migrate and every command run it; the WSGI and ASGI applications and
    the Celery worker run it as they start. Without a reachable database (or before `migrate` made the table)
    there is nothing to compare yet."""
    try:
        ring = crypto.keyring()
    except ImproperlyConfigured as exc:
        return [Error(str(exc), id="encryption.E001")]
    try:
        unknown = keys_unknown()
        if not unknown and ring.primary:
            key_in_use_record(key_id=ring.primary)
    except (DatabaseError, RuntimeError):  # RuntimeError: a test runner that blocks database access
        return []
    if unknown:
        return [
            Error(
                f"Stored messages are encrypted under the key(s) {', '.join(unknown)}, which MESSAGE_ENCRYPTION_KEYS "
                "does not hold: add the key(s) back after the newest one (see `manage.py encryption status`).",
                id="encryption.E002",
            )
        ]
    return []
