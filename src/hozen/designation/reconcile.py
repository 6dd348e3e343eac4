"""Replaying a designation from the audit log (ARCHITECTURE rule 10; `hozen.audit.reconcile`).

Covered: state, reference, term end (once designated), approver, end date, SDS successor, whether
a draft waits for its preparer after being sent back (`returned`), and the row's version. A
draft's content (title, justifications…) is not in the log by design (entries carry no content),
so edits of a draft are checked by their version only.
"""

from __future__ import annotations

from hozen.audit.reconcile import Replayer, actor_account, details

from .models import Designation, State

ENDINGS = {
    "designation.cancelled": State.CANCELLED,
    "designation.expired": State.EXPIRED,
    "designation.moved_to_sds": State.MOVED_TO_SDS,
    "designation.transferred_to_archives": State.TRANSFERRED,
}

ACTIONS = frozenset({"designation.drafted", "designation.draft_updated", "designation.draft_returned",
                     "designation.designated",
                     "designation.extended", "designation.reviewed", *ENDINGS})

FIELDS = ("state", "reference", "term_end", "approved_by", "ended_on", "successor", "returned", "version")


def replay(entries: list[dict]) -> dict:
    out: dict = {}
    for entry in entries:
        action, d = entry["action"], details(entry)
        if action == "designation.drafted":
            out.update(state=State.DRAFT, reference=None, approved_by=None, ended_on=None, successor=None,
                       returned=False)
        elif action == "designation.draft_returned":
            out["returned"] = True
        elif action == "designation.draft_updated" and "returned" in d:
            out["returned"] = bool(d["returned"])  # saved again after a return: resubmitted
        elif action == "designation.designated":
            out.update(state=State.DESIGNATED, reference=d.get("reference"), approved_by=actor_account(entry),
                       returned=False)
            if "term_end" in d:
                out["term_end"] = d["term_end"]
        elif action == "designation.extended":
            out["term_end"] = d.get("term_end", d.get("until"))
        elif action == "designation.reviewed" and d.get("outcome") == "cancel":
            out["state"] = State.CANCELLED
        elif action in ENDINGS:
            out["state"] = ENDINGS[action]
            out.pop("ended_on", None)  # known only from entries that record it (below)
            if action == "designation.moved_to_sds":
                out["successor"] = d.get("successor")
        if "state" in d:
            out["state"] = d["state"]
        if "ended_on" in d:
            out["ended_on"] = d["ended_on"]
        if isinstance(d.get("version"), int):
            out["version"] = d["version"]
    return out


def stored(row: Designation) -> dict:
    return {
        "state": row.state, "reference": row.reference, "term_end": row.term_end,
        "approved_by": row.approved_by.username if row.approved_by_id else None, "ended_on": row.ended_on,
        "successor": row.successor.reference if row.successor_id else None, "returned": row.returned_at is not None,
        "version": row.version,
    }


REPLAYER = Replayer(kind="designation", model=Designation, target_type="designation.designation", actions=ACTIONS,
                    replay=replay, stored=stored, fields=FIELDS, related=("approved_by", "successor"))
