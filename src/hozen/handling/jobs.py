"""The daily handler-list job: record lapsed entries and open review campaigns (idempotent)."""

from __future__ import annotations


def daily(*, actor) -> dict:
    from .services import lapse_and_review

    return lapse_and_review(actor=actor)
