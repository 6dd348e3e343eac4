"""Encrypted bytes in the vault's storage, through Django's storage API.

Storage: ``STORAGES["vault"]`` when the settings name one (an S3-compatible object store in
production, through django-storages' ``S3Storage``), otherwise a local folder,
``HOZEN_DATA_DIR/vault``. Stored objects are named by random UUID only (never by title or file
name) and hold the STREAM ciphertext of ``hozen.crypto.envelope``: 1 MiB chunks, each
authenticated, bound by associated data to the version's ``crypto_id``. An object copied under
another version's name, truncated, or reordered fails to decrypt.

This module is the vault's one use of a version's plaintext data key; the key is unwrapped for
one operation and never kept (``hozen.crypto.keys``: a shredded key stops everything at once).
"""

from __future__ import annotations

import hashlib
import logging
import tempfile
from typing import IO

from django.conf import settings
from django.core.files import File
from django.core.files.storage import FileSystemStorage, Storage, storages

from hozen.crypto import envelope
from hozen.crypto.keys import current_key, unwrap

logger = logging.getLogger(__name__)

STORAGE_ALIAS = "vault"
SPOOL_BYTES = 8 * 1024 * 1024  # temporary files stay in memory up to this size


def storage() -> Storage:
    """The vault's storage: ``STORAGES["vault"]`` if configured, else ``DATA_DIR/vault`` on disk."""
    if STORAGE_ALIAS in settings.STORAGES:
        return storages[STORAGE_ALIAS]
    return FileSystemStorage(location=settings.DATA_DIR / "vault")


def content_aad(version) -> bytes:
    return envelope.aad_for(str(version.crypto_id), "content")


class TooLarge(Exception):
    """The input passed the vault's size limit while it was being read."""


class _Counting:
    """Reads from ``source``, hashing and counting the plaintext, refusing past ``limit`` bytes."""

    def __init__(self, source: IO[bytes], limit: int):
        self.source = source
        self.limit = limit
        self.size = 0
        self.sha256 = hashlib.sha256()

    def read(self, size: int = -1) -> bytes:
        data = self.source.read(size)
        self.size += len(data)
        if self.size > self.limit:
            raise TooLarge(self.size)
        self.sha256.update(data)
        return data


def seal_to_storage(version, source: IO[bytes], *, limit: int) -> tuple[str, int, int, str]:
    """Encrypt ``source`` under ``version``'s data key into the storage.

    Returns (stored name, ciphertext size, plaintext size, plaintext SHA-256). The ciphertext is
    written to a temporary file first and handed to the storage only when complete, so a failure
    while reading or encrypting stores nothing; the caller deletes the object if its own
    transaction fails afterwards.
    """
    counting = _Counting(source, limit)
    with tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES) as sealed:
        dek = unwrap(current_key(version))
        stored_size = envelope.encrypt_stream(dek, counting, sealed, content_aad(version))
        del dek
        sealed.seek(0)
        name = storage().save(f"vault/{version.crypto_id}.hzv", File(sealed, name=f"{version.crypto_id}.hzv"))
    return name, stored_size, counting.size, counting.sha256.hexdigest()


class IntegrityFailure(Exception):
    """Stored ciphertext decrypted to bytes whose SHA-256 is not the one recorded at upload."""


def open_plaintext(version) -> IO[bytes]:
    """The version's plaintext in a temporary file (rewound), checked against its SHA-256.

    Raises ``DecryptionError`` for ciphertext that does not authenticate, ``IntegrityFailure``
    when the checksum differs, ``DataKeyDestroyed`` once the version's key is shredded. The
    caller closes the file (it disappears on close).
    """
    dek = unwrap(current_key(version))
    out = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)
    try:
        hashing = _Hashing(out)
        with storage().open(version.stored_name, "rb") as stored:
            envelope.decrypt_stream(dek, stored, hashing, content_aad(version))
        del dek
        if hashing.sha256.hexdigest() != version.sha256:
            raise IntegrityFailure(f"document version {version.pk}: checksum mismatch")
        out.seek(0)
        return out
    except BaseException:
        out.close()
        raise


class _Hashing:
    def __init__(self, target):
        self.target = target
        self.sha256 = hashlib.sha256()

    def write(self, data: bytes):
        self.sha256.update(data)
        return self.target.write(data)


def delete_quietly(name: str | None) -> None:
    """Remove a stored object left by a failed upload; never raises over the original error."""
    if not name:
        return
    try:
        storage().delete(name)
    except Exception:  # noqa: BLE001 - the caller is already handling a failure
        # The object is ciphertext whose data key was rolled back with the upload: unreadable, but
        # left in the store. Say so, so that an operator can remove it.
        logger.warning("vault: could not remove the stored object %s of a failed upload", name, exc_info=True)
