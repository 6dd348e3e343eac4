"""Outside input for designation drafts: CSV files (`hozen designations import`) and the codes the
API takes, turned into what the services take, with every error naming its line and field.

A CSV file is read whole and every row is checked before anything is written (all or nothing):
the same rule functions the services apply (designation/rules.py, through
``import_services.check_draft``), against the ESI rules pack in force today. Only then does
``import_services.import_drafts`` create the drafts, in one transaction.

File format (also in the command's help and the README):

- UTF-8, with or without a byte-order mark; comma-separated; a header row naming the columns,
  in any order; blank lines are skipped.
- Required columns: title, summary, category, sub_item, designated_on, term_end,
  protective_measure, justification_category, justification_not_public, justification_harm.
  Optional: in_advance, advance_reason.
- category / sub_item: codes of the ESI rules pack in force today (``hozen rules show jp-esi-2025``),
  e.g. ``1`` and ``A-1``; category may be left empty, it is then the sub-item's own.
- designated_on / term_end: ISO dates, YYYY-MM-DD.
- protective_measure: ``marking`` (表示) or ``written_notice`` (通知).
- in_advance: true/false, yes/no, 1/0, はい/いいえ or empty (false).
- Texts follow the one text policy (``hozen.core.text``), as on every other channel: a control
  character (a line break too, except in the multi-line columns summary, justifications and
  advance_reason), a direction override or isolate, a lone surrogate or a non-character is refused
  with its line, column and position; the rest is stored NFKC-normalised (half-width katakana
  becomes full-width) and counted after normalisation.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass, field

from hozen.core.errors import RuleViolation

from .models import ProtectiveMeasure

REQUIRED_COLUMNS = (
    "title", "summary", "category", "sub_item", "designated_on", "term_end", "protective_measure",
    "justification_category", "justification_not_public", "justification_harm",
)
OPTIONAL_COLUMNS = ("in_advance", "advance_reason")
COLUMNS = REQUIRED_COLUMNS + OPTIONAL_COLUMNS

#: Columns that may be empty in a row (the others must have a value).
_MAY_BE_EMPTY = frozenset({"category", "in_advance", "advance_reason"})

_TRUE = frozenset({"true", "yes", "y", "1", "はい", "有"})
_FALSE = frozenset({"", "false", "no", "n", "0", "いいえ", "無"})

_MEASURES = {
    "marking": ProtectiveMeasure.MARKING, "表示": ProtectiveMeasure.MARKING,
    "written_notice": ProtectiveMeasure.WRITTEN_NOTICE, "通知": ProtectiveMeasure.WRITTEN_NOTICE,
    "書面通知": ProtectiveMeasure.WRITTEN_NOTICE,
}

#: Refuse files larger than this many data rows (a typo'd file, not a migration tool).
MAX_ROWS = 10_000


@dataclass(frozen=True)
class RowError:
    """One bad row: its physical line in the file (1 = the header), the column, the message."""

    line: int
    field: str | None
    code: str
    message_en: str
    message_ja: str

    def __str__(self) -> str:
        where = f"line {self.line}" + (f": {self.field}" if self.field else "")
        return f"{where}: {self.message_en}"


class ImportFailed(Exception):
    """The file is refused; `errors` lists every bad row (nothing was written)."""

    def __init__(self, errors: list[RowError]):
        super().__init__("; ".join(str(e) for e in errors[:3]))
        self.errors = errors


@dataclass
class DraftRow:
    """One valid row: its line in the file and the keyword arguments of a draft."""

    line: int
    fields: dict = field(default_factory=dict)


def _violation(code: str, field_name: str | None, ja: str, en: str) -> RuleViolation:
    return RuleViolation(code, ja, en, field=field_name)


# --- values -----------------------------------------------------------------------------------------

def parse_iso_date(value: str, field_name: str) -> dt.date:
    """A calendar date written YYYY-MM-DD (nothing else: no times, no 和暦, no slashes)."""
    text = (value or "").strip()
    try:
        if len(text) != 10:
            raise ValueError
        return dt.date.fromisoformat(text)
    except ValueError:
        raise _violation("invalid_date", field_name,
                         f"{field_name} は YYYY-MM-DD 形式の日付で入力してください（{text[:20]!r}）。",
                         f"{field_name} must be a date written YYYY-MM-DD (got {text[:20]!r}).") from None


def parse_bool(value: str, field_name: str) -> bool:
    text = (value or "").strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise _violation("invalid_boolean", field_name,
                     f"{field_name} は true または false で入力してください（{text[:20]!r}）。",
                     f"{field_name} must be true or false (got {text[:20]!r}).")


def parse_measure(value: str) -> str:
    text = (value or "").strip()
    measure = _MEASURES.get(text.lower()) or _MEASURES.get(text)
    if measure is None:
        raise _violation("invalid_protective_measure", "protective_measure",
                         f"保護措置は marking（表示）または written_notice（通知）です（{text[:20]!r}）。",
                         f"protective_measure must be marking or written_notice (got {text[:20]!r}).")
    return str(measure)


# --- codes of the rules pack in force ----------------------------------------------------------------

def resolve_taxonomy(pack, category_code: str | None, sub_item_code: str, *,
                     category_field: str = "category", sub_item_field: str = "sub_item"):
    """(category, sub_item) rows of `pack` from their codes. An empty category code means the
    sub-item's own category. Unknown codes raise RuleViolation naming the field."""
    sub_code = (sub_item_code or "").strip()
    if not sub_code:
        raise _violation("sub_item_required", sub_item_field, "細目を入力してください。", "Enter the sub-item code.")
    try:
        sub_item = pack.sub_items.select_related("category").get(code=sub_code)
    except pack.sub_items.model.DoesNotExist:
        raise _violation("unknown_sub_item", sub_item_field,
                         f"細目 {sub_code[:20]} はルールパック {pack} にありません。",
                         f"The sub-item {sub_code[:20]!r} is not in the rules pack {pack}.") from None
    cat_code = (category_code or "").strip()
    if not cat_code:
        if sub_item.category is None:
            raise _violation("category_required", category_field, "区分を入力してください。",
                             "Enter the category code.")
        return sub_item.category, sub_item
    category = pack.categories.filter(code=cat_code).first()
    if category is None:
        raise _violation("unknown_category", category_field,
                         f"区分 {cat_code[:20]} はルールパック {pack} にありません。",
                         f"The category {cat_code[:20]!r} is not in the rules pack {pack}.")
    return category, sub_item


def organisation_by_code(code: str, field_name: str = "organisation"):
    from hozen.core.models import Organisation

    org = Organisation.objects.filter(code=(code or "").strip()).first()
    if org is None:
        raise _violation("unknown_organisation", field_name, f"組織コード {code[:32]!r} はありません。",
                         f"There is no organisation with the code {code[:32]!r}.")
    return org


def contract_by_reference(organ, business, reference: str):
    """The organ's contract with that reference (None when none is named)."""
    from hozen.operators.models import Contract

    text = (reference or "").strip()
    if not text:
        return None
    contract = Contract.objects.filter(organ=organ, reference=text).first()
    if contract is None or (business is not None and contract.business_id != business.pk):
        raise _violation("unknown_contract", "contract", f"契約 {text[:64]!r} はありません。",
                         f"There is no contract {text[:64]!r} between this organ and the recipient.")
    return contract


# --- CSV ------------------------------------------------------------------------------------------------

def decode(data: bytes) -> str:
    """UTF-8 text, a leading byte-order mark dropped. Other encodings are refused with the byte."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ImportFailed([RowError(data[:exc.start].count(b"\n") + 1, None, "not_utf8",
                                     f"not UTF-8 text (byte {exc.start}); save the file as UTF-8 (CSV UTF-8)",
                                     f"UTF-8 ではありません（{exc.start} バイト目）。CSV UTF-8 で保存してください。")]) from None


def _records(text: str):
    """(first line of the record, header-keyed dict) for each non-blank record after the header."""
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header = next(reader)
    except StopIteration:
        raise ImportFailed([RowError(1, None, "empty_file", "the file is empty (expected a header row)",
                                     "ファイルが空です（見出し行が必要です）。")]) from None
    except csv.Error as exc:
        raise ImportFailed([RowError(1, None, "bad_csv", f"not valid CSV: {exc}", f"CSV として読めません: {exc}")]) \
            from None
    names = [h.strip().lower() for h in header]
    unknown = [n for n in names if n not in COLUMNS]
    missing = [c for c in REQUIRED_COLUMNS if c not in names]
    duplicated = sorted({n for n in names if names.count(n) > 1})
    problems = []
    if unknown:
        problems.append(RowError(1, unknown[0], "unknown_column",
                                 f"unknown column(s) {', '.join(unknown)}; the columns are {', '.join(COLUMNS)}",
                                 f"不明な列 {', '.join(unknown)}"))
    if missing:
        problems.append(RowError(1, missing[0], "missing_column", f"missing column(s) {', '.join(missing)}",
                                 f"列 {', '.join(missing)} がありません。"))
    if duplicated:
        problems.append(RowError(1, duplicated[0], "duplicate_column",
                                 f"column(s) {', '.join(duplicated)} given twice", f"列 {', '.join(duplicated)} が重複しています。"))
    if problems:
        raise ImportFailed(problems)
    previous_end = reader.line_num
    while True:
        start = previous_end + 1
        try:
            values = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise ImportFailed([RowError(start, None, "bad_csv", f"not valid CSV: {exc}",
                                         f"CSV として読めません: {exc}")]) from None
        previous_end = reader.line_num
        if not any(v.strip() for v in values):
            continue
        if len(values) != len(names):
            yield start, RowError(start, None, "wrong_column_count",
                                  f"{len(values)} values where the header has {len(names)} columns",
                                  f"値が {len(values)} 個あります（見出しは {len(names)} 列）。")
            continue
        yield start, dict(zip(names, values, strict=True))


def _row_fields(pack, raw: dict) -> dict:
    for name in REQUIRED_COLUMNS:
        if name not in _MAY_BE_EMPTY and not (raw.get(name) or "").strip():
            raise _violation(f"{name}_required", name, f"{name} が空です。", f"{name} is empty.")
    category, sub_item = resolve_taxonomy(pack, raw.get("category"), raw["sub_item"])
    # Texts as typed: the services' text policy strips, normalises and refuses (a control character
    # at either end is refused there, not silently stripped here).
    return {
        "title": raw["title"],
        "summary": raw["summary"],
        "category": category,
        "sub_item": sub_item,
        "designated_on": parse_iso_date(raw["designated_on"], "designated_on"),
        "term_end": parse_iso_date(raw["term_end"], "term_end"),
        "protective_measure": parse_measure(raw["protective_measure"]),
        "justification_category": raw["justification_category"],
        "justification_not_public": raw["justification_not_public"],
        "justification_harm": raw["justification_harm"],
        "in_advance": parse_bool(raw.get("in_advance", ""), "in_advance"),
        "advance_reason": raw.get("advance_reason") or "",
    }


def parse_csv(data: bytes | str, *, pack, progress=None) -> list[DraftRow]:
    """Every row of the file as draft fields, checked against `pack` by the services' own rules.

    Raises ImportFailed listing every bad row (line, field, message); returns only when all rows
    are good. Reads the database (the pack's taxonomy), writes nothing. `progress(n)` is called
    with the number of rows read so far.
    """
    from .import_services import check_draft

    text = decode(data) if isinstance(data, bytes) else data.removeprefix("\ufeff")
    rows: list[DraftRow] = []
    errors: list[RowError] = []
    for line, raw in _records(text):
        if isinstance(raw, RowError):
            errors.append(raw)
            continue
        try:
            fields = check_draft(pack, _row_fields(pack, raw))
        except RuleViolation as exc:
            errors.append(RowError(line, exc.field, exc.code, exc.message_en, exc.message_ja))
            if progress is not None:
                progress(len(rows) + len(errors))
            continue
        rows.append(DraftRow(line=line, fields=fields))
        if progress is not None:
            progress(len(rows) + len(errors))
        if len(rows) + len(errors) > MAX_ROWS:
            raise ImportFailed([RowError(line, None, "too_many_rows", f"more than {MAX_ROWS} rows; split the file",
                                         f"{MAX_ROWS} 行を超えています。ファイルを分けてください。")])
    if errors:
        raise ImportFailed(errors)
    if not rows:
        raise ImportFailed([RowError(2, None, "no_rows", "the file has a header but no rows",
                                     "見出し行のほかに行がありません。")])
    return rows
