"""Reading personal data through the policy, and crypto-shredding a subject.

``reveal`` is the only way to plaintext: it asks the policy decision point with the action the
model declares (``crypto_read_action``) and writes a ``personal_data.read`` audit entry per call,
with the purpose, so the assessed person can see who read their data and why (ARCHITECTURE
rules 1, 2 and 4).

``shred`` destroys a subject's data key. What that guarantees, in two steps:

1. At once: the live database no longer holds the wrapped key, so none of the subject's
   ciphertext can be decrypted by Hozen, by anyone with database access, or by anyone who
   also holds the KEK. ``reveal`` raises ``DataKeyDestroyed``. Rows and counts survive.
2. After the next ``hozen keys rotate --retire-old``: copies of the wrapped key made before the
   shred (database backups, dumps, replicas' WAL archives, free pages and dead tuples not yet
   overwritten) are wrapped under KEK versions that no longer exist, so they cannot be unwrapped
   either. Until that run, anyone holding such a copy AND the current keyring can still recover
   the data. ``hozen keys status`` counts the shredded keys not yet covered by step 2.

Step 2 holds only if the retired KEK versions are gone everywhere: keep keyring backups for a
shorter time than the shredding promise, and do not keep old copies of ``HOZEN_KEK``.
"""

from __future__ import annotations

import re

from django.db import transaction
from django.utils import timezone

from hozen import audit
from hozen.access import policy
from hozen.core import rows

from . import shred_register
from .envelope import CryptoError, DecryptionError
from .fields import Sealed, _EncryptedField
from .keys import DataKeyDestroyed, KekVersionUnavailable, SubjectKey, current_key
from .models import DataKey, ProtectedRecord, ProtectedSubject

_CODE = re.compile(r"[a-z][a-z0-9_.:-]{0,63}")


def _code(value: str, what: str) -> str:
    # Purposes and reasons are codes (translated on screens), never free text: the audit log
    # must not carry protected content (audit.record's rule for details).
    if not isinstance(value, str) or not _CODE.fullmatch(value):
        raise ValueError(f"{what} must be a code such as 'adjudication' (a-z, 0-9, _ . : -), got {value!r}")
    return value


def _encrypted_field(instance: ProtectedRecord, name: str) -> _EncryptedField:
    if not isinstance(instance, ProtectedRecord):
        raise TypeError(f"{type(instance).__name__} is not a protected model")
    field = next((f for f in instance._meta.concrete_fields if f.name == name), None)
    if not isinstance(field, _EncryptedField):
        raise ValueError(f"{instance._meta.label_lower} has no encrypted field {name!r}")
    return field


def _details(instance: ProtectedRecord, fields: list[str]) -> dict:
    details: dict = {"field": fields[0]} if len(fields) == 1 else {"fields": fields}
    subject = instance.crypto_subject
    if subject is not instance:
        details["subject"] = subject  # audit stores it as {type, id}
    person_id = instance.crypto_subject_person_id
    if person_id is not None:
        details["subject_person_id"] = person_id
    return details


def _failure_code(exc: CryptoError) -> str:
    if isinstance(exc, DataKeyDestroyed):
        return "data_key_destroyed"
    if isinstance(exc, KekVersionUnavailable):
        return "kek_version_unavailable"
    if isinstance(exc, DecryptionError):
        return "decryption_failed"
    return "crypto_error"


def reveal_many(actor, instance: ProtectedRecord, fields: list[str] | tuple[str, ...], *, purpose: str) -> dict:
    """Decrypt several encrypted fields of one row for ``actor``: one policy check, one audit entry.

    Raises ``PolicyDenied`` (the denial is audited by ``policy.require``), ``DataKeyDestroyed``
    after shredding, ``KekVersionUnavailable`` for data restored from a backup older than a
    ``--retire-old`` rotation, ``DecryptionError`` for a ciphertext that is not this row's. A
    failed decryption is audited with outcome "failure".

    The audit entry is written in the caller's transaction when there is one: call this outside
    transactions that may roll back (views and queries are not atomic), or the record of the
    read would roll back with them.
    """
    fields = list(fields)
    if not fields:
        raise ValueError("name at least one field to reveal")
    encrypted = [_encrypted_field(instance, name) for name in fields]
    _code(purpose, "purpose")
    action = type(instance).crypto_read_action
    if not action:
        raise CryptoError(f"{instance._meta.label} declares no crypto_read_action")
    policy.require(actor, action, instance)
    details = _details(instance, fields)
    values = {}
    key = SubjectKey(instance)  # unwrapped once, on the first non-empty field
    try:
        for field in encrypted:
            value = getattr(instance, field.attname)
            if value is None:
                values[field.name] = None
                continue
            if not isinstance(value, Sealed):
                raise CryptoError(f"{instance._meta.label_lower}.{field.name} holds unsaved plaintext; save first")
            values[field.name] = field.decode(key.open(instance, field.name, value.ciphertext))
    except CryptoError as exc:
        audit.record(actor, "personal_data.read", instance, outcome="failure",
                     details={**details, "error": _failure_code(exc)}, purpose=purpose)
        raise
    audit.record(actor, "personal_data.read", instance, details=details, purpose=purpose)
    return values


def reveal(actor, instance: ProtectedRecord, field: str, *, purpose: str):
    """The plaintext of one encrypted field, for ``actor``, for ``purpose`` (a code).

    Asks ``policy.require(actor, <model>.crypto_read_action, instance)`` and writes
    ``audit.record(actor, "personal_data.read", instance, details={"field": ...,
    "subject_person_id": ...}, purpose=purpose)``. See ``reveal_many`` for errors.
    """
    return reveal_many(actor, instance, [field], purpose=purpose)[field]


def shred_again(actor, key_ids: list[str]) -> int:
    """After a restore: destroy again each data key the shred register names that the restored
    database still holds (issue 13 §3). Returns how many were destroyed; each is audited."""
    policy.require(actor, "data_key.shred", None)
    done = 0
    for key_id in key_ids:
        with transaction.atomic():
            key = DataKey.objects.select_for_update().filter(key_id=key_id, destroyed_at__isnull=True).first()
            if key is None:
                continue
            rows.change(key, wrapped=None, kek_version=None, destroyed_at=timezone.now())
            audit.record(actor, "data_key.shredded", key, details={"key_id": str(key.key_id),
                                                                   "reason": "shred_register_after_restore"})
            done += 1
    return done


def shred(actor, owner: ProtectedSubject, reason: str) -> DataKey:
    """Destroy ``owner``'s data key (crypto-shredding), in one transaction with its audit entry.

    ``reason`` is a code (e.g. ``"retention_expired"``). The wrapped key bytes and its KEK
    version are wiped and ``destroyed_at`` set; the DataKey row and the owner's rows remain, so
    statistics still count them. Shredding an already shredded key changes nothing and writes no
    second entry. For what this guarantees about backups, see this module's docstring: run
    ``hozen keys rotate --retire-old`` afterwards.
    """
    if not isinstance(owner, ProtectedSubject):
        raise TypeError(f"{type(owner).__name__} does not own a data key")
    _code(reason, "reason")
    # Outside our transaction, so that a denial is audited at once (policy.require).
    policy.require(actor, "data_key.shred", owner)
    if owner.data_key_id is None:
        current_key(owner)  # raises: the subject has no data key (never saved)
    with transaction.atomic():
        # Read afresh and locked: of two shreds at once one destroys the key and writes the entry,
        # the other finds it destroyed; a rotation's batch holding the key finishes first.
        key = rows.lock(DataKey, owner.data_key_id)
        if key.destroyed_at is not None:
            return key
        rows.change(key, wrapped=None, kek_version=None, destroyed_at=timezone.now())
        shred_register.record(key.key_id, key.destroyed_at)  # outside the database: survives a restore
        details = {"key_id": str(key.key_id), "reason": reason}
        if owner.crypto_subject_person_id is not None:
            details["subject_person_id"] = owner.crypto_subject_person_id
        audit.record(actor, "data_key.shredded", owner, details=details)
    owner.data_key = key  # the caller's instance no longer carries the wrapped bytes
    return key
