"""Signed checkpoints of the audit log (c2sp.org/tlog-checkpoint in a c2sp.org/signed-note).

The log's origin line is settings.HOZEN_AUDIT_ORIGIN and its Ed25519 key is named after it.
The key is created on first use; its 32-byte seed is kept only wrapped by the key-encryption
key provider (`hozen.crypto.provider`), so a database copy alone cannot forge checkpoints.
Every checkpoint issued is stored; `hozen audit verify` re-derives each one's root.
"""

from __future__ import annotations

import datetime as dt

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from . import integrator, tree
from .models import AuditCheckpoint, AuditSigningKey
from .note import Checkpoint, Signer, Verifier, sign_note

DEFAULT_ORIGIN = "hozen.local/audit"


def origin() -> str:
    return getattr(settings, "HOZEN_AUDIT_ORIGIN", "") or DEFAULT_ORIGIN


def checkpoint_interval() -> dt.timedelta:
    """Least time between two checkpoints issued by the background job while the log grows."""
    return dt.timedelta(seconds=getattr(settings, "HOZEN_AUDIT_CHECKPOINT_INTERVAL_SECONDS", 300))


def _aad(name: str) -> bytes:
    return b"hozen.audit.signing-key:" + name.encode("utf-8")


def _raw_public(private_key: Ed25519PrivateKey) -> bytes:
    return private_key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def signing_key(name: str | None = None) -> AuditSigningKey:
    """The stored key for `name` (default: the log's origin), created on first use."""
    from hozen.crypto.keys import hold_wrapping_lock
    from hozen.crypto.provider import get_provider

    name = name or origin()
    key = AuditSigningKey.objects.filter(name=name).first()
    if key is not None:
        return key
    private_key = Ed25519PrivateKey.generate()
    Signer(name, private_key)  # refuses a name a signed note cannot carry, before anything is stored
    seed = private_key.private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption())
    with transaction.atomic():
        hold_wrapping_lock()  # a KEK rotation waits for this wrap to be stored (crypto.keys)
        version, wrapped = get_provider().wrap(None, seed, _aad(name))
        try:
            with transaction.atomic():
                return AuditSigningKey.objects.create(
                    name=name, public_key=_raw_public(private_key), kek_version=version, wrapped_seed=wrapped,
                    created=timezone.now())
        except IntegrityError:  # another process created it first: use theirs
            return AuditSigningKey.objects.get(name=name)


def verifier(key: AuditSigningKey) -> Verifier:
    return Verifier(key.name, Ed25519PublicKey.from_public_bytes(bytes(key.public_key)))


def _unwrap(key: AuditSigningKey) -> Ed25519PrivateKey:
    from hozen.crypto.provider import get_provider

    seed = get_provider().unwrap(key.kek_version, bytes(key.wrapped_seed), _aad(key.name))
    private_key = Ed25519PrivateKey.from_private_bytes(seed)
    if _raw_public(private_key) != bytes(key.public_key):
        raise ValueError(f"the stored public key of audit signing key {key.name} does not match its seed")
    return private_key


def _rewrap(key: AuditSigningKey, private_key: Ed25519PrivateKey) -> bool:
    """Re-wrap the seed under the current KEK version if it is under an older one (in the caller's
    transaction, or one of its own). The wrapping lock is taken before the keyring is read, so a
    KEK rotation waits for this re-wrap to be stored before its own passes (crypto.keys)."""
    from hozen.crypto.keys import hold_wrapping_lock
    from hozen.crypto.provider import get_provider

    with transaction.atomic(savepoint=False):
        hold_wrapping_lock()
        provider = get_provider()
        if key.kek_version == provider.current_version():
            return False
        seed = private_key.private_bytes(
            serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption())
        key.kek_version, key.wrapped_seed = provider.wrap(None, seed, _aad(key.name))
        key.save(update_fields=["kek_version", "wrapped_seed"])
        return True


def signing_key_problems() -> list[str]:
    """Each audit signing key whose seed the keyring does not open, in one line (for the key probe)."""
    found = []
    for key in AuditSigningKey.objects.order_by("id"):
        try:
            _unwrap(key)
        except Exception as exc:  # any failure to open is the finding: a wrong keyring, a bad tag, a mismatch
            found.append(f"the audit signing key {key.name} does not open with this keyring "
                         f"({exc.__class__.__name__}): the log could not sign a checkpoint")
    return found


def signer(key: AuditSigningKey) -> Signer:
    """Unwrap the seed; it must match the stored public key before it signs anything.

    Each use also moves the wrapped seed to the current KEK version, so after `hozen keys rotate`
    the signing key leaves the old version at the next checkpoint (at most a few minutes).
    """
    private_key = _unwrap(key)
    _rewrap(key, private_key)
    return Signer(key.name, private_key)


def rewrap_signing_keys() -> int:
    """Re-wrap every audit signing key under the current KEK version; returns how many moved.

    For KEK rotation: call it before retiring old versions, or the log can no longer sign.
    """
    moved = 0
    with transaction.atomic():
        for key in AuditSigningKey.objects.select_for_update(no_key=True).order_by("id"):
            moved += _rewrap(key, _unwrap(key))
    return moved


def verifier_key_text() -> str:
    """`<name>+<hex key hash>+<base64(0x01 || public key)>`: what `hozen audit key` prints."""
    return verifier(signing_key()).key_text


def latest() -> AuditCheckpoint | None:
    return AuditCheckpoint.objects.select_related("key").order_by("-id").first()


def _issue(*, min_age: dt.timedelta | None) -> AuditCheckpoint | None:
    """Sign the integrated tree unless the latest checkpoint already covers it (or is too recent).

    Runs under the integrator lock, so two processes never sign the same size twice.
    """
    with transaction.atomic(durable=True):
        integrator.lock()
        last = latest()
        size = tree.tree_size()
        if last is not None:
            if size <= last.size:
                return None
            if min_age is not None and timezone.now() - last.created < min_age:
                return None
        key = signing_key()
        root = tree.root(size)
        text = Checkpoint(key.name, size, root).format()
        return AuditCheckpoint.objects.create(
            size=size, root_hash=root, note=sign_note(text, signer(key)), key=key, created=timezone.now())


def issue_checkpoint() -> AuditCheckpoint:
    """Integrate, then return a checkpoint of the whole log: a new one if the log grew."""
    integrator.integrate()
    return _issue(min_age=None) or latest()


def latest_or_issue() -> AuditCheckpoint:
    """The latest checkpoint, issuing the first one if there is none yet."""
    return latest() or issue_checkpoint()


def issue_checkpoint_if_grown(*, min_age: dt.timedelta | None = None) -> AuditCheckpoint | None:
    """The background job's step: integrate; sign a new checkpoint if the log grew since the last
    one and that one is at least `min_age` old (default HOZEN_AUDIT_CHECKPOINT_INTERVAL_SECONDS,
    300). Run every minute, this issues a checkpoint at least every few minutes while the log
    grows and none while it is idle. Returns the new checkpoint, or None."""
    integrator.integrate()
    return _issue(min_age=checkpoint_interval() if min_age is None else min_age)
