#!/usr/bin/env python3
"""The audit log at scale: `hozen audit verify`, inclusion and consistency proofs, peak memory, pymerkle.

Per backend, one scratch database grows through ``--sizes`` (default 100k and 1M entries). At
each size:

- *grow*: entries are bulk-inserted in the exact shape ``record()`` writes (canonical JSON,
  ~330 bytes, filter columns filled; ``EntryFactory.check`` proves the JSON canonical). Up to
  ``--integrate-max`` entries (default 100k; the issue-4 run used 1M) the leaves and stored hashes are built by the
  production integrator (``integrator.integrate()``, timed: leaves per second). Beyond it (e.g.
  for 10M) leaves and stored hashes are bulk-loaded directly: each leaf hash is
  SHA-256(0x00 || entry bytes) and the stored hashes are exactly what
  ``hozen.audit.merkle.StreamingRoot.extend_stored`` emits, continuing from the integrated tree
  (its frontier read back from the database), written at ``merkle.stored_hash_index`` order
  with ``executemany`` (SQLite) or ``COPY`` (PostgreSQL), then the integrator's watermark is set
  as the integrator would have. A checkpoint is signed at every size (``issue_checkpoint``), so
  verify also checks signed roots. On PostgreSQL the tables are ``VACUUM ANALYZE``d after a load
  (what autovacuum does in production); load time is reported but is not a measurement.
- *verify*: ``hozen audit verify`` run as the operator would (a new process; wall time and peak
  RSS from ``wait4``), and ``verify_log()`` alone in a fresh process (time, peak RSS).
- *proofs*: ``--proofs`` random inclusion proofs (``queries.inclusion_proof_for``, what the API
  and ``hozen audit prove`` call: policy, then one indexed read of the proof's hashes that also
  holds the last leaf's hash of the size asked about, proving the log that large) and random
  consistency proofs (``queries.consistency_proof_for``) against the whole tree, p50/p99 per
  proof, plus ``tree.inclusion_proof``/``tree.consistency_proof`` alone; a sample is checked with
  ``merkle.verify_inclusion``/``verify_consistency``; peak RSS of the process.
- *pymerkle* (at ``--pymerkle-sizes``, first backend only): the same leaves read back from the
  database, built into ``pymerkle.InmemoryTree`` and into Hozen's in-memory
  ``merkle.MemoryTree``; build time, memory held, proof times; the roots must be equal.

Targets (issue 4): verify 1M entries < 5 s; a proof < 1 ms at 10M entries from the database;
memory flat as the log grows.

    .venv/bin/python benchmarks/audit_scale_bench.py                        # 100k, 1M
    .venv/bin/python benchmarks/audit_scale_bench.py --sizes 100000,1000000,10000000
"""

from __future__ import annotations

import argparse
import hashlib
import os
import random
import shutil
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (  # noqa: E402
    ENTRY_COLUMNS,
    EntryFactory,
    backends_arg,
    command_line,
    fmt_bytes,
    fmt_mib,
    fmt_ms,
    fmt_rate,
    int_list,
    machine_facts,
    percentile,
    rss_kib,
    run_command,
    run_worker,
    scratch,
    setup_django,
    table,
    today,
    use_source,
    verdict,
    worker_main,
    write_section,
)

SCRIPT = Path(__file__).resolve()
CHUNK = 100_000
#: Disk needed per entry with leaves, stored hashes and indexes (measured: ~0.75 KiB SQLite, ~1 KiB PG).
BYTES_PER_ENTRY = {"sqlite": 900, "postgresql": 1300}


def _current_rss_kib() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") // 1024


# --- grow: bulk entries, then the integrator or a bulk tree load -----------------------------------------


class _Loader:
    """Raw bulk writer for the scratch database (loading only: durability relaxed while loading)."""

    def __init__(self) -> None:
        from django.conf import settings

        db = settings.DATABASES["default"]
        if db["ENGINE"].endswith("sqlite3"):
            import sqlite3

            self.vendor = "sqlite"
            self.conn = sqlite3.connect(db["NAME"], isolation_level=None, timeout=60)
            self.conn.execute("PRAGMA journal_mode=WAL")
            self.conn.execute("PRAGMA synchronous=OFF")
            self.conn.execute("PRAGMA cache_size=-1000000")
        else:
            import psycopg

            self.vendor = "postgresql"
            self.conn = psycopg.connect(os.environ["HOZEN_DATABASE_URL"], autocommit=True)
            self.conn.execute("SET synchronous_commit = off")

    def write(self, entries: list[tuple], leaves: list[tuple] | None = None, hashes: list[tuple] | None = None) -> None:
        cols = "id, " + ", ".join(ENTRY_COLUMNS)
        if self.vendor == "sqlite":
            c = self.conn
            c.execute("BEGIN")
            c.executemany(f"INSERT INTO audit_auditentry ({cols}) VALUES ({', '.join('?' * (len(ENTRY_COLUMNS) + 1))})",
                          entries)
            if leaves:
                c.executemany('INSERT INTO audit_auditleaf ("index", entry_id) VALUES (?, ?)', leaves)
            if hashes:
                c.executemany('INSERT INTO audit_audittreehash ("index", hash) VALUES (?, ?)', hashes)
            c.execute("COMMIT")
            return
        with self.conn.transaction(), self.conn.cursor() as cur:
            for sql, rows in ((f"COPY audit_auditentry ({cols}) FROM STDIN", entries),
                              ('COPY audit_auditleaf ("index", entry_id) FROM STDIN', leaves),
                              ('COPY audit_audittreehash ("index", hash) FROM STDIN', hashes)):
                if rows:
                    with cur.copy(sql) as cp:
                        for row in rows:
                            cp.write_row(row)

    def analyze_entries(self) -> None:
        """PostgreSQL: statistics for the new entries, as autovacuum would gather them."""
        if self.vendor == "postgresql":
            self.conn.execute("ANALYZE audit_auditentry")

    def finish(self) -> float:
        """After loading: identity sequence past the new ids; PG statistics. Returns seconds spent."""
        start = time.perf_counter()
        if self.vendor == "sqlite":
            self.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        else:
            self.conn.execute("SELECT setval(pg_get_serial_sequence('audit_auditentry', 'id'), "
                              "(SELECT max(id) FROM audit_auditentry))")
            for t in ("audit_auditentry", "audit_auditleaf", "audit_audittreehash"):
                self.conn.execute(f"VACUUM ANALYZE {t}")
        self.conn.close()
        return time.perf_counter() - start


def w_grow(target: int, integrate_max: int) -> dict:
    setup_django()
    from django.conf import settings
    from django.db import connection
    from django.db.models import Max

    from hozen.audit import checkpoints, integrator, merkle, tree
    from hozen.audit.models import AuditEntry, AuditIntegrator

    vendor = connection.vendor
    fac = EntryFactory(vendor)
    fac.check()
    have = AuditEntry.objects.aggregate(m=Max("id"))["m"] or 0
    size = tree.tree_size()
    if size != have:
        raise AssertionError(f"scratch log not fully integrated: {size} leaves, max id {have}")
    out: dict = {"vendor": vendor, "from": size, "to": target}
    loader = _Loader()
    sha256 = hashlib.sha256

    if target <= integrate_max:
        start = time.perf_counter()
        for lo in range(have, target, CHUNK):
            hi = min(target, lo + CHUNK)
            loader.write([(i + 1, *fac.row(i)) for i in range(lo, hi)])
        out["load_entries_s"] = time.perf_counter() - start
        loader.analyze_entries()
        start = time.perf_counter()
        result = integrator.integrate()
        out["integrate_s"] = time.perf_counter() - start
        out["integrated"] = result.appended
        if result.size != target:
            raise AssertionError(f"integrator reached {result.size}, expected {target}")
        # A no-op run as the background job makes it every minute, before the watermark has caught
        # up (PostgreSQL moves it in three runs across the straggler margin) and after.
        start = time.perf_counter()
        integrator.integrate()
        out["noop_lagging_s"] = time.perf_counter() - start
        if vendor == "postgresql":
            settings.HOZEN_AUDIT_STRAGGLER_MARGIN_SECONDS = 0  # no concurrent writers in this process
            for _ in range(3):
                integrator.integrate()
        start = time.perf_counter()
        integrator.integrate()
        out["noop_s"] = time.perf_counter() - start
        out["watermark"] = AuditIntegrator.objects.get(pk=1).watermark
        out["finish_s"] = loader.finish()
    else:
        roots = merkle.StreamingRoot()
        roots._stack = tree.read_hashes(integrator.frontier_indexes(size))  # the tree's frontier
        roots._size = size
        if roots.root() != tree.root(size):
            raise AssertionError("frontier does not reproduce the stored root")
        start = time.perf_counter()
        pos = merkle.stored_hash_index(0, size) if size else 0
        for lo in range(have, target, CHUNK):
            hi = min(target, lo + CHUNK)
            entries = [(i + 1, *fac.row(i)) for i in range(lo, hi)]
            stored = roots.extend_stored([sha256(b"\x00" + e[1].encode("utf-8")).digest() for e in entries])
            hashes = list(zip(range(pos, pos + len(stored)), stored, strict=True))
            pos += len(stored)
            loader.write(entries, [(i, i + 1) for i in range(lo, hi)], hashes)
        out["load_bulk_s"] = time.perf_counter() - start
        out["finish_s"] = loader.finish()
        if pos != merkle.stored_hash_count(target):
            raise AssertionError(f"bulk load wrote {pos} stored hashes, expected {merkle.stored_hash_count(target)}")
        AuditIntegrator.objects.update_or_create(pk=1, defaults={"watermark": target})
        start = time.perf_counter()
        integrator.integrate()
        out["noop_s"] = time.perf_counter() - start
    start = time.perf_counter()
    cp = checkpoints.issue_checkpoint()
    out["checkpoint_s"] = time.perf_counter() - start
    if cp.size != target:
        raise AssertionError(f"checkpoint at {cp.size}, expected {target}")
    return out


# --- verify, proofs, pymerkle ---------------------------------------------------------------------------


def w_verify() -> dict:
    setup_django(migrate=False)
    from hozen.audit import integrator
    from hozen.audit.verify import verify_log

    base = rss_kib()
    start = time.perf_counter()
    integrator.integrate()
    integrate_s = time.perf_counter() - start
    start = time.perf_counter()
    report = verify_log()
    seconds = time.perf_counter() - start
    return {"size": report.size, "seconds": seconds, "integrate_s": integrate_s, "base_kib": base,
            "checkpoints": report.checkpoints}


def _timed(fn, args_list) -> list[float]:
    out = []
    perf = time.perf_counter
    for args in args_list:
        t0 = perf()
        fn(*args)
        out.append(perf() - t0)
    out.sort()
    return out


def _summary(times: list[float]) -> dict:
    return {"p50": percentile(times, 50), "p99": percentile(times, 99), "mean": sum(times) / len(times),
            "max": times[-1]}


def w_proofs(n: int, seed: int) -> dict:
    setup_django(migrate=False)
    from hozen.audit import merkle, queries, tree
    from hozen.core.actor import Actor

    base = rss_kib()
    actor = Actor.operator("bench")
    size = tree.tree_size()
    rnd = random.Random(seed)
    idx = [rnd.randrange(size) for _ in range(n)]
    firsts = [rnd.randrange(1, size) for _ in range(n)]

    def incl(i):
        return queries.inclusion_proof_for(actor=actor, index=i, tree_size=size)

    def cons(f):
        return queries.consistency_proof_for(actor=actor, first=f, second=size)

    for i in idx[:50]:  # warm-up: connection, statement paths
        incl(i)
        cons(max(1, i))
    res = {
        "size": size,
        "inclusion": _summary(_timed(incl, [(i,) for i in idx])),
        "consistency": _summary(_timed(cons, [(f,) for f in firsts])),
        "inclusion_core": _summary(_timed(tree.inclusion_proof, [(i, size) for i in idx])),
        "consistency_core": _summary(_timed(tree.consistency_proof, [(f, size) for f in firsts])),
    }
    root = tree.root(size)
    for i, f in zip(idx[:50], firsts[:50], strict=True):  # the proofs are right, not just fast
        if not merkle.verify_inclusion(tree.leaf_hash(i), i, size, incl(i), root):
            raise AssertionError(f"inclusion proof of {i} does not verify")
        if not merkle.verify_consistency(f, size, tree.root(f), root, cons(f)):
            raise AssertionError(f"consistency proof {f}->{size} does not verify")
    res["base_kib"] = base
    return res


def w_pymerkle(size: int, n: int, seed: int) -> dict:
    setup_django(migrate=False)
    import gc

    import pymerkle
    from django.db import connection

    from hozen.audit import merkle, tree

    data: list[bytes] = []
    with connection.chunked_cursor() as cur:
        cur.execute('SELECT e.data FROM audit_auditleaf l JOIN audit_auditentry e ON e.id = l.entry_id '
                    'WHERE l."index" < %s ORDER BY l."index"', [size])
        while rows := cur.fetchmany(20_000):
            data.extend(r[0].encode("utf-8") for r in rows)
    db_root = tree.root(size)
    gc.collect()
    out: dict = {"size": size, "pymerkle_version": getattr(pymerkle, "__version__", "")}

    rss0 = _current_rss_kib()
    start = time.perf_counter()
    mine = merkle.MemoryTree()
    for d in data:
        mine.append_entry(d)
    out["hozen_build_s"] = time.perf_counter() - start
    gc.collect()
    rss1 = _current_rss_kib()
    out["hozen_kib"] = rss1 - rss0

    start = time.perf_counter()
    theirs = pymerkle.InmemoryTree()
    theirs.append_entries(data)
    out["pymerkle_build_s"] = time.perf_counter() - start
    gc.collect()
    out["pymerkle_kib"] = _current_rss_kib() - rss1

    start = time.perf_counter()
    stream = merkle.StreamingRoot()
    stream.extend([hashlib.sha256(b"\x00" + d).digest() for d in data])
    stream_root = stream.root()
    out["hozen_stream_s"] = time.perf_counter() - start
    if not (mine.root() == theirs.get_root() == db_root == stream_root):
        raise AssertionError("Hozen and pymerkle disagree on the root of the same leaves")

    rnd = random.Random(seed)
    idx = [rnd.randrange(size) for _ in range(n)]
    firsts = [rnd.randrange(1, size) for _ in range(n)]
    out["hozen_inclusion"] = _summary(_timed(mine.inclusion_proof, [(i, size) for i in idx]))
    out["pymerkle_inclusion"] = _summary(_timed(theirs.prove_inclusion, [(i + 1, size) for i in idx]))
    out["hozen_consistency"] = _summary(_timed(mine.consistency_proof, [(f, size) for f in firsts]))
    out["pymerkle_consistency"] = _summary(_timed(theirs.prove_consistency, [(f, size) for f in firsts]))
    # pymerkle proves the same statements: its proofs verify against the same (RFC 9162) root.
    for i, f in zip(idx[:20], firsts[:20], strict=True):
        pymerkle.verify_inclusion(theirs.get_leaf(i + 1), db_root, theirs.prove_inclusion(i + 1, size))
        pymerkle.verify_consistency(theirs.get_root(f), db_root, theirs.prove_consistency(f, size))
    return out


def w_signatures(n: int) -> dict:
    """Add `n` signed checkpoints (sizes size-n+1 .. size, as if one were issued per few entries),
    then time verify's checkpoint phase without and with the memo of a passed verify."""
    setup_django(migrate=False)
    from django.utils import timezone

    from hozen.audit import checkpoints, tree, verify
    from hozen.audit.models import AuditCheckpoint
    from hozen.audit.note import Checkpoint, sign_note

    size = tree.tree_size()
    key = checkpoints.signing_key()
    signer = checkpoints.signer(key)
    start = time.perf_counter()
    rows = []
    for s in range(max(1, size - n + 1), size + 1):
        root = tree.root(s)
        rows.append(AuditCheckpoint(size=s, root_hash=root, note=sign_note(Checkpoint(key.name, s, root).format(), signer),
                                    key=key, created=timezone.now()))
    AuditCheckpoint.objects.bulk_create(rows, batch_size=2000)
    made_s = time.perf_counter() - start
    total = AuditCheckpoint.objects.count()
    start = time.perf_counter()
    verify._stored_checkpoints(None)
    unremembered_s = time.perf_counter() - start
    start = time.perf_counter()
    verify.verify_log()  # passes, and remembers every signature it checked
    verify_s = time.perf_counter() - start
    start = time.perf_counter()
    verify._stored_checkpoints(None)
    remembered_s = time.perf_counter() - start
    return {"size": size, "added": len(rows), "checkpoints": total, "made_s": made_s,
            "unremembered_s": unremembered_s, "verify_s": verify_s, "remembered_s": remembered_s}


WORKERS = {"grow": w_grow, "verify": w_verify, "proofs": w_proofs, "pymerkle": w_pymerkle,
           "signatures": w_signatures}


# --- the orchestrator -----------------------------------------------------------------------------------


def _hozen_cli() -> str:
    cli = Path(sys.executable).with_name("hozen")
    if not cli.exists():
        raise SystemExit(f"{cli} not found: install Hozen into this environment (make venv)")
    return str(cli)


def _log(msg: str) -> None:
    print(f"{time.strftime('%H:%M:%S')} {msg}", flush=True)


def run(args) -> tuple[list[dict], list[dict], list[str]]:
    stages, pym, notes = [], [], []
    backends = backends_arg(args.db)
    for bi, backend in enumerate(backends):
        with scratch(backend, args.tmpdir) as s:
            try:
                _grow_and_measure(args, bi, backend, s, stages, pym, notes)
            except Exception as exc:  # keep what was measured; say what was not
                notes.append(f"{backend}: stopped by an error ({type(exc).__name__}: {str(exc)[:200]})")
                _log(f"[{backend}] ERROR {exc!r}")
            _log(f"[{backend}] dropping the scratch database")
    return stages, pym, notes


def _grow_and_measure(args, bi, backend, s, stages, pym, notes) -> None:
    if True:
        if True:
            for size in args.sizes:
                need = size * BYTES_PER_ENTRY[backend]
                free = shutil.disk_usage(s.tmp).free
                if need > free - args.keep_free_gib * 2**30:
                    notes.append(f"{backend}: skipped {size:,} entries and above (needs ~{fmt_bytes(need)}, "
                                 f"{fmt_bytes(free)} free)")
                    break
                st = {"backend": backend, "size": size}
                _log(f"[{backend}] grow to {size:,}")
                st["grow"] = run_worker(SCRIPT, "grow", s.env, {"target": size, "integrate_max": args.integrate_max}).data
                st["disk"] = s.disk_bytes()
                if size <= args.verify_max:
                    _log(f"[{backend}] hozen audit verify at {size:,}")
                    wall, maxrss, text = run_command([_hozen_cli(), "audit", "verify"], s.env)
                    if not text.startswith(f"ok: {size} entries"):
                        raise RuntimeError(f"unexpected verify output: {text.strip()}")
                    st["cli_verify"] = {"seconds": wall, "maxrss_kib": maxrss}
                    _log(f"[{backend}] verify_log() at {size:,}")
                    r = run_worker(SCRIPT, "verify", s.env)
                    st["verify"] = {**r.data, "maxrss_kib": r.maxrss_kib}
                _log(f"[{backend}] {args.proofs} inclusion + {args.proofs} consistency proofs at {size:,}")
                r = run_worker(SCRIPT, "proofs", s.env, {"n": args.proofs, "seed": args.seed})
                st["proofs"] = {**r.data, "maxrss_kib": r.maxrss_kib}
                stages.append(st)
                if size == args.sizes[0] and args.checkpoints:
                    _log(f"[{backend}] {args.checkpoints:,} more checkpoints: signature checks with and without the memo")
                    st["signatures"] = run_worker(SCRIPT, "signatures", s.env, {"n": args.checkpoints}).data
                if bi == 0 and size in args.pymerkle_sizes:
                    _log(f"pymerkle vs Hozen on the same {size:,} leaves")
                    r = run_worker(SCRIPT, "pymerkle", s.env, {"size": size, "n": args.proofs, "seed": args.seed})
                    pym.append({**r.data, "maxrss_kib": r.maxrss_kib, "backend": backend})


def _pp(s: dict) -> str:
    return f"{fmt_ms(s['p50'])} / {fmt_ms(s['p99'])}"


def render(args, argv, stages, pym, notes, elapsed: float) -> str:
    import pymerkle

    out = [
        "## Audit log at scale: verify, proofs, memory, pymerkle (`benchmarks/audit_scale_bench.py`)",
        "",
        f"Command: `{command_line(SCRIPT, argv)}`  ",
        f"Date: {today()}; whole run {elapsed / 60:.1f} min",
        "",
        machine_facts({"pymerkle": getattr(pymerkle, "__version__", "installed")}),
        "",
        f"How the logs were built: entries bulk-inserted in `record()`'s exact shape; leaves and stored "
        f"hashes by the production integrator up to {args.integrate_max:,} entries, bulk-loaded beyond "
        "(hashes from `merkle.StreamingRoot.extend_stored`, see the script's docstring). Proofs are "
        f"{args.proofs} random inclusion and {args.proofs} random consistency proofs against the whole "
        "tree, through `queries.inclusion_proof_for`/`consistency_proof_for` (the API's functions: policy, "
        "one indexed read of the proof's hashes and of the last leaf's hash at that size, which proves the log "
        "that large), warm cache; \"core\" is `tree.*_proof` alone (same read without that hash). Peak RSS is the whole "
        "process's (`ru_maxrss`; a Django process starts at about the 'base' figure).",
        "",
    ]
    rows = []
    for st in stages:
        g = st["grow"]
        if "integrate_s" in g:
            n = g["integrated"]
            build = f"integrator {fmt_rate(n / g['integrate_s'])} leaves/s ({g['integrate_s']:.1f} s)"
        else:
            n = g["to"] - g["from"]
            build = f"bulk load {fmt_rate(n / g['load_bulk_s'])} entries/s ({g['load_bulk_s']:.0f} s)"
        cli = st.get("cli_verify")
        ver = st.get("verify")
        p = st["proofs"]
        rows.append([
            st["backend"], f"{st['size']:,}", build,
            f"{cli['seconds']:.2f} s" if cli else "not run",
            f"{ver['seconds']:.2f} s" if ver else "",
            f"{fmt_mib(cli['maxrss_kib'])} / {fmt_mib(ver['maxrss_kib'])} (base {fmt_mib(ver['base_kib'])})" if ver else "",
            _pp(p["inclusion"]), _pp(p["consistency"]),
            f"{_pp(p['inclusion_core'])}; {_pp(p['consistency_core'])}",
            f"{fmt_mib(p['maxrss_kib'])} (base {fmt_mib(p['base_kib'])})",
            fmt_bytes(st["disk"]),
        ])
    out += [table(["database", "entries", "tree built by", "`hozen audit verify`", "`verify_log()`",
                   "verify peak RSS MiB: CLI / in-process", "inclusion p50 / p99 ms",
                   "consistency p50 / p99 ms", "core only: incl.; cons. p50 / p99 ms", "proofs peak RSS MiB",
                   "database size"], rows), ""]
    integ = [st for st in stages if "noop_lagging_s" in st["grow"]]
    if integ:
        out += ["Integrator runs with nothing to do (what the background job does every minute): "
                + "; ".join(f"{st['backend']} at {st['size']:,}: {fmt_ms(st['grow']['noop_s'])} ms"
                            + (f" (while the PostgreSQL watermark still lags the whole log: "
                               f"{fmt_ms(st['grow']['noop_lagging_s'])} ms)" if st["backend"] == "postgresql" else "")
                            for st in integ) + ".", ""]
    sig = [st for st in stages if "signatures" in st]
    if sig:
        out += ["Checkpoint signatures (issue 4: their checks must not grow with every checkpoint ever issued): "
                f"at the first size, {sig[0]['signatures']['added']:,} more signed checkpoints are stored (one per "
                "size up to the log's, as if issued every few entries), then verify's checkpoint phase "
                "(`verify._stored_checkpoints`) is timed before and after a passed `verify_log()` left its "
                "memo of checked signatures (`AuditSignatureMemo`, docs/security.md §4): "
                + "; ".join(f"{st['backend']}: {st['signatures']['checkpoints']:,} checkpoints, "
                            f"{st['signatures']['unremembered_s']:.2f} s with every signature checked "
                            f"({st['signatures']['unremembered_s'] / st['signatures']['checkpoints'] * 1e6:.0f} µs "
                            f"each), {st['signatures']['remembered_s']:.3f} s with the memo "
                            f"({st['signatures']['remembered_s'] / st['signatures']['checkpoints'] * 1e6:.1f} µs each); "
                            f"whole `verify_log()` {st['signatures']['verify_s']:.2f} s"
                            for st in sig) + ".", ""]
    for note in notes:
        out.append(f"- Not run: {note}")
    if notes:
        out.append("")

    if pym:
        out += ["### pymerkle on the same leaves", "",
                "The leaves of the scratch log read back from the database (entry bytes in leaf order); "
                "`pymerkle.InmemoryTree.append_entries` against Hozen's in-memory `merkle.MemoryTree` "
                "(stores every tlog hash, proves from them) and `merkle.StreamingRoot` (root only, O(log n) "
                "memory). All roots are equal, and equal to the stored root. Proofs: same random "
                "indexes and sizes; Hozen's from the database are in the table above.", ""]
        prow = []
        for r in pym:
            db = next((st["proofs"] for st in stages if st["backend"] == r["backend"] and st["size"] == r["size"]), None)
            prow.append([
                f"{r['size']:,}",
                f"{r['pymerkle_build_s']:.2f} s", f"{r['hozen_build_s']:.2f} s",
                f"{r['pymerkle_build_s'] / r['hozen_build_s']:.1f}x", f"{r['hozen_stream_s']:.2f} s",
                f"{fmt_mib(r['pymerkle_kib'])} / {fmt_mib(r['hozen_kib'])}",
                f"{_pp(r['pymerkle_inclusion'])} / {_pp(r['hozen_inclusion'])}",
                f"{_pp(r['pymerkle_consistency'])} / {_pp(r['hozen_consistency'])}",
                (f"{_pp(db['inclusion'])}; {r['pymerkle_inclusion']['p50'] / db['inclusion']['p50']:.2f}x"
                 if db else ""),
            ])
        out += [table(["leaves", "pymerkle build", "Hozen MemoryTree build", "build ratio (pymerkle / Hozen)",
                       "Hozen StreamingRoot", "memory held MiB: pymerkle / Hozen",
                       "inclusion p50 / p99 ms: pymerkle / Hozen (memory)",
                       "consistency p50 / p99 ms: pymerkle / Hozen (memory)",
                       f"Hozen from {pym[0]['backend']} (API path); pymerkle p50 / Hozen DB p50"], prow), ""]

    out += ["### Targets", ""]
    for backend in dict.fromkeys(st["backend"] for st in stages):
        mine = [st for st in stages if st["backend"] == backend]
        v1m = next((st for st in mine if st["size"] == 1_000_000 and "cli_verify" in st), None)
        if v1m:
            out.append(f"- {backend}: `hozen audit verify` of 1,000,000 entries under 5 s: "
                       f"{verdict(v1m['cli_verify']['seconds'] < 5)} ({v1m['cli_verify']['seconds']:.2f} s; "
                       f"`verify_log()` alone {v1m['verify']['seconds']:.2f} s)")
        else:
            out.append(f"- {backend}: verify of 1,000,000 entries: not run in this invocation")
        big = max(mine, key=lambda st: st["size"])
        p = big["proofs"]
        worst = max(p["inclusion"]["p99"], p["consistency"]["p99"])
        med = max(p["inclusion"]["p50"], p["consistency"]["p50"])
        label = "10,000,000" if big["size"] == 10_000_000 else f"{big['size']:,} (largest run; 10M not run)"
        out.append(f"- {backend}: a proof under 1 ms at {label} entries from the database: p50 "
                   f"{verdict(med < 0.001)} ({fmt_ms(med)} ms), p99 {verdict(worst < 0.001)} ({fmt_ms(worst)} ms)")
        sg = next((st["signatures"] for st in mine if "signatures" in st), None)
        if sg:
            out.append(f"- {backend}: checkpoint signatures checked once, not at every verify: "
                       f"{verdict(sg['remembered_s'] < 0.2 * sg['unremembered_s'])} "
                       f"({sg['checkpoints']:,} checkpoints: {sg['unremembered_s']:.2f} s checked, "
                       f"{sg['remembered_s']:.3f} s remembered)")
        vs = [st for st in mine if "verify" in st]
        if len(vs) >= 2:
            a, b = vs[0], vs[-1]
            grow = b["verify"]["maxrss_kib"] - a["verify"]["maxrss_kib"]
            flat = grow <= max(0.25 * a["verify"]["maxrss_kib"], 32 * 1024)
            out.append(f"- {backend}: verify memory flat from {a['size']:,} to {b['size']:,} entries: {verdict(flat)} "
                       f"(peak {fmt_mib(a['verify']['maxrss_kib'])} -> {fmt_mib(b['verify']['maxrss_kib'])} MiB)")
        if len(mine) >= 2:
            a, b = mine[0], mine[-1]
            grow = b["proofs"]["maxrss_kib"] - a["proofs"]["maxrss_kib"]
            flat = grow <= max(0.25 * a["proofs"]["maxrss_kib"], 32 * 1024)
            out.append(f"- {backend}: proof memory flat from {a['size']:,} to {b['size']:,} entries: {verdict(flat)} "
                       f"(peak {fmt_mib(a['proofs']['maxrss_kib'])} -> {fmt_mib(b['proofs']['maxrss_kib'])} MiB)")
    return "\n".join(out)


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--db", default="auto", help="sqlite, postgresql, both comma-separated, or auto (default)")
    p.add_argument("--sizes", type=int_list, default=[100_000, 1_000_000],
                   help="log sizes to grow through, ascending (100000,1000000)")
    p.add_argument("--integrate-max", type=int, default=100_000,
                   help="build the tree with the integrator up to this size, bulk-load beyond (100000)")
    p.add_argument("--verify-max", type=int, default=1_000_000, help="run verify up to this size (1000000)")
    p.add_argument("--proofs", type=int, default=1000, help="random proofs of each kind per size (1000)")
    p.add_argument("--pymerkle-sizes", type=int_list, default=[100_000, 1_000_000],
                   help="sizes at which to compare with pymerkle (100000,1000000)")
    p.add_argument("--checkpoints", type=int, default=10_000,
                   help="signed checkpoints added at the first size to time verify's signature checks (10000)")
    p.add_argument("--seed", type=int, default=4)
    p.add_argument("--keep-free-gib", type=float, default=10, help="never fill the disk beyond this margin (10)")
    p.add_argument("--tmpdir", help="where scratch folders go (default: the system temp folder)")
    p.add_argument("--rev", help="measure this commit's src/ (git archive snapshot) instead of the work tree")
    p.add_argument("--no-doc", action="store_true", help="print the section instead of writing docs/benchmarks.md")
    args = p.parse_args(argv)
    use_source(args.rev)
    if args.sizes != sorted(args.sizes):
        p.error("--sizes must be ascending")
    try:
        import pymerkle  # noqa: F401
    except ImportError:
        p.error("pymerkle is not installed: pip install -e '.[bench]' (or make bench)")
    start = time.perf_counter()
    stages, pym, notes = run(args)
    if not any(a.startswith("--integrate-max") for a in argv):  # the report names it: defaults change
        argv = [*argv, "--integrate-max", str(args.integrate_max)]
    text = render(args, argv, stages, pym, notes, time.perf_counter() - start)
    if not args.no_doc:
        write_section("audit-scale", text)
    print(text)
    return 0


if __name__ == "__main__":
    if not worker_main(WORKERS, sys.argv):
        sys.exit(main(sys.argv[1:]))
