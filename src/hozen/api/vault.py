"""/api/v1/ routes of hozen.vault. Thin: parse, call a service or query, serialise."""

from __future__ import annotations

from ninja import Router

router = Router(tags=["vault"])
