"""Replaying assessments from the audit log (ARCHITECTURE rule 10; ``hozen.audit.reconcile``).

Three kinds of record, each replayed from the entries that name it (their canonical ``details``,
never the rows beside them), and compared with the stored row:

- ``assessment_case`` (``assessment.assessmentcase``): **state** (every entry of a case carries the
  state the case is in after it: ``services._common.person_details``; a return to the investigator,
  ``assessment.return_to_investigation``, too), **reasons_waived** (false
  when nominated; ``assessment.waive_reasons``), **questionnaire_sha256** (empty when nominated;
  ``assessment.submit_questionnaire``), **interview_at** (``assessment.schedule_interview``) and
  **retain_until** (the case's retention date, set when it closes or its result is notified).
- ``assessment_clearance`` (``assessment.clearance``): **favourable**, **notified_on**,
  **valid_until**, **suspended** (suspended or not), **ended_on** and **end_reason**, from
  ``assessment.record_result`` (the result notified, or notified again after a re-examination),
  ``assessment.suspend_clearance`` (a reported concern) and ``assessment.end_clearance`` (a later
  result, or a re-assessment that ends without one).
- ``assessment_complaint`` (``assessment.complaint``): **state**, **handler** (the account's id)
  and **outcome**, from ``assessment.file_complaint``, ``assessment.assign_complaint_handler`` and
  ``assessment.decide_complaint``.

Content (answers, findings, reasons, complaint texts) is never in the log, so it is not replayed.
An entry written before a detail was recorded leaves that field out of the comparison rather than
guessing it; a value that follows from the action alone (a new case's flags, a complaint's state in
its own small state table) is taken from the action.
"""

from __future__ import annotations

from hozen.audit.reconcile import Replayer, details

from .models import AssessmentCase, Clearance, Complaint
from .states import COMPLAINT_TRANSITIONS

# --- cases ----------------------------------------------------------------------------------------

CASE_ACTIONS = frozenset({
    "assessment.nominate", "assessment.give_notice", "assessment.consent", "assessment.refuse",
    "assessment.withdraw_consent", "assessment.waive_reasons", "assessment.prefill_questionnaire",
    "assessment.submit_questionnaire", "assessment.assign_investigator", "assessment.schedule_interview",
    "assessment.complete_investigation", "assessment.assign_adjudicator", "assessment.assign_concurring_adjudicator",
    "assessment.adjudicate", "assessment.concur", "assessment.notify_result", "assessment.discontinue",
    "assessment.fold_concern", "assessment.reexamine", "assessment.return_to_investigation",
})

CASE_FIELDS = ("state", "reasons_waived", "questionnaire_sha256", "interview_at", "retain_until")


def replay_case(entries: list[dict]) -> dict:
    out: dict = {}
    for entry in entries:
        action, d = entry["action"], details(entry)
        if action == "assessment.nominate":  # a new case: nothing waived, submitted, scheduled or closed yet
            out.update(reasons_waived=False, questionnaire_sha256="", interview_at=None, retain_until=None)
        elif action == "assessment.waive_reasons" and isinstance(d.get("waived"), bool):
            out["reasons_waived"] = d["waived"]
        elif action == "assessment.submit_questionnaire" and "sha256" in d:
            out["questionnaire_sha256"] = d["sha256"]
        elif action == "assessment.schedule_interview" and "at" in d:
            out["interview_at"] = d["at"]
        if "state" in d:
            out["state"] = d["state"]
        else:
            out.pop("state", None)  # an entry from before states were recorded: not compared
        if "retain_until" in d:
            out["retain_until"] = d["retain_until"]
        elif action in ("assessment.refuse", "assessment.withdraw_consent", "assessment.discontinue",
                        "assessment.notify_result"):
            out.pop("retain_until", None)
    return out


def stored_case(row: AssessmentCase) -> dict:
    return {"state": row.state, "reasons_waived": row.reasons_waived, "questionnaire_sha256": row.questionnaire_sha256,
            "interview_at": row.interview_at, "retain_until": row.retain_until}


CASE = Replayer(kind="assessment_case", model=AssessmentCase, target_type="assessment.assessmentcase",
                actions=CASE_ACTIONS, replay=replay_case, stored=stored_case, fields=CASE_FIELDS)

# --- clearances -----------------------------------------------------------------------------------

CLEARANCE_ACTIONS = frozenset({"assessment.record_result", "assessment.suspend_clearance",
                               "assessment.end_clearance"})

CLEARANCE_FIELDS = ("favourable", "notified_on", "valid_until", "suspended", "ended_on", "end_reason")


def replay_clearance(entries: list[dict]) -> dict:
    out: dict = {}
    for entry in entries:
        d = details(entry)
        for name in CLEARANCE_FIELDS:
            if name in d:
                out[name] = d[name]
    return out


def stored_clearance(row: Clearance) -> dict:
    return {"favourable": row.favourable, "notified_on": row.notified_on, "valid_until": row.valid_until,
            "suspended": row.suspended_at is not None, "ended_on": row.ended_on, "end_reason": row.end_reason}


CLEARANCE = Replayer(kind="assessment_clearance", model=Clearance, target_type="assessment.clearance",
                     actions=CLEARANCE_ACTIONS, replay=replay_clearance, stored=stored_clearance,
                     fields=CLEARANCE_FIELDS)

# --- complaints -----------------------------------------------------------------------------------

COMPLAINT_ACTIONS = frozenset({"assessment.file_complaint", "assessment.assign_complaint_handler",
                               "assessment.decide_complaint"})

COMPLAINT_FIELDS = ("state", "handler", "outcome")

#: The state each complaint action leaves a complaint in (its own table has one target per action).
_COMPLAINT_TARGET = {"assessment.file_complaint": "filed",
                     **{t.action: t.target for t in COMPLAINT_TRANSITIONS}}


def replay_complaint(entries: list[dict]) -> dict:
    out: dict = {}
    for entry in entries:
        action, d = entry["action"], details(entry)
        out["state"] = d.get("complaint_state", _COMPLAINT_TARGET[action])
        if action == "assessment.file_complaint":
            out.update(handler=None, outcome="")
        if "handler" in d:
            out["handler"] = d["handler"]
        elif action == "assessment.assign_complaint_handler" and "account" in d:
            out["handler"] = d["account"]
        if "outcome" in d:
            out["outcome"] = d["outcome"]
    return out


def stored_complaint(row: Complaint) -> dict:
    return {"state": row.state, "handler": row.handler_id, "outcome": row.outcome}


COMPLAINT = Replayer(kind="assessment_complaint", model=Complaint, target_type="assessment.complaint",
                     actions=COMPLAINT_ACTIONS, replay=replay_complaint, stored=stored_complaint,
                     fields=COMPLAINT_FIELDS)

REPLAYERS = (CASE, CLEARANCE, COMPLAINT)
KINDS = tuple(r.kind for r in REPLAYERS)
