"""The daily assessment jobs (each idempotent): destroy files and nominator notices past
retention; remind of results about to expire and of questionnaires still to be submitted."""

from __future__ import annotations


def daily(*, actor) -> dict:
    from .services import retention_run

    run = retention_run(actor=actor)
    return {"cases_shredded": run.cases_shredded, "notices_expired": run.notices_expired}


def renewal_reminders(*, actor) -> dict:
    from .services import send_renewal_reminders

    return {"reminders_sent": send_renewal_reminders(actor=actor)}


def questionnaire_reminders(*, actor) -> dict:
    from .services import send_questionnaire_reminders

    return {"reminders_sent": send_questionnaire_reminders(actor=actor)}
