"""The audit log's Merkle tree as stored in the database: reads, roots and proofs.

Everything here is read-only and O(log n): a root or a proof is one ``WHERE index IN (...)``
query over ``AuditTreeHash`` (Go tlog's storage layout, see ``merkle``). Appending is the
integrator's job (``hozen.audit.integrator``); nothing here rebuilds the tree.
"""

from __future__ import annotations

from collections.abc import Sequence

from django.db.models import Max

from . import merkle
from .models import AuditLeaf, AuditTreeHash


class TreeStorageError(Exception):
    """The stored tree is missing a hash it must have: run `hozen audit verify` to find out why."""


def read_hashes(indexes: Sequence[int]) -> list[bytes]:
    """`merkle.HashReader` over `AuditTreeHash`: one query for any number of indexes."""
    if not indexes:
        return []
    found = dict(AuditTreeHash.objects.filter(index__in=set(indexes)).values_list("index", "hash"))
    try:
        return [bytes(found[i]) for i in indexes]
    except KeyError as exc:
        raise TreeStorageError(f"stored tree hash {exc.args[0]} is missing") from None


def tree_size() -> int:
    """Number of leaves integrated so far (the highest leaf index + 1; contiguity is verify's job)."""
    top = AuditLeaf.objects.aggregate(top=Max("index"))["top"]
    return 0 if top is None else top + 1


def stored_hash_total() -> int:
    """Number of stored tree hashes (the highest storage index + 1)."""
    top = AuditTreeHash.objects.aggregate(top=Max("index"))["top"]
    return 0 if top is None else top + 1


def root(size: int) -> bytes:
    return merkle.tree_hash(size, read_hashes)


def leaf_hash(index: int) -> bytes:
    return read_hashes([merkle.stored_hash_index(0, index)])[0]


def inclusion_proof(index: int, size: int) -> list[bytes]:
    return merkle.inclusion_proof(index, size, read_hashes)


def consistency_proof(first: int, second: int) -> list[bytes]:
    return merkle.consistency_proof(first, second, read_hashes)
