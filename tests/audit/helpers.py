"""Helpers for the audit log tests: entries written through the service, raw SQL for tampering."""

from __future__ import annotations

from django.db import connection

from hozen import audit
from hozen.audit.models import AuditEntry
from hozen.core.actor import Actor


def recorded(actor, action: str, target=None, **fields) -> AuditEntry:
    """`audit.record(...)`, then the entry it stored (`record` returns nothing): the newest entry
    this connection can see, i.e. the one just written, in tests that write from one thread."""
    audit.record(actor, action, target, **fields)
    return AuditEntry.objects.latest("id")


def write_entries(n: int, action: str = "test.event") -> list:
    """`n` entries through `audit.record`, as services write them."""
    actor = Actor.operator("tests")
    return [recorded(actor, action, details={"n": i}) for i in range(n)]


def sql(statement: str, params: list | tuple = ()) -> list:
    """Raw SQL against the audit tables, as someone with database access would tamper with them."""
    with connection.cursor() as cursor:
        cursor.execute(statement, list(params))
        return cursor.fetchall() if cursor.description else []


def table(model) -> str:
    return connection.ops.quote_name(model._meta.db_table)


INDEX = '"index"'
