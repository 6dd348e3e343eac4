"""Reading request bodies and query strings strictly: what is ambiguous is refused, naming where.

- A JSON body must say so (``Content-Type: application/json`` or ``…+json``): anything else is 415.
- It must be UTF-8 and valid JSON (400 ``malformed_body`` with the position), with no key given
  twice in one object: the last one would silently win, so 422 ``duplicate_key`` names it.
- No string in it may hold a lone surrogate (not a character: it cannot be stored or shown) or a
  NUL (no field of Hozen takes one; PostgreSQL cannot store it): 422 ``invalid_character`` naming
  the field and the position, before any service sees the value. The rest of the text policy
  (other controls, bidirectional overrides, NFKC, lengths) is ``hozen.core.text``, applied by the
  services per field, whichever channel the text came from.
- ``NaN`` and ``Infinity`` are not JSON: refused as malformed.
- A query parameter given twice where the operation takes one value is 422 ``repeated_parameter``.
"""

from __future__ import annotations

import json
from typing import Any

from ninja.parser import Parser

from .errors import ApiError

JSON_TYPES = ("application/json",)


class _DuplicateKey(ValueError):
    def __init__(self, key: str):
        super().__init__(key)
        self.key = key


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise _DuplicateKey(key)
        out[key] = value
    return out


def _not_json(token: str):
    raise ValueError(f"{token} is not JSON")


def _path(parent: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{parent}[{key}]"
    return f"{parent}.{key}" if parent else key


def _bad_character(path: str, index: int, ch: str) -> ApiError:
    surrogate = 0xD800 <= ord(ch) <= 0xDFFF
    what_ja = "対になっていないサロゲート" if surrogate else "NUL 文字"
    what_en = "an unpaired surrogate" if surrogate else "a NUL character"
    return ApiError(422, "invalid_character",
                    f"{path}の{index}文字目に使用できない文字があります（{what_ja}、U+{ord(ch):04X}）。",
                    f"{path}: character {index} is not allowed ({what_en}, U+{ord(ch):04X}).", field=path)


def _check_text(value: str, path: str) -> None:
    for index, ch in enumerate(value, start=1):
        if ch == "\x00" or 0xD800 <= ord(ch) <= 0xDFFF:
            raise _bad_character(path or "body", index, ch)


def check_strings(node: Any, path: str = "") -> None:
    """Refuse a lone surrogate or NUL anywhere in a parsed JSON document (keys too), naming where."""
    stack = [(node, path)]
    while stack:
        value, where = stack.pop()
        if isinstance(value, str):
            _check_text(value, where)
        elif isinstance(value, dict):
            for key, item in value.items():
                _check_text(key, where)  # a bad key is named by the object holding it
                stack.append((item, _path(where, key)))
        elif isinstance(value, list):
            stack.extend((item, _path(where, i)) for i, item in enumerate(value))


def _malformed(message_ja: str, message_en: str) -> ApiError:
    return ApiError(400, "malformed_body", message_ja, message_en, field="body")


def parse_json(request) -> Any:
    content_type = (request.content_type or "").lower()
    if content_type not in JSON_TYPES and not content_type.endswith("+json"):
        raise ApiError(415, "unsupported_media_type",
                       f"この操作の本文は JSON です（Content-Type: application/json）。受け取った形式: {content_type or 'なし'}。",
                       f"This operation reads a JSON body (Content-Type: application/json), not "
                       f"{content_type or 'a body without a Content-Type'}.", field="Content-Type")
    try:
        text = request.body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _malformed(f"本文が UTF-8 ではありません（{exc.start + 1} バイト目）。",
                         f"The body is not UTF-8 (byte {exc.start + 1}).") from None
    try:
        data = json.loads(text, object_pairs_hook=_no_duplicates, parse_constant=_not_json)
    except _DuplicateKey as exc:
        raise ApiError(422, "duplicate_key", f"JSON のキー {exc.key!r} が同じオブジェクトに複数あります。",
                       f"The key {exc.key!r} appears more than once in one JSON object.", field=exc.key) from None
    except json.JSONDecodeError as exc:
        raise _malformed(f"本文が正しい JSON ではありません（{exc.lineno} 行 {exc.colno} 列: {exc.msg}）。",
                         f"The body is not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg}).") from None
    except ValueError as exc:
        raise _malformed("本文が正しい JSON ではありません。", f"The body is not valid JSON: {exc}.") from None
    check_strings(data)
    return data


class StrictParser(Parser):
    """Ninja's parser with the rules above."""

    def parse_body(self, request):
        return parse_json(request)

    def parse_querydict(self, data, list_fields, request):
        result: dict[str, Any] = {}
        for key in data.keys():
            values = data.getlist(key)
            if key in list_fields:
                for value in values:
                    if isinstance(value, str):
                        _check_text(value, key)
                result[key] = values
                continue
            if len(values) > 1:
                raise ApiError(422, "repeated_parameter", f"{key} が複数指定されています。",
                               f"{key} is given more than once.", field=key)
            if isinstance(values[0], str):
                _check_text(values[0], key)  # a NUL (%00) in a query or form value
            result[key] = values[0]
        return result
