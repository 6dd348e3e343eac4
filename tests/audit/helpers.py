"""Helpers for the audit log tests: entries written through the service, raw SQL for tampering."""

from __future__ import annotations

from django.db import connection

from hozen import audit
from hozen.core.actor import Actor


def write_entries(n: int, action: str = "test.event") -> list:
    """`n` entries through `audit.record`, as services write them."""
    actor = Actor.operator("tests")
    return [audit.record(actor, action, details={"n": i}) for i in range(n)]


def sql(statement: str, params: list | tuple = ()) -> list:
    """Raw SQL against the audit tables, as someone with database access would tamper with them."""
    with connection.cursor() as cursor:
        cursor.execute(statement, list(params))
        return cursor.fetchall() if cursor.description else []


def table(model) -> str:
    return connection.ops.quote_name(model._meta.db_table)


INDEX = '"index"'
