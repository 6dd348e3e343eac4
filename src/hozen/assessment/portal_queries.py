"""Reads for the subject portal (適性評価 — the assessed person's own screens, DOMAIN §6).

The portal is the subject's workspace: every read here first asks the policy for the subject's
workspace (``workspace.view`` with the subject role), so a staff role gets a 403 with the
policy's reason, and then reads the case through ``queries.case_for`` (scoped by the policy to
the person's own cases), so another person's case is a 404 that reveals nothing.

Answers, reasons and complaint texts are plaintext only through ``hozen.crypto.reveal`` as the
subject (purpose ``subject_access``), so each read appears on the person's own "who has read my
data" page as well.
"""

from __future__ import annotations

import datetime as dt

from django.utils import timezone
from django.utils.translation import gettext as _

from hozen.access import policy
from hozen.core.roles import Role
from hozen.crypto import reveal, reveal_many

from . import queries, questionnaire, validation
from .answers_display import displayed
from .models import (
    AdverseTreatmentReport,
    AssessmentCase,
    CaseEvent,
    Clearance,
    Complaint,
    Inquiry,
    QuestionnaireSection,
)
from .states import BEFORE_ADJUDICATION, BEFORE_NOTIFICATION, TERMINAL, State

PURPOSE = "subject_access"


def require_portal(actor) -> None:
    """The portal is the assessed person's workspace; any other role is refused by the policy."""
    policy.require(actor, "workspace.view", Role.SUBJECT)


def cases(actor) -> list[AssessmentCase]:
    """The person's own cases, newest first (the policy's scope for a subject is their own)."""
    require_portal(actor)
    return list(queries.cases_for(actor).select_related("rules_pack"))


def case_for(actor, pk) -> AssessmentCase:
    """One of the person's own cases; 404 for a missing case and another person's alike."""
    require_portal(actor)
    return queries.case_for(actor, pk)


def clearances(actor) -> list[Clearance]:
    """The person's clearance (eligibility) records, newest first."""
    require_portal(actor)
    return list(queries.clearances_for(actor).select_related("case").order_by("-notified_on", "-id"))


def clearance_rows(actor, on: dt.date | None = None) -> list[dict]:
    on = on or timezone.localdate()
    return [{"clearance": c, "status": c.status(on)} for c in clearances(actor)]


def stage(case: AssessmentCase, on: dt.date | None = None) -> dict:
    """The case's current stage and its target date (the clock of the rules pack), for display."""
    on = on or timezone.localdate()
    return {"state": case.state, "label": State(case.state).label, "due_on": case.stage_due_on,
            "overdue": queries.is_overdue(case, on), "closed": case.state in TERMINAL}


def can(actor, case: AssessmentCase) -> dict:
    """What the subject may do now: the policy and the state table together, for offering links."""
    state = case.state
    return {
        "decide_consent": state == State.NOTICE_GIVEN,
        "withdraw": state in BEFORE_NOTIFICATION,
        "waive_reasons": state in BEFORE_ADJUDICATION,
        "edit_questionnaire": state == State.CONSENTED,
        "copy": bool(case.questionnaire_sha256) and not file_destroyed(case),
        "notice": case.notice_given_at is not None,
        "consent_record": case.consent_decided_at is not None,
        "result": case.notified_at is not None,
        "file_destroyed": file_destroyed(case),
        "inquiries": policy.decide(actor, "assessment.view_inquiry_log", case).allowed,
        "complain": case.shredded_at is None,
        "report_adverse": case.shredded_at is None,
    }


# --- the notice and the consent record -----------------------------------------------------------

def notice_event(case: AssessmentCase) -> CaseEvent | None:
    return case.events.filter(kind="notice_given").order_by("-at", "-id").first()


def notice_language(case: AssessmentCase) -> str:
    event = notice_event(case)
    return (event.details or {}).get("language", "ja") if event is not None else "ja"


CONSENT_KINDS = ("consented", "refused", "consent_withdrawn")


def consent_events(case: AssessmentCase) -> list[CaseEvent]:
    """The subject's declarations: consent, refusal, withdrawal, each with its time."""
    return list(case.events.filter(kind__in=CONSENT_KINDS).order_by("at", "id"))


# --- the questionnaire -------------------------------------------------------------------------------

def section_row(case: AssessmentCase, code: str) -> QuestionnaireSection | None:
    return QuestionnaireSection.objects.filter(case=case, section=code).select_related("case").first()


def section_content(actor, case: AssessmentCase, code: str) -> tuple[dict, QuestionnaireSection | None]:
    """The saved draft of one section as the subject sees it (read and audited), or {}."""
    questionnaire.section(code)  # KeyError for an unknown section
    row = section_row(case, code)
    if row is None:
        return known_identity(case) if code == "identity" else {}, None
    return reveal(actor, row, "content", purpose=PURPOSE) or {}, row


def known_identity(case: AssessmentCase) -> dict:
    """What Hozen already holds of the person (issue 15 §11), offered in an identity section never
    saved yet: the names, their readings and the date of birth, for the person to check and correct.
    Nothing is stored until they save."""
    person = case.person
    known = {"family_name": person.family_name, "given_name": person.given_name,
             "family_name_kana": person.family_name_kana, "given_name_kana": person.given_name_kana,
             "date_of_birth": person.date_of_birth.isoformat() if person.date_of_birth else None}
    return {name: value for name, value in known.items() if value}


def progress(actor, case: AssessmentCase) -> list[dict]:
    """The completeness view (no decryption): each section's state, from stored flags."""
    require_portal(actor)
    return queries.questionnaire_progress(actor, case)


def review(actor, case: AssessmentCase, language: str) -> dict:
    """The questionnaire as it will be submitted (issue 15 "review before final"): every section's
    answers in the schema's order, read back as the subject (audited, on their own list), and the
    incomplete items — a section not started, not confirmed, or each answer the full check
    (``validation.validate(complete=True)``, as submission runs it) refuses — with the section to fix
    them in; and the ``services.review_token`` of the versions shown, which the submission carries."""
    from .forms_portal import path_label
    from .services import review_token

    rows = {r.section: r for r in QuestionnaireSection.objects.filter(case=case).select_related("case")}
    on = timezone.localdate()
    sections, problems = [], []
    for schema in questionnaire.SECTIONS:
        row = rows.get(schema.code)
        content = (reveal(actor, row, "content", purpose=PURPOSE) or {}) if row is not None else {}
        issues = []
        if row is None:
            issues.append({"field": "", "message": _("Not started yet.")})
        else:
            if row.prefilled_from_id is not None and row.confirmed_at is None:
                issues.append({"field": "", "message": _("Carried over from your last answers: check and confirm.")})
            issues += [{"field": path_label(schema, e.path, language) if e.path else "", "message": e.message(language)}
                       for e in validation.validate(schema, content, today=on, complete=True)]
        title = schema.title(language)
        sections.append({"code": schema.code, "title": title, "answers": displayed(schema, content, language),
                         "problems": issues, "version": row.version if row is not None else 0})
        problems += [{"section": schema.code, "title": title, **issue} for issue in issues]
    return {"sections": sections, "problems": problems, "ready": not problems,
            "token": review_token({code: row.version for code, row in rows.items()})}


def prefill_changes(actor, row: QuestionnaireSection | None, content: dict, language: str) -> dict | None:
    """For a section carried over from the person's last accepted answers (a re-assessment): the
    labels of the questions whose answers now differ from those earlier ones (LESSONS.md: start
    from the last accepted answers and show what changed). None for a section not carried over."""
    if row is None or row.prefilled_from_id is None:
        return None
    earlier = (QuestionnaireSection.objects.filter(case_id=row.prefilled_from_id, section=row.section)
               .select_related("case").first())
    before = reveal(actor, earlier, "content", purpose=PURPOSE) if earlier is not None else {}
    schema = questionnaire.section(row.section)
    changed = [f.label(language) for f in schema.fields if (before or {}).get(f.name) != (content or {}).get(f.name)]
    return {"from_case": row.prefilled_from_id, "confirmed_at": row.confirmed_at, "changed": changed}


def reminders(actor) -> list:
    """Renewal reminders addressed to the person (their clearance is about to expire)."""
    require_portal(actor)
    return list(queries.reminders_for(actor)[:5])


def submitted_answers(actor, case: AssessmentCase) -> dict[str, dict]:
    """Every section's answers as submitted (the rows are frozen once the case leaves
    ``consented``), read as the subject for their copy."""
    rows = {r.section: r for r in QuestionnaireSection.objects.filter(case=case).select_related("case")}
    return {s.code: reveal(actor, rows[s.code], "content", purpose=PURPOSE)
            for s in questionnaire.SECTIONS if s.code in rows}


# --- after notification ------------------------------------------------------------------------------

def result(actor, case: AssessmentCase) -> dict:
    """The notified result and, unless waived, the reasons per item (behind ``assessment.view_result``)."""
    return queries.result_of(actor, case)


def inquiries(actor, case: AssessmentCase) -> list[dict]:
    """Inquiries made about the person: kind, organisation, method, dates (never names or answers)."""
    kinds, methods = dict(Inquiry.RecipientKind.choices), dict(Inquiry.Method.choices)
    return [{**row, "recipient_kind_label": kinds.get(row["recipient_kind"], row["recipient_kind"]),
             "method_label": methods.get(row["method"], row["method"])}
            for row in queries.inquiry_log_for(actor, case)]


def file_destroyed(case: AssessmentCase) -> bool:
    """The case's personal data was crypto-shredded at the end of its retention period: its
    encrypted texts (answers, reasons, complaint and report texts) are gone for good, so the
    portal shows the clear facts and says so instead of trying to read them."""
    return case.shredded_at is not None


def complaints(actor, case: AssessmentCase) -> list[dict]:
    """The person's complaints on the case, each with its text and, once decided, the outcome
    (the texts are None once the file is destroyed)."""
    rows = []
    for c in Complaint.objects.filter(case=case).select_related("case").order_by("filed_at", "id"):
        if file_destroyed(case):
            rows.append({"complaint": c, "text": None, "outcome_reasons": None})
            continue
        fields = ["text", "outcome_reasons"] if c.decided_at else ["text"]
        texts = reveal_many(actor, c, fields, purpose=PURPOSE)
        rows.append({"complaint": c, "text": texts["text"], "outcome_reasons": texts.get("outcome_reasons")})
    return rows


def adverse_reports(actor, case: AssessmentCase) -> list[dict]:
    rows = []
    for r in AdverseTreatmentReport.objects.filter(case=case).select_related("case", "employer").order_by(
            "filed_at", "id"):
        if file_destroyed(case):
            rows.append({"report": r, "text": None, "outcome_reasons": None})
            continue
        fields = ["text", "outcome_reasons"] if r.decided_at else ["text"]
        texts = reveal_many(actor, r, fields, purpose=PURPOSE)
        rows.append({"report": r, "text": texts["text"], "outcome_reasons": texts.get("outcome_reasons")})
    return rows


def own_open_case_exists(person_id: int) -> bool:
    """Whether the person has a case in progress, up to its result's notification (for the header of
    their other roles' pages: a way into "my assessment"; a yes or no about their own case, shown to
    them only). Afterwards the result and any complaint are reached through the role switcher."""
    from .states import OPEN

    return AssessmentCase.objects.filter(person_id=person_id, state__in=OPEN).exists()
