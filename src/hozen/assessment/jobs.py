"""The daily assessment job: destroy files and nominator notices past retention (idempotent)."""

from __future__ import annotations


def daily(*, actor) -> dict:
    from .services import retention_run

    run = retention_run(actor=actor)
    return {"cases_shredded": run.cases_shredded, "notices_expired": run.notices_expired}
