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
import shutil
import tempfile
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.files.base import File
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


FILE_CHUNK = 64 * 1024  # plaintext bytes per Fernet token: a file is read and written a chunk at a time
HEADER_MAX = 64


def _token_length(size: int) -> int:
    """A Fernet token's length for `size` bytes: version, time, IV, the padded ciphertext, HMAC, in base64."""
    raw = 1 + 8 + 16 + (size // 16 + 1) * 16 + 32
    return 4 * ((raw + 2) // 3)


def _file_header(head: bytes) -> tuple[str, int, int] | None:
    """(key id, plaintext size, header length) of an encrypted file's first bytes; None for a plaintext file.

    The layout: `enc1:<key id>:<plaintext size>:` then one Fernet token per FILE_CHUNK bytes of plaintext."""
    if not head.startswith(FILE_PREFIX):
        return None
    kid, _, rest = head[len(FILE_PREFIX) :].partition(b":")
    size, colon, _ = rest.partition(b":")
    if not colon or not size.isdigit():
        raise DecryptionError("A file starts as an encrypted one but its header is broken")
    return kid.decode(), int(size), len(FILE_PREFIX) + len(kid) + len(size) + 2


def file_key_id(head: bytes) -> str | None:
    header = _file_header(head[:HEADER_MAX])
    return header[0] if header else None


def encrypted_file(source, *, size: int, ring: Keyring | None = None) -> tempfile.SpooledTemporaryFile:
    """The `size` bytes read from `source` encrypted under the newest key, a chunk at a time, into a temporary
    file (in memory up to a few chunks, then on disk), positioned at its start."""
    ring = ring or keyring()
    fernet = ring.fernets[ring.primary]
    target = tempfile.SpooledTemporaryFile(max_size=4 * FILE_CHUNK)  # noqa: SIM115 -- returned open
    target.write(FILE_PREFIX + f"{ring.primary}:{size}:".encode())
    written = 0
    while chunk := _read_full(source, FILE_CHUNK):
        target.write(fernet.encrypt(chunk))
        written += len(chunk)
    if written != size:
        target.close()
        raise ValueError(f"The file held {written} bytes, not the {size} it was said to")
    target.seek(0)
    return target


def _read_full(source, size: int) -> bytes:
    """`size` bytes (fewer only at the end): every chunk but the last must be whole, as the reader seeks by them."""
    parts, wanted = [], size
    while wanted and (part := source.read(wanted)):
        parts.append(part)
        wanted -= len(part)
    return b"".join(parts)


class DecryptedFile(io.RawIOBase):
    """An encrypted file read as its plaintext: seekable, one chunk decrypted at a time."""

    def __init__(self, stored, *, ring: Keyring | None = None):
        super().__init__()
        self.stored = stored
        kid, self.size, self.header_length = _file_header(stored.read(HEADER_MAX))
        self.fernet = (ring or keyring()).fernet(kid)
        self.kid = kid
        self.record = _token_length(FILE_CHUNK)
        self.position = 0
        self.chunk_index, self.chunk = None, b""

    def readable(self):
        return True

    def seekable(self):
        return True

    def tell(self):
        return self.position

    def seek(self, offset, whence=io.SEEK_SET):
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self.position, io.SEEK_END: self.size}[whence]
        self.position = max(0, base + offset)
        return self.position

    def _load(self, index: int) -> bytes:
        if index != self.chunk_index:
            plain_length = min(FILE_CHUNK, self.size - index * FILE_CHUNK)
            self.stored.seek(self.header_length + index * self.record)
            token = self.stored.read(_token_length(plain_length))
            try:
                self.chunk = self.fernet.decrypt(token)
            except InvalidToken:
                raise DecryptionError(f"A file under the key {self.kid} does not decrypt with it") from None
            self.chunk_index = index
        return self.chunk

    def read(self, size=-1):
        end = self.size if size is None or size < 0 else min(self.size, self.position + size)
        parts = []
        while self.position < end:
            index, offset = divmod(self.position, FILE_CHUNK)
            part = self._load(index)[offset : offset + end - self.position]
            parts.append(part)
            self.position += len(part)
        return b"".join(parts)

    def readinto(self, buffer):
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def close(self):
        self.stored.close()
        super().close()


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
    """Writes the bytes encrypted through whatever storage the field uses (local disk, S3); reading (`open()`,
    `read()`, `chunks()`) gives them back decrypted, a chunk at a time. A file stored before encryption was
    switched on is read as it is."""

    def save(self, name, content, save=True):
        if enabled():
            content.seek(0)
            content = File(encrypted_file(content, size=content.size), name=getattr(content, "name", None) or name)
        super().save(name, content, save)

    save.alters_data = True

    def _open_readable(self) -> File:
        stored = self.storage.open(self.name, "rb")
        head = stored.read(len(FILE_PREFIX))
        stored.seek(0)
        if head != FILE_PREFIX:
            return stored  # plaintext: streamed from the storage as before
        return File(DecryptedFile(stored), name=self.name)

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

    def rewritten(self) -> File:
        """The file's content as the configured keys write it now (under the newest key, or in plaintext), in a
        temporary file: what `manage.py encryption` stores in its place."""
        readable = self._open_readable()
        with readable:
            if enabled():
                return File(encrypted_file(readable, size=readable.size), name=self.name)
            copy = tempfile.SpooledTemporaryFile(max_size=4 * FILE_CHUNK)  # noqa: SIM115 -- returned open
            shutil.copyfileobj(readable, copy, FILE_CHUNK)
            copy.seek(0)
            return File(copy, name=self.name)

    def stored_key_id(self) -> str | None:
        """The key the stored file is encrypted under; None for a plaintext one."""
        with self.storage.open(self.name, "rb") as stored:
            return file_key_id(stored.read(HEADER_MAX))


class EncryptedFileField(models.FileField):
    attr_class = EncryptedFieldFile
    encrypted = True
