"""Key management and envelope encryption (ARCHITECTURE rule 3).

Django-free core: ``envelope`` (AES-256-GCM blobs and streams) and ``kek`` (versioned
key-encryption keys). On top, for Django apps:

- ``models``: ``DataKey``, ``RotationRun``, and the abstract ``ProtectedSubject`` (owns a data
  key) and ``ProtectedRecord`` (uses its subject's key);
- ``fields``: ``EncryptedTextField`` and ``EncryptedJSONField``;
- ``reveal``/``reveal_many`` (plaintext through the policy, audited) and ``shred``;
- ``rotation.rotate`` and ``queries.key_status`` behind `hozen keys rotate|status`.

``reveal`` and ``shred`` are importable from here; they load the Django parts on first use so
that importing ``hozen.crypto.envelope`` never needs Django set up.
"""

from __future__ import annotations


def reveal(actor, instance, field: str, *, purpose: str):
    """The plaintext of one encrypted field; see ``hozen.crypto.services.reveal``."""
    from .services import reveal

    return reveal(actor, instance, field, purpose=purpose)


def reveal_many(actor, instance, fields, *, purpose: str) -> dict:
    """Several encrypted fields of one row, one audit entry; see ``hozen.crypto.services``."""
    from .services import reveal_many

    return reveal_many(actor, instance, fields, purpose=purpose)


def shred(actor, owner, reason: str):
    """Destroy a subject's data key; see ``hozen.crypto.services.shred`` for the guarantee."""
    from .services import shred

    return shred(actor, owner, reason)
