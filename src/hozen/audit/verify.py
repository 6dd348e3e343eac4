"""`hozen audit verify`: recompute the whole log and check everything stored about it.

One streaming pass in leaf order recomputes every leaf hash from the entry bytes and every
stored subtree hash (`merkle.StreamingRoot.extend_stored`), and compares them with the stored
hashes; it checks that leaf indexes and storage indexes are contiguous, that every stored
checkpoint is signed by the log's key and that its root equals the recomputed root at its size.
Equal roots at every checkpoint size prove each later checkpoint consistent with each earlier
one, since both are recomputed from the same leaves. The first fault found is raised as
`VerificationFailed` with one line naming the leaf index, storage index or checkpoint.

Speed: leaves and stored hashes are read in raw SQL as plain tuples (entries as UTF-8 bytes,
binary format on PostgreSQL), one leaf-index range at a time, the next range fetched by a helper
thread while the current one is hashed in tight loops; memory is O(chunk + log n).
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import struct
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.db import connection, transaction
from django.utils import timezone

from . import integrator, merkle, tree
from .models import (
    AuditCheckpoint,
    AuditEntry,
    AuditIntegrator,
    AuditLeaf,
    AuditSignatureMemo,
    AuditSigningKey,
    AuditTreeHash,
)
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


def _memo_digest(digest: bytes, row_id: int, size: int, root: bytes, note: str) -> bytes:
    return hashlib.sha256(digest + struct.pack(">qq", row_id, size) + bytes(root)
                          + hashlib.sha256(note.encode("utf-8")).digest()).digest()


def _memo_tag(key: AuditSigningKey, checkpoint_id: int, digest: bytes) -> bytes | None:
    """The memo's HMAC, keyed from the signing key's seed; None when the seed cannot be had (no
    KEK here, or a stored public key that is not the seed's): then nothing is taken on trust."""
    from .checkpoints import _unwrap

    try:
        private_key = _unwrap(key)
    except Exception:
        return None
    seed = private_key.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
                                     serialization.NoEncryption())
    mac_key = hmac.new(seed, b"hozen.audit.signature-memo.v1", hashlib.sha256).digest()
    message = key.name.encode("utf-8") + b"\n" + struct.pack(">q", checkpoint_id) + digest
    return hmac.new(mac_key, message, hashlib.sha256).digest()


def _trusted_upto(rows: list[tuple]) -> dict[int, int]:
    """Per signing key id: the checkpoint id up to which the memo vouches for every signature.

    The memo is honoured only if the digest of that key's checkpoints up to it, as stored now,
    is the one its valid tag covers."""
    memos = {m.key_id: m for m in AuditSignatureMemo.objects.select_related("key")}
    digests = dict.fromkeys(memos, b"")
    for row_id, key_id, size, root, note in rows:
        memo = memos.get(key_id)
        if memo is not None and row_id <= memo.checkpoint_id:
            digests[key_id] = _memo_digest(digests[key_id], row_id, size, root, note)
    trusted = {}
    for key_id, memo in memos.items():
        if digests[key_id] == bytes(memo.digest):
            tag = _memo_tag(memo.key, memo.checkpoint_id, digests[key_id])
            if tag is not None and hmac.compare_digest(tag, bytes(memo.tag)):
                trusted[key_id] = memo.checkpoint_id
    return trusted


def _check_stored_key(key: AuditSigningKey) -> None:
    """The stored public key must be the one the sealed seed belongs to. Someone who can write to
    the database but has no KEK could otherwise swap in their own public key, re-sign every
    checkpoint and rewrite history. Where the KEK cannot be had (an outside party with a copy of
    the database), only a key published earlier (`--key`) can tell: nothing is said here."""
    from hozen.crypto.provider import KekUnavailable, get_provider

    from .checkpoints import _aad, _raw_public

    try:
        provider = get_provider()
    except KekUnavailable:
        return
    try:
        seed = provider.unwrap(key.kek_version, bytes(key.wrapped_seed), _aad(key.name))
        public = _raw_public(Ed25519PrivateKey.from_private_bytes(seed))
    except Exception:
        raise VerificationFailed(
            f"audit signing key {key.name}: its sealed seed does not open with this KEK (altered, or "
            f"another KEK); check the log with the key published earlier (--key)") from None
    if public != bytes(key.public_key):
        raise VerificationFailed(
            f"audit signing key {key.name}: the stored public key is not the one its sealed seed belongs "
            f"to (a substituted key?); check the log with the key published earlier (--key)")


def _stored_checkpoints(pinned: Verifier | None) -> tuple[list[_StoredCheckpoint], list[tuple]]:
    """Every stored checkpoint, its signature and its columns checked (see `AuditSignatureMemo`:
    with the log's own stored keys, a signature a passed verify already checked is not checked
    again while the checkpoints it covered are unchanged)."""
    from .checkpoints import verifier

    rows = list(AuditCheckpoint.objects.order_by("id").values_list("id", "key_id", "size", "root_hash", "note"))
    keys = {k.id: k for k in AuditSigningKey.objects.all()}
    if pinned is None:
        for key_id in sorted({row[1] for row in rows}):
            _check_stored_key(keys[key_id])
    trusted = _trusted_upto(rows) if pinned is None and rows else {}
    out = []
    for row_id, key_id, size, root, note in rows:
        root = bytes(root)
        if row_id <= trusted.get(key_id, -1):
            out.append(_StoredCheckpoint(row_id, size, root))
            continue
        where = f"checkpoint #{row_id} (size {size})"
        verifiers = [pinned] if pinned is not None else [verifier(keys[key_id])]
        cp = _check_note(note, verifiers, where)
        if cp.size != size or cp.root_hash != root:
            raise VerificationFailed(f"{where}: its stored size/root columns differ from its signed note")
        out.append(_StoredCheckpoint(row_id, cp.size, cp.root_hash))
    return out, rows


def _remember_signatures(rows: list[tuple]) -> None:
    """After a passed verify with the stored keys: record, per key, that every signature up to its
    latest checkpoint is checked (see `AuditSignatureMemo`). `rows`: the checkpoints exactly as
    that verify read and checked them (never a later read, which could hold unchecked ones)."""
    latest: dict[int, tuple[int, bytes]] = {}
    for row_id, key_id, size, root, note in rows:
        digest = latest.get(key_id, (0, b""))[1]
        latest[key_id] = (row_id, _memo_digest(digest, row_id, size, root, note))
    for key in AuditSigningKey.objects.filter(id__in=latest):
        checkpoint_id, digest = latest[key.id]
        tag = _memo_tag(key, checkpoint_id, digest)
        if tag is None:
            continue
        AuditSignatureMemo.objects.update_or_create(key=key, defaults={
            "checkpoint_id": checkpoint_id, "digest": digest, "tag": tag, "updated": timezone.now()})


@dataclass
class _Chunk:
    """Leaves [start, start + len(entry_ids)) and the stored hashes from storage index
    `stored_hash_index(0, start)` on, each contiguous (checked when fetched)."""

    start: int
    entry_ids: list[int]
    datas: list  # the entries' UTF-8 bytes, None where the entry row is missing
    hashes: list


def _leaf_gap(indexes: list[int], start: int) -> VerificationFailed:
    gap = _first_gap(indexes, start)
    return VerificationFailed(f"leaf index {gap} is missing (the next stored leaf is "
                              f"{next((i for i in indexes if i > gap), 'none')})")


def _hash_gap(indexes: list[int], start: int) -> VerificationFailed:
    missing = _first_gap(indexes, start)
    level, node = merkle.split_stored_hash_index(missing)
    return VerificationFailed(f"stored tree hash {missing} (level {level}, node {node}) is missing")


def _contiguous(indexes: list[int], start: int, stop: int) -> bool:
    return len(indexes) == stop - start and (not indexes or (indexes[0] == start and indexes[-1] == stop - 1))


def _chunk_reader():
    """`fetch(a, b)`: a `_Chunk` of leaves [a, b), read in raw SQL on the connection's DB-API object.

    Entries come as their UTF-8 bytes (what the leaf hash is over), never decoded to text and
    encoded again. On PostgreSQL, the chunk's entry ids and stored hashes each come as one
    aggregated bytea (`string_agg`, binary format) instead of one row per value: a primary key is
    unique, so a range of the expected count is contiguous; only when the count is off are the
    rows read one by one to name the gap.
    """
    leaf_table = connection.ops.quote_name(AuditLeaf._meta.db_table)
    entry_table = connection.ops.quote_name(AuditEntry._meta.db_table)
    hash_table = connection.ops.quote_name(AuditTreeHash._meta.db_table)
    raw = connection.connection
    hash_rows_sql = f'SELECT "index", hash FROM {hash_table} WHERE "index" >= %s AND "index" < %s ORDER BY "index"'
    if connection.vendor == "postgresql":
        import psycopg

        # Two range scans merged here rather than a join: leaves are integrated in (nearly) entry
        # id order, so a chunk's entries are one short id range, read in primary-key order;
        # PostgreSQL's plans for the join (parallel nested loop and sort, or a hash join over
        # the whole entry table) cost several times more. Stragglers that widen the range are
        # read by id.
        # Aggregates over an index-ordered subquery take its order (an ORDER BY inside the
        # aggregate would sort again: five times slower). Were the order ever different, the
        # hashes would not match and verify would fail: it can never pass a changed log.
        leaf_sql = (f"SELECT string_agg(int8send(entry_id), ''::bytea), count(*) FROM (SELECT entry_id "
                    f'FROM {leaf_table} WHERE "index" >= %s AND "index" < %s ORDER BY "index") AS s')
        leaf_rows_sql = f'SELECT "index" FROM {leaf_table} WHERE "index" >= %s AND "index" < %s ORDER BY "index"'
        range_sql = f"SELECT id, convert_to(data, 'UTF8') FROM {entry_table} WHERE id >= %s AND id <= %s"
        ids_sql = f"SELECT id, convert_to(data, 'UTF8') FROM {entry_table} WHERE id = ANY(%s::bigint[])"
        hash_sql = (f"SELECT string_agg(hash, ''::bytea), count(*), sum(octet_length(hash)) FROM (SELECT hash "
                    f'FROM {hash_table} WHERE "index" >= %s AND "index" < %s ORDER BY "index") AS s')

        def fetch(a: int, b: int) -> _Chunk:
            ha, hb = merkle.stored_hash_index(0, a), merkle.stored_hash_index(0, b)
            with psycopg.Cursor(raw) as cursor:
                packed, count = cursor.execute(leaf_sql, [a, b], binary=True).fetchone()
                if count != b - a:
                    raise _leaf_gap([r[0] for r in cursor.execute(leaf_rows_sql, [a, b]).fetchall()], a)
                ids = list(struct.unpack(f">{count}q", packed))
                lo, hi = min(ids), max(ids)
                if hi - lo < 2 * count + 1000:
                    cursor.execute(range_sql, [lo, hi], binary=True)
                else:
                    cursor.execute(ids_sql, [ids], binary=True)
                get = dict(cursor.fetchall()).get
                datas = [get(e) for e in ids]
                packed, count, total = cursor.execute(hash_sql, [ha, hb], binary=True).fetchone()
                if count == hb - ha and total == merkle.HASH_SIZE * count:
                    view = memoryview(packed)
                    hashes = [view[i : i + merkle.HASH_SIZE].tobytes() for i in range(0, total, merkle.HASH_SIZE)]
                else:
                    rows = cursor.execute(hash_rows_sql, [ha, hb], binary=True).fetchall()
                    if not _contiguous([r[0] for r in rows], ha, hb):
                        raise _hash_gap([r[0] for r in rows], ha)
                    hashes = [h for _, h in rows]  # one of them has the wrong length: compared below
            return _Chunk(a, ids, datas, hashes)
    else:
        # Only the values needed: a range of unique keys with the expected count is contiguous,
        # and the keys are read only to name a gap.
        leaf_sql = (f'SELECT l.entry_id, CAST(e.data AS BLOB) FROM {leaf_table} l '
                    f'LEFT JOIN {entry_table} e ON e.id = l.entry_id '
                    f'WHERE l."index" >= ? AND l."index" < ? ORDER BY l."index"')
        leaf_rows_sql = f'SELECT "index" FROM {leaf_table} WHERE "index" >= ? AND "index" < ? ORDER BY "index"'
        hash_sql = f'SELECT hash FROM {hash_table} WHERE "index" >= ? AND "index" < ? ORDER BY "index"'
        hash_rows_sql = f'SELECT "index" FROM {hash_table} WHERE "index" >= ? AND "index" < ? ORDER BY "index"'

        def fetch(a: int, b: int) -> _Chunk:
            ha, hb = merkle.stored_hash_index(0, a), merkle.stored_hash_index(0, b)
            cursor = raw.cursor()
            try:
                leaves = cursor.execute(leaf_sql, (a, b)).fetchall()
                if len(leaves) != b - a:
                    raise _leaf_gap([r[0] for r in cursor.execute(leaf_rows_sql, (a, b)).fetchall()], a)
                hashes = cursor.execute(hash_sql, (ha, hb)).fetchall()
                if len(hashes) != hb - ha:
                    raise _hash_gap([r[0] for r in cursor.execute(hash_rows_sql, (ha, hb)).fetchall()], ha)
            finally:
                cursor.close()
            return _Chunk(a, [r[0] for r in leaves], [r[1] for r in leaves], [h for (h,) in hashes])
    return fetch


def _prefetched(size: int) -> Iterator[_Chunk]:
    """Chunks of leaves in order, each fetched while the one before is being hashed.

    One helper thread runs the next chunk's range queries on the same connection (the driver
    releases the GIL while the database works and the rows travel), so the total approaches
    max(fetch, hash) instead of their sum; two chunks at most are held: memory stays O(chunk).
    A fault found while fetching (a gap) is raised when its chunk's turn comes, after every
    earlier chunk was checked.
    """
    fetch = _chunk_reader()
    bounds = [(a, min(size, a + CHUNK)) for a in range(0, size, CHUNK)]
    if not bounds:
        return
    with connection.wrap_database_errors, ThreadPoolExecutor(max_workers=1,
                                                             thread_name_prefix="hozen-verify") as pool:
        pending = pool.submit(fetch, *bounds[0])
        try:
            for k in range(len(bounds)):
                chunk = pending.result()
                pending = pool.submit(fetch, *bounds[k + 1]) if k + 1 < len(bounds) else None
                yield chunk
        finally:
            if pending is not None:
                pending.cancel()
                with contextlib.suppress(Exception):
                    pending.result()


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
        stored, checkpoint_rows = _stored_checkpoints(pinned)
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
        if state is not None and (
                AuditEntry.objects.filter(id__lte=state.watermark).count()
                != AuditLeaf.objects.filter(entry_id__lte=state.watermark).count()):
            # Two index-only counts find that one exists (every leaf's entry exists, checked
            # above, and no entry has two leaves); the anti-join over the log names it.
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
        if pinned is None and checkpoint_rows:
            _remember_signatures(checkpoint_rows)
    return Report(size=size, root=root, checkpoints=len(stored), external=external)


def _stream(size: int, hash_count: int, boundaries, stops: list[int],
            progress: Callable[[int, int], None] | None) -> merkle.StreamingRoot:
    chunks = _prefetched(size)
    try:
        return _compare(size, chunks, boundaries, stops, progress)
    finally:
        chunks.close()  # waits for a fetch still running, inside the transaction


def _compare(size: int, chunks: Iterator[_Chunk], boundaries, stops: list[int],
             progress: Callable[[int, int], None] | None) -> merkle.StreamingRoot:
    roots = merkle.StreamingRoot()
    sha256 = hashlib.sha256
    stop_iter = iter(stops)
    next_stop = next(stop_iter, None)
    for chunk in chunks:
        done, end = chunk.start, chunk.start + len(chunk.entry_ids)
        hashes, used = chunk.hashes, 0
        while done < end:
            n = end - done if next_stop is None else min(end - done, next_stop - done)
            lo = done - chunk.start
            datas = chunk.datas[lo : lo + n]
            try:
                leaf_hashes = [sha256(b"\x00" + data).digest() for data in datas]
            except TypeError:
                k = datas.index(None)
                raise VerificationFailed(
                    f"leaf {done + k}: its entry id {chunk.entry_ids[lo + k]} is missing") from None
            start = merkle.stored_hash_index(0, done)
            expected = roots.extend_stored(leaf_hashes)
            got = hashes[used : used + len(expected)]
            used += len(expected)
            if got != expected:
                j = next(i for i, (a, b) in enumerate(zip(got, expected, strict=True)) if a != b)
                level, node = merkle.split_stored_hash_index(start + j)
                if level == 0:
                    entry_id = chunk.entry_ids[node - chunk.start]
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
    if roots.size != size:  # pragma: no cover - every chunk is checked complete when fetched
        raise VerificationFailed(f"leaf index {roots.size} is missing (the log has {size} leaves)")
    return roots
