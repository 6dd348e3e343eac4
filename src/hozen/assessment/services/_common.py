"""What every assessment use case shares: today's date, the locked case, moving it through the
state table with its event and clock, duties, the nominator's notice, and closing a case.

Lock what you check (ARCHITECTURE rule 8). Every service reads the rows it decides on afresh,
``SELECT … FOR UPDATE`` inside its own transaction (``hozen.core.rows.lock``), whatever instance the
caller passed (a view's copy is only a hint of which row), and saves only the fields it changed.
So that two services never wait on each other in a circle (PostgreSQL would abort one with a
deadlock), rows are always locked in one order:

    the nominating contract → person → case(s), by id → clearance(s), by id → exemption →
    complaint → the case's other records (reported change, adverse-treatment report, questionnaire
    section, finding, inquiry, adjudication) → duties → the second factor's device

On SQLite the whole transaction holds the database's write lock from its first statement
(``BEGIN IMMEDIATE``), so the order matters only on PostgreSQL, where it is tested
(tests/concurrency/test_assessment_races.py).
"""

from __future__ import annotations

import datetime as dt

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.crypto import salted_hmac

from hozen import audit
from hozen.audit.canonical import canonical_json
from hozen.core import rows, second_factor
from hozen.core.errors import NotFound, RuleViolation
from hozen.core.models import Person

from .. import rules, states
from ..models import AssessmentCase, BusinessNotice, CaseDuty, CaseEvent, Clearance


def today() -> dt.date:
    return timezone.localdate()


def locked(case: AssessmentCase | int) -> AssessmentCase:
    """The case (an instance or an id) read afresh and locked for this transaction, so two writers
    never act on one state; NotFound when it is gone."""
    return rows.lock(AssessmentCase, case, related=("rules_pack", "organ", "nominating_organisation"))


def lock_person(person: Person | int) -> Person:
    """The person's row, locked first (the head of the lock order): decisions about the person as a
    whole — a nomination, an exemption, a reported concern — wait for each other."""
    return rows.lock(Person, person)


def hint(model, row_or_pk):
    """An unlocked read of ``model``'s row to learn which other rows to lock first (its person, its
    case): only foreign keys that never change are taken from it; the row is then locked and read
    again in its place in the lock order. NotFound when there is no such row."""
    pk = row_or_pk.pk if hasattr(row_or_pk, "pk") else row_or_pk
    try:
        return model._default_manager.get(pk=pk)
    except (model.DoesNotExist, ValueError, TypeError, OverflowError):
        raise NotFound from None


def fact_digest(case: AssessmentCase, purpose: str, *parts: str) -> str:
    """A keyed digest of a record's encrypted text (``parts``), salted with the case's crypto id:
    recognises the same record made twice without decrypting earlier ones, and — being keyed with
    the server's secret — gives no bare hash that short texts could be guessed from. Wiped when the
    case is shredded (``retention``)."""
    return salted_hmac(f"hozen.assessment.{purpose}", canonical_json([str(case.crypto_id), *parts]),
                       algorithm="sha256").hexdigest()


def person_details(case: AssessmentCase, **details) -> dict:
    """Audit details: codes and ids only, whose case it is (so it reaches their own history), and
    the state the case is in after the change (so the log replays it: ``assessment.reconcile``)."""
    return {"subject_person_id": case.person_id, "state": case.state, **details}


def spend_second_factor(actor) -> dict | None:
    """Spend the second factor offered with this action, once every other check has passed
    (``hozen.core.second_factor``): a refused action leaves it unspent. Returns what the audit entry
    records of it (its kind, never the code), or None when none came with the actor."""
    proof = actor.second_factor
    if proof is None:
        return None
    second_factor.spend(proof, account=actor.account)
    return proof.describe()


def event(actor, case: AssessmentCase, kind: str, *, state_from: str = "", state_to: str = "", **details) -> CaseEvent:
    return CaseEvent.objects.create(case=case, kind=kind, actor=actor.describe(), state_from=state_from,
                                    state_to=state_to, details=details)


def move(actor, case: AssessmentCase, action: str, *, kind: str, target: str | None = None,
         **details) -> states.Transition:
    """Apply the table's row for ``action`` (RuleViolation ``transition_not_allowed`` if none),
    restart the stage clock when the state changes, and record the event."""
    row = states.transition(case.state, action, target)
    before = case.state
    if not row.keeps_state:
        case.state = row.target
        case.stage_entered_at = timezone.now()
        case.stage_due_on = rules.stage_due_on(case, today())
    event(actor, case, kind, state_from=before, state_to=case.state, **details)
    return row


CLOCK_FIELDS = ["state", "stage_entered_at", "stage_due_on"]


def save_new_case(case: AssessmentCase) -> AssessmentCase:
    """Insert a case; a concurrent nomination that opened the same assessment first is a
    RuleViolation, not a crash (the database's one-open-case constraint)."""
    case.stage_due_on = rules.stage_due_on(case, today())
    try:
        with transaction.atomic():
            case.save()
    except IntegrityError:
        raise RuleViolation("case_already_open", "この者については、同じ行政機関による適性評価が既に進行中です。",
                            "An assessment of this person by the same organ is already in progress.",
                            field="person") from None
    return case


def check_file_kept(case: AssessmentCase) -> None:
    if case.shredded_at is not None:
        raise RuleViolation("case_file_destroyed", "この適性評価の記録は保存期間の経過により廃棄されています。",
                            "This assessment's file was destroyed at the end of its retention period.")


def end_duties(case: AssessmentCase, *kinds: str) -> None:
    qs = CaseDuty.objects.filter(case=case, ended_at__isnull=True)
    if kinds:
        qs = qs.filter(kind__in=kinds)
    qs.update(ended_at=timezone.now())


def take_duty(actor, case: AssessmentCase, kind: str, account) -> CaseDuty:
    """Give ``account`` the duty (ending whoever held it), reviving their own earlier row of the
    same duty: one row per person per case is also the database's separation of duties."""
    if kind != CaseDuty.Kind.COMPLAINT_HANDLER:
        CaseDuty.objects.filter(case=case, kind=kind, ended_at__isnull=True).exclude(account=account).update(
            ended_at=timezone.now())
    duty, created = CaseDuty.objects.get_or_create(
        case=case, account=account, defaults={"kind": kind, "assigned_by": actor.describe()})
    if not created and duty.kind != kind:  # the policy refuses this first; never change a duty's kind
        raise RuleViolation("separation_of_duties", "この者は既にこの適性評価の別の担当です。",
                            "This person already holds another duty on this assessment.", field="account")
    if not created:
        duty.ended_at, duty.assigned_at, duty.assigned_by = None, timezone.now(), actor.describe()
        duty.save(update_fields=["ended_at", "assigned_at", "assigned_by"])
    return duty


def notice_recipients(case: AssessmentCase) -> list:
    """Who receives the nominator's notice: the nominating side (the employer, for a business's
    employee — also for a re-assessment opened on the organ's report) and, for a concern reported
    by someone else (the organ), the reporter as well (DOMAIN §6 steps 7–8)."""
    from ..models import ReportableEvent

    recipients = [case.nominating_organisation]
    if case.trigger == "concern" or case.reassessment_of_id is not None:
        reporters = (ReportableEvent.objects.filter(Q(reassessment=case) | Q(folded_into=case))
                     .select_related("reporter").order_by("id"))
        for record in reporters:
            if all(record.reporter_id != r.pk for r in recipients):
                recipients.append(record.reporter)
    return recipients


def notify_nominator(case: AssessmentCase, pack, *, consented: bool, favourable: bool | None = None,
                     valid_until: dt.date | None = None) -> BusinessNotice:
    """The nominating side's notice: the three facts only, with its destruction date (one per
    recipient, ``notice_recipients``; the nominating side's is returned)."""
    notices = [BusinessNotice.objects.create(
        case=case, recipient=recipient, consented=consented, favourable=favourable, valid_until=valid_until,
        retain_until=rules.notice_retained_until(pack, today(), favourable=bool(favourable)),
    ) for recipient in notice_recipients(case)]
    return notices[0]


def close_without_result(actor, case: AssessmentCase, end_reason: str) -> None:
    """A case that ends before a result (refused, withdrawn, discontinued): duties end, the file's
    retention clock starts, and a suspended clearance the case was re-assessing ends with it.
    The case is locked by the caller; the clearance comes after it in the lock order."""
    now = timezone.now()
    case.closed_at = now
    case.retain_until = rules.case_retained_until(case, today())
    end_duties(case)
    if case.reassessment_of_id is not None:
        end_clearance(actor, rows.lock(Clearance, case.reassessment_of_id), end_reason, case=case)


# --- clearances: each change is an entry naming the clearance (replayed by ``assessment.reconcile``) ---

def clearance_details(clearance: Clearance, **details) -> dict:
    """What a clearance's entry records: whose it is, and its dates and flags after the change."""
    return {"subject_person_id": clearance.person_id, "favourable": clearance.favourable,
            "notified_on": clearance.notified_on, "valid_until": clearance.valid_until,
            "suspended": clearance.suspended_at is not None, "ended_on": clearance.ended_on,
            "end_reason": clearance.end_reason, **details}


def end_clearance(actor, clearance: Clearance, end_reason: str, *, case: AssessmentCase) -> bool:
    """End a (locked) clearance today for ``end_reason`` because of ``case``; one already ended is
    left as it is. Returns whether it ended now."""
    if clearance.ended_on is not None:
        return False
    rows.change(clearance, ended_on=today(), end_reason=end_reason)
    audit.record(actor, "assessment.end_clearance", clearance, details=clearance_details(clearance, case=case.pk))
    return True
