"""Read transparency (issue 12 §7; ARCHITECTURE rules 2 and 4): every read that shows anything about
an assessed person is an audit entry naming the person, so it is on their "who has read my data".

The screens and the API call this module once per page or response, after the read succeeded:

- ``shown(actor, view, rows)`` writes ``assessment.read`` (outcome ``success``) for each person the
  rows name — a case, a clearance, a notice, an exemption, a complaint, a report, a reminder, an
  inquiry: anything that is someone's — with ``details = {"subject_person_id", "view"}`` and a
  purpose code (``purpose_of``: the reader's role, or the page's own). One entry per person per
  page: a list naming fifty people writes fifty entries in one statement (``audit.record_many``).
- A read that fails — a row the reader may not see (answered 404 like a missing one), a part of a
  case the reader may not read (403 with the policy's reason) — writes ``assessment.read`` with
  outcome ``denied``: ``details = {"reason", "asked", "view"}`` and, when the row exists, its
  person: ``lookup`` for the 404s, ``require`` for the 403s (its PolicyDenied is marked audited, so
  the error handlers do not write a second entry). Auditors see every one; the person sees that an
  attempt was refused (``audit.view_refused_reader`` decides whether they also see by whom).
- Decrypted fields are also ``personal_data.read`` entries (``hozen.crypto.reveal``), one per record.

``view`` names the page or operation (a URL name, an API handler's name): codes, never content.
Like ``designation.read``, these entries are written outside any transaction of their own: reads
run in no service transaction, and a refused read must be recorded although the call raises.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from django.core.exceptions import FieldDoesNotExist

from hozen import audit
from hozen.access import policy
from hozen.access.policy import Decision, PolicyDenied
from hozen.core.errors import NotFound
from hozen.core.roles import Role

READ = "assessment.read"

#: The purpose a role's reads are recorded with, unless the page names its own.
ROLE_PURPOSES = {
    Role.SUBJECT: "subject_access",
    Role.INVESTIGATOR: "investigation",
    Role.ADJUDICATOR: "adjudication",
    Role.COMPLAINT_HANDLER: "complaint_handling",
    Role.BUSINESS_OFFICER: "nomination_follow_up",
    Role.SECURITY_OFFICER: "nomination_follow_up",
    Role.ORGAN_HEAD: "organ_procedure",
}


def purpose_of(actor, default: str = "case_work") -> str:
    """The purpose code of the actor's reads in their active role (``case_work`` otherwise)."""
    return ROLE_PURPOSES.get(getattr(actor, "role", None), default)


def _cached(row, name: str):
    """The related object ``name`` of ``row`` if it is already loaded (no query), else None."""
    try:
        field = row._meta.get_field(name)
    except (AttributeError, FieldDoesNotExist):  # not a model, or no such relation
        return None
    return field.get_cached_value(row, None) if field.is_relation else None


def person_ids_of(rows: Iterable[Any]) -> list[tuple[Any, int]]:
    """(row, person id) for each row that names a person, in order. A row is the person, names its
    person directly (``person_id``: a case, a clearance, an exemption, a reminder) or through its case (``case_id``:
    a notice, a complaint, a report, an inquiry, a duty); cases not loaded with the row are read
    together in one query."""
    from hozen.core.models import Person

    from .models import AssessmentCase

    out: list[tuple[Any, int | None]] = []
    missing: set[int] = set()
    for row in rows:
        if row is None:
            continue
        person_id = row.pk if isinstance(row, Person) else getattr(row, "person_id", None)
        if person_id is None:
            case = row if isinstance(row, AssessmentCase) else _cached(row, "case")
            if case is not None:
                person_id = case.person_id
            elif getattr(row, "case_id", None) is not None:
                missing.add(row.case_id)
        out.append((row, person_id))
    if missing:
        people = dict(AssessmentCase.objects.filter(pk__in=missing).values_list("pk", "person_id"))
        out = [(row, pid if pid is not None else people.get(getattr(row, "case_id", None))) for row, pid in out]
    return [(row, pid) for row, pid in out if pid is not None]


def shown(actor, view: str, rows: Iterable[Any], *, purpose: str | None = None) -> int:
    """Record that ``rows`` were shown to ``actor`` on ``view``: one ``assessment.read`` per person
    named (the first row naming them is the entry's target), in one statement. Returns the count."""
    purpose = purpose or purpose_of(actor)
    seen: dict[int, Any] = {}
    for row, person_id in person_ids_of(rows):
        seen.setdefault(person_id, row)
    if not seen:
        return 0
    if len(seen) == 1:
        (person_id, row), = seen.items()
        audit.record(actor, READ, row, details={"subject_person_id": person_id, "view": view}, purpose=purpose)
        return 1
    return audit.record_many(actor, [
        audit.Entry(READ, row, details={"subject_person_id": person_id, "view": view}, purpose=purpose)
        for person_id, row in seen.items()])


def refused(actor, view: str, target: Any, *, reason: str, asked: str, row: Any = None,
            purpose: str | None = None) -> None:
    """Record a refused read: ``target`` (a row, or ``{"type", "id"}`` for one that does not exist),
    the policy's reason code (or ``not_found``), the action asked, and the person when ``row``
    (or ``target``) names one."""
    details: dict = {"reason": reason, "asked": asked, "view": view}
    source = row if row is not None else target
    named = person_ids_of([source]) if source is not None and not isinstance(source, dict | str) else []
    if named:
        details["subject_person_id"] = named[0][1]
    # The purpose the reader's role reads with; none for a role that reads no assessment at all.
    audit.record(actor, READ, target, outcome="denied", details=details,
                 purpose=purpose or ROLE_PURPOSES.get(getattr(actor, "role", None)))


def require(actor, action: str, target: Any, *, view: str, row: Any = None) -> Decision:
    """``policy.require`` for a read of case content: a refusal is recorded here as a refused read
    naming the person (``row`` — what the read was about, and then the entry's target — or the
    target says whose), and the PolicyDenied raised is marked audited so that the error handlers
    record nothing more."""
    decision = policy.decide(actor, action, target)
    if decision.allowed:
        return decision
    refused(actor, view, row if row is not None else target, reason=decision.code, asked=action, row=row)
    raise PolicyDenied(decision, action, target, audited=True, actor=actor)


def row_id(value) -> int | None:
    """A row id from a path or form value, or None (out of range or not a number)."""
    try:
        n = int(value)
    except (TypeError, ValueError):
        return None
    return n if 0 < n < 2**62 else None


def lookup(actor, view: str, model, pk, find: Callable[[], Any], *, asked: str):
    """``find()`` (a query that raises NotFound alike for missing and forbidden rows), recording a
    refused read when it raises: the row's person and the policy's reason when the row exists
    (``asked`` is the policy action the lookup stands for), ``not_found`` when it does not."""
    try:
        return find()
    except NotFound:
        row = model.objects.filter(pk=row_id(pk)).first() if row_id(pk) is not None else None
        if row is None:
            refused(actor, view, {"type": model._meta.label_lower, "id": str(pk)[:40]}, reason="not_found",
                    asked=asked)
        else:
            decision = policy.decide(actor, asked, row)
            # Allowed by the policy yet not found here: the row is outside this page's workspace
            # (another duty's page, another role's list).
            reason = "not_in_this_workspace" if decision.allowed else decision.code
            refused(actor, view, row, reason=reason, asked=asked)
        raise


def case_for(actor, pk, *, view: str):
    """``queries.case_for`` with the refused read recorded when the case is missing or not visible."""
    from . import queries
    from .models import AssessmentCase

    return lookup(actor, view, AssessmentCase, pk, lambda: queries.case_for(actor, pk), asked="assessment.view")


def view_name(request, default: str = "page") -> str:
    """The page's URL name, as a screen's ``view`` code."""
    match = getattr(request, "resolver_match", None)
    return (match.url_name if match is not None and match.url_name else default)
