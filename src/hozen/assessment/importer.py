"""Bulk nomination from a CSV file (`hozen assessments nominate FILE.csv`): every row parsed and
checked, with its line number, before anything is written (all or nothing).

Parsing here turns text into the values ``services.nominate_many`` takes (the candidate's user name
or person id, dates, yes/no); the service then finds the candidates among the nominator's staff
and applies the nomination rules of DOMAIN §6 step 1 to every row, refusing the whole file if any
row breaks one. A candidate who is not on the nominator's staff is one answer, whether the name or
id exists elsewhere or not at all (issue 12 §6).

File format (also in the command's help):

- UTF-8, with or without a byte-order mark; comma-separated; a header row naming the columns, in
  any order; blank lines skipped.
- ``username`` (the candidate's Hozen account) or ``person_id``: exactly one of the two columns.
- ``department``, ``post``: the candidate's department and post (at most 200 characters).
- ``listing_agreed_on``: YYYY-MM-DD, the day the candidate agreed to be listed (not in the future).
- optional ``date_of_birth`` (YYYY-MM-DD): if given, it must match the person's recorded date of
  birth — a check that the right person was named (asked only of the nominator's own staff).
- optional ``tier`` (esi, the default, or sds), ``trigger`` (new, the default, or
  ten_year_renewal), ``dispatched_worker`` (true/false, yes/no, 1/0, はい/いいえ; default false),
  ``employing_agency`` (required for a dispatched worker, only for one).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass

PERSON_COLUMNS = ("username", "person_id")
REQUIRED_COLUMNS = ("department", "post", "listing_agreed_on")
OPTIONAL_COLUMNS = ("date_of_birth", "tier", "trigger", "dispatched_worker", "employing_agency")
COLUMNS = PERSON_COLUMNS + REQUIRED_COLUMNS + OPTIONAL_COLUMNS

_TRUE = frozenset({"true", "yes", "y", "1", "はい", "有"})
_FALSE = frozenset({"", "false", "no", "n", "0", "いいえ", "無"})

#: Refuse files larger than this many data rows.
MAX_ROWS = 500_000
#: Progress is reported every this many rows.
CHUNK = 5000


@dataclass(frozen=True)
class RowError:
    """One bad row: its physical line in the file (1 = the header), the column, the message."""

    line: int
    field: str | None
    code: str
    message_en: str
    message_ja: str

    def __str__(self) -> str:
        return f"line {self.line}" + (f": {self.field}" if self.field else "") + f": {self.message_en}"


class ImportFailed(Exception):
    """The file is refused; ``errors`` lists every bad row (nothing was written)."""

    def __init__(self, errors: list[RowError]):
        super().__init__("; ".join(str(e) for e in errors[:3]))
        self.errors = errors


@dataclass
class NominationRow:
    """One parsed row: its line in the file and the keyword arguments of a nomination."""

    line: int
    fields: dict


def decode(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ImportFailed([RowError(data[:exc.start].count(b"\n") + 1, None, "not_utf8",
                                     f"not UTF-8 text (byte {exc.start}); save the file as UTF-8 (CSV UTF-8)",
                                     f"UTF-8 ではありません（{exc.start} バイト目）。CSV UTF-8 で保存してください。")]) from None


def _date(value: str, column: str, line: int, errors: list) -> dt.date | None:
    try:
        if len(value) != 10:
            raise ValueError
        return dt.date.fromisoformat(value)
    except ValueError:
        errors.append(RowError(line, column, "invalid_date", f"{value!r} is not a date written YYYY-MM-DD",
                               f"{value!r} は YYYY-MM-DD 形式の日付ではありません。"))
        return None


def _records(text: str):
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header = next(reader)
    except StopIteration:
        raise ImportFailed([RowError(1, None, "empty_file", "the file is empty (expected a header row)",
                                     "ファイルが空です（見出し行が必要です）。")]) from None
    except csv.Error as exc:
        raise ImportFailed([RowError(1, None, "bad_csv", f"not valid CSV: {exc}",
                                     f"CSV として読めません: {exc}")]) from None
    names = [h.strip().lower() for h in header]
    unknown = [n for n in names if n not in COLUMNS]
    missing = [c for c in REQUIRED_COLUMNS if c not in names]
    duplicated = sorted({n for n in names if names.count(n) > 1})
    persons = [c for c in PERSON_COLUMNS if c in names]
    problems = []
    if unknown:
        problems.append(RowError(1, unknown[0], "unknown_column",
                                 f"unknown column(s) {', '.join(unknown)}; the columns are {', '.join(COLUMNS)}",
                                 f"不明な列 {', '.join(unknown)}"))
    if missing:
        problems.append(RowError(1, missing[0], "missing_column", f"missing column(s) {', '.join(missing)}",
                                 f"列 {', '.join(missing)} がありません。"))
    if len(persons) != 1:
        problems.append(RowError(1, "username", "person_column",
                                 "name each candidate by exactly one of the columns username or person_id",
                                 "評価対象者は username 列又は person_id 列のいずれか一方で指定してください。"))
    if duplicated:
        problems.append(RowError(1, duplicated[0], "duplicate_column", f"column(s) {', '.join(duplicated)} twice",
                                 f"列 {', '.join(duplicated)} が重複しています。"))
    if problems:
        raise ImportFailed(problems)
    line = reader.line_num
    try:
        for record in reader:
            first = line + 1
            line = reader.line_num
            if not any(c.strip() for c in record):
                continue
            if len(record) != len(names):
                yield first, None
                continue
            yield first, {n: (v or "").strip() for n, v in zip(names, record, strict=True)}
    except csv.Error as exc:
        raise ImportFailed([RowError(reader.line_num, None, "bad_csv", f"not valid CSV: {exc}",
                                     f"CSV として読めません: {exc}")]) from None


def parse_csv(data: bytes | str, *, progress=None) -> list[NominationRow]:
    """Every row of the file as nomination fields (the candidate as ``username`` or ``person``, the
    person's id). Raises ImportFailed listing every row whose format is wrong; reads no database:
    who the candidates are is for ``services.nominate_many`` to decide, after the policy and within
    the nominator's staff, so the file's answers never tell whether someone exists elsewhere
    (issue 12 §6). ``progress(n)`` is called with the number of rows read so far (every ``CHUNK`` rows)."""
    text = decode(data) if isinstance(data, bytes) else data.removeprefix("\ufeff")
    errors: list[RowError] = []
    rows: list[NominationRow] = []
    for n, (line, raw) in enumerate(_records(text), 1):
        if len(rows) >= MAX_ROWS:
            raise ImportFailed([RowError(line, None, "too_many_rows", f"more than {MAX_ROWS} rows; split the file",
                                         f"{MAX_ROWS} 行を超えています。ファイルを分けてください。")])
        if raw is None:
            errors.append(RowError(line, None, "wrong_column_count", "this row does not have one value per column",
                                   "この行の値の数が見出しの列数と一致しません。"))
            continue
        row_errors: list[RowError] = []
        fields: dict = {"department": raw.get("department", ""), "post": raw.get("post", ""),
                        "employing_agency": raw.get("employing_agency", ""),
                        "tier": raw.get("tier", "").lower() or "esi", "trigger": raw.get("trigger", "").lower() or "new"}
        fields["listing_agreed_on"] = (_date(raw["listing_agreed_on"], "listing_agreed_on", line, row_errors)
                                       if raw.get("listing_agreed_on") else None)
        dispatched = raw.get("dispatched_worker", "").lower()
        if dispatched in _TRUE:
            fields["dispatched_worker"] = True
        elif dispatched in _FALSE:
            fields["dispatched_worker"] = False
        else:
            row_errors.append(RowError(line, "dispatched_worker", "invalid_boolean",
                                       f"{raw['dispatched_worker']!r} is not true or false",
                                       f"{raw['dispatched_worker']!r} は true 又は false ではありません。"))
        if "person_id" in raw:
            if not (raw["person_id"].isascii() and raw["person_id"].isdigit() and len(raw["person_id"]) <= 19):
                row_errors.append(RowError(line, "person_id", "invalid_person_id",
                                           f"{raw['person_id']!r} is not a person id (a whole number)",
                                           f"{raw['person_id']!r} は人の ID（整数）ではありません。"))
            else:
                fields["person"] = int(raw["person_id"])
        elif raw.get("username"):
            fields["username"] = raw["username"]
        else:
            row_errors.append(RowError(line, "username", "username_required", "the candidate's user name is empty",
                                       "評価対象者のユーザー名が空です。"))
        if raw.get("date_of_birth"):
            fields["date_of_birth"] = _date(raw["date_of_birth"], "date_of_birth", line, row_errors)
        if row_errors:
            errors.extend(row_errors)
            continue
        rows.append(NominationRow(line=line, fields=fields))
        if progress is not None and n % CHUNK == 0:
            progress(n)
    if errors:
        raise ImportFailed(sorted(errors, key=lambda e: e.line))
    if not rows:
        raise ImportFailed([RowError(1, None, "no_rows", "the file has no rows to nominate",
                                     "推薦する行がありません。")])
    return rows
