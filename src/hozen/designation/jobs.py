"""The daily designation job: expire designations at the end of their term, and tell each organ's
ESI managers in the app which reviews are due or overdue (DOMAIN §2)."""

from __future__ import annotations

from django.utils import timezone

DAY = 24 * 3600


def daily(*, actor) -> dict:
    from . import queries, services

    on = timezone.localdate()
    expired = services.expire_due(actor=actor, on=on)
    reminders = services.remind_reviews_due(actor=actor, on=on)
    return {"expired": expired, "reviews_due": queries.reviews_due_count(on), "review_reminders": reminders}


def expire_prepared_ledgers(*, actor) -> dict:
    """Hourly: destroy the keys of prepared ledger files past their 24 hours."""
    from . import export_services

    return {"expired": export_services.expire_prepared(actor=actor)}
