"""The facts the material-access policy needs, loaded in a few reads and cached per request.

A decision about designated material (DOMAIN §5) needs: the designation's state, the actor's
handler entry, the person's clearances, departures (left / transferred) and exempt offices,
their briefing acknowledgements, and the rules pack in force for the tier. They are plain tuples,
evaluated against *today* at every decision, so expiry needs no invalidation.

Caching: one `RequestFacts` per request, kept on the request's own Actor object (each HTTP
request, API call, CLI command or job run builds its own): a client cannot choose or reuse it (the
X-Request-ID header is only a log correlation id), and the facts die with the request. Nothing
about a person is kept across requests, so a write by another process or the CLI is seen by the
next request. Within a request, every write to a table a fact comes from — from any code path,
ORM, ``QuerySet.update()`` or raw SQL — bumps a process-wide generation through a database
execute-wrapper, and a cache of an older generation is thrown away: a revocation, suspension,
handler removal or contract termination is seen by the very next decision (tests check each).
`invalidate()` is the explicit hook for anything else. Only rules packs, immutable once
published, are shared across requests, by pack id; which one is in force is read per request.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from dataclasses import dataclass, field

from django.conf import settings

#: Tables whose rows are facts of a decision; a write to any of them invalidates every cache.
WATCHED_TABLES = (
    "assessment_clearance", "assessment_reportableevent", "operators_contract", "operators_certification",
    "designation_designation", "handling_handlerentry", "handling_briefingacknowledgement",
    "handling_officeholding", "rules_rulespack", "core_account", "core_organisation", "core_roleassignment",
)
_WRITE_VERBS = ("INSERT", "UPDATE", "DELETE", "TRUNCATE", "REPLACE")

_generation = 0
_lock = threading.Lock()
#: Connections (by id) inside a transaction that wrote a watched table.
_DIRTY: set[int] = set()


def generation() -> int:
    return _generation


def invalidate() -> None:
    """Drop every cached fact (explicit invalidation; writes to watched tables do it themselves)."""
    global _generation
    with _lock:
        _generation += 1


def _in_transaction(connection) -> bool:
    """Inside an atomic block of the application (a test case's own wrapping blocks do not count)."""
    return any(not getattr(block, "_from_testcase", False) for block in connection.atomic_blocks)


def _watch(execute, sql, params, many, context):
    head = sql.lstrip()[:8].upper()
    if head.startswith(_WRITE_VERBS) or head.startswith("WITH"):
        lowered = sql.lower()
        if any(t in lowered for t in WATCHED_TABLES):
            invalidate()
            connection = context.get("connection")
            if connection is not None and _in_transaction(connection):
                # Until this transaction ends, facts read now may be rolled back: never cache them.
                _DIRTY.add(id(connection))
    return execute(sql, params, many, context)


def install_watch(connection, **kwargs) -> None:
    """Attach the write watcher to a database connection (connection_created and app ready)."""
    if _watch not in connection.execute_wrappers:
        connection.execute_wrappers.append(_watch)


# --- the facts ------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class DesignationFacts:
    pk: int
    state: str
    term_end: dt.date
    tier: str
    organisation_id: int
    successor_id: int | None = None  # the SDS designation of material moved to SDS (load_designation only)


@dataclass(frozen=True, slots=True)
class ContractFacts:
    pk: int
    organ_id: int
    business_id: int
    valid_from: dt.date
    valid_until: dt.date
    terminated_on: dt.date | None
    departments: tuple[str, ...]
    certified_on: dt.date
    suspended_on: dt.date | None
    revoked_on: dt.date | None

    def is_active(self, on: dt.date) -> bool:
        if not (self.valid_from <= on <= self.valid_until):
            return False
        if self.terminated_on is not None and self.terminated_on <= on:
            return False
        if self.certified_on > on:
            return False
        if self.revoked_on is not None and self.revoked_on <= on:
            return False
        return not (self.suspended_on is not None and self.suspended_on <= on)


@dataclass(frozen=True, slots=True)
class EntryFacts:
    pk: int
    organisation_id: int
    is_business: bool
    department: str
    starts_on: dt.date
    ends_on: dt.date
    added_at: dt.datetime
    ended_at: dt.datetime | None
    end_reason: str
    contract: ContractFacts | None


@dataclass(frozen=True, slots=True)
class ClearanceFacts:
    tier: str
    favourable: bool
    valid_until: dt.date | None
    suspended: bool
    ended_on: dt.date | None

    def status(self, on: dt.date) -> str:
        # Mirrors assessment.models.Clearance.status (read-only here).
        if not self.favourable:
            return "unfavourable"
        if self.ended_on is not None and self.ended_on <= on:
            return "ended"
        if self.suspended:
            return "suspended"
        if self.valid_until is None or on > self.valid_until:
            return "expired"
        return "valid"


@dataclass(frozen=True, slots=True)
class AckFacts:
    rules_pack_id: int
    briefing_version: int
    text_sha256: str
    acknowledged_at: dt.datetime


@dataclass(slots=True)
class PersonFacts:
    account_id: int
    person_id: int
    clearances: tuple[ClearanceFacts, ...]
    departures: tuple[tuple[str, dt.date, dt.datetime], ...]  # (kind, occurred_on, reported_at)
    offices: tuple[tuple[str, dt.date, dt.date | None], ...]
    acks: dict[str, AckFacts]  # latest per tier
    organisations: frozenset[int] = frozenset()  # where the person holds an unrevoked role


@dataclass(frozen=True, slots=True)
class PackFacts:
    pk: int
    code: str
    version: int
    exempt_offices: frozenset[str]
    briefing_version: int
    briefing_sha256: str


@dataclass(slots=True)
class RequestFacts:
    generation: int
    born: float
    persons: dict = field(default_factory=dict)
    designations: dict = field(default_factory=dict)
    entries: dict = field(default_factory=dict)
    packs: dict = field(default_factory=dict)


#: The attribute under which a request's facts hang on its owner (the Actor object of the request).
_ATTR = "_hozen_request_facts"


def _ttl() -> float:
    return float(getattr(settings, "HOZEN_ACCESS_FACTS_TTL_SECONDS", 5.0))


def for_request(owner) -> RequestFacts:
    """The facts of one request: kept on `owner`, the server-side object of that request (its Actor),
    never under anything a client chooses (an X-Request-ID header is for logs only). They die with
    the owner, so nothing outlives the request; within a long one (a CLI command, a job run) they are
    also dropped when this process wrote a watched table (the generation) or after the TTL.
    `owner=None`: a fresh, unkept cache."""
    now = time.monotonic()
    if owner is None or isinstance(owner, str):
        return RequestFacts(_generation, now)
    if _DIRTY:
        from django.db import connections

        connection = connections["default"]
        if id(connection) in _DIRTY:
            if _in_transaction(connection):
                return RequestFacts(_generation, now)  # uncommitted writes: read, do not keep
            _DIRTY.discard(id(connection))  # committed or rolled back since: start afresh
            invalidate()
    cached = getattr(owner, _ATTR, None)
    if cached is not None and cached.generation == _generation and now - cached.born < _ttl():
        return cached
    cached = RequestFacts(_generation, now)
    try:
        object.__setattr__(owner, _ATTR, cached)  # the Actor is a frozen dataclass: set, not replace
    except (AttributeError, TypeError):  # an owner without a __dict__: read, do not keep
        pass
    return cached


def forget(owner) -> None:
    """Drop the facts kept for `owner`'s request, so that its next decision reads them afresh.

    A service decides again inside its own transaction, on rows it has just locked (ARCHITECTURE
    rule 8): what the request read before the transaction began may be older than a change another
    process committed meanwhile (a cancellation, a removal from the list), which the generation
    counter of *this* process never heard of."""
    if owner is None or isinstance(owner, str):
        return
    try:
        object.__delattr__(owner, _ATTR)
    except AttributeError:  # nothing kept (or an owner that keeps nothing)
        pass


# --- loading -------------------------------------------------------------------------------------

def load_designation(pk: int) -> DesignationFacts | None:
    from hozen.designation.models import Designation

    row = (Designation.objects.filter(pk=pk)
           .values_list("pk", "state", "term_end", "tier", "organisation_id", "successor_id").first())
    return DesignationFacts(*row) if row else None


# The hot path reads with three fixed statements: compiling ORM queries cost more than running them
# (benchmarks/access_bench.py). Table names come from the models; values are converted here for
# both backends (SQLite returns dates and times as text).

_SQL: dict[str, str] = {}


def _statements() -> dict[str, str]:
    if _SQL:
        return _SQL
    from django.db import connection

    from hozen.assessment.models import Clearance, ReportableEvent
    from hozen.core.models import Organisation, RoleAssignment
    from hozen.designation.models import Designation
    from hozen.handling.models import BriefingAcknowledgement, HandlerEntry, OfficeHolding
    from hozen.operators.models import Certification, Contract
    from hozen.rules.models import RulesPack

    t = {m.__name__: connection.ops.quote_name(m._meta.db_table) for m in (
        Clearance, ReportableEvent, Organisation, Designation, BriefingAcknowledgement, HandlerEntry, OfficeHolding,
        Certification, Contract, RoleAssignment)}
    _SQL["listing"] = (
        "SELECT e.id, e.organisation_id, o.kind, e.department, e.starts_on, e.ends_on, e.added_at, e.ended_at, "
        "e.end_reason, d.id, d.state, d.term_end, d.tier, d.organisation_id, c.id, c.organ_id, c.business_id, "
        "c.valid_from, c.valid_until, c.terminated_on, c.authorised_departments, k.certified_on, k.suspended_on, "
        f"k.revoked_on FROM {t['HandlerEntry']} e JOIN {t['Designation']} d ON d.id = e.designation_id "
        f"JOIN {t['Organisation']} o ON o.id = e.organisation_id LEFT JOIN {t['Contract']} c ON c.id = e.contract_id "
        f"LEFT JOIN {t['Certification']} k ON k.id = c.certification_id "
        "WHERE e.designation_id = %s AND e.account_id = %s")
    _SQL["clearances"] = (
        "SELECT cl.id, cl.tier, cl.favourable, cl.valid_until, cl.suspended_at, cl.ended_on, ev.kind, "
        f"ev.occurred_on, ev.reported_at FROM {t['Clearance']} cl LEFT JOIN {t['ReportableEvent']} ev "
        "ON ev.clearance_id = cl.id AND ev.kind IN ('left', 'transferred') WHERE cl.person_id = %s")
    pack_table = connection.ops.quote_name(RulesPack._meta.db_table)
    _SQL["pack"] = (f"SELECT id FROM {pack_table} WHERE tier = %s AND effective_from <= %s "
                    "ORDER BY effective_from DESC, published_at DESC, id DESC LIMIT 1")
    _SQL["own"] = (
        "SELECT 'a', a.tier, a.rules_pack_id, a.briefing_version, a.text_sha256, a.acknowledged_at, a.id, "
        f"NULL, NULL FROM {t['BriefingAcknowledgement']} a WHERE a.account_id = %s "
        "UNION ALL SELECT 'o', h.office, NULL, NULL, NULL, NULL, NULL, h.since, h.until "
        f"FROM {t['OfficeHolding']} h WHERE h.account_id = %s "
        "UNION ALL SELECT 'r', NULL, NULL, NULL, NULL, NULL, r.organisation_id, NULL, NULL "
        f"FROM {t['RoleAssignment']} r WHERE r.account_id = %s AND r.revoked_at IS NULL")
    # Everything a first decision of a request needs, in one round trip (a wide UNION ALL: each
    # branch fills its own columns, NULL elsewhere, so every column keeps one type on PostgreSQL).
    listing_cols = _SQL["listing"].split(" FROM ", 1)[0][len("SELECT "):].split(", ")
    clearance_cols = _SQL["clearances"].split(" FROM ", 1)[0][len("SELECT "):].split(", ")
    own_a, own_o, own_r = _SQL["own"].split(" UNION ALL ")
    own_a_cols = own_a.split(" FROM ", 1)[0][len("SELECT "):].split(", ")
    own_o_cols = own_o.split(" FROM ", 1)[0][len("SELECT "):].split(", ")
    nl, nc, no = len(listing_cols), len(clearance_cols), len(own_a_cols)

    # PostgreSQL types a UNION pairwise from the left: the first branch's fillers carry the types.
    types = (["bigint", "varchar", "boolean", "date", "timestamptz", "date", "varchar", "date", "timestamptz"]
             + ["text", "varchar", "bigint", "integer", "varchar", "timestamptz", "bigint", "date", "date"])

    def branch(tag, cols, at, rest):
        if tag == "l":
            values = ["NULL"] * nl + [f"CAST(NULL AS {t})" for t in types]
        else:
            values = ["NULL"] * (nl + nc + no)
        values[at:at + len(cols)] = cols
        return f"SELECT '{tag}', " + ", ".join(values) + " FROM " + rest

    _SQL["first"] = " UNION ALL ".join([
        branch("l", listing_cols, 0, _SQL["listing"].split(" FROM ", 1)[1]),
        branch("c", clearance_cols, nl, _SQL["clearances"].split(" FROM ", 1)[1]),
        branch("o", own_a_cols, nl + nc, own_a.split(" FROM ", 1)[1]),
        branch("o", own_o_cols, nl + nc, own_o.split(" FROM ", 1)[1]),
        branch("o", own_r.split(" FROM ", 1)[0][len("SELECT "):].split(", "), nl + nc, own_r.split(" FROM ", 1)[1]),
    ])
    _SQL["widths"] = f"{nl},{nc},{no}"
    return _SQL


def _date(v):
    if v is None or isinstance(v, dt.date):
        return v
    return dt.date.fromisoformat(str(v)[:10])


def _moment(v):
    if v is None:
        return None
    if isinstance(v, str):
        from django.utils.dateparse import parse_datetime

        v = parse_datetime(v)
    if v.tzinfo is None:  # SQLite keeps UTC without an offset
        v = v.replace(tzinfo=dt.UTC)
    return v


def _json_list(v) -> tuple:
    import json

    if isinstance(v, str | bytes):
        v = json.loads(v)
    return tuple(v or ())


def _rows(name: str, params) -> list[tuple]:
    from django.db import connection

    if connection.vendor == "postgresql":
        # Prepared once per connection (parse and plan were most of an uncached decision's time).
        from hozen.audit.db import prepared_cursor

        cursor = prepared_cursor(connection)
        cursor.execute(_statements()[name], params)
        return cursor.fetchall()
    with connection.cursor() as cursor:
        cursor.execute(_statements()[name], params)
        return cursor.fetchall()


def preload_listings(cache: RequestFacts, account_id: int) -> list[int]:
    """Every open entry of the account, into the cache in one read; returns their designation ids
    (for `scope`: the designations the account may read are among these)."""
    sql = _statements()["listing"].replace("WHERE e.designation_id = %s AND e.account_id = %s",
                                           "WHERE e.account_id = %s AND e.ended_at IS NULL")
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(sql, [account_id])
        rows = cursor.fetchall()
    ids = []
    for row in rows:
        key = (row[9], account_id)
        if key not in cache.entries:
            cache.entries[key] = _listing([row])
        ids.append(row[9])
    return ids


def load_listing(designation_id: int, account_id: int) -> tuple[DesignationFacts | None, EntryFacts | None, bool]:
    """(the designation, the open entry or else the latest ended one, whether the account was ever on
    this list), in one read: someone never listed needs nothing else to be refused."""
    return _listing(_rows("listing", [designation_id, account_id]))


def _listing(rows) -> tuple[DesignationFacts | None, EntryFacts | None, bool]:
    if not rows:
        return None, None, False
    open_rows = [r for r in rows if r[7] is None]
    r = open_rows[0] if open_rows else max(rows, key=lambda r: (_moment(r[7]), r[0]))
    designation = DesignationFacts(r[9], r[10], _date(r[11]), r[12], r[13])
    contract = None
    if r[14] is not None:
        contract = ContractFacts(r[14], r[15], r[16], _date(r[17]), _date(r[18]), _date(r[19]), _json_list(r[20]),
                                 _date(r[21]), _date(r[22]), _date(r[23]))
    facts = EntryFacts(r[0], r[1], r[2] == "business", r[3], _date(r[4]), _date(r[5]), _moment(r[6]),
                       _moment(r[7]), r[8], contract)
    return designation, facts, True


def load_person(account_id: int, person_id: int | None = None) -> PersonFacts | None:
    """The person's clearances and reported departures (one read), briefing acknowledgements and
    exempt offices (one read). `person_id`: the caller's already-loaded active account's person."""
    if person_id is None:
        from hozen.core.models import Account

        person_id = Account.objects.filter(pk=account_id, is_active=True).values_list("person_id", flat=True).first()
        if person_id is None:
            return None
    return _person(account_id, person_id, _rows("own", [account_id, account_id, account_id]),
                   _rows("clearances", [person_id]))


def _person(account_id, person_id, own_rows, clearance_rows) -> PersonFacts:
    acks: dict[str, AckFacts] = {}
    latest: dict[str, tuple] = {}
    offices = set()
    organisations = set()
    for tag, a, pack_id, version, sha, at, ack_id, since, until in own_rows:
        if tag == "r":
            organisations.add(ack_id)  # a role assignment's organisation, in the id column
        elif tag == "a":
            at = _moment(at)
            if a not in latest or (at, ack_id) > latest[a]:
                latest[a] = (at, ack_id)
                acks[a] = AckFacts(pack_id, version, sha, at)  # the latest per tier wins
        else:
            offices.add((a, _date(since), _date(until)))
    clearances = {}
    departures = set()
    for pk, tier, fav, until, suspended, ended, kind, occurred_on, reported_at in clearance_rows:
        clearances[pk] = ClearanceFacts(tier, bool(fav), _date(until), suspended is not None, _date(ended))
        if kind is not None:
            departures.add((kind, _date(occurred_on), _moment(reported_at)))
    return PersonFacts(account_id, person_id, tuple(clearances.values()), tuple(sorted(departures)),
                       tuple(offices), acks, frozenset(organisations))


def load_pack(tier: str, on: dt.date) -> PackFacts | None:
    from hozen.core.errors import RuleViolation
    from hozen.rules.queries import current_pack

    from . import briefings

    try:
        pack = current_pack(tier, on)
    except RuleViolation:
        return None
    exempt = frozenset(o.get("code", "") for o in ((pack.data.get("values") or {})
                                                  .get("exempt_office_holders", {}).get("value") or []))
    briefing = briefings.for_pack(pack)
    return PackFacts(pack.pk, pack.code, pack.version, exempt, briefing.version, briefing.sha256)


# --- cached accessors -------------------------------------------------------------------------------

def designation(cache: RequestFacts, pk: int) -> DesignationFacts | None:
    try:
        return cache.designations[pk]
    except KeyError:
        facts = cache.designations[pk] = load_designation(pk)
        return facts


def listing(cache: RequestFacts, designation_id: int, account_id: int, person_id: int | None = None):
    """(DesignationFacts | None, EntryFacts | None, ever listed) for one account and designation.

    With `person_id` and the person not yet in the cache, the person's facts come in the same
    round trip (the first decision of a request reads once)."""
    key = (designation_id, account_id)
    try:
        return cache.entries[key]
    except KeyError:
        pass
    if person_id is None or account_id in cache.persons:
        facts = cache.entries[key] = load_listing(designation_id, account_id)
        return facts
    sql = _statements()
    nl, nc, no = (int(x) for x in sql["widths"].split(","))
    listing_rows, clearance_rows, own_rows = [], [], []
    for row in _rows("first", [designation_id, account_id, person_id, account_id, account_id, account_id]):
        if row[0] == "l":
            listing_rows.append(row[1:1 + nl])
        elif row[0] == "c":
            clearance_rows.append(row[1 + nl:1 + nl + nc])
        else:
            own_rows.append(row[1 + nl + nc:1 + nl + nc + no])
    facts = cache.entries[key] = _listing(listing_rows)
    cache.persons[account_id] = _person(account_id, person_id, own_rows, clearance_rows)
    return facts


def person(cache: RequestFacts, account_id: int, person_id: int | None = None) -> PersonFacts | None:
    try:
        return cache.persons[account_id]
    except KeyError:
        facts = cache.persons[account_id] = load_person(account_id, person_id)
        return facts


#: Facts of a rules pack by its id, shared by requests and processes' lifetimes alike: a pack
#: version is never edited once published (a change is a new version, a new id). Which pack is in
#: force is read once per request and tier (`_current_pack_id`, one indexed row), so a pack
#: published by another process or the CLI asks for a new briefing from the very next request.
_PACKS: dict = {}


def _current_pack_id(tier: str, on: dt.date) -> int | None:
    """The id of the pack in force (`hozen.rules.queries.current_pack`'s order), one indexed row
    (a prepared statement on PostgreSQL)."""
    rows = _rows("pack", [tier, on])
    return rows[0][0] if rows else None


def pack(cache: RequestFacts, tier: str, on: dt.date) -> PackFacts | None:
    key = (tier, on)
    try:
        return cache.packs[key]
    except KeyError:
        pass
    pk = _current_pack_id(tier, on)
    if pk is None:
        facts = None
    else:
        facts = _PACKS.get(pk)
        if facts is None:
            facts = load_pack(tier, on)
            if facts is not None and facts.pk == pk:
                _PACKS[pk] = facts
    cache.packs[key] = facts
    return facts
