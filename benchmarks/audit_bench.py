#!/usr/bin/env python3
"""Audit log write throughput: appends per second against the database's own durable commit rate.

Per backend (SQLite and PostgreSQL), in one scratch database, measured in the same run:

- bare single-row insert, one durable transaction per row, into ``bench_bare_entry``, a copy of
  the ``audit_auditentry`` table (same columns, same indexes), through the raw DB-API connection;
- ``hozen.audit.record(Actor.operator("bench"), ...)``, one entry per transaction (its own);
- bare batch insert of ``--batch-size`` rows in one transaction: ``executemany`` (SQLite,
  PostgreSQL) and ``COPY`` (PostgreSQL);
- ``record_many()`` of ``--batch-size`` entries inside one ``transaction.atomic()``: what a service
  that writes many entries in one transaction calls (one ``executemany`` on SQLite, one ``COPY`` on
  PostgreSQL, in the caller's transaction);
- the integrator (``hozen.audit.integrator.integrate``) sequencing ``--integrate`` pending entries
  into the Merkle tree: leaves per second;
- PostgreSQL only: 1, 2, 4, 8 writer processes (``--writers``), each with its own connection,
  appending single-entry transactions for ``--duration`` seconds, for ``record()`` and for the
  bare insert, to show whether commits are grouped (throughput scales) or serialised.

Bare and audit measurements alternate in ``--rounds`` rounds so that drift of the disk affects both.
Targets (issue 4): record() one per transaction >= 80 % of the bare single-row rate; record_many() in
batches >= 50 % of the bare batch rate (COPY on PostgreSQL).

    .venv/bin/python benchmarks/audit_bench.py                 # SQLite, and PostgreSQL if it answers
    .venv/bin/python benchmarks/audit_bench.py --db sqlite --single 500 --no-doc
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (  # noqa: E402
    ENTRY_COLUMNS,
    EntryFactory,
    backends_arg,
    command_line,
    fmt_ms,
    fmt_rate,
    int_list,
    machine_facts,
    percentile,
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
BARE = "bench_bare_entry"
ACTION = "bench.append"


# --- inside a worker (Django configured for the scratch database) --------------------------------------


def _create_bare_table() -> None:
    """`bench_bare_entry`: the audit entry table's exact shape (columns, identity, indexes)."""
    from django.db import connection

    with connection.cursor() as cur:
        if connection.vendor == "postgresql":
            cur.execute(f"CREATE TABLE IF NOT EXISTS {BARE} (LIKE audit_auditentry INCLUDING ALL)")
            return
        cur.execute("SELECT type, name, sql FROM sqlite_master WHERE tbl_name = 'audit_auditentry' "
                    "AND sql IS NOT NULL ORDER BY type DESC")
        for kind, name, sql in cur.fetchall():
            sql = sql.replace('"audit_auditentry"', f'"{BARE}"')
            if kind == "index":
                sql = sql.replace(f'"{name}"', f'"bench_{name}"')
            cur.execute(sql)


class _Bare:
    """The bare writer: a raw DB-API connection with the same durability settings as Hozen's."""

    def __init__(self) -> None:
        from django.conf import settings

        db = settings.DATABASES["default"]
        cols = ", ".join(ENTRY_COLUMNS)
        if db["ENGINE"].endswith("sqlite3"):
            import sqlite3

            self.vendor = "sqlite"
            self.conn = sqlite3.connect(db["NAME"], isolation_level=None, timeout=20)
            # The same pragmas as hozen.settings: WAL, synchronous=FULL (durable commits).
            for pragma in db["OPTIONS"]["init_command"].split(";"):
                if pragma.strip():
                    self.conn.execute(pragma)
            self.insert = f"INSERT INTO {BARE} ({cols}) VALUES ({', '.join('?' * len(ENTRY_COLUMNS))})"
        else:
            import psycopg

            self.vendor = "postgresql"
            self.conn = psycopg.connect(os.environ["HOZEN_DATABASE_URL"], autocommit=True)
            self.insert = f"INSERT INTO {BARE} ({cols}) VALUES ({', '.join(['%s'] * len(ENTRY_COLUMNS))})"
            self.copy_sql = f"COPY {BARE} ({cols}) FROM STDIN"

    def single(self, row: tuple) -> None:
        if self.vendor == "sqlite":
            self.conn.execute("BEGIN IMMEDIATE")
            self.conn.execute(self.insert, row)
            self.conn.execute("COMMIT")
        else:
            self.conn.execute(self.insert, row)  # autocommit: one transaction

    def executemany(self, rows: list[tuple]) -> None:
        if self.vendor == "sqlite":
            self.conn.execute("BEGIN IMMEDIATE")
            self.conn.executemany(self.insert, rows)
            self.conn.execute("COMMIT")
        else:
            with self.conn.transaction(), self.conn.cursor() as cur:
                cur.executemany(self.insert, rows)

    def copy(self, rows: list[tuple]) -> None:
        with self.conn.transaction(), self.conn.cursor() as cur, cur.copy(self.copy_sql) as cp:
            for row in rows:
                cp.write_row(row)


def _record(actor, i: int) -> None:
    from hozen.audit import record

    record(actor, ACTION, {"type": "bench", "id": str(i)}, details={"n": i})


def _record_many(actor, first: int, count: int) -> None:
    """What a service writing many entries in one transaction does: one `record_many` call."""
    from hozen.audit import Entry, record_many

    record_many(actor, [Entry(ACTION, {"type": "bench", "id": str(i)}, details={"n": i})
                        for i in range(first, first + count)])


def w_appends(single: int, batches: int, batch_size: int, rounds: int, integrate_n: int) -> dict:
    setup_django()
    from django.db import connection, transaction

    from hozen.audit import integrator
    from hozen.audit.models import AuditEntry
    from hozen.core.actor import Actor

    _create_bare_table()
    bare = _Bare()
    vendor = bare.vendor
    fac = EntryFactory(vendor)
    fac.check()
    actor = Actor.operator("bench")
    rows = [fac.row(i) for i in range(max(single, batch_size))]

    # Warm up every path (connections, prepared statements, the first pages of every index, and
    # a first batch of each kind: its allocations trigger the interpreter's first full garbage
    # collection of Django's heap, ~0.1 s, which would otherwise land in one measured batch).
    for i in range(50):
        bare.single(rows[i])
        _record(actor, i)
    warm = rows[:batch_size]
    bare.executemany(warm)
    if vendor == "postgresql":
        bare.copy(warm)
    with transaction.atomic():
        _record_many(actor, 50, batch_size)

    t = {k: 0.0 for k in ("bare_single", "audit_single", "bare_many", "bare_copy", "audit_batch")}
    n = {k: 0 for k in t}
    per_round = max(1, single // rounds)
    batches_per_round = max(1, batches // rounds)
    i = 50 + batch_size
    for _ in range(rounds):
        start = time.perf_counter()
        for k in range(per_round):
            bare.single(rows[k])
        t["bare_single"] += time.perf_counter() - start
        n["bare_single"] += per_round

        start = time.perf_counter()
        for _k in range(per_round):
            _record(actor, i)
            i += 1
        t["audit_single"] += time.perf_counter() - start
        n["audit_single"] += per_round

        batch = rows[:batch_size]
        for _b in range(batches_per_round):
            start = time.perf_counter()
            bare.executemany(batch)
            t["bare_many"] += time.perf_counter() - start
            n["bare_many"] += batch_size

            if vendor == "postgresql":
                start = time.perf_counter()
                bare.copy(batch)
                t["bare_copy"] += time.perf_counter() - start
                n["bare_copy"] += batch_size

            start = time.perf_counter()
            with transaction.atomic():
                _record_many(actor, i, batch_size)
            i += batch_size
            t["audit_batch"] += time.perf_counter() - start
            n["audit_batch"] += batch_size

    # The integrator: top the pending entries up to integrate_n (bulk insert, not timed), then
    # sequence them all into the tree, timed.
    pending = AuditEntry.objects.count()
    extra = max(0, integrate_n - pending)
    if extra:
        cols = ", ".join(ENTRY_COLUMNS)
        marks = ", ".join(["%s"] * len(ENTRY_COLUMNS))
        step = 20_000
        with connection.cursor() as cur:
            for lo in range(0, extra, step):
                with transaction.atomic():
                    cur.executemany(f"INSERT INTO audit_auditentry ({cols}) VALUES ({marks})",
                                    [fac.row(j) for j in range(lo, min(extra, lo + step))])
    pending = AuditEntry.objects.count()
    start = time.perf_counter()
    result = integrator.integrate()
    integrate_s = time.perf_counter() - start
    start = time.perf_counter()
    integrator.integrate()
    noop_s = time.perf_counter() - start
    if result.size != pending:
        raise AssertionError(f"integrator left entries out: {result.size} leaves for {pending} entries")
    return {
        "vendor": vendor,
        "seconds": t,
        "counts": n,
        "batch_size": batch_size,
        "integrate": {"leaves": result.appended, "seconds": integrate_s, "noop_seconds": noop_s,
                      "batch": integrator.DEFAULT_BATCH_SIZE},
    }


def _writer(mode: str, k: int, duration: float, barrier, queue) -> None:
    """One writer process: its own connection, single-entry transactions until the deadline."""
    from hozen.core.actor import Actor

    fac = EntryFactory("postgresql")
    rows = [fac.row(k * 1000 + j) for j in range(1000)]
    actor = Actor.operator(f"bench-{k}")
    if mode == "bare":
        bare = _Bare()

        def op(i):
            bare.single(rows[i % 1000])
    else:
        def op(i):
            _record(actor, i)
    for i in range(20):  # connect and warm up before the clock starts
        op(i)
    lat = []
    barrier.wait()
    t0 = time.perf_counter()
    deadline = t0 + duration
    count = 0
    now = t0
    while now < deadline:
        op(count)
        t1 = time.perf_counter()
        lat.append(t1 - now)
        now = t1
        count += 1
    lat.sort()
    queue.put({"count": count, "elapsed": now - t0, "p50": percentile(lat, 50), "p99": percentile(lat, 99)})


def w_concurrent(mode: str, writers: int, duration: float) -> dict:
    import multiprocessing as mp

    setup_django(migrate=False)
    from django.db import connections

    connections.close_all()  # every forked writer opens its own connection
    ctx = mp.get_context("fork")
    barrier = ctx.Barrier(writers)
    queue = ctx.Queue()
    procs = [ctx.Process(target=_writer, args=(mode, k, duration, barrier, queue)) for k in range(writers)]
    for p in procs:
        p.start()
    results = [queue.get(timeout=duration + 120) for _ in procs]
    for p in procs:
        p.join()
        if p.exitcode != 0:
            raise RuntimeError(f"writer exited with {p.exitcode}")
    rate = sum(r["count"] / r["elapsed"] for r in results)
    return {"mode": mode, "writers": writers, "rate": rate, "count": sum(r["count"] for r in results),
            "p50": max(r["p50"] for r in results), "p99": max(r["p99"] for r in results)}


WORKERS = {"appends": w_appends, "concurrent": w_concurrent}


# --- the orchestrator -----------------------------------------------------------------------------------


def _rate(r: dict, key: str) -> float:
    return r["counts"][key] / r["seconds"][key] if r["seconds"][key] else float("nan")


def render(args, argv: list[str], results: dict, concurrent: list[dict]) -> str:
    out = [
        "## Audit log appends (`benchmarks/audit_bench.py`)",
        "",
        f"Command: `{command_line(SCRIPT, argv)}`  ",
        f"Date: {today()}",
        "",
        machine_facts(),
        "",
        "Bare rows go into `bench_bare_entry`, a copy of `audit_auditentry` (same columns and indexes), "
        "through the raw DB-API connection with Hozen's durability settings; audit rows through "
        "`hozen.audit.record(Actor.operator(\"bench\"), \"bench.append\", target, details=...)`, and in "
        "batches through `hozen.audit.record_many(actor, [Entry(\"bench.append\", target, details=...), ...])` "
        "(building the `Entry` list is timed too). "
        f"{args.single} single-row transactions and {args.batches} batches of {args.batch_size} per "
        f"measurement, alternated in {args.rounds} rounds. Rates are rows (entries) per second.",
        "",
    ]
    rows, checks = [], []
    for backend, r in results.items():
        bs = _rate(r, "bare_single")
        aus = _rate(r, "audit_single")
        bm = _rate(r, "bare_many")
        ab = _rate(r, "audit_batch")
        rows.append([backend, "bare insert, 1 row per transaction", fmt_rate(bs), "", ""])
        ok1 = aus >= 0.8 * bs
        rows.append([backend, "`record()`, 1 entry per transaction", fmt_rate(aus), f"{aus / bs:.0%} of bare",
                     f">= 80 %: {verdict(ok1)}"])
        checks.append((f"{backend}: one entry per transaction >= 80 % of bare single-row", ok1, aus / bs))
        rows.append([backend, f"bare `executemany`, {args.batch_size} rows per transaction", fmt_rate(bm), "", ""])
        if backend == "postgresql":
            bc = _rate(r, "bare_copy")
            rows.append([backend, f"bare `COPY`, {args.batch_size} rows per transaction", fmt_rate(bc), "", ""])
            ok2 = ab >= 0.5 * bc
            rows.append([backend, f"`record_many()` of {args.batch_size} in one transaction", fmt_rate(ab),
                         f"{ab / bc:.0%} of COPY, {ab / bm:.0%} of executemany", f">= 50 % of COPY: {verdict(ok2)}"])
            checks.append((f"{backend}: batches >= 50 % of bare batch (COPY)", ok2, ab / bc))
        else:
            ok2 = ab >= 0.5 * bm
            rows.append([backend, f"`record_many()` of {args.batch_size} in one transaction", fmt_rate(ab),
                         f"{ab / bm:.0%} of executemany", f">= 50 %: {verdict(ok2)}"])
            checks.append((f"{backend}: batches >= 50 % of bare batch (executemany)", ok2, ab / bm))
        ig = r["integrate"]
        rows.append([backend, f"integrator: {ig['leaves']:,} pending entries sequenced "
                     f"(batches of {ig['batch']})", fmt_rate(ig["leaves"] / ig["seconds"]) + " leaves/s",
                     f"{ig['seconds']:.2f} s; no-op run {fmt_ms(ig['noop_seconds'])} ms", ""])
    out += [table(["database", "measurement", "per second", "ratio", "target"], rows), ""]

    if concurrent:
        out += [
            f"### Concurrent writers on PostgreSQL ({args.duration:g} s each)",
            "",
            "Each writer is a separate process with its own connection, appending one entry per "
            "transaction (`record()`), or one bare row per transaction; total rate over all writers. "
            "Latency is per transaction (worst writer's p50/p99).",
            "",
        ]
        by = {(c["mode"], c["writers"]): c for c in concurrent}
        crow = []
        for w in args.writers:
            a, b = by.get(("audit", w)), by.get(("bare", w))
            a1, b1 = by.get(("audit", args.writers[0])), by.get(("bare", args.writers[0]))
            crow.append([
                w,
                fmt_rate(a["rate"]) if a else "", f"{a['rate'] / a1['rate']:.2f}x" if a else "",
                f"{fmt_ms(a['p50'])} / {fmt_ms(a['p99'])}" if a else "",
                fmt_rate(b["rate"]) if b else "", f"{b['rate'] / b1['rate']:.2f}x" if b else "",
                f"{a['rate'] / b['rate']:.0%}" if a and b else "",
            ])
        out += [table(["writers", "`record()` tx/s", "speed-up", "p50 / p99 ms", "bare tx/s", "speed-up",
                       "audit / bare"], crow), ""]
        top = by.get(("audit", args.writers[-1]))
        one = by.get(("audit", args.writers[0]))
        if top and one:
            scale = top["rate"] / one["rate"]
            checks.append((f"postgresql: {args.writers[-1]} writers scale over 1 (group commit, not serialised)",
                           scale > 1.5, scale))
    out += ["### Targets", ""]
    out += [f"- {name}: {verdict(ok)} ({value:.2f})" if "scale" in name else
            f"- {name}: {verdict(ok)} ({value:.0%})" for name, ok, value in checks]
    return "\n".join(out)


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--db", default="auto", help="sqlite, postgresql, both comma-separated, or auto (default)")
    p.add_argument("--single", type=int, default=2000, help="single-row transactions per measurement (2000)")
    p.add_argument("--batches", type=int, default=20, help="batches per measurement (20)")
    p.add_argument("--batch-size", type=int, default=1000, help="rows per batch transaction (1000)")
    p.add_argument("--rounds", type=int, default=2, help="alternating rounds of bare and audit (2)")
    p.add_argument("--integrate", type=int, default=100_000, help="pending entries for the integrator (100000)")
    p.add_argument("--writers", type=int_list, default=[1, 2, 4, 8], help="writer counts (1,2,4,8)")
    p.add_argument("--duration", type=float, default=5.0, help="seconds per concurrent measurement (5)")
    p.add_argument("--tmpdir", help="where scratch folders go (default: the system temp folder)")
    p.add_argument("--rev", help="measure this commit's src/ (git archive snapshot) instead of the work tree")
    p.add_argument("--no-doc", action="store_true", help="print the section instead of writing docs/benchmarks.md")
    args = p.parse_args(argv)
    use_source(args.rev)

    results, concurrent = {}, []
    for backend in backends_arg(args.db):
        with scratch(backend, args.tmpdir) as s:
            print(f"[{backend}] appends, batches, integrator…", flush=True)
            results[backend] = run_worker(SCRIPT, "appends", s.env, {
                "single": args.single, "batches": args.batches, "batch_size": args.batch_size,
                "rounds": args.rounds, "integrate_n": args.integrate}).data
            if backend == "postgresql":
                for mode in ("audit", "bare"):
                    for w in args.writers:
                        print(f"[{backend}] {w} concurrent writer(s), {mode}…", flush=True)
                        concurrent.append(run_worker(SCRIPT, "concurrent", s.env, {
                            "mode": mode, "writers": w, "duration": args.duration}).data)
    text = render(args, argv, results, concurrent)
    if args.no_doc:
        print(text)
    else:
        write_section("audit-appends", text)
        print(text)
    return 0


if __name__ == "__main__":
    if not worker_main(WORKERS, sys.argv):
        sys.exit(main(sys.argv[1:]))
