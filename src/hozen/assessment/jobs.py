"""The daily assessment jobs (each idempotent): destroy files and nominator notices past
retention; remind of results about to expire."""

from __future__ import annotations


def daily(*, actor) -> dict:
    from .services import retention_run

    run = retention_run(actor=actor)
    return {"cases_shredded": run.cases_shredded, "notices_expired": run.notices_expired}


def renewal_reminders(*, actor) -> dict:
    from .services import send_renewal_reminders

    return {"reminders_sent": send_renewal_reminders(actor=actor)}
