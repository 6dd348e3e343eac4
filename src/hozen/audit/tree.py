"""The audit log's Merkle tree as stored in the database: reads, roots and proofs.

Everything here is read-only and O(log n): a root or a proof is one query for a list of storage
indexes over ``AuditTreeHash`` (Go tlog's storage layout, see ``merkle``), in raw SQL (prepared
on PostgreSQL). Appending is the integrator's job (``hozen.audit.integrator``); nothing here
rebuilds the tree.

Proofs for the API (`sized=True`) also read, in the same query, the stored hash of the last leaf
of the tree size asked about: the integrator writes a leaf's hash in the transaction that makes it
a leaf, so finding it proves the log has at least that many leaves without asking for the tree
size (a ``MAX`` query per proof); not finding it raises `TreeTooSmall`, and the caller asks.
"""

from __future__ import annotations

from collections.abc import Sequence

from django.db import DEFAULT_DB_ALIAS, connection, connections
from django.db.models import Max

from . import merkle
from .db import raw_cursor
from .models import AuditLeaf, AuditTreeHash


class TreeStorageError(Exception):
    """The stored tree is missing a hash it must have: run `hozen audit verify` to find out why."""


class TreeTooSmall(Exception):
    """The integrated tree does not reach the size asked about (yet)."""


def _fetch(indexes: set[int]) -> dict[int, bytes]:
    table = connection.ops.quote_name(AuditTreeHash._meta.db_table)
    if connection.vendor == "postgresql":
        sql = f'SELECT "index", hash FROM {table} WHERE "index" = ANY(%s::bigint[])'
        conn = connections[DEFAULT_DB_ALIAS]
        cursor = raw_cursor(conn)
        if cursor is None:  # queries are being logged: Django's cursor, which logs them
            with conn.cursor() as cursor:
                cursor.execute(sql, [list(indexes)])
                return {i: bytes(h) for i, h in cursor.fetchall()}
        conn.validate_no_broken_transaction()
        with conn.wrap_database_errors:
            return dict(cursor.execute(sql, [list(indexes)]).fetchall())
    marks = ", ".join(["%s"] * len(indexes))
    with connection.cursor() as cursor:
        cursor.execute(f'SELECT "index", hash FROM {table} WHERE "index" IN ({marks})', list(indexes))
        return {i: bytes(h) for i, h in cursor.fetchall()}


def read_hashes(indexes: Sequence[int]) -> list[bytes]:
    """`merkle.HashReader` over `AuditTreeHash`: one query for any number of indexes."""
    if not indexes:
        return []
    found = _fetch(set(indexes))
    try:
        return [found[i] for i in indexes]
    except KeyError as exc:
        raise TreeStorageError(f"stored tree hash {exc.args[0]} is missing") from None


_LARGEST_INDEX = 2**63 - 1  # the storage index column is a bigint


class _SizedReader:
    """A `merkle.HashReader` that also checks, in its (first) query, that the tree has `size` leaves."""

    def __init__(self, size: int) -> None:
        self.sentinel = merkle.stored_hash_index(0, size - 1) if size else None
        self.checked = size == 0

    def __call__(self, indexes: Sequence[int]) -> list[bytes]:
        if self.checked:
            return read_hashes(indexes)
        if self.sentinel > _LARGEST_INDEX:
            raise TreeTooSmall  # no stored tree is that large (and the column could not say so)
        found = _fetch({*indexes, self.sentinel})
        self.finish(found)
        try:
            return [found[i] for i in indexes]
        except KeyError as exc:
            raise TreeStorageError(f"stored tree hash {exc.args[0]} is missing") from None

    def finish(self, found: dict[int, bytes] | None = None) -> None:
        if not self.checked:
            if self.sentinel > _LARGEST_INDEX:
                raise TreeTooSmall
            if found is None:
                found = _fetch({self.sentinel})
            if self.sentinel not in found:
                raise TreeTooSmall
            self.checked = True


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


def inclusion_proof(index: int, size: int, *, sized: bool = False) -> list[bytes]:
    """The audit path of leaf `index` in the tree of `size` leaves. `sized`: raise `TreeTooSmall`
    (from the same query) when the log has fewer than `size` leaves."""
    if not sized:
        return merkle.inclusion_proof(index, size, read_hashes)
    reader = _SizedReader(size)
    proof = merkle.inclusion_proof(index, size, reader)
    reader.finish()
    return proof


def consistency_proof(first: int, second: int, *, sized: bool = False) -> list[bytes]:
    """The consistency proof from `first` to `second` leaves. `sized`: as for `inclusion_proof`,
    for `second`."""
    if not sized:
        return merkle.consistency_proof(first, second, read_hashes)
    reader = _SizedReader(second)
    proof = merkle.consistency_proof(first, second, reader)
    reader.finish()
    return proof
