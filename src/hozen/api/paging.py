"""One paging policy for every list of the API (issue 12 §2).

Every operation that answers a list takes the same two query parameters, with the same bounds:

- ``limit``: how many items, 1 to ``MAX_LIMIT`` (200), ``DEFAULT_LIMIT`` (50) when not given;
- ``offset``: how many to skip, 0 to ``MAX_OFFSET`` (2**53 - 1: a number every JSON client reads
  exactly, and far inside a signed 64-bit integer even with ``limit`` added, so no database is
  ever asked for an offset it cannot hold: 2**63 used to be a 500 on ten lists).

Anything else (``limit=0``, ``-1``, ``1000000``, ``offset=2**63``, ``abc``, the parameter given
twice) is refused with 422 naming the parameter, never clamped in silence. A list answered as an
object carries ``total``, ``limit`` and ``offset``; a list answered as an array carries its total
in the ``X-Total-Count`` header. Use ``PageIn`` as a ``Query[...]`` parameter (or subclass it for a
list's own filters) and ``page`` or ``envelope`` to slice.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db.models import QuerySet
from django.http import HttpResponse
from ninja import Field, Schema

DEFAULT_LIMIT = 50
MAX_LIMIT = 200
MAX_OFFSET = 2**53 - 1
TOTAL_HEADER = "X-Total-Count"


class PageIn(Schema):
    """The paging parameters of every list."""

    limit: int = Field(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT,
                       description=f"How many items to answer: 1 to {MAX_LIMIT} (default {DEFAULT_LIMIT})")
    offset: int = Field(0, ge=0, le=MAX_OFFSET, description="How many items to skip, from 0")


def _total(items: QuerySet | Sequence) -> int:
    return items.count() if isinstance(items, QuerySet) else len(items)


def window(items: QuerySet | Sequence, paging: PageIn) -> Any:
    """The page of `items` that `paging` names (a sliced query, or a list)."""
    return items[paging.offset:paging.offset + paging.limit]


def page(response: HttpResponse, items: QuerySet | Sequence, paging: PageIn) -> Any:
    """The page for a list answered as an array; its total goes in X-Total-Count."""
    response[TOTAL_HEADER] = str(_total(items))
    return window(items, paging)


def envelope(items: QuerySet | Sequence, paging: PageIn, render=None) -> dict:
    """{total, limit, offset, items} for a list answered as an object; `render` maps each item."""
    rows = window(items, paging)
    return {"total": _total(items), "limit": paging.limit, "offset": paging.offset,
            "items": [render(row) for row in rows] if render else list(rows)}


def is_list_operation(operation: dict, components: dict) -> bool:
    """True when an operation's 200 answer is a list: an array, or an object with `items` and `total`."""
    content = operation.get("responses", {}).get(200, operation.get("responses", {}).get("200", {}))
    schema = content.get("content", {}).get("application/json", {}).get("schema", {})
    if schema.get("type") == "array":
        return True
    ref = schema.get("$ref", "")
    if ref.startswith("#/components/schemas/"):
        props = components.get(ref.rsplit("/", 1)[1], {}).get("properties", {})
        return {"items", "total"} <= set(props)
    return False


def document(schema: dict) -> dict:
    """Every paged list that answers an array documents its X-Total-Count header."""
    components = schema.get("components", {}).get("schemas", {})
    for operations in schema.get("paths", {}).values():
        for method, operation in operations.items():
            names = {p.get("name") for p in operation.get("parameters", [])}
            if method != "get" or not {"limit", "offset"} <= names:
                continue
            responses = operation.get("responses", {})
            ok = responses.get(200) or responses.get("200")
            json_schema = (ok or {}).get("content", {}).get("application/json", {}).get("schema", {})
            if ok is not None and json_schema.get("type") == "array" and is_list_operation(operation, components):
                ok.setdefault("headers", {})[TOTAL_HEADER] = {
                    "description": "How many items the whole list has (this answer is one page of it)",
                    "schema": {"type": "integer", "minimum": 0}}
    return schema
