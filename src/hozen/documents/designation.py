"""The designation's documents (DOMAIN §2): the 指定書 of one designation and the organ's
指定管理簿 (designation ledger). Inputs are plain dicts so the designation app (or a script)
can call these without handing over model instances.

What the texts say is the caller's concern: a designation's title and summary are written so
as not to reveal the designated information itself.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from hozen.core.calendars import to_tokyo_date

from .inputs import Reader
from .pdf import Document, date_ja, datetime_ja

ESI_MARKING = "重要経済安保情報"

PROTECTIVE_MEASURES = {
    "marking": "重要経済安保情報の表示",
    "written_notice": "重要経済安保情報である旨の書面による通知",
}
PROTECTIVE_MEASURES_SHORT = {"marking": "表示", "written_notice": "書面通知"}

#: 状態 column of the ledger. Callers may pass the key or the Japanese label itself.
LEDGER_STATES = {
    "designated": "指定中",
    "extended": "指定中（延長）",  # the designation's own label (hozen.designation.models.STATE_LABELS)
    "expired": "満了",
    "cancelled": "解除",
    "moved_to_sds": "特定秘密へ移行",
    "transferred": "国立公文書館へ移管",
}

SUB_ITEM_STATUS = {"confirmed": "確認済み", "to_verify": "要確認"}

REQUIREMENTS = (
    ("category_fit", "(1) 重要経済基盤保護情報の区分及び細目に該当すること"),
    ("not_public", "(2) 公になっていないこと（非公知性）"),
    ("harm_if_leaked", "(3) 漏えいが我が国の安全保障に支障を与えるおそれがあること"),
)

# Shares of the landscape page's width, in points at 7.5 pt type: a reference number
# (METI-2025-0007) and a date (令和12年12月31日) each fit on one line.
LEDGER_COLUMNS = (
    ("指定番号", 68),
    ("件名", 146),
    ("区分・細目", 116),
    ("指定日", 72),
    ("有効期間満了日", 72),
    ("保護措置", 38),
    ("状態", 58),
    ("延長・解除の記録", 96),
    ("是正要求", 62),
)


def designation_document(
    d: Mapping[str, Any],
    *,
    created_at: dt.datetime | None = None,
    deterministic: bool = False,
) -> bytes:
    """The 指定書 of one designation, marked 重要経済安保情報 (or `d["marking"]`) on every page.

    Keys: reference, organ_name_ja, title, summary, category {code, name_ja}, sub_item {code,
    name_ja, status?}, requirements {category_fit, not_public, harm_if_leaked}, designated_on,
    term_end (dates or YYYY-MM-DD), protective_measure ("marking" | "written_notice"),
    approved_by ({name, post} or (name, post)), rules_version, history [{date, event_ja,
    detail?}]; optional: to_verify_notes [str], marking (e.g. the expired-designation marking).
    Raises ValueError naming the first missing or malformed key."""
    r = Reader(d, where="designation_document")
    reference = r.text("reference")
    organ = r.text("organ_name_ja")
    title = r.text("title")
    summary = r.text("summary")
    category = r.mapping("category")
    sub_item = r.mapping("sub_item")
    requirements = r.mapping("requirements")
    justifications = [(label, requirements.text(key)) for key, label in REQUIREMENTS]
    designated_on = r.date("designated_on")
    term_end = r.date("term_end")
    if _day(term_end) < _day(designated_on):
        raise ValueError("designation_document: 'term_end' is before 'designated_on'")
    measure = r.choice("protective_measure", PROTECTIVE_MEASURES)
    approver = _approver(r)
    rules_version = r.text("rules_version")
    history = [_entry(r, "history", i, item, need_event=True) for i, item in enumerate(r.items("history"))]
    notes = [_note(r, i, item) for i, item in enumerate(r.items("to_verify_notes", required=False))]
    marking = r.text("marking", required=False) or ESI_MARKING

    status = sub_item.text("status", required=False)
    status_label = SUB_ITEM_STATUS.get(status, status)

    doc = Document(
        title=f"指定書 {reference}",
        subject=f"重要経済安保情報の指定（{organ}）",
        marking=marking,
        header_left=f"指定書　{reference}",
        header_right=organ,
        footer_left=f"適用規程 {rules_version}",
        created_at=created_at,
        deterministic=deterministic,
    )
    doc.title_block(
        "指定書", subtitle="重要経済安保情報の保護及び活用に関する法律に基づく重要経済安保情報の指定"
    )
    doc.paragraph(f"指定番号　{reference}", align="right")
    doc.paragraph(date_ja(designated_on), align="right")
    doc.paragraph(organ, align="right")
    doc.spacer(2)
    doc.paragraph("次の情報を重要経済安保情報として指定する。")

    doc.heading("1　指定の内容")
    doc.key_values(
        [
            ("指定番号", reference),
            ("件名", title),
            ("概要", summary),
            ("指定をした行政機関", organ),
            ("区分", f"{category.text('code')}　{category.text('name_ja')}"),
            (
                "細目",
                f"{sub_item.text('code')}　{sub_item.text('name_ja')}"
                + (f"〔{status_label}〕" if status_label else ""),
            ),
            ("指定日", date_ja(designated_on)),
            ("有効期間満了日", date_ja(term_end)),
            ("保護措置", measure),
            ("承認", approver),
            ("適用規程", rules_version),
        ]
    )
    if notes:
        doc.note(notes, title="要確認事項（規程の確認待ちの事項を含む）")

    doc.heading("2　指定の理由（要件ごとの根拠）")
    for label, text in justifications:
        doc.heading(label, level=2)
        doc.paragraph(text)

    doc.heading("3　経緯")
    doc.table(
        ["年月日", "事項", "内容"],
        [[date_ja(when), event, detail] for when, event, detail in history],
        widths=[1.3, 1.4, 3.6],
    )
    return doc.render()


def designation_ledger(
    organ: Mapping[str, Any],
    rows: list[Mapping[str, Any]],
    generated_at: dt.datetime,
    *,
    marking: str | None = None,
    deterministic: bool = False,
) -> bytes:
    """The organ's 指定管理簿: landscape A4, one row per designation, the header row repeated
    on every page.

    organ: {name_ja}. Each row: reference, title, category {code}, sub_item {code, name_ja},
    designated_on, term_end, protective_measure, state (designated | extended
    | expired | cancelled | moved_to_sds | transferred, or its Japanese label); optional records
    (延長・解除の記録) and corrections (是正要求), each a list of text or {date, event_ja?, detail?};
    optional (DOMAIN §2's remaining ledger fields, printed per designation after the table):
    summary, requirements {category_fit, not_public, harm_if_leaked}, rules_version,
    to_verify_notes [str].
    Raises ValueError naming the first missing or malformed key (rows[3].term_end)."""
    where = "designation_ledger"
    organ_name = Reader(organ, where=where, path="organ").text("name_ja")
    if not isinstance(generated_at, dt.datetime) or generated_at.tzinfo is None:
        raise ValueError(f"{where}: 'generated_at' must be a timezone-aware datetime")
    if isinstance(rows, str | bytes | Mapping) or not hasattr(rows, "__iter__"):
        raise ValueError(f"{where}: 'rows' must be a list of mappings")
    table = [_ledger_row(Reader(row, where=where, path=f"rows[{i}]")) for i, row in enumerate(rows)]
    details = [d for d in (_ledger_details(Reader(row, where=where, path=f"rows[{i}]"))
                           for i, row in enumerate(rows)) if d]
    generated = datetime_ja(generated_at)

    doc = Document(
        title=f"指定管理簿 {organ_name}",
        subject="重要経済安保情報の指定管理簿",
        marking=marking,
        landscape=True,
        header_left=f"指定管理簿　{organ_name}",
        header_right=f"{generated} 現在",
        footer_left="Hozen",
        created_at=generated_at,
        deterministic=deterministic,
    )
    doc.title_block("指定管理簿", subtitle=f"重要経済安保情報　{organ_name}")
    doc.paragraph(f"{generated} 現在　{len(table)}件", align="right")
    doc.table(
        [name for name, _ in LEDGER_COLUMNS],
        table,
        widths=[share for _, share in LEDGER_COLUMNS],
        small=True,
        empty="登録された指定はありません。",
    )
    if details:
        doc.heading("各指定の概要、指定の理由及び適用規程")
        for reference, pairs, notes in details:
            doc.heading(reference, level=2)
            doc.key_values(pairs, key_share=0.2)
            if notes:
                doc.note(notes, title="要確認事項（規程の確認待ちの事項を含む）")
    return doc.render()


def _ledger_details(r: Reader) -> tuple | None:
    """(reference, [(label, text)], to-verify notes) for a row that carries the optional fields."""
    if not any(key in r.data for key in ("summary", "requirements", "rules_version")):
        return None
    pairs = []
    if r.data.get("summary") is not None:
        pairs.append(("概要", r.text("summary")))
    if r.data.get("requirements") is not None:
        requirements = r.mapping("requirements")
        pairs += [(label, requirements.text(key)) for key, label in REQUIREMENTS]
    if r.data.get("rules_version") is not None:
        pairs.append(("適用規程", r.text("rules_version")))
    notes = [_note(r, i, item) for i, item in enumerate(r.items("to_verify_notes", required=False))]
    return (r.text("reference"), pairs, notes)


def _ledger_row(r: Reader) -> list[str]:
    category = r.mapping("category")
    sub_item = r.mapping("sub_item")
    designated_on = r.date("designated_on")
    term_end = r.date("term_end")
    state = r.choice("state", LEDGER_STATES | {label: label for label in LEDGER_STATES.values()})
    records = [_entry(r, "records", i, item) for i, item in enumerate(r.items("records", required=False))]
    corrections = [
        _entry(r, "corrections", i, item) for i, item in enumerate(r.items("corrections", required=False))
    ]
    return [
        r.text("reference"),
        r.text("title"),
        f"区分{category.text('code')}　{sub_item.text('code')} {sub_item.text('name_ja')}",
        date_ja(designated_on),
        date_ja(term_end),
        r.choice("protective_measure", PROTECTIVE_MEASURES_SHORT),
        state,
        "\n".join(_entry_text(e) for e in records),
        "\n".join(_entry_text(e) for e in corrections),
    ]


def _approver(r: Reader) -> str:
    value = r.data.get("approved_by")
    if isinstance(value, list | tuple):
        if len(value) != 2 or not all(isinstance(v, str) and v.strip() for v in value):
            raise ValueError("designation_document: 'approved_by' must be (name, post)")
        name, post = (v.strip() for v in value)
    else:
        approver = r.mapping("approved_by")
        name, post = approver.text("name"), approver.text("post")
    return f"{post}　{name}"


def _entry(r: Reader, key: str, index: int, item: Any, *, need_event: bool = False) -> tuple:
    """(date | None, event, detail) from text or {date, event_ja, detail}."""
    if isinstance(item, str) and not need_event:
        if not item.strip():
            raise ValueError(f"{r.where}: '{r.item_path(key, index)}' is empty")
        return (None, "", item.strip())
    entry = r.item_reader(key, index, item)
    when = entry.date("date")
    event = entry.text("event_ja", required=need_event)
    detail = entry.text("detail", required=False)
    if not event and not detail:
        raise ValueError(f"{r.where}: '{r.item_path(key, index)}' needs 'event_ja' or 'detail'")
    return (when, event, detail)


def _entry_text(entry: tuple) -> str:
    when, event, detail = entry
    text = f"{event}（{detail}）" if event and detail else event or detail
    return f"{date_ja(when)} {text}" if when is not None else text


def _note(r: Reader, index: int, item: Any) -> str:
    if not isinstance(item, str) or not item.strip():
        raise ValueError(f"{r.where}: '{r.item_path('to_verify_notes', index)}' must be non-empty text")
    return item.strip()


def _day(value: dt.date) -> dt.date:
    return to_tokyo_date(value)
