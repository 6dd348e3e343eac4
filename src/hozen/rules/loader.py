"""Reading and validating a rules pack file (DOMAIN §9; issue 5 §1).

A pack is YAML. It is parsed with ``yaml.compose`` rather than ``yaml.safe_load`` so every node
keeps its position, and each problem is reported against the line that holds it:

    jp-esi-2025.yaml:42: designation.max_term_years must be a positive whole number

The schema lives here and nowhere else: the top-level keys, the value keys Hozen reads (with the
kind and unit of each and the tiers that use it) and the taxonomy. Unknown keys are refused so a
typo cannot silently leave a figure at its old value. ``load`` returns the normalised content,
JSON-ready (dates as ISO text), exactly as `RulesPack.data` stores it; it never touches the
database, so the data migration validates the shipped files with the very same code.
"""

from __future__ import annotations

import datetime as dt
import difflib
import re
from dataclasses import dataclass
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from hozen.core.errors import RuleViolation
from hozen.core.text import EARLIEST_DATE, LATEST_DATE, forbidden_position

TIERS = ("esi", "sds")
DOMAINS = ("A", "B", "C")
STATUSES = ("confirmed", "awaiting_confirmation")
COMBINATIONS = ("and_or", "or", "prison_with_optional_fine", "prison_only", "fine_only")
MAX_SOURCE_CHARS = 500_000

CODE_RE = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)+$")
ITEM_CODE_RE = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
TAXON_CODE_RE = re.compile(r"^[A-Z0-9]{1,4}(-[A-Z0-9]{1,4})?$")


@dataclass(frozen=True)
class ValueSpec:
    """What one value key holds. `kind`: date, years, months, days, bool, labelled_list, penalty."""

    kind: str
    tiers: tuple[str, ...] = TIERS  # tiers whose packs may carry the key
    required: bool = True  # required in every tier that may carry it

    @property
    def unit(self) -> str | None:
        return self.kind if self.kind in ("years", "months", "days") else None


VALUE_SPECS: dict[str, ValueSpec] = {
    "regime_start": ValueSpec("date"),
    "designation.max_term_years": ValueSpec("years"),
    "extension.max_term_years": ValueSpec("years"),
    "cumulative.cabinet_approval_threshold_years": ValueSpec("years"),
    "cumulative.absolute_cap_years": ValueSpec("years"),
    "cumulative.absolute_cap_exempt_categories": ValueSpec("labelled_list"),
    "archives.transfer_on_refused_approval": ValueSpec("bool"),
    "review.interval_months": ValueSpec("months"),
    "assessment.validity_years": ValueSpec("years"),
    # DOMAIN §6: an ESI result from the same organ head exempts from a new ESI assessment for
    # this long; it never exempts from an SDS assessment, so SDS packs may not carry the key.
    "assessment.esi_recognition_window_years": ValueSpec("years", tiers=("esi",)),
    "assessment.sds_recognition_window_years": ValueSpec("years"),
    # DOMAIN §6 and LESSONS.md ("every case stage has a clock"): the target duration of each
    # stage of an assessment case, in calendar days from entering the stage. No statutory figure.
    **{f"assessment.target_days.{stage}": ValueSpec("days") for stage in (
        "notice", "consent", "questionnaire", "assignment", "investigation", "adjudication",
        "concurrence", "notification", "complaint")},
    "retention.business_favourable_notice_years": ValueSpec("years"),
    "retention.business_other_papers_years": ValueSpec("years"),
    "retention.investigation_file_years": ValueSpec("years"),
    "exempt_office_holders": ValueSpec("labelled_list"),
    "penalties.intentional_leak": ValueSpec("penalty"),
    "penalties.provision_recipient_leak": ValueSpec("penalty", required=False),
    "penalties.negligent_leak": ValueSpec("penalty"),
    "penalties.unlawful_acquisition": ValueSpec("penalty"),
    "penalties.attempt": ValueSpec("penalty", required=False),
    "penalties.conspiracy_incitement": ValueSpec("penalty", required=False),
    "penalties.employer_fine": ValueSpec("penalty", required=False),
    "briefing.reack_months": ValueSpec("months"),
}

TOP_KEYS = ("code", "tier", "version", "effective_from", "title_ja", "title_en", "values", "taxonomy")
ENTRY_KEYS = ("value", "unit", "to_verify", "source")
LABELLED_KEYS = ("code", "name_ja", "name_en", "sub_items")
PENALTY_KEYS = ("prison_years", "fine_yen", "combination")
CATEGORY_KEYS = ("code", "name_ja", "name_en", "note")
SUB_ITEM_KEYS = ("code", "domain", "category", "name_ja", "name_en", "status", "note")


class PackError(RuleViolation):
    """A pack file is malformed. The message names the file and line; `errors` holds every problem
    found (line, English, Japanese), first by line, so `hozen rules validate` can list them all."""

    def __init__(self, problem_en: str, line: int, *, filename: str = "<pack>", problem_ja: str | None = None,
                 errors: list[tuple[int, str, str]] | None = None):
        problem_ja = problem_ja or problem_en
        self.filename = filename
        self.line = line
        self.problem_en = problem_en
        self.problem_ja = problem_ja
        self.errors = errors or [(line, problem_en, problem_ja)]
        more = len(self.errors) - 1
        suffix_en = f" (and {more} more problem{'s' if more > 1 else ''}; see `hozen rules validate`)" if more else ""
        suffix_ja = f"（ほか{more}件。`hozen rules validate` で一覧を確認してください）" if more else ""
        super().__init__("rules_pack_invalid", f"{filename}:{line}: {problem_ja}{suffix_ja}",
                         f"{filename}:{line}: {problem_en}{suffix_en}")

    def lines(self, language: str = "en") -> list[str]:
        """Every problem as `FILE:LINE: message`, one per line."""
        return [f"{self.filename}:{line}: {en if language.startswith('en') else ja}"
                for line, en, ja in self.errors]


_MISSING = object()
_STANDARD_TAGS = {
    "tag:yaml.org,2002:str", "tag:yaml.org,2002:int", "tag:yaml.org,2002:bool", "tag:yaml.org,2002:null",
    "tag:yaml.org,2002:float", "tag:yaml.org,2002:timestamp", "tag:yaml.org,2002:map", "tag:yaml.org,2002:seq",
}


def _line(node: Node) -> int:
    return node.start_mark.line + 1


def _ja(what: str) -> str:
    return "パック全体" if what == ROOT else what


ROOT = "the pack"


class _Reader:
    """Walks the node tree, converting and checking; collects problems instead of stopping at the first."""

    def __init__(self, filename: str):
        self.filename = filename
        self.errors: list[tuple[int, int, str, str]] = []  # (missing-key?, line, English, Japanese)
        self._constructor = yaml.constructor.SafeConstructor()
        self._seen: set[int] = set()

    def error(self, line: int, en: str, ja: str, *, missing: bool = False):
        # A missing key is reported at its mapping's first line; a concrete problem at its own
        # line comes first in the list (it is usually the one to fix, and it is the headline).
        self.errors.append((1 if missing else 0, line, en, ja))
        return _MISSING

    # -- structure ----------------------------------------------------------------------------

    def mapping(self, node: Node, what: str, allowed: tuple[str, ...], *, owner_line: int,
                required: tuple[str, ...] = ()) -> dict[str, tuple[Node, Node]] | Any:
        """A mapping's entries by key as (key node, value node); unknown and duplicate keys refused."""
        if not isinstance(node, MappingNode):
            return self.error(_line(node), f"{what} must be a mapping of keys to values",
                              f"{_ja(what)} はキーと値の対応（マッピング）でなければなりません。")
        if not self._first_visit(node):
            return _MISSING
        out: dict[str, tuple[Node, Node]] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, ScalarNode) or key_node.tag != "tag:yaml.org,2002:str":
                self.error(_line(key_node), f"{what}: keys must be plain text",
                           f"{_ja(what)}: キーは文字列でなければなりません。")
                continue
            key = key_node.value
            if key in out:
                first = _line(out[key][0])
                self.error(_line(key_node), f"{what}: duplicate key {key!r} (first at line {first})",
                           f"{_ja(what)}: キー {key!r} が重複しています（最初は {first} 行目）。")
                continue
            if key not in allowed:
                close = difflib.get_close_matches(key, allowed, n=1)
                if close:
                    hint_en, hint_ja = f" (did you mean {close[0]!r}?)", f"（{close[0]!r} の誤りではありませんか）"
                elif len(allowed) <= 10:
                    hint_en, hint_ja = f"; allowed: {', '.join(allowed)}", f"。使用できるキー: {', '.join(allowed)}"
                else:
                    hint_en = hint_ja = ""
                self.error(_line(key_node), f"{what}: unknown key {key!r}{hint_en}",
                           f"{_ja(what)}: 不明なキー {key!r} です{hint_ja}")
                continue
            out[key] = (key_node, value_node)
        for key in required:
            if key not in out:
                self.error(owner_line, f"{what}: required key {key!r} is missing",
                           f"{_ja(what)}: 必須のキー {key!r} がありません。", missing=True)
        return out

    def sequence(self, node: Node, what: str) -> list[Node] | Any:
        if not isinstance(node, SequenceNode):
            return self.error(_line(node), f"{what} must be a list", f"{what} はリストでなければなりません。")
        if not self._first_visit(node):
            return _MISSING
        return list(node.value)

    def _first_visit(self, node: Node) -> bool:
        # `load` refuses aliases on the event stream first; this keeps the walk linear regardless.
        if id(node) in self._seen:
            self.error(_line(node), "anchors and aliases (&name, *name) are not allowed in a rules pack",
                       "ルールパックではアンカーとエイリアス（&name, *name）は使用できません。")
            return False
        self._seen.add(id(node))
        return True

    def scalar(self, node: Node, what: str) -> Any:
        if not isinstance(node, ScalarNode):
            return self.error(_line(node), f"{what} must be a single value, not a list or mapping",
                              f"{what} は単一の値でなければなりません（リストやマッピングは不可）。")
        if not self._first_visit(node):
            return _MISSING
        if node.tag not in _STANDARD_TAGS:
            return self.error(_line(node), f"{what}: unsupported tag {node.tag}",
                              f"{what}: 対応していないタグ {node.tag} です。")
        try:
            return self._constructor.construct_object(node, deep=True)
        except (ValueError, OverflowError, yaml.YAMLError):
            # e.g. 2025-02-30 matches the date pattern but is no date
            if node.tag == "tag:yaml.org,2002:timestamp":
                return self.error(_line(node), f"{what}: {node.value!r} is not a valid date (YYYY-MM-DD)",
                                  f"{what}: {node.value!r} は有効な日付（YYYY-MM-DD）ではありません。")
            return self.error(_line(node), f"{what}: {node.value!r} cannot be read",
                              f"{what}: {node.value!r} を読み取れません。")

    # -- typed values ---------------------------------------------------------------------------

    def text(self, node: Node, what: str, *, max_length: int = 500, multiline: bool = False) -> str | Any:
        """Non-empty text. Characters the one text policy refuses (``hozen.core.text``: controls,
        direction overrides, lone surrogates, non-characters; a YAML escape such as ``"\\u202e"``
        can write any of them) are refused here too. The pack's wording is kept as published,
        not NFKC-normalised: official names keep their full-width brackets."""
        value = self.scalar(node, what)
        if value is _MISSING:
            return value
        if not isinstance(value, str) or not value.strip():
            return self.error(_line(node), f"{what} must be non-empty text", f"{what} は空でない文字列でなければなりません。")
        found = forbidden_position(value, multiline=multiline)
        if found is not None:
            position, ch = found
            return self.error(_line(node), f"{what}: character {position} is not allowed (U+{ord(ch):04X})",
                              f"{what}: {position}文字目に使用できない文字があります（U+{ord(ch):04X}）。")
        value = value.strip()
        if len(value) > max_length:
            return self.error(_line(node), f"{what} is longer than {max_length} characters",
                              f"{what} が{max_length}文字を超えています。")
        return value

    def code(self, node: Node, what: str, pattern: re.Pattern, example: str) -> str | Any:
        value = self.scalar(node, what)
        if value is _MISSING:
            return value
        if isinstance(value, int) and not isinstance(value, bool):
            value = str(value)  # `code: 1` is the category "1"
        if not isinstance(value, str) or not pattern.match(value):
            return self.error(_line(node), f"{what} must be a code like {example}, got {node.value!r}",
                              f"{what} は {example} のようなコードでなければなりません（値: {node.value!r}）。")
        return value

    def positive_int(self, node: Node, what: str) -> int | Any:
        value = self.scalar(node, what)
        if value is _MISSING:
            return value
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            return self.error(_line(node), f"{what} must be a positive whole number",
                              f"{what} は正の整数でなければなりません。")
        return value

    def boolean(self, node: Node, what: str) -> bool | Any:
        value = self.scalar(node, what)
        if value is _MISSING:
            return value
        if not isinstance(value, bool):
            return self.error(_line(node), f"{what} must be true or false", f"{what} は true または false でなければなりません。")
        return value

    def date(self, node: Node, what: str) -> dt.date | Any:
        value = self.scalar(node, what)
        if value is _MISSING:
            return value
        if isinstance(value, str):
            try:
                value = dt.date.fromisoformat(value.strip())
            except ValueError:
                return self.error(_line(node), f"{what}: {node.value!r} is not a valid date (YYYY-MM-DD)",
                                  f"{what}: {node.value!r} は有効な日付（YYYY-MM-DD）ではありません。")
        if isinstance(value, dt.datetime) or not isinstance(value, dt.date):
            return self.error(_line(node), f"{what} must be a date (YYYY-MM-DD)",
                              f"{what} は日付（YYYY-MM-DD）でなければなりません。")
        if not EARLIEST_DATE <= value <= LATEST_DATE:  # the one date policy's plausible range
            return self.error(_line(node), f"{what} must be between {EARLIEST_DATE} and {LATEST_DATE}",
                              f"{what} は{EARLIEST_DATE}から{LATEST_DATE}までの日付でなければなりません。")
        return value

    def choice(self, node: Node, what: str, choices: tuple[str, ...]) -> str | Any:
        value = self.scalar(node, what)
        if value is _MISSING:
            return value
        if value not in choices:
            return self.error(_line(node), f"{what} must be one of {', '.join(choices)}, got {node.value!r}",
                              f"{what} は {', '.join(choices)} のいずれかでなければなりません（値: {node.value!r}）。")
        return value


def load(text: str, filename: str = "<pack>") -> dict:
    """Parse and validate one pack file; return its normalised, JSON-ready content.

    Raises PackError (a RuleViolation, code ``rules_pack_invalid``) naming ``filename:line``.
    """
    if len(text) > MAX_SOURCE_CHARS:
        raise PackError(f"the file is larger than {MAX_SOURCE_CHARS} characters", 1, filename=filename,
                        problem_ja=f"ファイルが{MAX_SOURCE_CHARS}文字を超えています。")
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 1
        problem = " ".join(p for p in (exc.context, exc.problem) if p) or "invalid YAML"
        raise PackError(f"not valid YAML: {problem}", line, filename=filename,
                        problem_ja=f"YAML として読み取れません: {problem}") from None
    except yaml.YAMLError as exc:
        raise PackError(f"not valid YAML: {exc}", 1, filename=filename,
                        problem_ja=f"YAML として読み取れません: {exc}") from None
    if root is None:
        raise PackError("the file is empty", 1, filename=filename, problem_ja="ファイルが空です。")
    # Aliases would let one node stand in many places (and a small file expand enormously); a pack
    # has no use for them. Found on the event stream so the error names the alias's own line.
    aliases = [event.start_mark.line + 1 for event in yaml.parse(text, Loader=yaml.SafeLoader)
               if isinstance(event, yaml.AliasEvent)]
    if aliases:
        en = "anchors and aliases (&name, *name) are not allowed in a rules pack"
        ja = "ルールパックではアンカーとエイリアス（&name, *name）は使用できません。"
        raise PackError(en, aliases[0], filename=filename, problem_ja=ja, errors=[(n, en, ja) for n in aliases])
    reader = _Reader(filename)
    data = _read_pack(reader, root)
    if reader.errors:
        errors = [(line, en, ja) for _, line, en, ja in sorted(reader.errors, key=lambda e: (e[0], e[1]))]
        line, en, ja = errors[0]
        raise PackError(en, line, filename=filename, problem_ja=ja, errors=errors)
    return data


def _read_pack(r: _Reader, root: Node) -> dict:
    top = r.mapping(root, ROOT, TOP_KEYS, owner_line=_line(root), required=TOP_KEYS)
    if top is _MISSING:
        return {}
    get = {key: value_node for key, (_, value_node) in top.items()}
    code = r.code(get["code"], "code", CODE_RE, "jp-esi-2025") if "code" in get else _MISSING
    tier = r.choice(get["tier"], "tier", TIERS) if "tier" in get else _MISSING
    if code is not _MISSING and tier is not _MISSING:
        segments = code.split("-")
        other = [t for t in TIERS if t != tier]
        if tier not in segments or any(t in segments for t in other):
            r.error(_line(get["tier"]), f"tier {tier!r} does not match the code {code!r} (the code must contain "
                    f"'-{tier}' and no other tier)",
                    f"tier {tier!r} がコード {code!r} と一致しません（コードには '-{tier}' を含め、他の区分を含めないでください）。")
            tier = _MISSING  # unknown which is wrong: skip the tier-specific checks rather than cascade
    version = r.positive_int(get["version"], "version") if "version" in get else _MISSING
    effective = r.date(get["effective_from"], "effective_from") if "effective_from" in get else _MISSING
    title_ja = r.text(get["title_ja"], "title_ja", max_length=200) if "title_ja" in get else _MISSING
    title_en = r.text(get["title_en"], "title_en", max_length=200) if "title_en" in get else _MISSING

    taxonomy = _MISSING
    sub_item_codes = None  # unknown: references to sub-items are then not checked
    if "taxonomy" in top:
        before = len(r.errors)
        taxonomy = _read_taxonomy(r, top["taxonomy"], tier)
        if taxonomy is not _MISSING and len(r.errors) == before:
            sub_item_codes = {item["code"] for item in taxonomy["sub_items"]}
    values = _MISSING
    if "values" in top:
        values = _read_values(r, top["values"], tier, sub_item_codes)

    if values is not _MISSING and effective is not _MISSING:
        start = values.get("regime_start", {}).get("value")
        if isinstance(start, str) and effective < dt.date.fromisoformat(start):
            r.error(_line(get["effective_from"]), f"effective_from {effective} is before regime_start {start}",
                    f"effective_from（{effective}）が regime_start（{start}）より前です。")
    return {
        "code": code, "tier": tier, "version": version,
        "effective_from": effective.isoformat() if isinstance(effective, dt.date) else effective,
        "title_ja": title_ja, "title_en": title_en, "values": values, "taxonomy": taxonomy,
    }


def _read_taxonomy(r: _Reader, entry: tuple[Node, Node], tier) -> dict | Any:
    key_node, node = entry
    parts = r.mapping(node, "taxonomy", ("categories", "sub_items"), owner_line=_line(key_node),
                      required=("categories", "sub_items"))
    if parts is _MISSING:
        return _MISSING
    categories: list[dict] = []
    category_lines: dict[str, int] = {}
    if "categories" in parts:
        items = r.sequence(parts["categories"][1], "taxonomy.categories")
        if items is not _MISSING:
            if not items:
                r.error(_line(parts["categories"][0]), "taxonomy.categories must list at least one category",
                        "taxonomy.categories には区分を一つ以上記載してください。")
            for i, item in enumerate(items, 1):
                what = f"taxonomy.categories[{i}]"
                fields = r.mapping(item, what, CATEGORY_KEYS, owner_line=_line(item),
                                   required=("code", "name_ja", "name_en"))
                if fields is _MISSING:
                    continue
                row = _read_fields(r, fields, what, {
                    "code": lambda n, w: r.code(n, w, TAXON_CODE_RE, '"1"'),
                    "name_ja": lambda n, w: r.text(n, w), "name_en": lambda n, w: r.text(n, w),
                    "note": lambda n, w: r.text(n, w, max_length=2000, multiline=True),
                })
                code = row.get("code")
                if isinstance(code, str):
                    if code in category_lines:
                        r.error(_line(fields["code"][1]), f"{what}: duplicate category code {code!r} "
                                f"(first at line {category_lines[code]})",
                                f"{what}: 区分コード {code!r} が重複しています（最初は {category_lines[code]} 行目）。")
                    else:
                        category_lines[code] = _line(fields["code"][1])
                categories.append({"code": code, "name_ja": row.get("name_ja"), "name_en": row.get("name_en"),
                                   "note": row.get("note") or ""})
    sub_items: list[dict] = []
    if "sub_items" in parts:
        items = r.sequence(parts["sub_items"][1], "taxonomy.sub_items")
        seen: dict[str, int] = {}
        if items is not _MISSING:
            for i, item in enumerate(items, 1):
                what = f"taxonomy.sub_items[{i}]"
                required = ("code", "category", "name_ja", "name_en", "status") + (("domain",) if tier == "esi" else ())
                fields = r.mapping(item, what, SUB_ITEM_KEYS, owner_line=_line(item), required=required)
                if fields is _MISSING:
                    continue
                row = _read_fields(r, fields, what, {
                    "code": lambda n, w: r.code(n, w, TAXON_CODE_RE, "A-1"),
                    "domain": lambda n, w: r.choice(n, w, DOMAINS),
                    "category": lambda n, w: r.code(n, w, TAXON_CODE_RE, '"1"'),
                    "name_ja": lambda n, w: r.text(n, w), "name_en": lambda n, w: r.text(n, w),
                    "status": lambda n, w: r.choice(n, w, STATUSES),
                    "note": lambda n, w: r.text(n, w, max_length=2000, multiline=True),
                })
                code = row.get("code")
                label = f"sub-item {code}" if isinstance(code, str) else what
                if isinstance(code, str):
                    if code in seen:
                        r.error(_line(fields["code"][1]), f"{what}: duplicate sub-item code {code!r} "
                                f"(first at line {seen[code]})",
                                f"{what}: 細目コード {code!r} が重複しています（最初は {seen[code]} 行目）。")
                    else:
                        seen[code] = _line(fields["code"][1])
                if "domain" in fields and tier == "sds":
                    r.error(_line(fields["domain"][0]), f"{label}: an SDS pack's sub-items have no domain letter",
                            f"{label}: 特定秘密のルールパックの細目には領域（A/B/C）を付けません。")
                category = row.get("category")
                if isinstance(category, str) and categories and category not in category_lines:
                    r.error(_line(fields["category"][1]), f"{label}: category {category!r} is not one of the "
                            f"pack's categories ({', '.join(category_lines) or 'none'})",
                            f"{label}: 区分 {category!r} はこのパックの区分（{', '.join(category_lines) or 'なし'}）にありません。")
                sub_items.append({"code": code, "domain": row.get("domain") or "", "category": category,
                                  "name_ja": row.get("name_ja"), "name_en": row.get("name_en"),
                                  "status": row.get("status"), "note": row.get("note") or ""})
    return {"categories": categories, "sub_items": sub_items}


def _read_fields(r: _Reader, fields: dict, what: str, readers: dict) -> dict:
    out = {}
    for key, (_, node) in fields.items():
        value = readers[key](node, f"{what}.{key}")
        if value is not _MISSING:
            out[key] = value
    return out


def _read_values(r: _Reader, entry: tuple[Node, Node], tier, sub_item_codes: set | None) -> dict | Any:
    key_node, node = entry
    known_here = tuple(k for k, s in VALUE_SPECS.items() if tier is _MISSING or tier in s.tiers)
    entries = r.mapping(node, "values", tuple(VALUE_SPECS), owner_line=_line(key_node))
    if entries is _MISSING:
        return _MISSING
    out: dict[str, dict] = {}
    for key, (k_node, v_node) in entries.items():
        spec = VALUE_SPECS[key]
        if key not in known_here:
            r.error(_line(k_node), f"{key} does not apply to a {tier} pack", f"{key} は {tier} のルールパックには使用できません。")
            continue
        fields = r.mapping(v_node, key, ENTRY_KEYS, owner_line=_line(k_node),
                           required=("value", "to_verify", "source") + (("unit",) if spec.unit else ()))
        if fields is _MISSING:
            continue
        result: dict[str, Any] = {"value": _MISSING, "unit": spec.unit, "to_verify": _MISSING, "source": _MISSING}
        if "unit" in fields:
            u_node = fields["unit"][1]
            if spec.unit is None:
                r.error(_line(fields["unit"][0]), f"{key} takes no unit", f"{key} には単位を付けません。")
            else:
                unit = r.scalar(u_node, f"{key}.unit")
                if unit is not _MISSING and unit != spec.unit:
                    r.error(_line(u_node), f"{key}: the unit must be {spec.unit!r}, got {u_node.value!r}",
                            f"{key}: 単位は {spec.unit!r} でなければなりません（値: {u_node.value!r}）。")
        if "to_verify" in fields:
            result["to_verify"] = r.boolean(fields["to_verify"][1], f"{key}.to_verify")
        if "source" in fields:
            result["source"] = r.text(fields["source"][1], f"{key}.source", max_length=2000, multiline=True)
        if "value" in fields:
            result["value"] = _read_value(r, key, spec, fields["value"][1], sub_item_codes)
        out[key] = result
        if _MISSING in (result["value"], result["to_verify"], result["source"]):
            out[key] = None  # a problem was reported; keep the key so "missing" is not reported too
    if tier is not _MISSING:
        for key, spec in VALUE_SPECS.items():
            if spec.required and tier in spec.tiers and key not in entries:
                r.error(_line(key_node), f"values: required key {key!r} is missing",
                        f"values: 必須のキー {key!r} がありません。", missing=True)
    _cross_checks(r, out, entries)
    return {k: v for k, v in out.items() if v is not None}


def _read_value(r: _Reader, key: str, spec: ValueSpec, node: Node, sub_item_codes: set | None) -> Any:
    if spec.kind == "date":
        value = r.date(node, key)
        return value.isoformat() if isinstance(value, dt.date) else value
    if spec.kind in ("years", "months", "days"):
        return r.positive_int(node, key)
    if spec.kind == "bool":
        return r.boolean(node, key)
    if spec.kind == "labelled_list":
        return _read_labelled_list(r, key, node, sub_item_codes)
    if spec.kind == "penalty":
        return _read_penalty(r, key, node)
    raise AssertionError(spec.kind)  # pragma: no cover


def _read_labelled_list(r: _Reader, key: str, node: Node, sub_item_codes: set | None) -> list | Any:
    items = r.sequence(node, key)
    if items is _MISSING:
        return items
    out, seen, bad = [], set(), False
    for i, item in enumerate(items, 1):
        what = f"{key}[{i}]"
        fields = r.mapping(item, what, LABELLED_KEYS, owner_line=_line(item), required=("code", "name_ja", "name_en"))
        if fields is _MISSING:
            bad = True
            continue
        row = _read_fields(r, fields, what, {
            "code": lambda n, w: r.code(n, w, ITEM_CODE_RE, "human_sources"),
            "name_ja": lambda n, w: r.text(n, w), "name_en": lambda n, w: r.text(n, w),
            "sub_items": lambda n, w: _read_code_list(r, n, w),
        })
        if any(k not in row for k in fields) or not {"code", "name_ja", "name_en"} <= set(row):
            bad = True
            continue
        if row["code"] in seen:
            r.error(_line(fields["code"][1]), f"{what}: duplicate code {row['code']!r}",
                    f"{what}: コード {row['code']!r} が重複しています。")
            bad = True
        seen.add(row["code"])
        for code in row.get("sub_items", []):
            if sub_item_codes is not None and code not in sub_item_codes:
                r.error(_line(fields["sub_items"][1]), f"{what}.sub_items: {code!r} is not a sub-item of this pack",
                        f"{what}.sub_items: {code!r} はこのパックの細目ではありません。")
                bad = True
        out.append({"code": row["code"], "name_ja": row["name_ja"], "name_en": row["name_en"],
                    **({"sub_items": row["sub_items"]} if "sub_items" in row else {})})
    return _MISSING if bad else out


def _read_code_list(r: _Reader, node: Node, what: str) -> list | Any:
    items = r.sequence(node, what)
    if items is _MISSING:
        return items
    codes = [r.code(n, what, TAXON_CODE_RE, "A-1") for n in items]
    return _MISSING if _MISSING in codes else codes


def _read_penalty(r: _Reader, key: str, node: Node) -> dict | Any:
    fields = r.mapping(node, key, PENALTY_KEYS, owner_line=_line(node), required=("combination",))
    if fields is _MISSING:
        return fields
    row = _read_fields(r, fields, key, {
        "prison_years": lambda n, w: r.positive_int(n, w), "fine_yen": lambda n, w: r.positive_int(n, w),
        "combination": lambda n, w: r.choice(n, w, COMBINATIONS),
    })
    if any(k not in row for k in fields):
        return _MISSING
    combination = row.get("combination")
    needs_prison = combination != "fine_only"
    needs_fine = combination != "prison_only"
    if needs_prison != ("prison_years" in row) or needs_fine != ("fine_yen" in row):
        want = " and ".join(k for k, need in (("prison_years", needs_prison), ("fine_yen", needs_fine)) if need)
        r.error(_line(fields["combination"][1]), f"{key}: combination {combination!r} takes exactly {want}",
                f"{key}: combination {combination!r} には {want.replace(' and ', ' と ')} のみを指定してください。")
        return _MISSING
    return {k: row[k] for k in PENALTY_KEYS if k in row}


def _cross_checks(r: _Reader, out: dict, entries: dict) -> None:
    """Figures that must agree with each other (a typo in one would otherwise pass)."""

    def num(key):
        entry = out.get(key)
        return entry["value"] if entry else None

    term, threshold, cap = (num("designation.max_term_years"), num("cumulative.cabinet_approval_threshold_years"),
                            num("cumulative.absolute_cap_years"))
    if term and threshold and term > threshold:
        r.error(_line(entries["designation.max_term_years"][0]),
                f"designation.max_term_years ({term}) exceeds cumulative.cabinet_approval_threshold_years ({threshold})",
                f"designation.max_term_years（{term}）が cumulative.cabinet_approval_threshold_years（{threshold}）を超えています。")
    if threshold and cap and cap <= threshold:
        r.error(_line(entries["cumulative.absolute_cap_years"][0]),
                f"cumulative.absolute_cap_years ({cap}) must exceed cumulative.cabinet_approval_threshold_years ({threshold})",
                f"cumulative.absolute_cap_years（{cap}）は cumulative.cabinet_approval_threshold_years（{threshold}）より大きくなければなりません。")


def to_python(key: str, value: Any) -> Any:
    """A stored (JSON) value as Python: dates become datetime.date."""
    spec = VALUE_SPECS.get(key)
    if spec is not None and spec.kind == "date" and isinstance(value, str):
        return dt.date.fromisoformat(value)
    return value
