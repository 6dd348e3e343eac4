"""Data keys: create, unwrap, and encrypt or decrypt one field of a protected row.

Internal to ``hozen.crypto``: other apps use the encrypted fields, ``reveal`` and ``shred``,
never these functions, so plaintext keys never travel outside this package.

Each use reads the data key's row afresh from the database, so a key shredded or re-wrapped by
another process takes effect at once; nothing here caches an unwrapped key.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db import DEFAULT_DB_ALIAS, connections, transaction

from . import envelope
from .envelope import CryptoError, aad_for, length_prefixed
from .kek import UnknownKekVersion
from .provider import get_provider

if TYPE_CHECKING:
    from .models import DataKey, ProtectedRecord, ProtectedSubject


class DataKeyDestroyed(CryptoError):
    """The subject's data key was shredded: its data is gone for good, by design."""


class KekVersionUnavailable(UnknownKekVersion):
    """A data key is wrapped under a KEK version the keyring no longer holds."""


#: PostgreSQL advisory lock between code that wraps a new secret under the current KEK version
#: (shared) and a rotation that has just made a new version current (exclusive): "hozenkek".
WRAP_LOCK_KEY = int.from_bytes(b"hozenkek", "big")


def hold_wrapping_lock(using: str = DEFAULT_DB_ALIAS) -> None:
    """Call in the transaction that will store a newly wrapped secret, *before* reading the current
    KEK version, and store it in that same transaction.

    Why: a process may read the keyring a moment before `hozen keys rotate` makes a new version
    current, wrap a data key under the old version, and commit after the rotation's last pass: the
    key would stay under the old version, and after ``--retire-old`` nothing could unwrap it. The
    rotation therefore waits (`wait_for_wrapping`) until every transaction holding this lock has
    ended before its passes begin; a key wrapped under the old version is then committed, and the
    passes re-wrap it, and every later one is wrapped under the new version. On PostgreSQL this is a
    shared advisory lock until the transaction ends (wrappers never wait for each other); on SQLite
    the transaction already holds the database's write lock (BEGIN IMMEDIATE), which the rotation's
    own transaction waits for, so nothing more is needed there.
    """
    connection = connections[using]
    if connection.vendor != "postgresql":
        return
    if not connection.in_atomic_block:
        raise RuntimeError("hold_wrapping_lock() outside a transaction holds nothing: call it inside the "
                           "transaction that stores the wrapped secret")
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock_shared(%s)", [WRAP_LOCK_KEY])


def wait_for_wrapping(using: str = DEFAULT_DB_ALIAS) -> None:
    """Return once every transaction that took `hold_wrapping_lock` before this call has ended
    (committed or rolled back). For the rotation, after a new KEK version is current."""
    connection = connections[using]
    with transaction.atomic(using=using):  # on SQLite, BEGIN IMMEDIATE waits for the writer
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", [WRAP_LOCK_KEY])


def owner_label(subject: ProtectedSubject) -> str:
    return f"{subject._meta.label_lower}:{subject.crypto_id}"


def wrap_aad(key_id, subject_uuid) -> bytes:
    """A wrapped data key unwraps only for its own key id and subject."""
    return length_prefixed(b"hozen.data-key.v1", str(key_id).encode("ascii"), str(subject_uuid).encode("ascii"))


def field_aad(record: ProtectedRecord, field_name: str) -> bytes:
    """A field ciphertext decrypts only in the row (by crypto_id) and field it was written for.

    The model's name is deliberately not part of it, so renaming a model or app keeps data
    readable; crypto ids are UUIDs, unique across tables.
    """
    if record.crypto_id is None:
        raise CryptoError(f"{record._meta.label_lower} has no crypto_id")
    return aad_for(str(record.crypto_id), field_name)


#: Keyrings seen to open this database's newest live data key in this process (the objects are kept,
#: so an identity is never that of a keyring since dropped; a handful at most, one per rotation).
_matching: list = []


def _require_matching_keyring(provider) -> None:
    """Refuse to wrap a new data key with a keyring that does not open the keys already held (a
    database restored without its keyring, another deployment's keyring): the data would be split
    between two keyrings (issue 13 §4). Checked once per loaded keyring per process."""
    from .models import DataKey
    from .provider import KekUnavailable

    if any(seen is provider for seen in _matching):
        return
    newest = DataKey.objects.filter(destroyed_at__isnull=True, wrapped__isnull=False).order_by("-id").first()
    if newest is not None:
        try:
            provider.unwrap(newest.kek_version, bytes(newest.wrapped), wrap_aad(newest.key_id, newest.subject_uuid))
        except Exception:
            raise KekUnavailable("this keyring does not open the data keys the database holds: it is not the "
                                 "keyring this database was written with; nothing was written (see `hozen keys "
                                 "status`)") from None
    _matching[:] = [*_matching[-7:], provider]


def create_data_key(subject: ProtectedSubject) -> DataKey:
    """A fresh data key for ``subject``, wrapped under the current KEK version and saved, in the
    caller's transaction (``ProtectedSubject.save`` stores the subject in the same one)."""
    from .models import DataKey

    with transaction.atomic(savepoint=False):
        hold_wrapping_lock()  # before the keyring is read: see hold_wrapping_lock
        provider = get_provider()
        _require_matching_keyring(provider)
        dek = envelope.new_data_key()
        key = DataKey(owner=owner_label(subject), subject_uuid=subject.crypto_id)
        key.kek_version, key.wrapped = provider.wrap(None, dek, wrap_aad(key.key_id, key.subject_uuid))
        key.save(force_insert=True)
    return key


def unwrap(key: DataKey) -> bytes:
    """The plaintext data key; callers keep it only for the one operation at hand."""
    if key.destroyed_at is not None:
        raise DataKeyDestroyed(
            f"the data key of {key.owner} was destroyed (crypto-shredded) on "
            f"{key.destroyed_at:%Y-%m-%d %H:%M} UTC; its encrypted data cannot be recovered"
        )
    if key.wrapped is None or key.kek_version is None:
        raise CryptoError(f"data key {key.key_id} has no wrapped key material")
    provider = get_provider()
    try:
        return provider.unwrap(key.kek_version, bytes(key.wrapped), wrap_aad(key.key_id, key.subject_uuid))
    except UnknownKekVersion:
        raise KekVersionUnavailable(
            f"data key {key.key_id} ({key.owner}) is wrapped under KEK version {key.kek_version}, which "
            "the keyring does not hold: data restored from a backup taken before `hozen keys rotate "
            "--retire-old` cannot be decrypted, by design"
        ) from None


def current_key(subject: ProtectedSubject) -> DataKey:
    """The subject's data key row, read from the database (not a possibly stale cached copy)."""
    from .models import DataKey

    if subject.data_key_id is None:
        raise CryptoError(
            f"{subject._meta.label_lower} {subject.crypto_id} has no data key: save it first"
        )
    return DataKey.objects.get(pk=subject.data_key_id)


class SubjectKey:
    """A subject's data key, unwrapped at most once for one operation (one save, one reveal).

    Lives only as long as that operation; never cached across operations, so a shred or a
    rotation by another process takes effect at the next one.
    """

    __slots__ = ("_subject", "_dek")

    def __init__(self, record: ProtectedRecord) -> None:
        self._subject = record.crypto_subject
        self._dek: bytes | None = None

    def __repr__(self) -> str:
        return f"<SubjectKey {self._subject._meta.label_lower}>"

    def _key(self) -> bytes:
        if self._dek is None:
            self._dek = unwrap(current_key(self._subject))
        return self._dek

    def seal(self, record: ProtectedRecord, field_name: str, plaintext: bytes) -> bytes:
        """Encrypt one field value of ``record`` (a row of this subject)."""
        return envelope.encrypt(self._key(), plaintext, field_aad(record, field_name))

    def open(self, record: ProtectedRecord, field_name: str, ciphertext: bytes) -> bytes:
        """Decrypt one field value of ``record``; raises unless key, row and field all match."""
        return envelope.decrypt(self._key(), ciphertext, field_aad(record, field_name))


def seal(record: ProtectedRecord, field_name: str, plaintext: bytes) -> bytes:
    """Encrypt one field value of ``record`` under its subject's data key."""
    return SubjectKey(record).seal(record, field_name, plaintext)


def open_sealed(record: ProtectedRecord, field_name: str, ciphertext: bytes) -> bytes:
    """Decrypt one field value of ``record``; raises unless key, row and field all match."""
    return SubjectKey(record).open(record, field_name, ciphertext)
