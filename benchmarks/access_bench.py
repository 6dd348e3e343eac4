#!/usr/bin/env python3
"""Access decisions (issue 7): `decide(actor, "designation.material.read", designation)` against
the same policy written in AWS Cedar and evaluated with cedarpy, on the same requests.

Targets (issue 7): with the facts of a request cached, Hozen decides at least twice as many
requests per second as cedarpy's batch call, with p99 under 100 µs; with nothing cached (database
reads included) p99 under 2 ms, on SQLite and on PostgreSQL.

Per backend, in one scratch database (created, migrated and dropped by the script):

1. Bulk load (``bulk_create``): ``--designations`` designations (90 % ESI, 10 % SDS; 97 % in
   force, 3 % cancelled) over 10 organs; ``--people`` people, 80 % staff of an organ and 20 % of
   20 certified businesses, each business under contract with every organ (5 % of the contracts
   terminated); ``--handlers`` handler-list entries (about 80 % organ staff, 20 % business staff
   with a department the contract names or, for 5 %, one it does not); one clearance per person
   (ESI; SDS as well for 10 %), 3 % suspended, 3 % expired; a briefing acknowledgement for 95 %
   of the people. So a realistic share of requests is denied, for each of the five reasons.
2. Requests: ``--requests`` (account, designation) pairs, 80 % drawn from the handler entries
   and 20 % random pairs (mostly not listed).
3. Hozen, facts cached: every request decided once to fill the per-request caches (each account
   is one request), then decided again, timed one by one (``perf_counter_ns``) for p50/p99 and
   as a whole loop for decisions per second.
4. Hozen, nothing cached: ``--uncached`` requests, each with a new request id (a new actor), so
   every fact is read from the database, timed one by one.
5. Cedar: the same five conditions as one Cedar policy (below, ``CEDAR_POLICY``) over entities
   built from the same rows: users (clearances, briefing), designations, handler entries and
   contracts, with ``context.today``; the same requests through ``cedarpy.is_authorized`` (one
   request per call, with the entities that request needs) and ``cedarpy.is_authorized_batch``
   (``--batch`` requests per call with the union of their entities). The decisions of both
   engines are compared request by request: any disagreement is reported.

    .venv/bin/python benchmarks/access_bench.py                       # SQLite, and PostgreSQL if it answers
    .venv/bin/python benchmarks/access_bench.py --db sqlite --designations 2000 --handlers 20000 --no-doc
"""

from __future__ import annotations

import argparse
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
    backends_arg,
    command_line,
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
MARK_START = "<!-- access-bench:start -->"
MARK_END = "<!-- access-bench:end -->"
N_ORGANS = 10
N_BUSINESSES = 20
DEPARTMENTS = ("技術部", "研究部")

#: The policy of DOMAIN §5 in Cedar: the same five conditions Hozen's rule checks. Dates are
#: day numbers (date.toordinal()); `context.entry` is the request's handler-list entry (a
#: placeholder entry that matches nothing when the person is not listed).
CEDAR_POLICY = """
permit (principal, action == Action::"read", resource)
when {
  // 1. the designation is in force
  resource.state == "designated" && resource.term_end >= context.today &&
  // 2. an open, current entry of this person on this designation's list
  context.entry.account == principal && context.entry.designation == resource && context.entry.open &&
  context.entry.starts_on <= context.today && context.entry.ends_on >= context.today &&
  // 3. a valid favourable assessment of the designation's tier (or an exempt office)
  (principal.exempt ||
   (resource.tier == "esi" && principal.esi_valid_until >= context.today && !principal.esi_suspended) ||
   (resource.tier == "sds" && principal.sds_valid_until >= context.today && !principal.sds_suspended)) &&
  // 4. business staff: an active contract of the holding organ covering their department
  (!context.entry.business ||
   (context.entry.contract.organ == resource.organ && context.entry.contract.valid_from <= context.today &&
    context.entry.contract.valid_until >= context.today && !context.entry.contract.terminated &&
    context.entry.contract.departments.contains(context.entry.department))) &&
  // 5. the briefing of the pack in force for the tier acknowledged within the maximum age
  ((resource.tier == "esi" && principal.esi_briefed_pack == context.pack &&
    principal.esi_briefed_on >= context.briefing_cutoff) ||
   (resource.tier == "sds" && principal.sds_briefed_pack == context.pack &&
    principal.sds_briefed_on >= context.briefing_cutoff))
};
"""


# --- worker: load, measure ------------------------------------------------------------------------------

def _load(n_designations: int, n_people: int, n_handlers: int, seed: int) -> dict:
    from django.contrib.auth.hashers import make_password
    from django.db import transaction
    from django.utils import timezone

    from hozen.assessment.models import AssessmentCase, Clearance
    from hozen.core.models import Account, Organisation, Person, RoleAssignment
    from hozen.designation.models import Designation
    from hozen.handling import briefings
    from hozen.handling.models import BriefingAcknowledgement, HandlerEntry
    from hozen.operators.models import Certification, Contract
    from hozen.rules.queries import current_pack

    rnd = random.Random(seed)
    on = timezone.localdate()
    now = timezone.now()
    packs = {t: current_pack(t, on) for t in ("esi", "sds")}
    items = {t: packs[t].sub_items.select_related("category").order_by("position").first() for t in packs}
    briefing = briefings.for_pack(packs["esi"])
    briefing_sds = briefings.for_pack(packs["sds"])
    with transaction.atomic():
        organs = Organisation.objects.bulk_create(
            [Organisation(code=f"ORG{i:02d}", kind="administrative_organ", name_ja=f"省{i}", name_en=f"Ministry {i}")
             for i in range(N_ORGANS)])
        businesses = Organisation.objects.bulk_create(
            [Organisation(code=f"BIZ{i:02d}", kind="business", name_ja=f"会社{i}", name_en=f"Company {i}")
             for i in range(N_BUSINESSES)])
        persons = Person.objects.bulk_create(
            [Person(family_name="山田", given_name=f"{i}", family_name_kana="ヤマダ", given_name_kana="タロウ",
                    date_of_birth=dt.date(1980, 1, 1)) for i in range(n_people + 1)], batch_size=5000)
        unusable = make_password(None)
        accounts = Account.objects.bulk_create(
            [Account(username=f"u{i}", person=p, password=unusable) for i, p in enumerate(persons)], batch_size=5000)
        manager = accounts[-1]
        accounts = accounts[:-1]
        home = {}  # account index -> organisation
        for i in range(n_people):
            home[i] = businesses[(i // 5) % N_BUSINESSES] if i % 5 == 0 else organs[(i // 5 + i) % N_ORGANS]
        RoleAssignment.objects.bulk_create(
            [RoleAssignment(account=a, role="subject", organisation=home[i]) for i, a in enumerate(accounts)]
            + [RoleAssignment(account=manager, role="esi_manager", organisation=organs[0])], batch_size=5000)
        certs = {}
        contracts = {}
        cert_rows = Certification.objects.bulk_create(
            [Certification(organ=o, business=b, certified_on=dt.date(2025, 6, 1)) for o in organs for b in businesses])
        for c in cert_rows:
            certs[(c.organ_id, c.business_id)] = c
        contract_rows = []
        for n, ((organ_id, business_id), cert) in enumerate(sorted(certs.items())):
            contract_rows.append(Contract(
                organ_id=organ_id, business_id=business_id, certification=cert, reference=f"C-{n}", form="receives",
                authorised_departments=list(DEPARTMENTS), valid_from=dt.date(2025, 6, 1),
                valid_until=dt.date(2040, 12, 31), terminated_on=on - dt.timedelta(days=10) if rnd.random() < 0.05
                else None))
        for c in Contract.objects.bulk_create(contract_rows):
            contracts[(c.organ_id, c.business_id)] = c
        designations = []
        for i in range(n_designations):
            tier = "sds" if i % 10 == 9 else "esi"
            organ = organs[i % N_ORGANS]
            designations.append(Designation(
                organisation=organ, tier=tier, reference=f"{organ.code}-{tier}-{i:06d}", year=2026, serial=i + 1,
                title=f"指定 {i}", summary="概要", rules_pack=packs[tier], category=items[tier].category,
                sub_item=items[tier], justification_category="x", justification_not_public="x",
                justification_harm="x", designated_on=dt.date(2025, 6, 1), term_end=dt.date(2030, 5, 31),
                protective_measure="marking", state="cancelled" if rnd.random() < 0.03 else "designated",
                prepared_by=manager))
        designations = Designation.objects.bulk_create(designations, batch_size=2000)
        staff_of: dict[int, list[int]] = {}
        for i in range(n_people):
            staff_of.setdefault(home[i].pk, []).append(i)
        entries = []
        seen = set()
        per = max(1, n_handlers // max(1, n_designations))
        for d in designations:
            for k in range(per):
                if k % 5 == 4:  # business staff of a random business (provided material)
                    b = businesses[rnd.randrange(N_BUSINESSES)]
                    i = rnd.choice(staff_of[b.pk])
                    department = DEPARTMENTS[0] if rnd.random() > 0.05 else "営業部"
                    contract = contracts[(d.organisation_id, b.pk)]
                    org = b
                else:
                    i = rnd.choice(staff_of[d.organisation_id])
                    department, contract, org = "", None, d.organisation
                if (d.pk, i) in seen:
                    continue
                seen.add((d.pk, i))
                entries.append(HandlerEntry(
                    designation=d, organisation=org, account=accounts[i], department=department, contract=contract,
                    starts_on=dt.date(2026, 1, 1), ends_on=dt.date(2030, 5, 31), added_at=now, added_by={"bench": 1},
                    review_due=on + dt.timedelta(days=200)))
        HandlerEntry.objects.bulk_create(entries, batch_size=5000)
        cases, clearances = [], []
        for i, a in enumerate(accounts):
            organ = home[i] if home[i].kind == "administrative_organ" else organs[i % N_ORGANS]
            for tier in (("esi", "sds") if i % 10 == 3 else ("esi",)):
                cases.append(AssessmentCase(person_id=a.person_id, tier=tier, organ=organ,
                                            nominating_organisation=home[i], nominated_by=manager, trigger="new",
                                            department="技術部", post="主任", state="notified",
                                            rules_pack=packs[tier]))
        cases = AssessmentCase.objects.bulk_create(cases, batch_size=5000)
        for c in cases:
            r = rnd.random()
            clearances.append(Clearance(
                person_id=c.person_id, organ_id=c.organ_id, tier=c.tier, favourable=True,
                notified_on=dt.date(2025, 1, 1),
                valid_until=on - dt.timedelta(days=1) if 0.03 <= r < 0.06 else dt.date(2034, 12, 31),
                case=c, rules_pack=c.rules_pack, suspended_at=now if r < 0.03 else None))
        Clearance.objects.bulk_create(clearances, batch_size=5000)
        acks = []
        for i, a in enumerate(accounts):
            if rnd.random() < 0.95:
                acks.append(BriefingAcknowledgement(
                    account=a, rules_pack=packs["esi"], tier="esi", briefing_version=briefing.version,
                    text_sha256=briefing.sha256, language="ja", signature="0" * 64, acknowledged_at=now))
                if i % 10 == 3:
                    acks.append(BriefingAcknowledgement(
                        account=a, rules_pack=packs["sds"], tier="sds", briefing_version=briefing_sds.version,
                        text_sha256=briefing_sds.sha256, language="ja", signature="0" * 64, acknowledged_at=now))
        BriefingAcknowledgement.objects.bulk_create(acks, batch_size=5000)
    return {"entries": len(entries), "designations": len(designations), "people": n_people}


def _analyze() -> None:
    from django.db import connection

    if connection.vendor == "postgresql":
        with connection.cursor() as c:
            c.execute("VACUUM ANALYZE")


def _requests(n: int, seed: int) -> list[tuple[int, int]]:
    from hozen.core.models import Account
    from hozen.designation.models import Designation
    from hozen.handling.models import HandlerEntry

    rnd = random.Random(seed + 1)
    pairs = list(HandlerEntry.objects.values_list("account_id", "designation_id"))
    accounts = list(Account.objects.filter(username__startswith="u").values_list("pk", flat=True))
    designations = list(Designation.objects.values_list("pk", flat=True))
    out = []
    for _ in range(n):
        if rnd.random() < 0.8:
            out.append(rnd.choice(pairs))
        else:
            out.append((rnd.choice(accounts), rnd.choice(designations)))
    return out


def _actors(account_ids):
    from hozen.core.actor import Actor
    from hozen.core.models import Account, RoleAssignment

    accounts = {a.pk: a for a in Account.objects.filter(pk__in=set(account_ids))}
    assignments = {}
    for r in RoleAssignment.objects.filter(account_id__in=accounts.keys()).select_related("organisation"):
        assignments[r.account_id] = r
    return {pk: Actor.for_account(a, assignments.get(pk), channel="api") for pk, a in accounts.items()}


def _stats(ns: list[int]) -> dict:
    s = sorted(ns)
    return {"p50_us": percentile(s, 50) / 1000, "p99_us": percentile(s, 99) / 1000, "n": len(s)}


def _hozen(requests, uncached: int) -> dict:
    from django.conf import settings
    from django.db import connection

    from hozen.access.policy import decide
    from hozen.core.actor import Actor
    from hozen.designation.models import Designation

    settings.HOZEN_ACCESS_FACTS_TTL_SECONDS = 3600.0
    settings.HOZEN_ACCESS_FACTS_CACHE_REQUESTS = 10**7
    action = "designation.material.read"
    actors = _actors([a for a, _ in requests])
    dset = {d.pk: d for d in Designation.objects.filter(pk__in={d for _, d in requests})}
    reqs = [(actors[a], dset[d]) for a, d in requests]
    # Fill the caches (each account is one request), then the timed passes.
    decisions = [decide(actor, action, d) for actor, d in reqs]
    perf = time.perf_counter_ns
    lat = []
    for actor, d in reqs:
        t0 = perf()
        decide(actor, action, d)
        lat.append(perf() - t0)
    t0 = time.perf_counter()
    for _ in range(3):
        for actor, d in reqs:
            decide(actor, action, d)
    rate = 3 * len(reqs) / (time.perf_counter() - t0)
    cached = {**_stats(lat), "per_s": rate}
    # Nothing cached: a new request (new actor, new request id) per decision; database reads included.
    sample = reqs[:uncached]
    for actor, d in sample[:200]:  # warm the connection and the statement caches
        decide(Actor.for_account(actor.account, actor.assignment, channel="api"), action, d)
    if os.environ.get("ACCESS_BENCH_PROFILE"):
        import cProfile
        import pstats

        prof = cProfile.Profile()
        prof.enable()
        for actor, d in sample[:300]:
            decide(Actor.for_account(actor.account, actor.assignment, channel="api"), action, d)
        prof.disable()
        pstats.Stats(prof, stream=sys.stderr).sort_stats("cumulative").print_stats(35)
    lat = []
    queries = 0
    for n, (actor, d) in enumerate(sample):
        fresh = Actor.for_account(actor.account, actor.assignment, channel="api")
        if n == 0:
            from django.test.utils import CaptureQueriesContext

            with CaptureQueriesContext(connection) as ctx:
                decide(fresh, action, d)
            queries = len(ctx.captured_queries)
            fresh = Actor.for_account(actor.account, actor.assignment, channel="api")
        t0 = perf()
        decide(fresh, action, d)
        lat.append(perf() - t0)
    uncached_stats = {**_stats(lat), "per_s": len(lat) / (sum(lat) / 1e9), "queries": queries}
    codes: dict[str, int] = {}
    for x in decisions:
        codes[x.code] = codes.get(x.code, 0) + 1
    return {"cached": cached, "uncached": uncached_stats, "codes": codes,
            "allowed": [x.allowed for x in decisions], "decision_codes": [x.code for x in decisions]}


def _cedar_entities(requests):
    """Cedar entities for the requests, from the same rows Hozen reads (built outside the timing)."""
    from django.utils import timezone

    from hozen.assessment.models import Clearance
    from hozen.core.models import Account
    from hozen.designation.models import Designation
    from hozen.handling import briefings
    from hozen.handling.models import BriefingAcknowledgement, HandlerEntry
    from hozen.operators.models import Contract
    from hozen.rules.queries import current_pack

    on = timezone.localdate()
    packs = {t: current_pack(t, on) for t in ("esi", "sds")}
    cutoff = (timezone.now() - dt.timedelta(days=briefings.max_age_days())).date().toordinal()
    account_ids = {a for a, _ in requests}
    designation_ids = {d for _, d in requests}
    person_of = dict(Account.objects.filter(pk__in=account_ids).values_list("pk", "person_id"))
    users = {}
    for pk in account_ids:
        users[pk] = {"exempt": False, "esi_valid_until": 0, "esi_suspended": False, "sds_valid_until": 0,
                     "sds_suspended": False, "briefed_pack": {}, "briefed_on": {}}
    by_person = {v: k for k, v in person_of.items()}
    for person_id, tier, until, suspended, ended, fav in Clearance.objects.filter(
            person_id__in=person_of.values()).values_list("person_id", "tier", "valid_until", "suspended_at",
                                                          "ended_on", "favourable"):
        u = users[by_person[person_id]]
        if fav and ended is None and until is not None:
            u[f"{tier}_valid_until"] = until.toordinal()
            u[f"{tier}_suspended"] = suspended is not None
    for account_id, tier, pack_id, at in BriefingAcknowledgement.objects.filter(
            account_id__in=account_ids).values_list("account_id", "tier", "rules_pack_id", "acknowledged_at"):
        users[account_id]["briefed_pack"][tier] = f"{pack_id}"
        users[account_id]["briefed_on"][tier] = at.date().toordinal()
    designations = {pk: (org, tier, state, term_end.toordinal()) for pk, org, tier, state, term_end in
                    Designation.objects.filter(pk__in=designation_ids)
                    .values_list("pk", "organisation_id", "tier", "state", "term_end")}
    wanted = set(requests)
    entries = {}
    for pk, acc, des, starts, ends, ended, dep, contract_id, kind in HandlerEntry.objects.filter(
            designation_id__in=designation_ids, account_id__in=account_ids).values_list(
            "pk", "account_id", "designation_id", "starts_on", "ends_on", "ended_at", "department", "contract_id",
            "organisation__kind"):
        if (acc, des) in wanted and ended is None:
            entries[(acc, des)] = (pk, starts.toordinal(), ends.toordinal(), dep, contract_id, kind == "business")
    contracts = {}
    for c in Contract.objects.select_related("certification"):
        active_cert = c.certification.revoked_on is None and c.certification.suspended_on is None
        contracts[c.pk] = {"organ": {"__entity": {"type": "Organ", "id": str(c.organ_id)}},
                           "valid_from": c.valid_from.toordinal(), "valid_until": c.valid_until.toordinal(),
                           "terminated": c.terminated_on is not None and c.terminated_on <= on or not active_cert,
                           "departments": list(c.authorised_departments)}
    return users, designations, entries, contracts, packs, on.toordinal(), cutoff


def _cedar(requests, batch: int, single: int) -> dict:
    import cedarpy

    users, designations, entries, contracts, packs, today_n, cutoff = _cedar_entities(requests)
    ent = lambda t, i: {"__entity": {"type": t, "id": str(i)}}  # noqa: E731
    none_contract = {"uid": {"type": "Contract", "id": "none"}, "parents": [],
                     "attrs": {"organ": ent("Organ", "none"), "valid_from": 0, "valid_until": 0, "terminated": True,
                               "departments": []}}
    placeholder = {"uid": {"type": "Entry", "id": "none"}, "parents": [],
                   "attrs": {"account": ent("User", "none"), "designation": ent("Designation", "none"), "open": False,
                             "starts_on": 0, "ends_on": 0, "business": False, "department": "",
                             "contract": ent("Contract", "none")}}

    def user_entity(pk, tier):
        u = users[pk]
        return {"uid": {"type": "User", "id": str(pk)}, "parents": [],
                "attrs": {"exempt": False, "esi_valid_until": u["esi_valid_until"], "esi_suspended": u["esi_suspended"],
                          "sds_valid_until": u["sds_valid_until"], "sds_suspended": u["sds_suspended"],
                          "esi_briefed_pack": u["briefed_pack"].get("esi", ""),
                          "esi_briefed_on": u["briefed_on"].get("esi", 0),
                          "sds_briefed_pack": u["briefed_pack"].get("sds", ""),
                          "sds_briefed_on": u["briefed_on"].get("sds", 0)}}

    def request_entities(a, d):
        org, tier, state, term_end = designations[d]
        out = [user_entity(a, tier),
               {"uid": {"type": "Designation", "id": str(d)}, "parents": [],
                "attrs": {"organ": ent("Organ", org), "tier": tier, "state": state, "term_end": term_end}}]
        e = entries.get((a, d))
        if e is None:
            return out, "none", tier
        pk, starts, ends, dep, contract_id, business = e
        out.append({"uid": {"type": "Entry", "id": str(pk)}, "parents": [],
                    "attrs": {"account": ent("User", a), "designation": ent("Designation", d), "open": True,
                              "starts_on": starts, "ends_on": ends, "business": business, "department": dep,
                              "contract": ent("Contract", contract_id if contract_id else "none")}})
        if contract_id:
            out.append({"uid": {"type": "Contract", "id": str(contract_id)}, "parents": [],
                        "attrs": contracts[contract_id]})
        return out, str(pk), tier

    built = []
    for a, d in requests:
        ents, entry_id, tier = request_entities(a, d)
        req = {"principal": f'User::"{a}"', "action": 'Action::"read"', "resource": f'Designation::"{d}"',
               "context": {"today": today_n, "pack": str(packs[tier].pk), "briefing_cutoff": cutoff,
                           "entry": ent("Entry", entry_id)}}
        built.append((req, ents))
    # Parsed once (cedarpy's PolicySet handle), as a service with a static policy would.
    policies = cedarpy.PolicySet.from_str(CEDAR_POLICY) if hasattr(cedarpy, "PolicySet") else CEDAR_POLICY
    common = [none_contract, placeholder]
    # Single calls: one request with the entities it needs (what a service calling Cedar passes).
    perf = time.perf_counter_ns
    lat = []
    single_allowed = []
    for req, ents in built[:single]:
        t0 = perf()
        r = cedarpy.is_authorized(req, policies, ents + common)
        lat.append(perf() - t0)
        single_allowed.append(r.allowed)
    single_stats = {**_stats(lat), "per_s": len(lat) / (sum(lat) / 1e9)}
    # Batches: `batch` requests per call with the union of their entities (built outside the timing).
    batches = []
    for i in range(0, len(built), batch):
        chunk = built[i:i + batch]
        union = {}
        for _, ents in chunk:
            for e in ents:
                union[(e["uid"]["type"], e["uid"]["id"])] = e
        batches.append(([r for r, _ in chunk], list(union.values()) + common))
    allowed = []
    t0 = time.perf_counter()
    per_call = []
    for reqs, ents in batches:
        c0 = perf()
        results = cedarpy.is_authorized_batch(reqs, policies, ents)
        per_call.append(perf() - c0)
        allowed += [r.allowed for r in results]
    elapsed = time.perf_counter() - t0
    batch_stats = {"per_s": len(allowed) / elapsed, "per_request_us": elapsed / len(allowed) * 1e6,
                   "batch": batch, "call_p50_ms": percentile(sorted(per_call), 50) / 1e6}
    # Cedar's own "cached facts": every entity parsed once into an Entities handle, reused by each call.
    parsed = None
    if hasattr(cedarpy, "Entities"):
        union = {}
        for _, ents in built:
            for e in ents:
                union[(e["uid"]["type"], e["uid"]["id"])] = e
        handle = cedarpy.Entities.from_json_str(json.dumps(list(union.values()) + common))
        lat = []
        for req, _ in built[:single]:
            t0 = perf()
            cedarpy.is_authorized(req, policies, handle)
            lat.append(perf() - t0)
        t0 = time.perf_counter()
        done = 0
        for i in range(0, len(built), batch):
            done += len(cedarpy.is_authorized_batch([r for r, _ in built[i:i + batch]], policies, handle))
        parsed = {**_stats(lat), "per_s": len(lat) / (sum(lat) / 1e9),
                  "batch_per_s": done / (time.perf_counter() - t0)}
    return {"single": single_stats, "batch": batch_stats, "parsed": parsed, "allowed": allowed,
            "single_allowed": single_allowed}


def worker_measure(designations: int, people: int, handlers: int, requests: int, uncached: int, batch: int,
                   single: int, seed: int) -> dict:
    setup_django()
    t0 = time.perf_counter()
    loaded = _load(designations, people, handlers, seed)
    _analyze()
    load_s = time.perf_counter() - t0
    reqs = _requests(requests, seed)
    # The loaded rows are long-lived: move them out of the collector's way, as a pre-forking server
    # does after start-up, so that a full collection of the loader's garbage is not timed as a decision.
    import gc

    gc.collect()
    gc.freeze()
    hozen = _hozen(reqs, uncached)
    try:
        cedar = _cedar(reqs, batch, single)
    except ImportError:
        cedar = None
    disagreements = None
    if cedar is not None:
        differ = [i for i, (a, b) in enumerate(zip(hozen["allowed"], cedar["allowed"], strict=True)) if a != b]
        disagreements = len(differ)
        if differ:
            print("disagreements (account, designation, Hozen's code):",
                  [(*reqs[i], hozen["decision_codes"][i]) for i in differ[:10]], file=sys.stderr)
        cedar.pop("single_allowed")
        cedar.pop("allowed")
    hozen.pop("allowed")
    hozen.pop("decision_codes")
    return {"loaded": loaded, "load_s": load_s, "hozen": hozen, "cedar": cedar, "disagreements": disagreements,
            "requests": len(reqs)}


WORKERS = {"measure": worker_measure}


# --- report -------------------------------------------------------------------------------------------

def _us(x: float) -> str:
    return f"{x:,.1f}"


def report(results: dict, argv: list[str]) -> str:
    lines = ["## Access decisions: Hozen's policy against AWS Cedar (cedarpy)\n",
             f"Run {today()}: `{command_line(SCRIPT, argv)}`\n", machine_facts(), ""]
    for backend, r in results.items():
        h, c = r["hozen"], r["cedar"]
        lines.append(f"### {backend}: {r['loaded']['designations']:,} designations, {r['loaded']['entries']:,} "
                     f"handler entries, {r['loaded']['people']:,} people (loaded in {r['load_s']:.0f} s); "
                     f"{r['requests']:,} requests\n")
        rows = [["Hozen `decide`, facts cached", f"{h['cached']['per_s']:,.0f}", _us(h['cached']['p50_us']),
                 _us(h['cached']['p99_us']), "0"],
                ["Hozen `decide`, nothing cached (DB reads)", f"{h['uncached']['per_s']:,.0f}",
                 _us(h['uncached']['p50_us']), _us(h['uncached']['p99_us']), str(h['uncached']['queries'])]]
        if c:
            rows += [["cedarpy `is_authorized` (one request per call)", f"{c['single']['per_s']:,.0f}",
                      _us(c['single']['p50_us']), _us(c['single']['p99_us']), "—"],
                     [f"cedarpy `is_authorized_batch` ({c['batch']['batch']} per call)", f"{c['batch']['per_s']:,.0f}",
                      f"{c['batch']['per_request_us']:,.1f} (per request)", "—", "—"]]
            if c.get("parsed"):
                p = c["parsed"]
                rows += [["cedarpy `is_authorized`, entities pre-parsed once (`Entities` handle)",
                          f"{p['per_s']:,.0f}", _us(p['p50_us']), _us(p['p99_us']), "—"],
                         ["cedarpy `is_authorized_batch`, entities pre-parsed once", f"{p['batch_per_s']:,.0f}",
                          "—", "—", "—"]]
        lines.append(table(["engine", "decisions/s", "p50 µs", "p99 µs", "SQL per decision"], rows))
        lines.append("")
        if c:
            ratio_batch = h["cached"]["per_s"] / c["batch"]["per_s"]
            ratio_single = h["cached"]["per_s"] / c["single"]["per_s"]
            lines.append(f"- Ratios: Hozen cached / cedarpy batch = **{ratio_batch:.1f}×**; Hozen cached / cedarpy "
                         f"single = **{ratio_single:.1f}×**; Hozen uncached / cedarpy single = "
                         f"{h['uncached']['per_s'] / c['single']['per_s']:.2f}×.")
            lines.append(f"- Decisions compared request by request: {r['disagreements']} disagreement(s).")
            lines.append(f"- Target cached ≥ 2× cedarpy batch: {verdict(ratio_batch >= 2)}; cached p99 < 100 µs: "
                         f"{verdict(h['cached']['p99_us'] < 100)}; uncached p99 < 2 ms: "
                         f"{verdict(h['uncached']['p99_us'] < 2000)}.")
        else:
            lines.append("- cedarpy not installed (`pip install .[bench]`): no comparison.")
        codes = ", ".join(f"{k} {v:,}" for k, v in sorted(h["codes"].items(), key=lambda kv: -kv[1]))
        lines.append(f"- Outcomes of the requests: {codes}.")
        lines.append("")
    lines.append("Notes: cached = the facts of each request already in its per-request cache (the second "
                 "decision of a request; each account is one request); uncached = a new request per decision, "
                 "every fact read from the database. Cedar's entities are built from the same rows before the "
                 "timing (its cost of fetching facts is not counted); single calls pass the entities of their "
                 "request, batch calls the union of their requests' entities. Cedar's model keeps one clearance "
                 "per tier per person (Hozen's reads every clearance of the person).")
    return "\n".join(lines) + "\n"


def write_doc(body: str) -> None:
    text = DOC.read_text() if DOC.exists() else "# Benchmarks\n"
    block = f"{MARK_START}\n{body.rstrip()}\n{MARK_END}"
    if MARK_START in text and MARK_END in text:
        head, rest = text.split(MARK_START, 1)
        _, tail = rest.split(MARK_END, 1)
        text = head + block + tail
    else:
        text = text.rstrip() + "\n\n" + block + "\n"
    DOC.write_text(text)
    print(f"wrote the access section of {DOC}")


def main(argv: list[str]) -> int:
    if worker_main(WORKERS, argv):
        return 0
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--db", type=backends_arg, default="auto", help="sqlite, postgresql or auto (default)")
    p.add_argument("--designations", type=int, default=10_000)
    p.add_argument("--handlers", type=int, default=100_000)
    p.add_argument("--people", type=int, default=25_000)
    p.add_argument("--requests", type=int, default=20_000, help="requests decided by every engine")
    p.add_argument("--uncached", type=int, default=5_000, help="of those, decided with nothing cached")
    p.add_argument("--single", type=int, default=5_000, help="of those, through cedarpy's single call")
    p.add_argument("--batch", type=int, default=1_000, help="requests per cedarpy batch call")
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--no-doc", action="store_true", help="print the section instead of writing docs/benchmarks.md")
    args = p.parse_args(argv)
    results = {}
    params = {"designations": args.designations, "people": args.people, "handlers": args.handlers,
              "requests": args.requests, "uncached": args.uncached, "batch": args.batch, "single": args.single,
              "seed": args.seed}
    for backend in args.db:
        with scratch(backend) as s:
            print(f"{backend}: loading and measuring…", flush=True)
            results[backend] = run_worker(SCRIPT, "measure", s.env, params).data
            print(json.dumps({k: v for k, v in results[backend].items() if k != "_maxrss_kib"}, indent=1,
                             default=str))
    body = report(results, argv)
    if args.no_doc:
        print(body)
    else:
        write_doc(body)
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    sys.exit(main(sys.argv[1:]))
