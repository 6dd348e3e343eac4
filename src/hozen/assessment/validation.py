"""Server-side validation of questionnaire answers against the schema (``questionnaire.py``).

Two levels, so that typed input is never thrown away (LESSONS.md):

- ``check_structure``: what a draft must satisfy to be stored at all — a mapping of the
  section's own fields, each of the right JSON shape, within hard size limits, every string
  within the one text policy (``hozen.core.text``: no control character, lone surrogate,
  direction override or non-character; line breaks only in long texts), refused naming its path
  and the character's position. Anything else is refused (``QuestionnaireInvalid``): the schema
  asks nothing outside the seven items, so nothing else is kept either. ``normalise`` then stores
  every string as that policy leaves it (NFKC, stripped).
- ``validate``: everything else, as a list of ``FieldError`` with a path per field
  (``relatives[2].date_of_birth``; indexes count from 0), dates within 1900–2200 (the one date
  policy) and readings in katakana among them. Drafts are saved with these errors
  shown beside the fields; ``complete=True`` adds what a submission needs (required answers,
  entries for every "yes"), and submission is refused while any error remains.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any

from hozen.core.errors import RuleViolation
from hozen.core.text import EARLIEST_DATE, LATEST_DATE, check_date, clean, forbidden_position, visible_length
from hozen.designation.periods import add_months, add_years

from . import countries
from .questionnaire import Field, Period, Section

DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
COUNTRY_RE = re.compile(r"^[A-Z]{2}$")
HARD_MAX_CHARS = 20_000  # beyond any field's max_length: refused, not stored


@dataclass(frozen=True)
class FieldError:
    """One problem with one answer. ``path`` is within the section, e.g. ``jobs[1].ended_on``."""

    section: str
    path: str
    code: str
    message_ja: str
    message_en: str

    @property
    def full_path(self) -> str:
        return f"{self.section}.{self.path}" if self.path else self.section

    def message(self, language: str | None) -> str:
        return self.message_en if (language or "ja").startswith("en") else self.message_ja

    def as_dict(self) -> dict:
        return {"section": self.section, "path": self.path, "code": self.code,
                "message_ja": self.message_ja, "message_en": self.message_en}

    def __str__(self) -> str:
        return f"{self.path}: {self.message_en}"


class QuestionnaireInvalid(RuleViolation):
    """Answers that cannot be stored or submitted; ``errors`` lists every problem by field path."""

    def __init__(self, errors: list[FieldError], *, code: str = "questionnaire_invalid"):
        self.errors = list(errors)
        first = self.errors[0]
        more = len(self.errors) - 1
        super().__init__(
            code,
            f"{first.full_path}: {first.message_ja}" + (f"（ほか{more}件）" if more else ""),
            f"{first.full_path}: {first.message_en}" + (f" (and {more} more)" if more else ""),
            field=first.full_path,
        )


class _Errors:
    def __init__(self, section: str):
        self.section = section
        self.items: list[FieldError] = []

    def add(self, path: str, code: str, ja: str, en: str) -> None:
        self.items.append(FieldError(self.section, path, code, ja, en))


def _join(prefix: str, name: str) -> str:
    return f"{prefix}.{name}" if prefix else name


# --- structure (hard) ------------------------------------------------------------------------

def check_structure(section: Section, content: Any) -> list[FieldError]:
    """Problems that stop a draft from being stored. An empty list means it may be saved."""
    errors = _Errors(section.code)
    if not isinstance(content, dict):
        errors.add("", "not_a_mapping", "回答の形式が不正です。", "Answers must be a mapping of field names to values.")
        return errors.items
    _structure(section.fields, content, "", errors)
    return errors.items


def _shown_key(key) -> str:
    """A key the questionnaire does not ask, as an error path may show it: refused characters
    escaped, and no longer than a field name could be."""
    key = str(key)
    if forbidden_position(key) is not None:
        key = key.encode("unicode_escape").decode("ascii")
    return key if len(key) <= 64 else key[:63] + "…"


def _text_problem(f: Field, value: str, path: str, errors: _Errors) -> None:
    """The one text policy (``hozen.core.text.clean``) on one string of the answers: a refused
    character (a control character, a lone surrogate, a bidirectional override, a non-character;
    a line break or tab outside a long text) is named with the field's path and its position, and
    nothing is stored. Lengths are counted after NFKC normalisation."""
    if len(value) > HARD_MAX_CHARS:
        errors.add(path, "too_long", f"{HARD_MAX_CHARS}文字を超える入力は保存できません。",
                   f"Text longer than {HARD_MAX_CHARS} characters cannot be saved.")
        return
    try:
        text = clean(value, field=path, label=(f.label_ja, f.label_en), multiline=f.kind == "long_text")
    except RuleViolation as exc:
        errors.add(path, exc.code, exc.message_ja, exc.message_en)
        return
    if len(text) > HARD_MAX_CHARS:
        errors.add(path, "too_long", f"{HARD_MAX_CHARS}文字を超える入力は保存できません。",
                   f"Text longer than {HARD_MAX_CHARS} characters cannot be saved.")


def _structure(fields: tuple[Field, ...], content: dict, prefix: str, errors: _Errors) -> None:
    known = {f.name: f for f in fields}
    for key in content:
        if key not in known:
            errors.add(_join(prefix, _shown_key(key)), "unknown_field", "この質問票にない項目です。",
                       "This is not a question of the questionnaire.")
    for name, value in content.items():
        f = known.get(name)
        if f is None or value is None:
            continue
        path = _join(prefix, name)
        if f.kind == "group":
            if not isinstance(value, list) or not all(isinstance(e, dict) for e in value):
                errors.add(path, "wrong_type", "記載の形式が不正です。", "Expected a list of entries.")
                continue
            if len(value) > f.max_items:
                errors.add(path, "too_many", f"記載は{f.max_items}件までです。", f"At most {f.max_items} entries.")
                continue
            for i, entry in enumerate(value):
                _structure(f.fields, entry, f"{path}[{i}]", errors)
        elif f.kind == "yes_no":
            if not isinstance(value, bool):
                errors.add(path, "wrong_type", "「はい」又は「いいえ」で回答してください。", "Answer yes or no.")
        elif f.kind == "countries":
            if not isinstance(value, list) or not all(isinstance(c, str) and len(c) <= 8 for c in value) \
                    or len(value) > 20:
                errors.add(path, "wrong_type", "国の一覧の形式が不正です。", "Expected a list of country codes.")
                continue
            for i, code in enumerate(value):
                _text_problem(f, code, f"{path}[{i}]", errors)
        elif f.kind == "amount":
            if isinstance(value, bool) or not isinstance(value, int | str) or len(str(value)) > 20:
                errors.add(path, "wrong_type", "金額の形式が不正です。", "Expected a whole number of yen.")
            elif isinstance(value, str):
                _text_problem(f, value, path, errors)
        elif not isinstance(value, str):
            errors.add(path, "wrong_type", "文字で入力してください。", "Expected text.")
        else:
            _text_problem(f, value, path, errors)


def normalise(content: dict) -> dict:
    """Every string of the answers as the one text policy stores it (``hozen.core.text.clean``:
    NFKC — half-width katakana becomes full-width, full-width digits ASCII —, line breaks folded,
    surrounding white space stripped), recursively, so that re-saving what is shown on screen is
    recognised as the same content. Structure must have been checked first (it refuses what
    ``clean`` would)."""
    def normal(value):
        if isinstance(value, str):
            return clean(value, field="", multiline=True)
        if isinstance(value, list):
            return [normal(v) for v in value]
        if isinstance(value, dict):
            return {k: normal(v) for k, v in value.items()}
        return value

    return normal(content)


# --- content (soft) ---------------------------------------------------------------------------

def _empty(value) -> bool:
    """No answer: nothing, an empty list, or text with nothing visible in it (spaces, invisible
    format characters) — which never counts as an answer a submission needs."""
    return value is None or value == [] or (isinstance(value, str) and not visible_length(value))


def _parse_date(value) -> dt.date | None:
    """The day written YYYY-MM-DD within the plausible bounds; None for anything else (its own
    error is reported by ``_scalar``)."""
    day = _any_date(value)
    return day if day is not None and EARLIEST_DATE <= day <= LATEST_DATE else None


def _any_date(value) -> dt.date | None:
    if not isinstance(value, str) or not DATE_RE.match(value):
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        return None


#: Readings (フリガナ) are written in katakana: the katakana block (with ・ and ー) and spaces.
KATAKANA_RE = re.compile(r"^[\u30A0-\u30FF ]+$")


def validate(section: Section, content: dict, *, today: dt.date, complete: bool = False) -> list[FieldError]:
    """Every problem with a section's answers (structure must already be sound).

    ``complete=False`` (a draft): formats, dates and periods only. ``complete=True`` (for
    submission): also every required answer and an entry for every "yes".
    """
    errors = _Errors(section.code)
    _fields(section.fields, content or {}, "", errors, today=today, complete=complete)
    return errors.items


def _required(f: Field, siblings: dict) -> bool:
    if f.required_if is not None:
        other, wanted = f.required_if
        return bool(siblings.get(other)) == wanted
    return f.required


def _fields(fields, content: dict, prefix: str, errors: _Errors, *, today: dt.date, complete: bool) -> None:
    for f in fields:
        value = content.get(f.name)
        path = _join(prefix, f.name)
        if _empty(value):
            if complete and _required(f, content):
                if f.kind == "group":
                    errors.add(path, "entries_required", "「はい」と回答した場合は、一件以上記載してください。",
                               "You answered yes: add at least one entry.")
                else:
                    errors.add(path, "required", "入力してください。", "This answer is required.")
            continue
        if f.kind == "group":
            if complete and f.required_if is not None and not _required(f, content):
                errors.add(path, "entries_without_yes", "「いいえ」と回答した場合は、この記載を削除してください。",
                           "You answered no: remove these entries, or answer yes.")
            for i, entry in enumerate(value):
                _fields(f.fields, entry, f"{path}[{i}]", errors, today=today, complete=complete)
            if f.period is not None:
                _periods(f.period, value, path, errors, today=today, complete=complete)
        else:
            _scalar(f, value, path, errors, today=today)


def _scalar(f: Field, value, path: str, errors: _Errors, *, today: dt.date) -> None:
    if f.kind in ("text", "long_text") and len(value) > f.max_length:
        errors.add(path, "too_long", f"{f.max_length}文字以内で入力してください。",
                   f"Use at most {f.max_length} characters.")
    elif f.kind == "date":
        day = _any_date(value)
        if day is None:
            errors.add(path, "invalid_date", "日付は YYYY-MM-DD の形式で入力してください（例: 2020-04-01）。",
                       "Enter a date as YYYY-MM-DD (for example 2020-04-01).")
        elif f.not_future and day > today:
            errors.add(path, "future_date", "将来の日付は入力できません。", "The date cannot be in the future.")
        else:
            try:  # the one date policy: nothing before 1900 (a typing error, e.g. 0001-01-01) or after 2200
                check_date(day, field=path, label=(f.label_ja, f.label_en))
            except RuleViolation as exc:
                errors.add(path, exc.code, exc.message_ja, exc.message_en)
    elif f.katakana and not KATAKANA_RE.match(value):
        errors.add(path, "not_katakana", "カタカナで入力してください（例: ヤマダ）。",
                   "Write the reading in katakana (for example ヤマダ).")
    elif f.kind == "choice" and value not in {c.code for c in f.choices}:
        errors.add(path, "invalid_choice", "選択肢から選んでください。",
                   f"Choose one of: {', '.join(c.code for c in f.choices)}.")
    elif f.kind == "country" and not (COUNTRY_RE.match(value) and countries.is_code(value)):
        errors.add(path, "invalid_country", f"「{value}」という国は見つかりません。一覧から国を選んでください。",
                   f"No country is called \"{value}\": choose one from the list.")
    elif f.kind == "countries":
        for i, code in enumerate(value):
            if not (COUNTRY_RE.match(code) and countries.is_code(code)):
                errors.add(f"{path}[{i}]", "invalid_country",
                           f"「{code}」という国は見つかりません。国名（例: 日本、米国）又はコード（例: JP）で入力してください。",
                           f"No country is called \"{code}\": write country names (for example Japan, United States) "
                           "or codes (for example JP).")
    elif f.kind == "amount" and not re.fullmatch(r"\d{1,15}", str(value)):
        errors.add(path, "invalid_amount", "金額は0以上の整数（円）で入力してください。",
                   "Enter the amount as a whole number of yen.")


def _periods(period: Period, entries: list[dict], path: str, errors: _Errors, *, today: dt.date,
             complete: bool) -> None:
    """Start before end; an end unless ongoing; the shortest period asked; no overlaps; the window."""
    spans: list[tuple[dt.date, dt.date, int]] = []
    window_start = add_years(today, -period.within_years) if period.within_years else None
    for i, entry in enumerate(entries):
        at = f"{path}[{i}]"
        start = _parse_date(entry.get(period.start))
        raw_end = entry.get(period.end)
        end = _parse_date(raw_end)
        ongoing = bool(period.ongoing and entry.get(period.ongoing))
        if ongoing and not _empty(raw_end):
            errors.add(f"{at}.{period.end}", "end_with_ongoing", "継続中の場合は終了日を空欄にしてください。",
                       "Leave the end date empty when it is still ongoing.")
            continue
        if _empty(raw_end) and not ongoing:
            if complete and period.ongoing:
                errors.add(f"{at}.{period.end}", "end_required",
                           "終了日を入力するか、継続中であることを選んでください。",
                           "Enter the end date, or tick that it is still ongoing.")
            if not period.ongoing:
                continue  # an open end is allowed (e.g. "until" of a past use left blank)
        if start is None or start > today:
            continue  # the start date's own error (format, future) is reported already
        effective_end = today if (ongoing or _empty(raw_end)) else end
        if effective_end is None or effective_end > today:
            continue  # likewise for the end date
        if effective_end < start:
            errors.add(f"{at}.{period.end}", "period_reversed", "終了日は開始日以降の日付にしてください。",
                       "The end date must be on or after the start date.")
            continue
        if period.min_months and effective_end < add_months(start, period.min_months) - dt.timedelta(days=1):
            errors.add(f"{at}.{period.end}", "period_too_short",
                       f"{period.min_months}か月以上のもののみ記載してください。",
                       f"Only periods of {period.min_months} month{'s' if period.min_months > 1 else ''} "
                       "or more are asked for.")
        if window_start is not None and effective_end < window_start:
            errors.add(f"{at}.{period.end}", "outside_window",
                       f"過去{period.within_years}年より前に終わったものは記載不要です。",
                       f"Only periods within the last {period.within_years} years are asked for.")
        spans.append((start, effective_end, i))
    if period.no_overlap:
        spans.sort()
        latest: tuple[dt.date, int] | None = None  # the furthest end so far, and its entry
        for start, end, i in spans:
            if latest is not None and start <= latest[0]:
                other = f"{path}[{latest[1]}]"
                errors.add(f"{path}[{i}].{period.start}", "periods_overlap",
                           f"{other} の期間と重なっています。", f"This period overlaps {other}.")
            if latest is None or end > latest[0]:
                latest = (end, i)
