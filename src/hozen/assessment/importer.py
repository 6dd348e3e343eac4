"""Bulk nomination from a CSV file (`hozen assessments nominate FILE.csv`): every row parsed and
checked, with its line number, before anything is written (all or nothing).

Parsing here turns text into the values ``services.nominate_many`` takes (people found by their
account's user name or by person id, dates, yes/no); the service then applies the nomination
rules of DOMAIN §6 step 1 to every row and refuses the whole file if any row breaks one.

File format (also in the command's help):

- UTF-8, with or without a byte-order mark; comma-separated; a header row naming the columns, in
  any order; blank lines skipped.
- ``username`` (the candidate's Hozen account) or ``person_id``: exactly one of the two columns.
- ``department``, ``post``: the candidate's department and post (at most 200 characters).
- ``listing_agreed_on``: YYYY-MM-DD, the day the candidate agreed to be listed (not in the future).
- optional ``date_of_birth`` (YYYY-MM-DD): if given, it must match the person's recorded date of
  birth — a check that the right person was named.
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
#: How many rows are looked up in the database at once.
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
    """Every row of the file as nomination fields, people resolved in bulk. Raises ImportFailed
    listing every bad row; reads the database, writes nothing. ``progress(n)`` is called with the
    number of rows read so far (every ``CHUNK`` rows)."""
    from hozen.core.models import Account, Person

    text = decode(data) if isinstance(data, bytes) else data.removeprefix("\ufeff")
    errors: list[RowError] = []
    parsed: list[tuple[int, dict, dict]] = []
    for n, (line, raw) in enumerate(_records(text), 1):
        if len(parsed) >= MAX_ROWS:
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
        who = {"username": raw.get("username"), "person_id": raw.get("person_id")}
        if "person_id" in raw:
            if not raw["person_id"].isdigit():
                row_errors.append(RowError(line, "person_id", "invalid_person_id",
                                           f"{raw['person_id']!r} is not a person id (a whole number)",
                                           f"{raw['person_id']!r} は人の ID（整数）ではありません。"))
            else:
                who["person_id"] = int(raw["person_id"])
        elif not raw.get("username"):
            row_errors.append(RowError(line, "username", "username_required", "the candidate's user name is empty",
                                       "評価対象者のユーザー名が空です。"))
        if raw.get("date_of_birth"):
            who["date_of_birth"] = _date(raw["date_of_birth"], "date_of_birth", line, row_errors)
        if row_errors:
            errors.extend(row_errors)
            continue
        parsed.append((line, fields, who))
        if progress is not None and n % CHUNK == 0:
            progress(n)
    # People, in bulk: by user name (the account's person) or by id.
    by_username: dict[str, int] = {}
    usernames = sorted({w["username"].lower() for _, _, w in parsed if w.get("username") and not w.get("person_id")})
    for i in range(0, len(usernames), CHUNK):
        by_username.update(Account.objects.filter(username__in=usernames[i:i + CHUNK])
                           .values_list("username", "person_id"))
    rows: list[NominationRow] = []
    resolved: list[tuple[int, dict, int, dt.date | None]] = []
    for line, fields, who in parsed:
        if isinstance(who.get("person_id"), int):
            person_id = who["person_id"]
        else:
            person_id = by_username.get(who["username"].lower())
            if person_id is None:
                errors.append(RowError(line, "username", "unknown_user", f"no account {who['username']!r}",
                                       f"アカウント {who['username']!r} はありません。"))
                continue
        resolved.append((line, fields, person_id, who.get("date_of_birth")))
    ids = sorted({p for _, _, p, _ in resolved})
    births: dict[int, dt.date | None] = {}
    for i in range(0, len(ids), CHUNK):
        births.update(Person.objects.filter(pk__in=ids[i:i + CHUNK]).values_list("pk", "date_of_birth"))
    for line, fields, person_id, dob in resolved:
        if person_id not in births:
            errors.append(RowError(line, "person_id", "unknown_person", f"no person with id {person_id}",
                                   f"ID {person_id} の人はいません。"))
            continue
        if dob is not None and births[person_id] != dob:
            errors.append(RowError(line, "date_of_birth", "date_of_birth_mismatch",
                                   "the date of birth does not match the person's recorded one; check the row",
                                   "生年月日が登録されているものと一致しません。行を確認してください。"))
            continue
        rows.append(NominationRow(line=line, fields={"person": person_id, **fields}))
    if errors:
        raise ImportFailed(sorted(errors, key=lambda e: e.line))
    if not rows:
        raise ImportFailed([RowError(1, None, "no_rows", "the file has no rows to nominate",
                                     "推薦する行がありません。")])
    return rows
