"""Bulk nomination (DOMAIN §6 step 1, many candidates at once): all rows or none, fast.

``nominate_many`` applies ``nominate``'s rules row by row, but reads and writes a chunk of rows at
a time (docs/assessment.md, "Bulk nomination"; benchmarks/assessment_bench.py measures it).
"""

from __future__ import annotations

import datetime as dt

from django.db import IntegrityError, transaction
from django.utils import timezone

from hozen import audit
from hozen.access import policy
from hozen.core import rows as locking
from hozen.core.errors import RuleViolation
from hozen.core.models import Account, Person, RoleAssignment
from hozen.core.services import give_subject_roles
from hozen.core.text import forbidden_position
from hozen.operators.models import Contract
from hozen.rules.queries import current_pack

from .. import rules
from ..models import AssessmentCase, Exemption, Trigger
from ..states import OPEN, ExemptionState
from ._common import person_details, today
from .nomination import Nomination, NominationRowsInvalid, _context, _prepared

#: Rows are read, written and reported in chunks of this size (a bound on SQL parameters too).
CHUNK = 2000


def _valid_id(value) -> bool:
    """An id a database key can hold (a bigger or non-integer one names nobody)."""
    return isinstance(value, int) and not isinstance(value, bool) and 0 < value < 2**63


def _named(row: dict) -> tuple[str | None, object]:
    """(the field that names the candidate, its lookup key): ("person", id) or ("username", the
    name as accounts store it; None when it cannot be one); (None, None) when the row names the
    candidate by both or neither."""
    person, username = row.get("person"), row.get("username")
    if (person is None) == (username is None):
        return None, None
    if username is not None:
        ok = isinstance(username, str) and len(username) <= 150 and forbidden_position(username) is None
        return "username", username.strip().lower() if ok else None
    return "person", person.pk if isinstance(person, Person) else person


def _chunks(seq, size: int = CHUNK):
    for i in range(0, len(seq), size):
        yield seq[i:i + size]


#: Field types whose database value is the Python value itself on SQLite and PostgreSQL.
_PLAIN = frozenset({"CharField", "TextField", "IntegerField", "PositiveIntegerField", "PositiveSmallIntegerField",
                    "BigIntegerField", "SmallIntegerField", "BooleanField", "ForeignKey", "OneToOneField",
                    "BigAutoField", "AutoField"})


def _preparer(field, conn):
    kind = field.get_internal_type()
    if kind in _PLAIN and not (kind in ("ForeignKey", "OneToOneField") and field.target_field.get_internal_type()
                               not in _PLAIN):
        if kind in ("CharField", "TextField"):  # TextChoices members are str subclasses: the plain value
            return lambda v: v if v is None or type(v) is str else str(v)
        return lambda v: v
    memo: dict = {}

    def prep(value):
        try:
            return memo[value]
        except KeyError:
            prepared = field.get_db_prep_save(value, conn)
            if len(memo) < 1000:  # values that repeat (the organ's pack, today): prepared once
                memo[value] = prepared
            return prepared
        except TypeError:  # unhashable (JSON)
            return field.get_db_prep_save(value, conn)
    return prep


def insert_rows(model, rows: list, *, read_back: str | None = None) -> dict | None:
    """Insert ``rows`` — model instances (defaults already set at construction) or dicts of
    attribute values (a missing one takes the field's default) — in one statement per call: COPY on
    PostgreSQL, executemany on SQLite. Values are prepared by each field as ``save()`` prepares them
    (``get_db_prep_save``; plain text, numbers, booleans and foreign keys as they are).
    ``bulk_create`` compiles every value of every row into SQL text, which at 100,000 cases cost more
    than the rest of a bulk nomination (benchmarks/assessment_bench.py). With ``read_back`` (a
    unique field), returns {that value: primary key} and sets instances' keys. Joins the caller's
    transaction; no signals, like ``bulk_create``."""
    from django.db import connections, router

    if not rows:
        return {} if read_back else None
    conn = connections[router.db_for_write(model)]
    fields = [f for f in model._meta.concrete_fields if not f.primary_key]
    preps = [_preparer(f, conn) for f in fields]
    if isinstance(rows[0], dict):
        defaults = {f.attname: f for f in fields}
        values = [tuple(prep(row[f.attname] if f.attname in row else defaults[f.attname].get_default())
                        for f, prep in zip(fields, preps, strict=True)) for row in rows]
    else:
        names = [f.attname for f in fields]
        values = [tuple(prep(getattr(obj, name)) for name, prep in zip(names, preps, strict=True)) for obj in rows]
    table = conn.ops.quote_name(model._meta.db_table)
    columns = ", ".join(conn.ops.quote_name(f.column) for f in fields)
    with conn.cursor() as cursor:
        if conn.vendor == "postgresql":
            with cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                for row in values:
                    copy.write_row(row)
        else:
            cursor.executemany(f"INSERT INTO {table} ({columns}) VALUES ({', '.join(['%s'] * len(fields))})", values)
    if read_back is None:
        return None
    get = (lambda r: r[read_back]) if isinstance(rows[0], dict) else (lambda r: getattr(r, read_back))
    ids = dict(model.objects.filter(**{f"{read_back}__in": [get(r) for r in rows]}).values_list(read_back, "pk"))
    if not isinstance(rows[0], dict):
        for obj in rows:
            obj.pk = ids[getattr(obj, read_back)]
            obj._state.adding, obj._state.db = False, conn.alias
    return ids


def _bulk_data_keys(cases: list[AssessmentCase]) -> None:
    """One data key per new case, as ``ProtectedSubject.save`` makes it (``create_data_key``: a
    fresh key wrapped under the current KEK version), inserted in one statement."""
    import uuid

    from django.utils import timezone

    from hozen.crypto import envelope
    from hozen.crypto.keys import hold_wrapping_lock, owner_label, wrap_aad
    from hozen.crypto.models import DataKey
    from hozen.crypto.provider import get_provider

    # As create_data_key does: a rotation waits for this transaction before its passes, so no key
    # wrapped here stays under a version it retires (lock what you check: the keyring's version).
    hold_wrapping_lock()
    provider = get_provider()
    now = timezone.now()
    rows = []
    for case in cases:
        key_id = uuid.uuid4()
        version, wrapped = provider.wrap(None, envelope.new_data_key(), wrap_aad(key_id, case.crypto_id))
        rows.append({"key_id": key_id, "owner": owner_label(case), "subject_uuid": case.crypto_id,
                     "kek_version": version, "wrapped": wrapped, "created_at": now, "rewrapped_at": None,
                     "destroyed_at": None})
    ids = insert_rows(DataKey, rows, read_back="subject_uuid")
    for case in cases:
        case.data_key_id = ids[case.crypto_id]


def _open_many(actor, rows: list[tuple[Person, dict]], *, organ, nominating, contract, packs, on,
               progress=None, done: int = 0) -> list[Nomination]:
    """``_open`` for a chunk of checked rows: exemption bases read for the chunk at once, cases,
    data keys and events inserted in bulk, one audit entry per row (as ``nominate`` writes)."""
    from ..models import CaseEvent, Clearance

    candidates: dict[int, list] = {}
    tiers = set()
    for _person, fields in rows:
        tiers |= set(rules.exemption_windows(fields["tier"], packs[fields["tier"]]))
    for clearance in Clearance.objects.filter(person_id__in=[p.pk for p, f in rows if f["trigger"] == Trigger.NEW],
                                              organ=organ, favourable=True, tier__in=sorted(tiers)):
        candidates.setdefault(clearance.person_id, []).append(clearance)
    out: list[Nomination] = []
    new_cases: list[AssessmentCase] = []
    held: list[Exemption] = []
    for person, fields in rows:
        pack = packs[fields["tier"]]
        basis = None
        if fields["trigger"] == Trigger.NEW and person.pk in candidates:
            basis = rules.exemption_among(candidates[person.pk], fields["tier"], on, pack)
        if basis is not None:  # held for the organ, as ``nominate`` holds it (written below, in bulk)
            exemption = Exemption(
                person=person, tier=fields["tier"], organ=organ, nominating_organisation=nominating,
                contract=contract, nominated_by=actor.account, basis=basis.clearance,
                window_years=basis.window_years, rules_pack=pack,
                nomination={k: (v.isoformat() if isinstance(v, dt.date) else v) for k, v in fields.items()})
            held.append(exemption)
            out.append(Nomination(exemption=exemption))
            continue
        case = AssessmentCase(person=person, organ=organ, nominating_organisation=nominating, contract=contract,
                              nominated_by=actor.account, rules_pack=pack, **fields)
        case.stage_due_on = rules.stage_due_on(case, on)
        new_cases.append(case)
        out.append(Nomination(case=case))
    if new_cases:
        _bulk_data_keys(new_cases)
        try:
            with transaction.atomic():
                insert_rows(AssessmentCase, new_cases, read_back="crypto_id")
        except IntegrityError:  # a concurrent nomination opened one of these assessments first
            raise RuleViolation("case_already_open", "推薦した者のうち、同じ行政機関による適性評価が既に進行中の者がいます"
                                "（一件も登録していません）。",
                                "An assessment of one of these people by the same organ started meanwhile; "
                                "nothing was nominated.", field="person") from None
        who, now = actor.describe(), timezone.now()
        insert_rows(CaseEvent, [
            {"case_id": case.pk, "kind": "nominated", "at": now, "actor": who, "state_from": "", "state_to": case.state,
             "details": {"trigger": case.trigger, "tier": case.tier, "dispatched_worker": case.dispatched_worker}}
            for case in new_cases])
        contract_ref = contract.reference if contract else None
        # One entry per row, exactly as ``nominate`` records it, written in one statement.
        audit.record_many(actor, [audit.Entry("assessment.nominate", case, details=person_details(
            case, organ=organ.code, nominator=nominating.code, tier=case.tier, trigger=case.trigger,
            contract=contract_ref)) for case in new_cases])
        give_subject_roles(actor=actor, people={case.person_id: nominating for case in new_cases},
                           case_ids={case.person_id: case.pk for case in new_cases})
    if held:
        try:
            with transaction.atomic():
                Exemption.objects.bulk_create(held)
        except IntegrityError:  # a concurrent nomination of one of these people was held first
            raise RuleViolation("exemption_pending", "推薦した者のうち、評価の省略の確認が保留中の者がいます（一件も登録していません）。",
                                "A possible exemption of one of these people is awaiting the organ's confirmation; "
                                "nothing was nominated.", field="person") from None
        if any(e.pk is None for e in held):  # a backend that does not return ids from a bulk insert
            raise RuntimeError("bulk nomination needs a database that returns ids from a bulk insert")
        audit.record_many(actor, [audit.Entry("assessment.nominate", e, details={
            "subject_person_id": e.person_id, "outcome": "possible_exemption", "basis": e.basis, "organ": organ.code,
            "tier": e.tier}) for e in held])
    if progress is not None:
        progress(done + len(rows))
    return out


@transaction.atomic(durable=True)
def nominate_many(*, actor, rows: list[dict], contract: Contract | None = None, progress=None) -> list[Nomination]:
    """Bulk nomination from a list of dicts (the candidate as ``person``, a Person or its id, or as
    ``username``; optionally ``date_of_birth``, which must match the person's recorded one; and the
    fields of ``nominate``): all rows or none. Every row is checked first, in ``nominate``'s order;
    ``NominationRowsInvalid`` lists every problem by row. ``progress(n)`` is called after each chunk of rows is written, with the
    number of rows written so far.

    The same checks and writes as ``nominate`` row by row, read and written a chunk at a time
    (people, employment, open cases, pending exemptions and earlier results in one query each per
    chunk; cases, data keys and events in bulk inserts; one audit entry per row), so 100,000 rows
    take seconds of queries, not hundreds of thousands of them (benchmarks/assessment_bench.py).
    """
    target, organ, nominating = _context(actor, contract, lock=True)
    contract = target if contract is not None else None
    policy.require(actor, "assessment.nominate", target)
    rows = list(rows)
    if not rows:
        raise RuleViolation("no_rows", "推薦する行がありません。", "There are no rows to nominate.")
    on = today()
    # Candidates named by user name are found among active accounts (in chunks); a name, or an id,
    # that matches nobody on the nominator's staff gets one answer, whether it exists elsewhere or not
    # at all (issue 12 §6). Nothing is looked up before the policy has allowed the nomination.
    named = [_named(r) for r in rows]
    usernames = sorted({key for field, key in named if field == "username" and key is not None})
    by_username: dict[str, int] = {}
    for chunk in _chunks(usernames):
        by_username.update(Account.objects.filter(username__in=chunk, is_active=True)
                           .values_list("username", "person_id"))
    ids = [by_username.get(key) if field == "username" else key for field, key in named]
    wanted = sorted({i for i in ids if _valid_id(i)})
    people: dict[int, Person] = {}
    employed: set[int] = set()
    open_keys: set[tuple[int, str]] = set()
    pending_keys: set[tuple[int, str]] = set()
    for chunk in _chunks(wanted):
        # Locked, in id order as `nominate` locks its one person: a single nomination or an exemption
        # decision about one of these people waits for this one, and is then decided on what it wrote.
        people.update(locking.lock_many(Person, chunk))
        employed.update(RoleAssignment.objects.filter(account__person_id__in=chunk, organisation=nominating,
                                                      revoked_at__isnull=True).values_list("account__person_id",
                                                                                           flat=True))
        open_keys.update(AssessmentCase.objects.filter(person_id__in=chunk, organ=organ, state__in=sorted(OPEN))
                         .values_list("person_id", "tier"))
        pending_keys.update(Exemption.objects.filter(person_id__in=chunk, organ=organ,
                                                     state=ExemptionState.PENDING).values_list("person_id", "tier"))
    errors: list[tuple[int, str | None, str, str]] = []
    prepared: list[tuple[Person, dict]] = []
    seen: dict[tuple[int, str], int] = {}
    starts: dict = {}
    for index, (row, (field, _key), person_id) in enumerate(zip(rows, named, ids, strict=True)):
        if field is None:
            errors.append((index, "person", "評価対象者を person_id 又は username のいずれかで指定してください。",
                           "Name the candidate by person_id or by username (one of them)."))
            continue
        try:
            person = people.get(person_id) if _valid_id(person_id) else None
            if person is None:
                raise rules.not_nominable(nominating, field=field)
            rules.check_person_nominable(person, nominating, employed_ids=employed, field=field)
            expected = row.get("date_of_birth")
            if expected is not None and expected != person.date_of_birth:
                raise RuleViolation("date_of_birth_mismatch", "生年月日が登録されているものと一致しません。行を確認してください。",
                                    "The date of birth does not match the person's recorded one; check the row.",
                                    field="date_of_birth")
            fields = _prepared(person, nominating, organ, row, on, employed_ids=employed,
                               open_keys=(open_keys, pending_keys), field=field, starts=starts)
        except RuleViolation as exc:
            errors.append((index, exc.field, exc.message_ja, exc.message_en))
            continue
        key = (person.pk, fields["tier"])
        if key in seen:
            errors.append((index, field, f"{seen[key]}行目（0から数えて）と同じ者です。",
                           f"The same person as rows[{seen[key]}]."))
            continue
        seen[key] = index
        prepared.append((person, fields))
    if errors:
        raise NominationRowsInvalid(errors)
    packs = {t: current_pack(t, on) for t in {f["tier"] for _, f in prepared}}
    out: list[Nomination] = []
    for chunk in _chunks(prepared):
        out.extend(_open_many(actor, chunk, organ=organ, nominating=nominating, contract=contract, packs=packs,
                              on=on, progress=progress, done=len(out)))
    audit.record(actor, "assessment.nominate_many", organ, details={
        "nominator": nominating.code, "rows": len(out),
        "cases": sum(1 for r in out if r.case), "possible_exemptions": sum(1 for r in out if r.exemption)})
    return out
