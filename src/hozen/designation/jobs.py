"""The daily designation job: expire designations at the end of their term; count due reviews."""

from __future__ import annotations

from django.utils import timezone


def daily(*, actor) -> dict:
    from . import queries, services

    expired = services.expire_due(actor=actor)
    return {"expired": expired, "reviews_due": queries.reviews_due_count(timezone.localdate())}
