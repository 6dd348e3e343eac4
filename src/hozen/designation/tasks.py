"""Tasks of the designation registry (hozen.core.tasks): work that follows a request."""

from __future__ import annotations

from django_tasks import task


@task()
def build_prepared_ledger(prepared_id: int) -> str:
    """Build a ledger file a request asked for (`export_services.request_ledger`)."""
    from .export_services import build_prepared

    return build_prepared(prepared_id)
