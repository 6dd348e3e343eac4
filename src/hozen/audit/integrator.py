"""The integrator (sequencer): gives committed audit entries their leaf index in the Merkle tree.

Why a separate step. Services write `AuditEntry` rows inside their own transactions, many at
once on PostgreSQL (ARCHITECTURE rule 2). If each insert also appended to the tree, every
writer would hold one tree-wide lock until its commit, serialising all of Hozen's writes. So
inserts stay lock-free, and this integrator, in its own short transactions, takes the entries
that have no leaf yet, in id order, and appends them: one `AuditLeaf` row each plus the tlog
stored hashes (`merkle.stored_hashes_for_record_hash`), O(log n) reads and ~2 writes per leaf,
never rebuilding the tree. Only one integrator runs at a time: on PostgreSQL it holds
`pg_advisory_xact_lock(LOCK_KEY)` for the batch's transaction (writers never take that lock);
on SQLite its write transaction (`BEGIN IMMEDIATE`) already excludes every other writer.

Finding unsequenced entries cheaply at 100 million rows. A full anti-join over all entries
would be O(n) each run, so the integrator keeps a *watermark* W: every entry with id <= W that
will ever commit is already a leaf. Each run scans only ids above W (`id > W AND no leaf`,
an index range scan of the recent window), so its cost is the size of that window.

Stragglers. On PostgreSQL ids come from a sequence when the row is inserted, but become visible
only at commit; a transaction holding id 10 can commit after one holding id 11 has committed
and been integrated. Id 10 is then integrated in a later run, after 11 (leaf order is
integration order, which is why the leaf index lives in its own table and entries are never
updated). The danger is only that W passes 10 while 10 is still uncommitted: it would never
be scanned again. So W advances in three steps, each in a later run than the one before:

1. *observe*: after a complete scan, read C = max(id) and the database clock t; C becomes the
   candidate. Ids are handed out in increasing order, so any transaction T still holding an id
   below C took it before t.
2. *stamp*: once the clock passes t + margin (HOZEN_AUDIT_STRAGGLER_MARGIN_SECONDS, default 60),
   record X = pg_snapshot_xmax(pg_current_snapshot()), the next transaction id. T gets its
   transaction id at the latest when it inserts the row, microseconds after taking the
   sequence value; the margin covers that gap with a wide safety factor, so T's xid < X.
3. *advance*: in a run whose snapshot has xmin >= X (no transaction with an xid below X is
   still running, so T has committed or rolled back), scan the whole window above W once more
   in that same transaction; if it completes, every committed id <= C is a leaf: W := C.

A long-running transaction that holds an audit id therefore holds the watermark back (the
window grows) instead of being lost, and the margin only has to cover the few instructions
between nextval() and the transaction id assignment. Read-only transactions (no xid) do not
hold it back. On SQLite there are no stragglers: there is one writer at a time and the
integrator is that writer, so every existing id is committed and W jumps to max(id) after each
complete scan. `integrate(sweep=True)` rescans from id 0 (an O(n) repair, should verify ever
report an entry below the watermark without a leaf).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Max
from django.utils import timezone

from . import merkle, tree
from .models import AuditEntry, AuditIntegrator, AuditLeaf, AuditTreeHash

#: PostgreSQL advisory lock key held by the integrator (and the checkpoint signer): "hozenaud".
LOCK_KEY = int.from_bytes(b"hozenaud", "big")

DEFAULT_BATCH_SIZE = 5000


@dataclass(frozen=True)
class Integration:
    appended: int
    size: int
    watermark: int


def straggler_margin() -> dt.timedelta:
    return dt.timedelta(seconds=getattr(settings, "HOZEN_AUDIT_STRAGGLER_MARGIN_SECONDS", 60))


def lock() -> None:
    """Take the integrator lock for the current transaction (PostgreSQL); SQLite needs none."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [LOCK_KEY])


def frontier_indexes(size: int) -> list[int]:
    """Storage indexes of the maximal complete subtrees of a tree of `size` leaves.

    These are the only earlier hashes appending leaves after `size` ever reads (each new leaf's
    left siblings are frontier nodes or nodes written in the same batch), so a batch reads them
    once: at most log2(size) + 1 hashes in one query.
    """
    out, lo = [], 0
    while lo < size:
        k = 1 << ((size - lo).bit_length() - 1)
        level = k.bit_length() - 1
        out.append(merkle.stored_hash_index(level, lo >> level))
        lo += k
    return out


def _append(size: int, rows: list[tuple[int, str]]) -> int:
    """Append `rows` (entry id, canonical JSON) as leaves size, size+1, ...; returns the new size.

    Reads the frontier (O(log n) hashes, one query), computes every new stored hash in memory
    (`merkle.StreamingRoot.extend_stored`), and writes the plain tuples: `executemany` on SQLite,
    binary `COPY` on PostgreSQL (no model instances: they cost 3-4x the append rate).
    """
    first = frontier_indexes(size)
    roots = merkle.StreamingRoot.resume(size, tree.read_hashes(first))
    sha256 = hashlib.sha256
    hashes = roots.extend_stored([sha256(b"\x00" + data.encode("utf-8")).digest() for _, data in rows])
    start = merkle.stored_hash_index(0, size)
    leaf_rows = [(size + k, entry_id) for k, (entry_id, _) in enumerate(rows)]
    hash_rows = list(enumerate(hashes, start))
    leaves = connection.ops.quote_name(AuditLeaf._meta.db_table)
    stored = connection.ops.quote_name(AuditTreeHash._meta.db_table)
    index = connection.ops.quote_name("index")
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            for table, columns, types, data in ((leaves, f"{index}, entry_id", ("int8", "int8"), leaf_rows),
                                                (stored, f"{index}, hash", ("int8", "bytea"), hash_rows)):
                with cursor.copy(f"COPY {table} ({columns}) FROM STDIN (FORMAT BINARY)") as copy:
                    copy.set_types(types)
                    write = copy.write_row
                    for row in data:
                        write(row)
        else:
            cursor.executemany(f"INSERT INTO {leaves} ({index}, entry_id) VALUES (%s, %s)", leaf_rows)
            cursor.executemany(f"INSERT INTO {stored} ({index}, hash) VALUES (%s, %s)", hash_rows)
    return size + len(rows)


def _pg_snapshot(cursor) -> tuple[int, int]:
    cursor.execute("SELECT pg_snapshot_xmin(s)::text::bigint, pg_snapshot_xmax(s)::text::bigint "
                   "FROM pg_current_snapshot() AS s")
    return cursor.fetchone()


def _ready(state: AuditIntegrator) -> bool:
    """Step 3's condition, checked *before* the final scan so that scan sees every such commit."""
    if connection.vendor != "postgresql":
        return False
    if state.candidate_id is None or state.candidate_xmax is None:
        return False
    with connection.cursor() as cursor:
        xmin, _ = _pg_snapshot(cursor)
    return xmin >= state.candidate_xmax


def _advance(state: AuditIntegrator, ready: bool) -> None:
    """After a complete scan of the window above the watermark: move the watermark on."""
    if connection.vendor != "postgresql":
        # One writer at a time, and it is us: every id that exists is committed and now a leaf.
        top = AuditEntry.objects.aggregate(top=Max("id"))["top"] or 0
        state.watermark = max(state.watermark, top)
        return
    if ready:
        state.watermark = max(state.watermark, state.candidate_id)
        state.candidate_id = state.candidate_at = state.candidate_xmax = None
    entries = connection.ops.quote_name(AuditEntry._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT MAX(id), clock_timestamp() FROM {entries}")
        top, now = cursor.fetchone()
        if state.candidate_id is None:
            if top is not None and top > state.watermark:  # step 1: observe
                state.candidate_id, state.candidate_at = top, now
        elif state.candidate_xmax is None and now >= state.candidate_at + straggler_margin():
            state.candidate_xmax = _pg_snapshot(cursor)[1]  # step 2: stamp


def _batch(after: int | None, batch_size: int) -> tuple[int, int, int, int]:
    """One batch in its own transaction. `after=None` scans the whole window above the watermark.

    Returns (appended, size, watermark, last id appended or the scan start).
    """
    with transaction.atomic(durable=True):
        lock()
        state, _ = AuditIntegrator.objects.get_or_create(pk=1)
        full_window = after is None
        start = state.watermark if full_window else after
        ready = full_window and _ready(state)
        size = tree.tree_size()
        stored = tree.stored_hash_total()
        if stored != merkle.stored_hash_count(size):
            raise tree.TreeStorageError(
                f"the audit tree has {size} leaves but {stored} stored hashes "
                f"(expected {merkle.stored_hash_count(size)}); run `hozen audit verify`")
        rows = list(
            AuditEntry.objects.filter(id__gt=start, leaf__isnull=True)
            .order_by("id").values_list("id", "data")[:batch_size]
        )
        if rows:
            size = _append(size, rows)
        if full_window and len(rows) < batch_size:
            _advance(state, ready)
        state.updated = timezone.now()
        state.save()
        return len(rows), size, state.watermark, rows[-1][0] if rows else start


def integrate(*, batch_size: int = DEFAULT_BATCH_SIZE, sweep: bool = False) -> Integration:
    """Sequence every committed entry that has no leaf yet; returns the new tree size.

    Batches run in their own short transactions, so this must not be called inside another
    transaction (it would hold the integrator lock until that one commits). Idempotent: a
    second run right after the first appends nothing.
    """
    if batch_size < 1:
        raise ValueError("batch_size must be positive")
    after: int | None = 0 if sweep else None
    total = 0
    while True:
        appended, size, watermark, last = _batch(after, batch_size)
        total += appended
        if appended == batch_size:
            after = last  # more to come: continue after the last id appended
        elif after is not None:
            after = None  # finish with one scan of the whole window above the watermark
        else:
            return Integration(appended=total, size=size, watermark=watermark)
