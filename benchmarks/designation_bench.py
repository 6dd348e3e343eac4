#!/usr/bin/env python3
"""Designations at national scale (issue 5): list, search, API and writes with 100,000 designations.

Target (issue 5): with 100,000 designations in the database, the list and search pages and the API
calls answer in under 100 ms at the 95th percentile, on SQLite and on PostgreSQL.

Per backend, in one scratch database (created, migrated and dropped by the script, see
benchmarks/README.md):

1. Bulk load (``bulk_create``, not the services, which would take hours and audit every row):
   ``--count`` designations spread round-robin over ``--organs`` administrative organs (METI is the
   organ measured), in the shape the services write them: references ``ORG-YEAR-NNNN`` with the
   serials of a real year, 85 % in force (designated), 5 % drafts, 6 % expired, 4 % cancelled;
   designation dates between the regime start and today, five-year terms, review dates; a holder
   row for the holding organ of every designation, drafts included (as ``services.create_draft``
   writes it), and for another organ on 5 % of those in force (a provision); ``drafted`` and
   ``designated`` events. Titles come from twelve topics, so a
   search for one topic matches about 1/12 of the rows. PostgreSQL gets ``VACUUM ANALYZE`` after the
   load (what autovacuum does after a bulk insert); SQLite gets nothing (Hozen never runs ANALYZE).
2. Measurements, each ``--samples`` times after a warm-up, timed around the whole call:
   - the list page ``GET /designations/`` and a search ``GET /designations/?q=TOPIC`` through
     Django's test ``Client`` signed in (password and TOTP, through the real views) as METI's ESI
     manager: middleware, policy scope, the query, paginator count and template;
   - ``GET /api/v1/designations?limit=50``, the same with ``q=TOPIC``, and the list as an
     oversight inspector (who sees all 100,000), with a bearer token;
   - ``GET /api/v1/designations/{id}`` for random METI designations;
   - ``services.create_draft`` then ``services.approve`` (separately timed) and ``services.extend``
     of random designations in force, as the ESI manager and the organ head (policy, rules,
     audit entry, one durable transaction each).
   The number of SQL queries of one call of each is recorded beside its times (N+1 shows there),
   and the list query's plan (EXPLAIN) is kept for the report.
3. Diagnosis (``--no-diagnosis`` skips it), in the same scratch database: the list's and the
   search's queries timed alone as shipped (the paginator's count; the page read ids first, then
   its rows), then with each fix the shipped code still lacks added, each on top of the previous
   ones: PostgreSQL's JIT off for the session, an index on the list's order (year, serial, id),
   trigram indexes for the search on PostgreSQL (only if migration 0005 could not create them);
   and for reference the page in one query. If any fix was added, the pages and API lists are
   timed again with them: the figures the fix would give.

    .venv/bin/python benchmarks/designation_bench.py                     # SQLite, and PostgreSQL if it answers
    .venv/bin/python benchmarks/designation_bench.py --db sqlite --count 20000 --samples 50 --no-doc
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (  # noqa: E402
    DOC,
    ROOT,
    backends_arg,
    command_line,
    fmt_ms,
    machine_facts,
    percentile,
    run_worker,
    scratch,
    setup_django,
    table,
    today,
    verdict,
    worker_main,
)

SCRIPT = Path(__file__).resolve()
TARGET_MS = 100.0
MARK_START = "<!-- designation-bench:start -->"
MARK_END = "<!-- designation-bench:end -->"

TOPICS = ("発電設備", "送電網", "半導体", "蓄電池", "通信基盤", "港湾設備", "重要鉱物", "医薬品原料",
          "暗号技術", "衛星測位", "金融決済", "水道施設")
SEARCH = "半導体"
ORGANS = ("METI", "MIC", "MOD", "MOFA", "NPA", "MHLW", "MLIT", "MOF", "MAFF", "MEXT", "MOE", "FSA", "PSIA",
          "NISC", "DA", "JCG")

#: (operation, shown name, whether the 100 ms p95 target applies)
OPERATIONS = (
    ("page_list", "list page `GET /designations/` (ESI manager, 25 a page)", True),
    ("page_search", f"search page `GET /designations/?q={SEARCH}`", True),
    ("api_list", "API list `GET /api/v1/designations?limit=50` (ESI manager)", True),
    ("api_search", f"API search `?q={SEARCH}&limit=50` (ESI manager)", True),
    ("api_list_oversight", "API list as oversight (sees every organ's rows)", True),
    ("api_detail", "API detail `GET /api/v1/designations/{id}`", True),
    ("create_draft", "`services.create_draft`", False),
    ("approve", "`services.approve`", False),
    ("extend", "`services.extend`", False),
)


# --- inside a worker (Django configured for the scratch database) --------------------------------------

def _people():
    from tests import factories

    from hozen.core import services as core
    from hozen.core.actor import Actor
    from hozen.core.roles import OrganisationKind as K

    op = Actor.operator("bench")
    orgs = {}
    for code in ORGANS:
        orgs[code] = core.create_organisation(actor=op, code=code, kind=K.ADMINISTRATIVE_ORGAN,
                                              name_ja=f"{code} 省庁", name_en=code)
    orgs["IPRMS"] = core.create_organisation(actor=op, code="IPRMS", kind=K.OVERSIGHT_BODY,
                                             name_ja="独立公文書管理監", name_en="IPRMS")
    manager = factories.account(role="esi_manager", organisation=orgs["METI"], username="bench-manager")
    head = factories.account(role="organ_head", organisation=orgs["METI"], username="bench-head")
    oversight = factories.account(role="oversight", organisation=orgs["IPRMS"], username="bench-oversight")
    return orgs, manager, head, oversight


def _load(count: int, n_organs: int, orgs: dict, manager, head, seed: int) -> dict:
    """Bulk-insert `count` designations with their holders and events (see the module docstring)."""
    from django.db import connection, transaction
    from django.utils import timezone

    from hozen.designation.models import Designation, Event, Holder, State
    from hozen.designation.periods import add_months, last_day_of_term
    from hozen.rules.queries import current_pack

    rng = random.Random(seed)
    pack = current_pack("esi", timezone.localdate())
    items = list(pack.sub_items.select_related("category").exclude(category=None))
    organs = [orgs[c] for c in ORGANS[:n_organs]]
    start = pack.value("regime_start")
    now = timezone.now()
    today_ = timezone.localdate()
    span = (today_ - start).days
    # Designation dates first, sorted per organ, so serials follow the dates within each year.
    plan = []
    for i in range(count):
        organ = organs[i % len(organs)]
        plan.append((organ, start + dt.timedelta(days=rng.randrange(max(span, 1))), i))
    plan.sort(key=lambda p: (p[0].pk, p[1], p[2]))
    serials: dict[tuple[int, int], int] = {}
    rows = []
    for organ, designated_on, i in plan:
        roll = rng.random()
        state = (State.DRAFT if roll < 0.05 else State.EXPIRED if roll < 0.11 else
                 State.CANCELLED if roll < 0.15 else State.DESIGNATED)
        item = items[i % len(items)]
        term_end = last_day_of_term(designated_on, rng.choice((1, 3, 5, 5, 5)))
        d = Designation(
            organisation=organ, tier="esi", rules_pack=pack, category=item.category, sub_item=item,
            title=f"{TOPICS[i % len(TOPICS)]}に関する情報 第{i}号", summary="（内容は記載しない）",
            justification_category="法第2条第4項の区分及び細目に該当する。", justification_not_public="公表されておらず関係者以外に知られていない。",
            justification_harm="漏えいすれば安全保障に支障を与えるおそれがある。", designated_on=designated_on,
            term_end=term_end, protective_measure="marking", state=state, prepared_by=manager,
            created_at=now,
        )
        if state != State.DRAFT:
            key = (organ.pk, designated_on.year)
            serials[key] = serials.get(key, 0) + 1
            d.year, d.serial = designated_on.year, serials[key]
            d.reference = f"{organ.code}-{d.year}-{d.serial:04d}"
            d.approved_by, d.approved_at = head, now
            if state == State.DESIGNATED:
                d.review_due = add_months(designated_on, 12)
            else:
                d.ended_on = min(today_, term_end + dt.timedelta(days=1))
                d.end_reason = "要件を満たさなくなったため" if state == State.CANCELLED else ""
        rows.append(d)
    t0 = time.perf_counter()
    with transaction.atomic():
        Designation.objects.bulk_create(rows, batch_size=2000)
    ids = list(Designation.objects.exclude(state=State.DRAFT).values_list("pk", "organisation_id", "designated_on"))
    drafts = list(Designation.objects.filter(state=State.DRAFT).values_list("pk", "organisation_id", "designated_on"))
    actor = {"kind": "system", "name": "bench:load", "channel": "job"}
    with transaction.atomic():
        # The holding organ holds its drafts too (services.create_draft); provisions only of designations in force.
        holders = [Holder(designation_id=pk, organisation_id=org, since=on) for pk, org, on in ids + drafts]
        others = [o.pk for o in organs]
        holders += [Holder(designation_id=pk, organisation_id=rng.choice([o for o in others if o != org]), since=on)
                    for pk, org, on in ids if rng.random() < 0.05 and len(others) > 1]
        Holder.objects.bulk_create(holders, batch_size=5000)
        events = [Event(designation_id=pk, kind="drafted", on=on, at=now, actor=actor, rules_pack=pack)
                  for pk, _, on in drafts]
        for pk, _, on in ids:
            events.append(Event(designation_id=pk, kind="drafted", on=on, at=now, actor=actor, rules_pack=pack))
            events.append(Event(designation_id=pk, kind="designated", on=on, at=now, actor=actor, rules_pack=pack))
        Event.objects.bulk_create(events, batch_size=5000)
    load_s = time.perf_counter() - t0
    if connection.vendor == "postgresql":
        with connection.cursor() as cur:
            cur.execute("VACUUM ANALYZE")
    return {"load_s": load_s, "holders": len(holders), "events": len(events),
            "meti": Designation.objects.filter(organisation=orgs["METI"]).count()}


def _time(fn, samples: int, warmup: int) -> list[float]:
    for _ in range(warmup):
        fn()
    out = []
    for _ in range(samples):
        t = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t)
    return sorted(out)


def _queries(fn) -> int:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as ctx:
        fn()
    return len(ctx.captured_queries)


def _explain(actor) -> dict:
    """The plans of the list's and the search's queries for the ESI manager: the paginator's count
    and the page's ids (the 25 rows are then read by primary key)."""
    from django.db import connection

    from hozen.designation import queries

    qs = queries.designations_for(actor)
    found = queries.designations_for(actor, search=SEARCH)
    plans = {}
    for name, q in (("count", qs.values("pk").order_by()), ("page: ids", qs.values_list("pk", flat=True)[:25]),
                    ("search count", found.values("pk").order_by()),
                    ("search page: ids", found.values_list("pk", flat=True)[:25])):
        sql, params = q.query.sql_with_params()
        if name == "count":
            sql = f"SELECT COUNT(*) FROM ({sql}) AS sub"
        prefix = "EXPLAIN QUERY PLAN " if connection.vendor == "sqlite" else "EXPLAIN (ANALYZE, BUFFERS OFF) "
        with connection.cursor() as cur:
            cur.execute(prefix + sql, params)
            rows = cur.fetchall()
        plans[name] = "\n".join(" | ".join(str(c) for c in r) for r in rows)
    return plans


def _median_p95(fn, n: int = 15) -> tuple[float, float]:
    xs = _time(fn, n, 2)
    return percentile(xs, 50), percentile(xs, 95)


def _has_list_order_index() -> bool:
    """Whether the designation table already has an index that leads with (year, serial)."""
    from django.db import connection

    with connection.cursor() as cur:
        found = connection.introspection.get_constraints(cur, "designation_designation")
    return any(c.get("index") and list(c.get("columns") or [])[:2] == ["year", "serial"] for c in found.values())


def _has_trigram_indexes() -> bool:
    from django.db import connection

    with connection.cursor() as cur:
        found = connection.introspection.get_constraints(cur, "designation_designation")
    return "designation_title_trgm" in found and "designation_reference_trgm" in found


def _diagnose(actor, orgs) -> tuple[list[dict], int]:
    """Query-level times of the list and search as shipped, then each fix still missing added
    (JIT off, the list-order index, the trigram indexes), and for reference the page in one query.
    Returns the rows and how many fixes were added (the pages are re-timed only if any was)."""
    from django.db import connection

    from hozen.designation import queries

    pg = connection.vendor == "postgresql"
    steps = []

    def measure(label: str) -> None:
        plain = queries.designations_for(actor)
        found = queries.designations_for(actor, search=SEARCH)
        row = {"step": label}
        for name, qs in (("list", plain), ("search", found)):
            row[f"{name}_count"] = _median_p95(qs.count)
            row[f"{name}_page"] = _median_p95(lambda qs=qs: queries.designation_page(qs, 0, 25))
        steps.append(row)

    def ddl(*statements: str) -> None:
        with connection.cursor() as cur:
            for sql in statements:
                cur.execute(sql)
            if pg:
                cur.execute("ANALYZE designation_designation")
                cur.execute("ANALYZE designation_holder")

    measure("as shipped")
    added = 0
    jit_on = False
    if pg:
        with connection.cursor() as cur:
            cur.execute("SHOW jit")
            jit_on = cur.fetchone()[0] == "on"
    if jit_on:
        ddl("SET jit = off")
        measure("+ JIT off (PostgreSQL session)")
        added += 1
    if not _has_list_order_index():
        ddl("CREATE INDEX bench_list_order ON designation_designation (year, serial, id)")
        measure("+ index (year, serial, id)")
        added += 1
    if pg and not _has_trigram_indexes():
        try:
            ddl("CREATE EXTENSION IF NOT EXISTS pg_trgm",
                "CREATE INDEX bench_title_trgm ON designation_designation "
                "USING gin (UPPER(title::text) gin_trgm_ops)",
                "CREATE INDEX bench_reference_trgm ON designation_designation "
                "USING gin (UPPER(reference::text) gin_trgm_ops)")
            measure("+ trigram indexes for the search")
            added += 1
        except Exception as exc:  # pg_trgm not installed: say so in the report
            steps.append({"step": f"trigram indexes unavailable: {exc}"})
    plain = queries.designations_for(actor)
    found = queries.designations_for(actor, search=SEARCH)
    steps.append({"step": "for reference: the page in one query (before the ids-first fetch)",
                  "list_page": _median_p95(lambda: list(plain[:25])),
                  "search_page": _median_p95(lambda: list(found[:25]))})
    return steps, added


def worker_measure(count: int, organs: int, samples: int, warmup: int, seed: int, diagnosis: bool = True) -> dict:
    # The test Client's host name, for this scratch process only; tests/ for the sign-in helpers.
    os.environ["HOZEN_ALLOWED_HOSTS"] = "127.0.0.1,localhost,testserver"
    sys.path.insert(0, str(ROOT))
    setup_django()
    import django
    from django.db import connection
    from tests import factories
    from tests.designation.conftest import actor_of

    from hozen.designation import services
    from hozen.designation.models import Designation, State

    orgs, manager, head, oversight = _people()
    loaded = _load(count, organs, orgs, manager, head, seed)
    rng = random.Random(seed + 1)
    client = factories.signed_in_client(manager)
    bearer = {"HTTP_AUTHORIZATION": f"Bearer {factories.api_token(manager)}"}
    bearer_oversight = {"HTTP_AUTHORIZATION": f"Bearer {factories.api_token(oversight)}"}
    manager_actor, head_actor = actor_of(manager), actor_of(head)
    meti_ids = list(Designation.objects.filter(organisation=orgs["METI"]).values_list("pk", flat=True))
    in_force = list(Designation.objects.filter(organisation=orgs["METI"], state=State.DESIGNATED)
                    .values_list("pk", flat=True))
    rng.shuffle(in_force)
    in_force_iter = iter(in_force)
    drafts: list = []

    def get(path, headers=None, expect=200):
        def call():
            response = client.get(path, **(headers or {}))
            if response.status_code != expect:
                raise RuntimeError(f"GET {path}: {response.status_code} {response.content[:300]!r}")
        return call

    def api_detail():
        get(f"/api/v1/designations/{rng.choice(meti_ids)}", bearer)()

    sample = Designation.objects.filter(organisation=orgs["METI"]).first()
    fields = {k: getattr(sample, k) for k in ("category", "sub_item", "justification_category",
                                               "justification_not_public", "justification_harm")}
    from django.utils import timezone

    on = timezone.localdate()
    from hozen.designation.periods import last_day_of_term

    def create():
        drafts.append(services.create_draft(
            actor=manager_actor, organisation=orgs["METI"], title="ベンチマーク用の指定案", summary="（内容は記載しない）",
            designated_on=on, term_end=last_day_of_term(on, 5), protective_measure="marking", in_advance=False,
            advance_reason="", **fields))

    def approve():
        services.approve(actor=head_actor, designation=drafts.pop())

    def extend():
        d = Designation.objects.get(pk=next(in_force_iter))
        services.extend(actor=head_actor, designation=d, new_end=d.term_end + dt.timedelta(days=365),
                        reason="要件を引き続き満たすため延長する")

    reads = {
        "page_list": get("/designations/"),
        "page_search": get(f"/designations/?q={SEARCH}"),
        "api_list": get("/api/v1/designations?limit=50", bearer),
        "api_search": get(f"/api/v1/designations?limit=50&q={SEARCH}", bearer),
        "api_list_oversight": get("/api/v1/designations?limit=50", bearer_oversight),
        "api_detail": api_detail,
    }
    results: dict[str, dict] = {}
    for name, fn in reads.items():
        q = _queries(fn)
        results[name] = {"seconds": _time(fn, samples, warmup), "queries": q}
    # Writes: create and approve alternate so that every approval has a fresh draft of its own.
    create_s, approve_s = [], []
    q_create = _queries(create)
    q_approve = _queries(approve)
    for i in range(samples + warmup):
        t = time.perf_counter()
        create()
        t2 = time.perf_counter()
        approve()
        t3 = time.perf_counter()
        if i >= warmup:
            create_s.append(t2 - t)
            approve_s.append(t3 - t2)
    results["create_draft"] = {"seconds": sorted(create_s), "queries": q_create}
    results["approve"] = {"seconds": sorted(approve_s), "queries": q_approve}
    q_extend = _queries(extend)
    results["extend"] = {"seconds": _time(extend, samples, warmup), "queries": q_extend}
    plans = _explain(manager_actor)
    steps, fixed = [], {}
    if diagnosis:
        steps, added = _diagnose(manager_actor, orgs)
        for name in ("page_list", "page_search", "api_list", "api_search", "api_list_oversight") if added else ():
            fn = reads[name]
            fixed[name] = {"seconds": _time(fn, samples, warmup), "queries": _queries(fn)}
    return {"vendor": connection.vendor, "django": django.get_version(), "loaded": loaded, "results": results,
            "plans": plans, "total": Designation.objects.count(), "steps": steps, "fixed": fixed}


WORKERS = {"measure": worker_measure}


# --- the report -------------------------------------------------------------------------------------------

def render(args, argv, by_backend: dict[str, dict]) -> str:
    backends = list(by_backend)
    out = [
        "## Designations at 100,000 (`benchmarks/designation_bench.py`)",
        "",
        f"Command: `{command_line(SCRIPT, argv)}`  ",
        f"Date: {today()}",
        "",
        machine_facts(),
        "",
        f"{args.count:,} designations bulk-loaded over {args.organs} organs (METI, the organ measured, holds "
        + ", ".join(f"{b}: {r['loaded']['meti']:,}" for b, r in by_backend.items())
        + "), with their holder rows and `drafted`/`designated` events; 85 % in force, 5 % drafts, the rest "
        "expired or cancelled. Each figure: milliseconds over "
        f"{args.samples} calls after {args.warmup} warm-up calls, timed around the whole call (pages and API "
        "through Django's test client with the middleware, signed in as METI's ESI manager; writes through the "
        "services, each its own durable transaction with its audit entry). \"queries\" = SQL statements of "
        f"one call. Target (issue 5): p95 under {TARGET_MS:.0f} ms for the list and search pages and the API.",
        "",
    ]
    headers = ["operation"]
    for b in backends:
        headers += [f"{b} p50", f"{b} p95", f"{b} queries"]
    headers.append("target")
    rows = []
    for key, label, targeted in OPERATIONS:
        row = [label]
        ok = True
        for b in backends:
            r = by_backend[b]["results"][key]
            s = r["seconds"]
            p95 = percentile(s, 95)
            ok = ok and p95 * 1000 < TARGET_MS
            row += [fmt_ms(percentile(s, 50)), fmt_ms(p95), str(r["queries"])]
        row.append(verdict(ok) if targeted else "(figures only)")
        rows.append(row)
    out += [table(headers, rows), ""]
    if any(r.get("steps") for r in by_backend.values()):
        out += _render_diagnosis(by_backend)
    out += ["Load (bulk_create, one transaction per table): " + "; ".join(
        f"{b} {r['loaded']['load_s']:.1f} s for {args.count:,} designations, {r['loaded']['holders']:,} holders, "
        f"{r['loaded']['events']:,} events" for b, r in by_backend.items()) + ".", ""]
    for b, r in by_backend.items():
        out += [f"<details><summary>{b}: plan of the list page's queries (ESI manager)</summary>", "", "```"]
        for name, plan in r["plans"].items():
            out += [f"-- {name}", plan]
        out += ["```", "</details>", ""]
    if args.notes:
        out += [Path(args.notes).read_text().strip(), ""]
    return "\n".join(out)


def _render_diagnosis(by_backend: dict[str, dict]) -> list[str]:
    out = ["### Diagnosis", "",
           "The ESI manager's list and search queries timed alone (median / p95 ms of 15 runs; \"count\" is the "
           "paginator's `COUNT(*)`, \"page\" the 25 rows as the screens fetch them: their ids, then the rows with "
           "their joins), as shipped, then with each fix the shipped code still lacks added (none, when the table "
           "has only the first row and the reference), in the same scratch database:", ""]
    for b, r in by_backend.items():
        rows = []
        for st in r.get("steps", []):
            if "list_page" not in st:
                rows.append([st["step"], "", "", "", ""])
                continue
            rows.append([st["step"]] + [f"{fmt_ms(st[k][0])} / {fmt_ms(st[k][1])}" if k in st else ""
                                        for k in ("list_count", "list_page", "search_count", "search_page")])
        if rows:
            out += [f"{b}:", "", table(["step", "list count", "list page", "search count", "search page"], rows), ""]
    headers = ["operation"]
    backends = [b for b, r in by_backend.items() if r.get("fixed")]
    for b in backends:
        headers += [f"{b} p50", f"{b} p95"]
    headers.append("target")
    rows = []
    for key, label, _ in OPERATIONS if backends else ():
        if not all(key in by_backend[b]["fixed"] for b in backends):
            continue
        row, ok = [label], True
        for b in backends:
            s = by_backend[b]["fixed"][key]["seconds"]
            ok = ok and percentile(s, 95) * 1000 < TARGET_MS
            row += [fmt_ms(percentile(s, 50)), fmt_ms(percentile(s, 95))]
        rows.append(row + [verdict(ok)])
    if rows:
        out += ["End to end again with every step above applied (scratch database only; the shipped code is "
                "unchanged):", "", table(headers, rows), ""]
    out += [
        "What the shipped code does, and what a step adds (a step the shipped settings or migrations already "
        "have is left out):",
        "",
        "- *scope*: the `designation.view` scope of an organ's roles is `id IN (designations held by the organ)`, "
        "answered from the index `holder_by_organisation` (organisation, designation), because the holding organ "
        "has its holder row from the draft on (`services.create_draft`, `import_services.import_drafts`, migration "
        "0004 for older drafts). The former `organisation = X OR (held AND not a draft)` could not use an index: "
        "the paginator's COUNT(*) read all 100,000 rows.",
        "- *ids first*: a page is read as its 25 ids, then those rows with their joins "
        "(`queries.designation_page`); the list defers the long texts and no longer joins the rules pack (its "
        "source file and content, ~35 kB a row). In one query SQLite built every visible row, wide, before "
        "keeping 25 (the reference row).",
        "- *JIT off*: PostgreSQL compiled the list's plans with its JIT because the filter is costed high; "
        "`hozen.settings` sets `-c jit=off` for PostgreSQL connections.",
        "- *index (year, serial, id)*: the list's order (`designation_list_order`, migration 0003).",
        "- *trigram indexes* (PostgreSQL): `icontains` is `UPPER(col) LIKE UPPER('%…%')`; migration 0005 creates "
        "`pg_trgm` and GIN indexes on `UPPER(title)` and `UPPER(reference)` when the extension is available (it "
        "warns and carries on otherwise). SQLite needs none: the search reads only the organ's own rows (the scope).",
        "",
    ]
    return out


def write_doc(body: str) -> None:
    """Replace this benchmark's section of docs/benchmarks.md between its markers (or append it);
    the rest of the file, other benchmarks' sections included, is left as it is."""
    block = f"{MARK_START}\n{body.rstrip()}\n{MARK_END}"
    text = DOC.read_text() if DOC.exists() else "# Benchmarks\n"
    if MARK_START in text and MARK_END in text:
        head, rest = text.split(MARK_START, 1)
        _, tail = rest.split(MARK_END, 1)
        text = head + block + tail
    else:
        text = text.rstrip() + "\n\n" + block + "\n"
    DOC.parent.mkdir(parents=True, exist_ok=True)
    DOC.write_text(text)
    print(f"wrote the designation section of {DOC.relative_to(ROOT)}")


def main(argv: list[str]) -> int:
    if worker_main(WORKERS, argv):
        return 0
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--db", type=backends_arg, default="auto", help="sqlite, postgresql or auto (both if PG answers)")
    p.add_argument("--count", type=int, default=100_000, help="designations to load (100000)")
    p.add_argument("--organs", type=int, default=10, choices=range(1, len(ORGANS) + 1), metavar="N",
                   help=f"organs holding them, round-robin (10; at most {len(ORGANS)})")
    p.add_argument("--samples", type=int, default=200, help="timed calls per operation (200)")
    p.add_argument("--warmup", type=int, default=10, help="untimed calls first (10)")
    p.add_argument("--seed", type=int, default=5)
    p.add_argument("--no-diagnosis", action="store_true", help="skip the per-query diagnosis and the re-run with "
                   "the proposed fixes")
    p.add_argument("--notes", metavar="FILE", help="a markdown file appended to the section (findings, fixes)")
    p.add_argument("--tmpdir", help="where the SQLite scratch folder goes")
    p.add_argument("--no-doc", action="store_true", help="print the section instead of writing docs/benchmarks.md")
    args = p.parse_args(argv)
    by_backend = {}
    for backend in args.db:
        print(f"{backend}: loading {args.count:,} designations and measuring…", flush=True)
        with scratch(backend, args.tmpdir) as s:
            r = run_worker(SCRIPT, "measure", s.env, {"count": args.count, "organs": args.organs,
                                                       "samples": args.samples, "warmup": args.warmup,
                                                       "seed": args.seed,
                                                       "diagnosis": not args.no_diagnosis})
        by_backend[backend] = r.data
    text = render(args, argv, by_backend)
    if not args.no_doc:
        write_doc(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
