"""/api/v1/ routes of hozen.assessment. Thin: parse, call a service or query, serialise."""

from __future__ import annotations

from ninja import Router

router = Router(tags=["assessment"])
