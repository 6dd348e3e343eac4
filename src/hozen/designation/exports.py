"""The designation's outputs: the ledger (指定管理簿) as CSV and PDF, the 指定書 as PDF.

Pure building, no policy and no audit: `export_services` asks the policy, builds through this
module and records the export. The CSV rows are `queries.ledger_row` (the shape the API and the
screen show); the PDFs take the plain dicts of `hozen.documents`, built here from model rows.

Both documents are official Japanese texts: they are written in Japanese whatever the reader's
language, and the CSV's headers are the ledger's Japanese column names.
"""

from __future__ import annotations

import csv
import datetime as dt
import io

from django.utils import translation

from hozen import documents
from hozen.core.roles import Role

from .models import STATE_LABELS, Designation, Event, State, state_label
from .queries import ledger_row

#: CSV columns: the key of `queries.ledger_row` and its Japanese header.
LEDGER_CSV_COLUMNS = (
    ("reference", "指定番号"),
    ("title", "件名"),
    ("category", "区分"),
    ("sub_item", "細目"),
    ("designated_on", "指定日"),
    ("term_end", "有効期間満了日"),
    ("protective_measure", "保護措置"),
    ("state", "状態"),
    ("record", "延長・解除の記録"),
    ("corrections", "是正要求"),
    ("rules", "適用規程"),
    ("summary", "概要"),
    ("justification_category", "要件(1)区分・細目への該当の理由"),
    ("justification_not_public", "要件(2)非公知性の理由"),
    ("justification_harm", "要件(3)漏えいによる支障のおそれの理由"),
    ("to_verify", "要確認事項"),
)

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")

#: The pack values a designation's term relies on; those flagged "to verify" are noted on the 指定書.
TERM_KEYS = (
    "designation.max_term_years",
    "extension.max_term_years",
    "cumulative.cabinet_approval_threshold_years",
    "cumulative.absolute_cap_years",
    "review.interval_months",
)
TERM_KEY_LABELS_JA = {
    "designation.max_term_years": "有効期間の上限",
    "extension.max_term_years": "延長1回の上限",
    "cumulative.cabinet_approval_threshold_years": "内閣の承認を要する通算期間",
    "cumulative.absolute_cap_years": "通算期間の上限",
    "review.interval_months": "見直しの間隔",
}
_CORRECTION_ANSWERED_JA = {True: "回答済", False: "未回答"}
#: The 指定書's history in the document's own words (the screen's labels share the msgid "Designated"
#: with the state 指定中, which reads wrongly as an event).
EVENT_JA = {
    Event.Kind.DRAFTED: "起案",
    Event.Kind.DESIGNATED: "指定",
    Event.Kind.EXTENDED: "有効期間の延長",
    Event.Kind.REVIEWED: "見直し（要件を引き続き満たす）",
    Event.Kind.EXPIRED: "有効期間満了",
    Event.Kind.CANCELLED: "指定解除",
    Event.Kind.MOVED_TO_SDS: "特定秘密へ移行",
    Event.Kind.TRANSFERRED: "内閣の承認が得られず国立公文書館へ移管",
    Event.Kind.PROVIDED: "提供",
    Event.Kind.CORRECTION_REQUESTED: "是正の求め",
    Event.Kind.CORRECTION_ANSWERED: "是正の求めへの回答",
}


def _cell(value) -> str:
    """Text a spreadsheet could run as a formula gets a leading apostrophe (CSV injection)."""
    if value is None:
        return ""
    if isinstance(value, dt.date):
        return value.isoformat()
    value = str(value)
    return "'" + value if value.startswith(_FORMULA_START) else value


# --- the ledger ------------------------------------------------------------------------------------

def ledger_csv(designations) -> bytes:
    """UTF-8 with a byte-order mark (Excel opens Japanese correctly), Japanese headers, ISO dates."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([header for _, header in LEDGER_CSV_COLUMNS])
    with translation.override("ja"):  # labels inside the rows (correction kinds) in Japanese too
        for d in designations:
            row = ledger_row(d)
            writer.writerow([_cell(row[key]) for key, _ in LEDGER_CSV_COLUMNS])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def _ended_on(d: Designation):
    """The day a designation ended: as recorded, or (term ended, the daily job not yet run) the day
    after its term end, which is when the dates ended it (ARCHITECTURE rule 9)."""
    if d.ended_on:
        return d.ended_on
    return d.term_end + dt.timedelta(days=1) if d.state_on() == State.EXPIRED else None


def ledger_document_row(d: Designation) -> dict:
    """One row of `documents.designation_ledger`."""
    extensions = list(d.extensions.all())
    records = []
    for e in extensions:
        detail = f"有効期間満了日 {documents.date_ja(e.previous_end)}→{documents.date_ja(e.new_end)}"
        if e.cabinet_approval_ref:
            detail += f"（閣議承認 {e.cabinet_approval_ref}）"
        records.append({"date": e.decided_at, "event_ja": "延長", "detail": detail})
    now, ended_on = d.state_on(), _ended_on(d)  # dates decide: an ended term reads as expired
    if ended_on:
        records.append({"date": ended_on, "event_ja": STATE_LABELS[now][0],
                        "detail": d.successor.reference if d.successor_id else ""})
    with translation.override("ja"):
        corrections = [{"date": c.requested_at, "event_ja": str(c.get_kind_display()),
                        "detail": f"{c.request}　{_CORRECTION_ANSWERED_JA[c.answered_at is not None]}"
                        + (f"（{documents.date_ja(c.answered_at)}）：{c.answer}" if c.answered_at else "")}
                       for c in d.corrections.all()]
    return {
        "reference": d.reference,
        "title": d.title,
        "category": {"code": d.category.code},
        "sub_item": {"code": d.sub_item.code, "name_ja": d.sub_item.name_ja},
        "designated_on": d.designated_on,
        "term_end": d.term_end,
        "protective_measure": d.protective_measure,
        "state": state_label(d, "ja"),  # the same label as the screen and the CSV
        "records": records,
        "corrections": corrections,
        "summary": d.summary,
        "requirements": {"category_fit": d.justification_category, "not_public": d.justification_not_public,
                         "harm_if_leaked": d.justification_harm},
        "rules_version": str(d.rules_pack),
        "to_verify_notes": to_verify_notes(d),
    }


def ledger_pdf(organisation, designations, generated_at: dt.datetime) -> bytes:
    return documents.designation_ledger({"name_ja": organisation.name_ja},
                                        [ledger_document_row(d) for d in designations], generated_at)


# --- the 指定書 -----------------------------------------------------------------------------------

def _event_detail(e: Event) -> str:
    details = e.details or {}
    if e.kind == Event.Kind.DESIGNATED:
        if details.get("predecessor"):
            return f"重要経済安保情報 {details['predecessor']} から移行"
        return f"指定番号 {details['reference']}" if details.get("reference") else ""
    if e.kind == Event.Kind.EXTENDED and details.get("new_end"):
        text = (f"有効期間満了日 {documents.date_ja(dt.date.fromisoformat(details['previous_end']))}"
                f"→{documents.date_ja(dt.date.fromisoformat(details['new_end']))}")
        if details.get("cabinet_approval_ref"):
            text += f"（閣議承認 {details['cabinet_approval_ref']}）"
        return text
    if e.kind == Event.Kind.REVIEWED and details.get("next_due"):
        return f"次回の見直し期限 {documents.date_ja(dt.date.fromisoformat(details['next_due']))}"
    if e.rules_pack_id:
        return f"適用規程 {e.rules_pack}"
    return ""


def to_verify_notes(d: Designation) -> list[str]:
    """What the designation relies on that the rules pack flags "to verify", in Japanese."""
    pack = d.rules_pack
    notes = []
    if not d.sub_item.is_confirmed:
        notes.append(f"細目 {d.sub_item.code} は運用基準との照合待ちです（要確認）。")
    for key in TERM_KEYS:
        if pack.has(key) and pack.is_to_verify(key):
            notes.append(f"{TERM_KEY_LABELS_JA[key]}：{pack.describe(key, 'ja')}")
    archives = "archives.transfer_on_refused_approval"
    if d.state == State.TRANSFERRED and pack.has(archives) and pack.is_to_verify(archives):
        notes.append("内閣の承認が得られない場合の国立公文書館への移管（特定秘密保護法に倣う。運用基準との照合待ち）")
    return notes


def _approver(d: Designation) -> dict:
    with translation.override("ja"):
        post = f"{d.organisation.name_ja} {Role.ORGAN_HEAD.label}"
    return {"name": d.approved_by.person.full_name, "post": post}


def designation_document_input(d: Designation, events) -> dict:
    """The dict `documents.designation_document` takes, for a designation that was designated."""
    history = [{"date": e.on, "event_ja": EVENT_JA.get(e.kind, e.kind), "detail": _event_detail(e)} for e in events]
    return {
        "reference": d.reference,
        "organ_name_ja": d.organisation.name_ja,
        "title": d.title,
        "summary": d.summary,
        "category": {"code": d.category.code, "name_ja": d.category.name_ja},
        "sub_item": {"code": d.sub_item.code, "name_ja": d.sub_item.name_ja,
                     # The renderer's labels: 確認済み / 要確認.
                     "status": "confirmed" if d.sub_item.is_confirmed else "to_verify"},
        "requirements": {"category_fit": d.justification_category, "not_public": d.justification_not_public,
                         "harm_if_leaked": d.justification_harm},
        "designated_on": d.designated_on,
        "term_end": d.term_end,
        "protective_measure": d.protective_measure,
        "approved_by": _approver(d),
        "rules_version": str(d.rules_pack),
        "history": history,
        "to_verify_notes": to_verify_notes(d),
        "marking": d.marking or None,
    }


def designation_pdf(d: Designation, events) -> bytes:
    return documents.designation_document(designation_document_input(d, events))
