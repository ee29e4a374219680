"""Encryption at rest of message content (MESSAGE_ENCRYPTION_KEYS), optional and off by default.

One codec and the field types built on it: a model declares a field encrypted and its readers never notice. A
stored value says which key encrypted it (`enc1:<key id>:<Fernet token>`), so values written under an older key
stay readable while the keys rotate, and `manage.py encryption status` counts the rows per key. A value without
the prefix is plaintext (written before encryption was switched on, or while it is off) and is read as it is.

The keys are Fernet keys (`Fernet.generate_key()`), newest first; the newest encrypts. `plaintext` as the first
entry writes plaintext while the keys after it still read what they encrypted: the way out (`encryption decrypt`).
"""

import contextlib
import contextvars
import copy
import hashlib
import io
import json
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.files.base import ContentFile, File
from django.db import models
from django.db.models.fields.files import FieldFile

PREFIX = "enc1:"
FILE_PREFIX = b"enc1:"
PLAINTEXT = "plaintext"


class UnknownKeyError(Exception):
    """A value encrypted under a key that is not in MESSAGE_ENCRYPTION_KEYS."""


class DecryptionError(Exception):
    """A value that names a configured key but does not decrypt with it (altered, or a key reused under its id)."""


def key_id(key: str) -> str:
    """A short public name of a key (a hash of it, so it reveals nothing): what stored values carry."""
    return hashlib.sha256(key.encode()).hexdigest()[:8]


class Keyring:
    def __init__(self, keys: tuple[str, ...]):
        self.writes_plaintext = not keys or keys[0] == PLAINTEXT
        self.fernets: dict[str, Fernet] = {}
        for key in keys[1:] if keys and keys[0] == PLAINTEXT else keys:
            try:
                self.fernets[key_id(key)] = Fernet(key)
            except (ValueError, TypeError) as exc:
                raise ImproperlyConfigured(
                    f"MESSAGE_ENCRYPTION_KEYS holds a value that is not a Fernet key (32 url-safe base64-encoded "
                    f"bytes, as Fernet.generate_key() makes): {exc}"
                ) from exc
        self.primary = None if self.writes_plaintext else next(iter(self.fernets))

    @property
    def key_ids(self) -> list[str]:
        return list(self.fernets)

    def fernet(self, kid: str) -> Fernet:
        try:
            return self.fernets[kid]
        except KeyError:
            raise UnknownKeyError(
                f"A value is encrypted under the key {kid}, which is not in MESSAGE_ENCRYPTION_KEYS"
            ) from None

    def reading_only(self) -> "Keyring":
        """The same keys, writing plaintext: what `encryption decrypt` rewrites rows with."""
        ring = copy.copy(self)
        ring.primary, ring.writes_plaintext = None, True
        return ring


@lru_cache(maxsize=4)
def _keyring(keys: tuple[str, ...]) -> Keyring:
    return Keyring(keys)


_writing: contextvars.ContextVar[Keyring | None] = contextvars.ContextVar("crypto_writing", default=None)


def keyring() -> Keyring:
    override = _writing.get()
    if override is not None:
        return override
    return _keyring(tuple(key.strip() for key in settings.MESSAGE_ENCRYPTION_KEYS if key.strip()))


@contextlib.contextmanager
def writing_plaintext():
    """Within it, the fields write plaintext and still read every configured key."""
    token = _writing.set(keyring().reading_only())
    try:
        yield
    finally:
        _writing.reset(token)


def enabled() -> bool:
    """Whether new values are written encrypted (a key is configured and the first entry is not `plaintext`)."""
    return keyring().primary is not None


def value_key_id(value) -> str | None:
    """The id of the key a stored text value is encrypted under; None for plaintext."""
    if isinstance(value, str) and value.startswith(PREFIX):
        return value[len(PREFIX) :].partition(":")[0]
    return None


def encrypt_text(text: str, *, ring: Keyring | None = None) -> str:
    ring = ring or keyring()
    if not text or ring.primary is None or value_key_id(text):
        return text
    token = ring.fernets[ring.primary].encrypt(text.encode()).decode()
    return f"{PREFIX}{ring.primary}:{token}"


def decrypt_text(value: str, *, ring: Keyring | None = None) -> str:
    kid = value_key_id(value)
    if kid is None:
        return value
    token = value[len(PREFIX) + len(kid) + 1 :]
    try:
        return (ring or keyring()).fernet(kid).decrypt(token.encode()).decode()
    except InvalidToken:
        raise DecryptionError(f"A value under the key {kid} does not decrypt with it") from None


def file_key_id(head: bytes) -> str | None:
    if head.startswith(FILE_PREFIX):
        return head[len(FILE_PREFIX) :].partition(b":")[0].decode()
    return None


def encrypt_bytes(data: bytes, *, ring: Keyring | None = None) -> bytes:
    ring = ring or keyring()
    if ring.primary is None or file_key_id(data[:32]):
        return data
    return FILE_PREFIX + ring.primary.encode() + b":" + ring.fernets[ring.primary].encrypt(data)


def decrypt_bytes(data: bytes, *, ring: Keyring | None = None) -> bytes:
    kid = file_key_id(data[:32])
    if kid is None:
        return data
    try:
        return (ring or keyring()).fernet(kid).decrypt(data[len(FILE_PREFIX) + len(kid) + 1 :])
    except InvalidToken:
        raise DecryptionError(f"A file under the key {kid} does not decrypt with it") from None


class EncryptedMixin:
    """Encrypts what is saved (never a lookup's value: a Fernet token differs every time, so equality cannot
    match); decrypts what is read. The column type is the parent's, so switching it on needs no migration of
    the data, and with no key the column holds what it always held."""

    encrypted = True

    def get_db_prep_save(self, value, connection):
        if hasattr(value, "as_sql") or value is None or not enabled():
            return super().get_db_prep_save(value, connection)
        return super().get_db_prep_save(self.encrypt_value(value), connection)


class EncryptedTextField(EncryptedMixin, models.TextField):
    def encrypt_value(self, value):
        return encrypt_text(str(value))

    def from_db_value(self, value, expression, connection):
        return decrypt_text(value) if value else value


class EncryptedJSONField(EncryptedMixin, models.JSONField):
    """The whole JSON value encrypted into one JSON string; an empty one (`{}`, `[]`) stays as it is.

    While encryption is on, lookups into the value's keys (`payload__status`) find nothing: read it instead."""

    def encrypt_value(self, value):
        if not value:
            return value
        return encrypt_text(json.dumps(value, cls=self.encoder, ensure_ascii=False))

    def from_db_value(self, value, expression, connection):
        value = super().from_db_value(value, expression, connection)
        if isinstance(value, str) and value_key_id(value):
            return json.loads(decrypt_text(value), cls=self.decoder)
        return value


class EncryptedFieldFile(FieldFile):
    """Writes the bytes encrypted through whatever storage the field uses (local disk, S3); `open()` gives them
    back decrypted. A file stored before encryption was switched on is read as it is."""

    def save(self, name, content, save=True):
        if enabled():
            content.seek(0)
            content = ContentFile(encrypt_bytes(content.read()), name=getattr(content, "name", name))
        super().save(name, content, save)

    save.alters_data = True

    def _open_readable(self) -> File:
        stored = self.storage.open(self.name, "rb")
        head = stored.read(len(FILE_PREFIX))
        stored.seek(0)
        if head != FILE_PREFIX:
            return stored  # plaintext: streamed from the storage as before
        with stored:
            data = stored.read()
        return File(io.BytesIO(decrypt_bytes(data)), name=self.name)  # Fernet decrypts a whole token at once

    def _get_file(self):
        self._require_file()
        if getattr(self, "_file", None) is None:
            self._file = self._open_readable()
        return self._file

    file = property(_get_file, FieldFile._set_file, FieldFile._del_file)

    def open(self, mode="rb"):
        if mode != "rb":
            return super().open(mode)
        self._require_file()
        self._file = self._open_readable()
        return self

    open.alters_data = True


class EncryptedFileField(models.FileField):
    attr_class = EncryptedFieldFile
    encrypted = True
