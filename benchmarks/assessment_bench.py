#!/usr/bin/env python3
"""Aptitude assessments at national scale (issue 6): bulk nomination, and the investigator's queue
and the subject's portal with a million cases.

Targets (issue 6): bulk nomination of 100,000 candidates from CSV under 60 seconds on SQLite and
PostgreSQL; the investigator queue and subject portal pages under 100 ms at the 95th percentile
with 1,000,000 cases in the database.

Per backend, each part in its own scratch database (created, migrated and dropped by the script,
see benchmarks/README.md):

``nominate`` (default ``--candidates 100000``):
  1. Bulk load (``bulk_create``, not the services): the candidates as people with an account and
     an active role in a certified business that has a contract with METI; 1 % of them have a
     favourable result from METI (a possible exemption, held as one). 2 % more people have an open
     assessment and are left out of the file (one such row refuses it, all or nothing).
  2. A CSV file of every candidate (username, department, post, listing date, date of birth),
     then the real command, timed around the whole process as a user runs it:
     ``hozen assessments nominate FILE.csv --as <protection officer> --contract METI-C-1``
     (parse, per-row checks, cases, data keys, events, one audit entry per row, one transaction).
  3. SQL statements per row of ``services.nominate_many`` and of ``services.nominate`` called per
     row, on ``--query-rows`` (1,000) more candidates, counted with CaptureQueriesContext.

``scale`` (default ``--cases 1000000``; machine-heavy: run it when the machine is free):
  1. Bulk load ``--cases`` cases over 10 organs in every state (the shape the services write:
     clocks, dates, a data key per case is *not* made — the measured reads never touch keys), each
     open case with its own person (one in progress per person, organ and tier) and the notified
     or closed ones spread over the same people, with an investigator duty on every case that
     reached the investigation spread over 20 investigators; the measured investigator holds
     ``--queue`` (200) cases under investigation, the measured subject one case. With
     ``--parallel-load`` both databases are loaded at the same time; they are always measured one
     after the other.
  2. ``queries.queue_for(investigator)`` (its count and first page of 25) and
     ``queries.case_status(subject, case)`` with ``queries.cases_for(subject)``, ``--samples`` times
     after a warm-up; and the investigator queue page and the subject portal page through
     Django's test client when those URLs answer (``PAGES``: ``/assessment/staff/investigation/``,
     ``/assessment/portal/`` and the subject's case page), with the number of SQL statements of one call.

    .venv/bin/python benchmarks/assessment_bench.py --part nominate      # SQLite, and PostgreSQL if it answers
    .venv/bin/python benchmarks/assessment_bench.py --part scale --cases 20000 --no-doc
    .venv/bin/python benchmarks/assessment_bench.py --part scale --parallel-load   # 1M cases, both loaded at once
"""

from __future__ import annotations

import argparse
import concurrent.futures
import contextlib
import csv
import datetime as dt
import json
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
    fmt_mib,
    fmt_ms,
    machine_facts,
    percentile,
    run_command,
    run_worker,
    scratch,
    setup_django,
    table,
    today,
    verdict,
    worker_main,
)

SCRIPT = Path(__file__).resolve()
NOMINATE_TARGET_S = 60.0
PAGE_TARGET_MS = 100.0
MARK_START = "<!-- assessment-bench:start -->"
MARK_END = "<!-- assessment-bench:end -->"
ORGANS = ("METI", "MIC", "MOD", "MOFA", "NPA", "MHLW", "MLIT", "MOF", "MAFF", "MEXT")
#: Candidate page paths (the screens are built by others; the first that answers 200 is measured).
PAGES = {
    "queue_page": ("/assessment/staff/investigation/",),
    "portal_page": ("/assessment/portal/",),
    "portal_case_page": ("/assessment/portal/{own}/",),
}


# --- inside a worker (Django configured for the scratch database) ------------------------------------------

def _base():
    """Organisations, the business under contract with METI, and the officers."""
    sys.path.insert(0, str(ROOT))
    from tests import factories

    from hozen.core import services as core
    from hozen.core.actor import Actor
    from hozen.core.roles import OrganisationKind as K
    from hozen.operators import services as operators
    from hozen.rules.models import Category, RulesPack, SubItem
    from hozen.rules.storage import load_shipped

    load_shipped(RulesPack, Category, SubItem, published_by={"kind": "system", "name": "bench", "channel": "cli"})
    op = Actor.operator("bench")
    orgs = {code: core.create_organisation(actor=op, code=code, kind=K.ADMINISTRATIVE_ORGAN,
                                           name_ja=f"{code} 省庁", name_en=code) for code in ORGANS}
    orgs["CAO"] = core.create_organisation(actor=op, code="CAO", kind=K.CABINET_OFFICE, name_ja="内閣府",
                                           name_en="Cabinet Office")
    orgs["TOWA"] = core.create_organisation(actor=op, code="TOWA", kind=K.BUSINESS, name_ja="東和重工業株式会社",
                                            name_en="Towa")
    head = factories.account(role="organ_head", organisation=orgs["METI"], username="bench-head")
    head_actor = Actor.for_account(head, head.active_assignments().first(), channel="cli", second_factor_verified=True)
    cert = operators.record_certification(actor=head_actor, organ=orgs["METI"], business=orgs["TOWA"],
                                          certified_on=dt.date(2025, 6, 1))
    contract = operators.record_contract(actor=head_actor, certification=cert, reference="METI-C-1", form="receives",
                                         authorised_departments=["技術部"], valid_from=dt.date(2025, 6, 1),
                                         valid_until=dt.date(2060, 12, 31))
    officer = factories.account(role="business_officer", organisation=orgs["TOWA"], username="bench-officer")
    return orgs, head, officer, contract


def _bulk_people(n: int, org, prefix: str, *, role: str = "subject", start: int = 0) -> list[int]:
    """``n`` people with an account and an active role in ``org`` (bulk inserts; one password hash)."""
    from django.contrib.auth.hashers import make_password
    from django.db import transaction

    from hozen.core.models import Account, Person, RoleAssignment

    password = make_password(None)
    ids: list[int] = []
    for lo in range(start, start + n, 5000):
        hi = min(lo + 5000, start + n)
        with transaction.atomic():
            people = Person.objects.bulk_create([
                Person(family_name="候補", given_name=f"{i}", family_name_kana="コウホ", given_name_kana="タロウ",
                       date_of_birth=dt.date(1970 + i % 30, 1 + i % 12, 1 + i % 28)) for i in range(lo, hi)])
            if any(p.pk is None for p in people):
                people = list(Person.objects.filter(given_name__in=[str(i) for i in range(lo, hi)],
                                                    family_name="候補").order_by("id"))
            accounts = Account.objects.bulk_create([
                Account(username=f"{prefix}{i}", person=p, password=password) for i, p in zip(range(lo, hi), people,
                                                                                            strict=True)])
            if any(a.pk is None for a in accounts):
                accounts = list(Account.objects.filter(username__in=[f"{prefix}{i}" for i in range(lo, hi)])
                                .order_by("id"))
            RoleAssignment.objects.bulk_create([RoleAssignment(account=a, role=role, organisation=org)
                                                for a in accounts])
        ids += [p.pk for p in people]
    return ids


def _analyze() -> None:
    from django.db import connection

    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")


def worker_prepare_nominate(candidates: int, seed: int, csv_path: str) -> dict:
    """Load the candidates and write the CSV file; the command runs in its own process after."""
    setup_django()
    from django.db import connection, transaction
    from django.utils import timezone

    from hozen.assessment.models import AssessmentCase, Clearance
    from hozen.rules.models import Tier
    from hozen.rules.queries import current_pack

    t0 = time.perf_counter()
    orgs, _head, officer, contract = _base()
    n_busy = candidates * 2 // 100  # loaded besides the file's rows: the file has exactly `candidates` rows
    ids = _bulk_people(candidates + n_busy, orgs["TOWA"], "cand")
    rng = random.Random(seed)
    busy = set(rng.sample(ids, n_busy))
    exempt = set(rng.sample(sorted(set(ids) - busy), candidates // 100))
    pack = current_pack(Tier.ESI, timezone.localdate())
    now = timezone.now()
    with transaction.atomic():
        cases = [AssessmentCase(person_id=p, organ=orgs["METI"], nominating_organisation=orgs["TOWA"],
                                contract=contract, nominated_by=officer, trigger="new", department="技術部", post="主任",
                                listing_agreed_on=dt.date(2026, 1, 5), rules_pack=pack, state="consented",
                                stage_due_on=timezone.localdate() + dt.timedelta(days=30), nominated_at=now)
                 for p in sorted(busy | exempt)]
        AssessmentCase.objects.bulk_create(cases, batch_size=2000)
        for c in cases:
            if c.person_id in exempt:
                c.state, c.notified_at = "notified", now
        AssessmentCase.objects.bulk_update([c for c in cases if c.person_id in exempt], ["state", "notified_at"],
                                           batch_size=2000)
        by_person = {c.person_id: c for c in cases}
        Clearance.objects.bulk_create([
            Clearance(person_id=p, organ=orgs["METI"], tier="esi", favourable=True,
                      notified_on=timezone.localdate() - dt.timedelta(days=400),
                      valid_until=timezone.localdate() + dt.timedelta(days=3000), case=by_person[p], rules_pack=pack)
            for p in sorted(exempt)], batch_size=2000)
    _analyze()
    load_s = time.perf_counter() - t0
    from hozen.core.models import Account

    usernames = {}
    for lo in range(0, len(ids), 5000):
        usernames.update(Account.objects.filter(person_id__in=ids[lo:lo + 5000]).values_list("person_id", "username"))
    from hozen.core.models import Person

    births = {}
    for lo in range(0, len(ids), 5000):
        births.update(Person.objects.filter(pk__in=ids[lo:lo + 5000]).values_list("pk", "date_of_birth"))
    rows = 0
    with open(csv_path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["username", "department", "post", "listing_agreed_on", "date_of_birth"])
        for p in ids:
            if p in busy:
                continue
            dob = births.get(p)
            w.writerow([usernames[p], "技術部", "主任", "2026-01-05", dob.isoformat() if dob else ""])
            rows += 1
    return {"vendor": connection.vendor, "load_s": load_s, "rows": rows, "exempt": len(exempt),
            "busy": len(busy), "officer": officer.username}


def worker_count_nominate(rows: int) -> dict:
    """After the command: what it wrote; then SQL statements per row of nominate_many and nominate."""
    setup_django(migrate=False)
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from hozen.assessment import services
    from hozen.assessment.models import AssessmentCase, CaseEvent, Exemption
    from hozen.audit.models import AuditEntry
    from hozen.core.actor import Actor
    from hozen.core.models import Account, Organisation
    from hozen.operators.models import Contract

    written = {"cases": AssessmentCase.objects.filter(state="nominated").count(),
               "exemptions": Exemption.objects.count(), "events": CaseEvent.objects.count(),
               "audit_nominate": AuditEntry.objects.filter(action="assessment.nominate").count()}
    officer = Account.objects.get(username="bench-officer")
    actor = Actor.for_account(officer, officer.active_assignments().first(), channel="cli")
    contract = Contract.objects.get(reference="METI-C-1")
    towa = Organisation.objects.get(code="TOWA")
    many = _bulk_people(rows, towa, "qm", start=10_000_000)
    single = _bulk_people(min(rows, 200), towa, "qs", start=20_000_000)
    fields = {"department": "技術部", "post": "主任", "listing_agreed_on": dt.date(2026, 1, 5)}
    with CaptureQueriesContext(connection) as ctx:
        services.nominate_many(actor=actor, rows=[{"person": p, **fields} for p in many], contract=contract)
    q_many = len(ctx.captured_queries)
    from hozen.core.models import Person

    with CaptureQueriesContext(connection) as ctx:
        for p in Person.objects.filter(pk__in=single):
            services.nominate(actor=actor, person=p, contract=contract, **fields)
    q_single = len(ctx.captured_queries)
    return {**written, "queries_many_per_row": q_many / rows, "queries_single_per_row": q_single / len(single),
            "query_rows": rows}


def _states_mix() -> list[tuple[str, float]]:
    return [("nominated", 0.03), ("notice_given", 0.03), ("consented", 0.05), ("questionnaire_submitted", 0.03),
            ("under_investigation", 0.08), ("investigation_complete", 0.02), ("adjudicated_favourable", 0.01),
            ("notified", 0.70), ("refused", 0.02), ("not_consented", 0.02), ("discontinued", 0.01)]


def worker_scale_load(cases: int, queue: int, seed: int) -> dict:
    """Bulk-load ``cases`` cases (the shape the services write) and the measured people."""
    sys.path.insert(0, str(ROOT))  # tests/ for the factories
    setup_django()
    from django.db import transaction
    from django.utils import timezone
    from tests import factories

    from hozen.assessment.models import AssessmentCase, CaseDuty
    from hozen.assessment.states import OPEN
    from hozen.rules.models import Tier
    from hozen.rules.queries import current_pack

    t0 = time.perf_counter()
    orgs, head, officer, contract = _base()
    rng = random.Random(seed)
    investigators = [factories.account(role="investigator", organisation=orgs["CAO"], username=f"bench-inv{i}")
                     for i in range(20)]
    me = investigators[0]
    subject = factories.account(role="subject", organisation=orgs["TOWA"], username="bench-subject")
    mix = _states_mix()
    states = rng.choices([st for st, _ in mix], [w for _, w in mix], k=cases)
    # One assessment in progress per person, organ and tier: each open case has its own person; a
    # closed or notified case (three in four) belongs to one of them (people accumulate results).
    n_open = sum(1 for st in states if st in OPEN)
    person_ids = _bulk_people(max(n_open, 1), orgs["TOWA"], "p")
    pack = current_pack(Tier.ESI, timezone.localdate())
    today_ = timezone.localdate()
    now = timezone.now()
    organ_list = [orgs[c] for c in ORGANS]
    inv_ids = [a.pk for a in investigators]
    mine = opened = closed = 0
    for lo in range(0, cases, 5000):
        batch = []
        for i in range(lo, min(lo + 5000, cases)):
            state = states[i]
            if state in OPEN:
                person, opened = person_ids[opened], opened + 1
            else:
                person, closed = person_ids[closed % len(person_ids)], closed + 1
            batch.append(AssessmentCase(
                person_id=person, organ=organ_list[i % len(organ_list)], nominating_organisation=orgs["TOWA"],
                contract=contract if i % len(organ_list) == 0 else None, nominated_by=officer, trigger="new",
                department="技術部", post="主任", listing_agreed_on=dt.date(2025, 9, 1), rules_pack=pack, state=state,
                stage_due_on=today_ + dt.timedelta(days=rng.randint(-30, 90)) if state not in (
                    "notified", "refused", "not_consented", "discontinued") else None,
                nominated_at=now - dt.timedelta(days=rng.randint(0, 3000))))
        with transaction.atomic():
            AssessmentCase.objects.bulk_create(batch)
            if any(c.pk is None for c in batch):
                batch = list(AssessmentCase.objects.filter(person_id__in=[c.person_id for c in batch]))
            duties = []
            for c in batch:
                if c.state in ("under_investigation", "investigation_complete", "adjudicated_favourable", "notified"):
                    if c.state == "under_investigation" and mine < queue:
                        account_id = me.pk
                        mine += 1
                    else:
                        account_id = rng.choice(inv_ids[1:])
                    duties.append(CaseDuty(case=c, kind="investigator", account_id=account_id,
                                           assigned_by={"kind": "system", "name": "bench"},
                                           ended_at=None if c.state == "under_investigation" else now))
            CaseDuty.objects.bulk_create(duties)
    own = AssessmentCase.objects.create(person=subject.person, organ=orgs["METI"], nominating_organisation=orgs["TOWA"],
                                        contract=contract, nominated_by=officer, trigger="new", department="技術部",
                                        post="主任", listing_agreed_on=dt.date(2026, 1, 5), rules_pack=pack,
                                        state="consented", stage_due_on=today_ + dt.timedelta(days=20))
    _analyze()
    return {"load_s": time.perf_counter() - t0, "own": own.pk, "people": len(person_ids) + 1}


def worker_scale_measure(own: int, samples: int, warmup: int) -> dict:
    """Time the investigator's queue and the subject's portal (reads, then the pages)."""
    os.environ["HOZEN_ALLOWED_HOSTS"] = "127.0.0.1,localhost,testserver"
    sys.path.insert(0, str(ROOT))  # tests/ for the sign-in helpers
    setup_django(migrate=False)
    from django.db import connection
    from tests import factories

    from hozen.assessment import queries, staff_queries
    from hozen.assessment.models import AssessmentCase
    from hozen.core.actor import Actor
    from hozen.core.models import Account

    me, subject, officer = (Account.objects.get(username=u) for u in ("bench-inv0", "bench-subject", "bench-officer"))
    inv_actor, subj_actor, officer_actor = (
        Actor.for_account(a, a.active_assignments().first(), channel="web", second_factor_verified=True)
        for a in (me, subject, officer))

    def queue_query():
        qs = queries.queue_for(inv_actor)
        qs.count()
        list(qs[:25])

    def portal_query():
        list(queries.cases_for(subj_actor)[:10])
        queries.case_status(subj_actor, queries.case_for(subj_actor, own))

    ops = {"queue_for": queue_query, "case_status": portal_query}
    from django_otp.plugins.otp_totp.models import TOTPDevice

    TOTPDevice.objects.create(user=subject, name="phone", key=factories.TOTP_KEY, confirmed=True)
    subject_client = factories.signed_in_client(subject)
    clients = {"queue_page": factories.signed_in_client(me), "portal_page": subject_client,
               "portal_case_page": subject_client}
    for name, paths in PAGES.items():
        for path in paths:
            path = path.format(own=own)
            try:
                if clients[name].get(path).status_code == 200:
                    ops[name] = (lambda c, p: (lambda: _ok(c.get(p), p)))(clients[name], path)
                    break
            except Exception:  # a path that does not resolve or fails: try the next one
                continue

    def count(fn) -> int:
        # An execute wrapper, not CaptureQueriesContext: a test-client request resets the query log.
        seen = []
        with connection.execute_wrapper(lambda execute, sql, params, many, context: (
                seen.append(sql), execute(sql, params, many, context))[1]):
            fn()
        return len(seen)

    # The plans of the measured reads (and the nominator's page), to check that none walks every
    # case of a state nationwide: printed with the results, not timed.
    plans = {"queue_for": queries.queue_for(inv_actor)[:25].explain(),
             "subject_cases": queries.cases_for(subj_actor)[:10].explain(),
             "nominator_page": staff_queries.nominated_cases(officer_actor)[:25].explain()}
    results = {}
    for name, fn in ops.items():
        n_queries = count(fn)
        times = []
        for i in range(samples + warmup):
            t = time.perf_counter()
            fn()
            if i >= warmup:
                times.append(time.perf_counter() - t)
        results[name] = {"seconds": sorted(times), "queries": n_queries}
    return {"vendor": connection.vendor, "cases": AssessmentCase.objects.count(),
            "queue": queries.queue_for(inv_actor).count(), "results": results,
            "pages": [k for k in ops if k in PAGES], "plans": plans}


def _ok(response, path):
    if response.status_code != 200:
        raise RuntimeError(f"GET {path}: {response.status_code}")


WORKERS = {"prepare_nominate": worker_prepare_nominate, "count_nominate": worker_count_nominate,
           "scale_load": worker_scale_load, "scale_measure": worker_scale_measure}


# --- the run -------------------------------------------------------------------------------------------------

def run_nominate(backend: str, args) -> dict:
    with scratch(backend, args.tmpdir) as s:
        csv_path = str(s.tmp / "candidates.csv")
        prep = run_worker(SCRIPT, "prepare_nominate", s.env, {"candidates": args.candidates, "seed": args.seed,
                                                              "csv_path": csv_path}).data
        cmd = [sys.executable, "-m", "hozen.cli", "assessments", "nominate", csv_path, "--as", prep["officer"],
               "--contract", "METI-C-1"]
        wall, rss, out = run_command(cmd, s.env)
        counted = run_worker(SCRIPT, "count_nominate", s.env, {"rows": args.query_rows}).data
    return {"prep": prep, "wall_s": wall, "rss_kib": rss, "out": out.strip().splitlines()[-1], "counted": counted}


def run_scale(backends: list[str], args) -> dict:
    """Load every backend's scratch database (at the same time with ``--parallel-load``: one
    process each, on a machine with a core per backend), then measure them one after the other
    (never two measuring at once)."""
    out: dict = {}
    with contextlib.ExitStack() as stack:
        scratches = {b: stack.enter_context(scratch(b, args.tmpdir)) for b in backends}
        params = {"cases": args.cases, "queue": args.queue, "seed": args.seed}

        def load(backend):
            print(f"{backend}: loading {args.cases:,} cases…", flush=True)
            loaded = run_worker(SCRIPT, "scale_load", scratches[backend].env, params).data
            print(f"{backend}: loaded in {loaded['load_s']:.0f} s", flush=True)
            return loaded

        if args.parallel_load and len(backends) > 1:
            with concurrent.futures.ThreadPoolExecutor(len(backends)) as pool:
                loaded = dict(zip(backends, pool.map(load, backends), strict=True))
        else:
            loaded = {b: load(b) for b in backends}
        for b in backends:
            print(f"{b}: measuring…", flush=True)
            measured = run_worker(SCRIPT, "scale_measure", scratches[b].env,
                                  {"own": loaded[b]["own"], "samples": args.samples, "warmup": args.warmup}).data
            out[b] = {**measured, "load_s": loaded[b]["load_s"], "people": loaded[b]["people"],
                      "parallel_load": bool(args.parallel_load and len(backends) > 1)}
            for name, plan in measured.get("plans", {}).items():
                print(f"{b} plan of {name}:\n{plan}", flush=True)
    return out


def render(args, argv, nominate: dict, scale: dict) -> str:
    out = ["## Aptitude assessments (`benchmarks/assessment_bench.py`)", "",
           f"Command: `{command_line(SCRIPT, argv)}`  ", f"Date: {today()}", "", machine_facts(), ""]
    ran = f"Measured by `{command_line(SCRIPT, argv)}` on {today()}."
    if nominate:
        out += [f"### Bulk nomination of {args.candidates:,} candidates from CSV", "", ran, "",
                "The real command as an operator runs it, timed around the whole process (start-up, reading and "
                "checking every row, cases with their data keys, events, one audit entry per row, one transaction): "
                "`hozen assessments nominate FILE.csv --as <protection officer> --contract METI-C-1`. Beforehand, "
                "bulk-loaded: the candidates (person, account, active role in the business), 1 % of them with a "
                "favourable METI result (held as possible exemptions), and 2 % more people with an open assessment "
                "(left out of the file: one such row refuses it). SQL statements per row counted on "
                f"{args.query_rows:,} further candidates (an executemany or a COPY counts once: it is one "
                f"round trip). Target (issue 6): under {NOMINATE_TARGET_S:.0f} s.", ""]
        rows = []
        for b, r in nominate.items():
            c = r["counted"]
            rows.append([b, f"{r['prep']['rows']:,}", f"{r['wall_s']:.1f} s", f"{r['prep']['rows'] / r['wall_s']:,.0f}",
                         fmt_mib(r["rss_kib"]), f"{c['cases']:,} / {c['exemptions']:,}",
                         f"{c['queries_many_per_row']:.2f}", f"{c['queries_single_per_row']:.1f}",
                         verdict(r["wall_s"] < NOMINATE_TARGET_S)])
        out += [table(["backend", "rows", "wall", "rows/s", "peak RSS (MiB)", "cases / exemptions", "SQL/row (bulk)",
                       "SQL/row (`nominate` each)", "target"], rows), ""]
        out += ["Command output: " + "; ".join(f"{b}: `{r['out']}`" for b, r in nominate.items()) + ".",
                "Load: " + "; ".join(f"{b} {r['prep']['load_s']:.1f} s" for b, r in nominate.items()) + ".", ""]
    if scale:
        out += [f"### Queue and portal with {args.cases:,} cases", "", ran, "",
                f"{args.cases:,} cases bulk-loaded over {len(ORGANS)} organs in every state (70 % notified), each "
                "open case with its own person and the notified or closed ones spread over those people (people "
                "accumulate results), an "
                "investigator duty on each case that reached the investigation; the measured investigator holds "
                f"{args.queue} cases under investigation, the measured subject one case. Each figure: ms over "
                f"{args.samples} calls after {args.warmup} warm-up calls; \"queries\" = SQL statements of one call. "
                f"Target (issue 6): p95 under {PAGE_TARGET_MS:.0f} ms for the pages.", ""]
        names = {"queue_for": "`queries.queue_for(investigator)`: count + first 25",
                 "case_status": "`queries.cases_for(subject)` + `case_for` + `case_status`",
                 "queue_page": "investigator queue page `/assessment/staff/investigation/` (test client, signed in)",
                 "portal_page": "subject portal page `/assessment/portal/`",
                 "portal_case_page": "subject's case page `/assessment/portal/{id}/`"}
        backends = list(scale)
        headers = ["operation"] + [h for b in backends for h in (f"{b} p50", f"{b} p95", f"{b} queries")] + ["target"]
        rows = []
        for key, label in names.items():
            if not all(key in scale[b]["results"] for b in backends):
                rows.append([label] + ["—"] * (3 * len(backends)) + ["page not built yet"])
                continue
            row, ok = [label], True
            for b in backends:
                r = scale[b]["results"][key]
                p95 = percentile(r["seconds"], 95)
                ok = ok and p95 * 1000 < PAGE_TARGET_MS
                row += [fmt_ms(percentile(r["seconds"], 50)), fmt_ms(p95), str(r["queries"])]
            rows.append(row + [verdict(ok)])
        out += [table(headers, rows), "",
                "Load: " + "; ".join(f"{b} {scale[b]['load_s']:.0f} s for {scale[b]['cases']:,} cases and "
                                     f"{scale[b]['people']:,} people" for b in backends)
                + (" (loaded at the same time, one process each; measured one after the other)."
                   if any(scale[b].get("parallel_load") for b in backends) else "."), ""]
    if args.notes:
        out += [Path(args.notes).read_text().strip(), ""]
    return "\n".join(out)


_PARTS = ("### Bulk nomination", "### Queue and portal")


def _subsections(body: str) -> dict[str, str]:
    """The section's ``### `` subsections by their title's start (each names its own command)."""
    out, current = {}, None
    for line in body.splitlines(keepends=True):
        if line.startswith("### "):
            current = next((p for p in _PARTS if line.startswith(p)), None)
        elif line.startswith(("## ", "<!--")):
            current = None
        if current is not None:
            out[current] = out.get(current, "") + line
    return out


def write_doc(body: str) -> None:
    """Replace this benchmark's section of docs/benchmarks.md between its markers (or append it).
    A part not measured by this run (``--part nominate`` or ``scale`` alone) keeps its earlier
    subsection, which names the command and date that produced it."""
    text = DOC.read_text() if DOC.exists() else "# Benchmarks\n"
    if MARK_START in text and MARK_END in text:
        head, rest = text.split(MARK_START, 1)
        old, tail = rest.split(MARK_END, 1)
        fresh, kept = _subsections(body), _subsections(old)
        for part in _PARTS:
            if part not in fresh and part in kept:
                body = body.rstrip() + "\n\n" + kept[part].rstrip() + "\n"
        block = f"{MARK_START}\n{body.rstrip()}\n{MARK_END}"
        text = head + block + tail
    else:
        text = text.rstrip() + "\n\n" + f"{MARK_START}\n{body.rstrip()}\n{MARK_END}" + "\n"
    DOC.parent.mkdir(parents=True, exist_ok=True)
    DOC.write_text(text)
    print(f"wrote the assessment section of {DOC.relative_to(ROOT)}")


def main(argv: list[str]) -> int:
    if worker_main(WORKERS, argv):
        return 0
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--db", type=backends_arg, default="auto", help="sqlite, postgresql or auto (both if PG answers)")
    p.add_argument("--part", choices=("nominate", "scale", "all"), default="all")
    p.add_argument("--candidates", type=int, default=100_000, help="rows of the CSV file (100000)")
    p.add_argument("--query-rows", type=int, default=1000, help="rows for counting SQL statements (1000)")
    p.add_argument("--cases", type=int, default=1_000_000, help="cases for the queue and portal (1000000)")
    p.add_argument("--queue", type=int, default=200, help="cases under investigation of the measured investigator")
    p.add_argument("--samples", type=int, default=200, help="timed calls per operation (200)")
    p.add_argument("--warmup", type=int, default=10, help="untimed calls first (10)")
    p.add_argument("--seed", type=int, default=6)
    p.add_argument("--parallel-load", action="store_true",
                   help="scale: load the backends' databases at the same time (measured one after the other)")
    p.add_argument("--notes", metavar="FILE", help="a markdown file appended to the section")
    p.add_argument("--tmpdir", help="where the SQLite scratch folder goes")
    p.add_argument("--no-doc", action="store_true", help="print the section instead of writing docs/benchmarks.md")
    args = p.parse_args(argv)
    nominate, scale = {}, {}
    for backend in args.db:
        if args.part in ("nominate", "all"):
            print(f"{backend}: nominating {args.candidates:,} candidates from CSV…", flush=True)
            nominate[backend] = run_nominate(backend, args)
            print(json.dumps({k: v for k, v in nominate[backend].items() if k != "out"}, default=str), flush=True)
    if args.part in ("scale", "all"):
        scale = run_scale(args.db, args)
    text = render(args, argv, nominate, scale)
    if not args.no_doc:
        write_doc(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
