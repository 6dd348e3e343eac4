"""Replaying handler entries and review campaigns from the audit log (ARCHITECTURE rule 10;
`hozen.audit.reconcile`).

Handler entries (`handling.handlerentry`), from `handling.handler.added`, `.confirmed`, `.removed`
and `.lapsed`: open or ended, the end reason, the end date of the need to know (`ends_on`), the
next review (`review_due`), the last confirmation, when it ended, and whose entry on which
designation it is. Review campaigns (`handling.reviewcampaign`), from `handling.review.opened` and
`.closed`: open or closed, the designation and organisation, the due date.

Entries written before a detail was recorded leave that field out of the comparison (never
guessed): an old `added` entry names no review date, an old `removed` entry no end time.
"""

from __future__ import annotations

from hozen.audit.reconcile import Replayer, details

from .models import EndReason, HandlerEntry, ReviewCampaign

ENTRY_ACTIONS = frozenset({"handling.handler.added", "handling.handler.confirmed", "handling.handler.removed",
                           "handling.handler.lapsed"})
ENTRY_FIELDS = ("state", "end_reason", "ends_on", "review_due", "last_confirmed_on", "ended_at", "account",
                "designation")


def _id(ref) -> str | None:
    """The id of a target reference as the log writes one (``{"type", "id"}``), or None."""
    return str(ref["id"]) if isinstance(ref, dict) and "id" in ref else None


def replay_entry(entries: list[dict]) -> dict:
    out: dict = {}
    for entry in entries:
        action, d = entry["action"], details(entry)
        if action == "handling.handler.added":
            out.update(state="open", end_reason="", ended_at=None, last_confirmed_on=None)
        elif action == "handling.handler.removed":
            out.update(state="ended", end_reason=EndReason.REVIEW_REMOVED if d.get("at_review") else EndReason.REMOVED)
            out.pop("ended_at", None)  # known only from entries that record it (below)
        elif action == "handling.handler.lapsed":
            out.update(state="ended", end_reason=d.get("reason"))
            out.pop("ended_at", None)
        elif action == "handling.handler.confirmed":
            if "next_review" in d:
                out["review_due"] = d["next_review"]
            out.pop("last_confirmed_on", None)  # known only from entries that record it (below)
        for key in ("state", "end_reason", "ends_on", "review_due", "last_confirmed_on", "ended_at"):
            if key in d:
                out[key] = d[key]
        if isinstance(d.get("account_id"), int):
            out["account"] = d["account_id"]
        if _id(d.get("designation")) is not None:
            out["designation"] = _id(d["designation"])
    return out


def stored_entry(row: HandlerEntry) -> dict:
    return {"state": "open" if row.ended_at is None else "ended", "end_reason": row.end_reason,
            "ends_on": row.ends_on, "review_due": row.review_due, "last_confirmed_on": row.last_confirmed_on,
            "ended_at": row.ended_at, "account": row.account_id, "designation": str(row.designation_id)}


ENTRIES = Replayer(kind="handler_entry", model=HandlerEntry, target_type="handling.handlerentry",
                   actions=ENTRY_ACTIONS, replay=replay_entry, stored=stored_entry, fields=ENTRY_FIELDS)


REVIEW_ACTIONS = frozenset({"handling.review.opened", "handling.review.closed"})
REVIEW_FIELDS = ("state", "designation", "organisation", "due_on")


def replay_review(entries: list[dict]) -> dict:
    out: dict = {}
    for entry in entries:
        action, d = entry["action"], details(entry)
        if action == "handling.review.opened":
            out["state"] = "open"
            if "due_on" in d:
                out["due_on"] = d["due_on"]
        elif action == "handling.review.closed":
            out["state"] = "closed"
        if isinstance(d.get("designation_id"), int):
            out["designation"] = d["designation_id"]
        if isinstance(d.get("organisation_id"), int):
            out["organisation"] = d["organisation_id"]
    return out


def stored_review(row: ReviewCampaign) -> dict:
    return {"state": "open" if row.closed_at is None else "closed", "designation": row.designation_id,
            "organisation": row.organisation_id, "due_on": row.due_on}


REVIEWS = Replayer(kind="handler_review", model=ReviewCampaign, target_type="handling.reviewcampaign",
                   actions=REVIEW_ACTIONS, replay=replay_review, stored=stored_review, fields=REVIEW_FIELDS)

REPLAYERS = (ENTRIES, REVIEWS)
