"""`hozen audit verify`: recompute the whole log and check everything stored about it.

One streaming pass in leaf order recomputes every leaf hash from the entry bytes and every
stored subtree hash (`merkle.StreamingRoot.extend_stored`), and compares them with the stored
hashes; it checks that leaf indexes and storage indexes are contiguous, that every stored
checkpoint is signed by the log's key and that its root equals the recomputed root at its size.
Equal roots at every checkpoint size prove each later checkpoint consistent with each earlier
one, since both are recomputed from the same leaves. The first fault found is raised as
`VerificationFailed` with one line naming the leaf index, storage index or checkpoint.

Speed: rows are fetched with a chunked (server-side on PostgreSQL) cursor as plain tuples,
never ORM objects, and hashed in tight loops; memory is O(chunk + log n).
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from django.db import connection, transaction

from . import integrator, merkle, tree
from .models import AuditCheckpoint, AuditEntry, AuditIntegrator, AuditLeaf, AuditSigningKey, AuditTreeHash
from .note import Checkpoint, NoteError, Verifier, open_note

CHUNK = 20_000


class VerificationFailed(Exception):
    """The log does not verify; the message is one line naming where."""


@dataclass
class Report:
    size: int
    root: bytes
    checkpoints: int
    external: Checkpoint | None = None
    notes: list[str] = field(default_factory=list)

    def summary(self) -> str:
        line = (f"ok: {self.size} entries, root {base64.b64encode(self.root).decode()}, "
                f"{self.checkpoints} stored checkpoints verified")
        if self.external is not None:
            line += f"; the saved checkpoint at size {self.external.size} is consistent with the log"
        return line


@dataclass(frozen=True)
class _StoredCheckpoint:
    id: int
    size: int
    root: bytes


def _b64(h: bytes) -> str:
    return base64.b64encode(h).decode()


def _check_note(note: str, verifiers: list[Verifier], where: str) -> Checkpoint:
    """Verify then parse (note.py's rule): signature by a trusted key, then a well-formed body."""
    try:
        text, _ = open_note(note, verifiers)
    except NoteError as exc:
        names = ", ".join(v.key_text for v in verifiers)
        raise VerificationFailed(f"{where}: signature does not verify with the log's key {names} ({exc})") from None
    try:
        cp = Checkpoint.parse(text)
    except NoteError as exc:
        raise VerificationFailed(f"{where}: not a well-formed checkpoint ({exc})") from None
    if cp.origin not in {v.name for v in verifiers}:
        raise VerificationFailed(f"{where}: origin {cp.origin!r} is not this log's")
    return cp


def _stored_checkpoints(pinned: Verifier | None) -> list[_StoredCheckpoint]:
    from .checkpoints import verifier

    out = []
    for row in AuditCheckpoint.objects.select_related("key").order_by("id").iterator(chunk_size=2000):
        where = f"checkpoint #{row.id} (size {row.size})"
        verifiers = [pinned] if pinned is not None else [verifier(row.key)]
        cp = _check_note(row.note, verifiers, where)
        if cp.size != row.size or cp.root_hash != bytes(row.root_hash):
            raise VerificationFailed(f"{where}: its stored size/root columns differ from its signed note")
        out.append(_StoredCheckpoint(row.id, cp.size, cp.root_hash))
    return out


def _rows(sql: str, params: list) -> Iterator[list[tuple]]:
    """Chunks of raw rows from a chunked cursor (named and server-side on PostgreSQL)."""
    with connection.chunked_cursor() as cursor:
        cursor.execute(sql, params)
        while rows := cursor.fetchmany(CHUNK):
            yield rows


class _HashStream:
    """Stored hashes in storage order, served in exact-length slices, with contiguity checked."""

    def __init__(self, count: int) -> None:
        table = connection.ops.quote_name(AuditTreeHash._meta.db_table)
        index = connection.ops.quote_name("index")
        self._chunks = _rows(f"SELECT {index}, hash FROM {table} WHERE {index} < %s ORDER BY {index}", [count])
        self._buffer: list[tuple] = []
        self._pos = 0  # storage index of _buffer[0]

    def close(self) -> None:
        self._chunks.close()

    def take(self, n: int) -> list[bytes]:
        while len(self._buffer) < n:
            more = next(self._chunks, None)
            if more is None:
                break
            self._buffer.extend(more)
        rows, self._buffer = self._buffer[:n], self._buffer[n:]
        start = self._pos
        if len(rows) != n or (rows and (rows[0][0] != start or rows[-1][0] != start + n - 1)):
            missing = _first_gap([r[0] for r in rows], start)
            level, node = merkle.split_stored_hash_index(missing)
            raise VerificationFailed(f"stored tree hash {missing} (level {level}, node {node}) is missing")
        self._pos += n
        hashes = [h for _, h in rows]
        if hashes and type(hashes[0]) is not bytes:
            hashes = [bytes(h) for h in hashes]
        return hashes


def _first_gap(indexes: list[int], expected: int) -> int:
    for index in indexes:
        if index != expected:
            return expected
        expected += 1
    return expected


def verify_log(*, pinned: Verifier | None = None, external_note: str | None = None,
               progress: Callable[[int, int], None] | None = None) -> Report:
    """Verify the whole log (see the module docstring). Raises VerificationFailed at the first fault.

    `pinned`: a verifier key obtained out of band; checkpoints must verify with it instead of the
    key stored in the database. `external_note`: a checkpoint saved earlier that the live log
    must still contain. `progress(done, total)` is called after each chunk.
    """
    from .checkpoints import origin, verifier

    try:
        integrator.integrate()  # on demand, so that entries committed a moment ago are covered
    except tree.TreeStorageError:
        pass  # the pass below names the exact place

    with transaction.atomic():
        stored = _stored_checkpoints(pinned)
        external = None
        if external_note is not None:
            if pinned is None:
                key = AuditSigningKey.objects.filter(name=origin()).first()
                if key is None:
                    raise VerificationFailed("the saved checkpoint: this log has no signing key yet")
                pinned_or_stored = verifier(key)
            else:
                pinned_or_stored = pinned
            external = _check_note(external_note, [pinned_or_stored], "the saved checkpoint")
        size = tree.tree_size()
        hash_count = merkle.stored_hash_count(size)

        boundaries: dict[int, list[tuple[str, bytes]]] = {}
        for cp in stored:
            boundaries.setdefault(cp.size, []).append((f"checkpoint #{cp.id} (size {cp.size})", cp.root))
        if external is not None:
            boundaries.setdefault(external.size, []).append(
                (f"the saved checkpoint (size {external.size})", external.root_hash))
        for size_at, checks in sorted(boundaries.items()):
            if size_at > size:
                where = checks[0][0]
                raise VerificationFailed(
                    f"{where} is beyond the log's {size} leaves: leaves were removed or the log was truncated")
        for where, want in boundaries.get(0, []):
            if want != merkle.EMPTY_ROOT:
                raise VerificationFailed(f"{where}: root does not match the empty tree")
        stops = sorted(s for s in boundaries if 0 < s <= size)

        roots = _stream(size, hash_count, boundaries, stops, progress)
        root = roots.root()

        extra = tree.stored_hash_total()
        if extra > hash_count:
            level, node = merkle.split_stored_hash_index(hash_count)
            raise VerificationFailed(
                f"stored tree hash {hash_count} (level {level}, node {node}) lies beyond the tree of {size} "
                "leaves: stored hashes were added or leaves removed")

        state = AuditIntegrator.objects.filter(pk=1).first()
        if state is not None:
            orphan = (AuditEntry.objects.filter(id__lte=state.watermark, leaf__isnull=True)
                      .order_by("id").values_list("id", flat=True).first())
            if orphan is not None:
                raise VerificationFailed(
                    f"entry id {orphan} is not in the tree although the integrator has passed it "
                    "(inserted behind the log's back, or a missed straggler: `hozen audit integrate --sweep`)")

        if external is not None and external.size < size:
            proof = tree.consistency_proof(external.size, size)
            if not merkle.verify_consistency(external.size, size, external.root_hash, root, proof):
                raise VerificationFailed(  # pragma: no cover - implied by the recomputed roots
                    f"the saved checkpoint (size {external.size}) is not consistent with the log")
    return Report(size=size, root=root, checkpoints=len(stored), external=external)


def _stream(size: int, hash_count: int, boundaries, stops: list[int],
            progress: Callable[[int, int], None] | None) -> merkle.StreamingRoot:
    leaf_table = connection.ops.quote_name(AuditLeaf._meta.db_table)
    entry_table = connection.ops.quote_name(AuditEntry._meta.db_table)
    index = connection.ops.quote_name("index")
    leaves = _rows(
        f"SELECT l.{index}, l.entry_id, e.data FROM {leaf_table} l LEFT JOIN {entry_table} e "
        f"ON e.id = l.entry_id WHERE l.{index} < %s ORDER BY l.{index}", [size])
    hashes = _HashStream(hash_count)
    try:
        return _compare(size, leaves, hashes, boundaries, stops, progress)
    finally:
        # Close the server-side cursors now, inside the transaction, not whenever they are collected.
        leaves.close()
        hashes.close()


def _compare(size: int, leaves: Iterator[list[tuple]], hashes: _HashStream, boundaries, stops: list[int],
             progress: Callable[[int, int], None] | None) -> merkle.StreamingRoot:
    roots = merkle.StreamingRoot()
    sha256 = hashlib.sha256
    stop_iter = iter(stops)
    next_stop = next(stop_iter, None)
    pending: list[tuple] = []
    done = 0
    while done < size:
        if not pending:
            pending = next(leaves, None) or []
            if not pending:
                raise VerificationFailed(f"leaf index {done} is missing (the log has {size} leaves)")
        n = len(pending) if next_stop is None else min(len(pending), next_stop - done)
        rows, pending = pending[:n], pending[n:]
        if rows[0][0] != done or rows[-1][0] != done + n - 1:
            gap = _first_gap([r[0] for r in rows], done)
            raise VerificationFailed(f"leaf index {gap} is missing (the next stored leaf is "
                                     f"{next((r[0] for r in rows if r[0] > gap), 'none')})")
        try:
            leaf_hashes = [sha256(b"\x00" + data.encode("utf-8")).digest() for _, _, data in rows]
        except AttributeError:
            index_, entry_id, _ = next(r for r in rows if r[2] is None)
            raise VerificationFailed(f"leaf {index_}: its entry id {entry_id} is missing") from None
        start = merkle.stored_hash_index(0, done)
        expected = roots.extend_stored(leaf_hashes)
        got = hashes.take(len(expected))
        if got != expected:
            j = next(i for i, (a, b) in enumerate(zip(got, expected, strict=True)) if a != b)
            level, node = merkle.split_stored_hash_index(start + j)
            if level == 0:
                entry_id = rows[node - done][1]
                raise VerificationFailed(
                    f"leaf {node} (entry id {entry_id}): the entry does not hash to the leaf hash stored "
                    "for it: the entry or its stored hash was changed")
            raise VerificationFailed(
                f"stored tree hash {start + j} (level {level}, node {node}) does not match the leaves under it")
        done += n
        if done == next_stop:
            recomputed = roots.root()
            for where, want in boundaries[done]:
                if want != recomputed:
                    raise VerificationFailed(
                        f"{where}: root {_b64(want)} does not match the log's recomputed root "
                        f"{_b64(recomputed)} at that size")
            next_stop = next(stop_iter, None)
        if progress is not None:
            progress(done, size)
    return roots
