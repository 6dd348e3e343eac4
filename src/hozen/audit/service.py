"""Writing audit entries (ARCHITECTURE rule 2: in the same transaction as the change)."""

from __future__ import annotations

import datetime as dt
import functools
import sqlite3
from collections.abc import Iterable
from typing import Any, NamedTuple

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections, models, transaction
from django.utils import timezone

from .canonical import canonical_text
from .db import raw_cursor

OUTCOMES = frozenset({"success", "denied", "failure"})


def target_ref(target: Any) -> dict | None:
    """A target by type and id only: never its str(), which could carry protected content."""
    if target is None:
        return None
    if isinstance(target, models.Model):
        return {"type": target._meta.label_lower, "id": str(target.pk)}
    if isinstance(target, dict) and set(target) == {"type", "id"}:
        return {"type": str(target["type"]), "id": str(target["id"])}
    if isinstance(target, str):
        return {"type": "name", "id": target}
    raise TypeError(f"cannot reference {type(target).__name__} in an audit entry")


def _plain(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_plain(v) for v in value]
    if isinstance(value, str | int | bool) or value is None:
        return value
    if isinstance(value, models.Model):
        return target_ref(value)
    return str(value)


def _person_id(details: dict | None) -> int | None:
    """The filter copy of the entry's `details.subject_person_id`, exactly as recorded, or None."""
    value = (details or {}).get("subject_person_id")
    return value if isinstance(value, int) and not isinstance(value, bool) else None


class Entry(NamedTuple):
    """One entry for `record_many`: the arguments `record` takes after the actor."""

    action: str
    target: Any = None
    outcome: str = "success"
    details: dict | None = None
    purpose: str | None = None


#: The columns `record` and `record_many` write, in this order (`id` comes from the database).
COLUMNS = ("data", "time", "action", "actor_name", "organisation", "target_type", "target_id", "outcome",
           "subject_person_id")


def _check(action: str, outcome: str) -> None:
    if not isinstance(action, str) or "." not in action:
        raise ValueError(f"action codes are noun.verb, got {action!r}")
    if outcome not in OUTCOMES:
        raise ValueError(f"unknown outcome {outcome!r}")


def _row(who: dict, who_name: str, who_org: str, time_text: str, time_col, request_id, action: str, target,
         outcome: str, details, purpose) -> tuple:
    """The column values of one entry; `data` is the canonical JSON text of the entry as recorded."""
    ref = target_ref(target)
    entry = {
        "v": 1,
        "time": time_text,
        "actor": who,
        "action": action,
        "target": ref,
        "outcome": outcome,
        "request_id": request_id,
    }
    person = None
    if details:
        entry["details"] = plain = _plain(details)
        person = _person_id(plain)
    if purpose:
        entry["purpose"] = purpose
    if ref is None:
        ref_type = ref_id = ""
    else:
        ref_type, ref_id = ref["type"], ref["id"]
    return (canonical_text(entry), time_col, action, who_name, who_org, ref_type, ref_id, outcome, person)


def _actor(actor) -> tuple[dict, str, str]:
    if actor is None:
        raise ValueError("an audit entry needs an actor")
    who = actor.describe()
    return who, who.get("account") or who.get("name", ""), who.get("organisation") or ""


def _time_column(conn, now, time_text: str):
    """The `time` column's value as Django would bind it. On SQLite with aware datetimes stored in
    UTC, Django binds ``str()`` of the naive UTC datetime, i.e. the entry's own UTC ISO text with a
    space for the "T" and no "Z": taken from it rather than converting `now` a second time."""
    if conn.vendor == "sqlite" and settings.USE_TZ and conn.settings_dict.get("TIME_ZONE") is None:
        return time_text[:-1].replace("T", " ", 1)
    return conn.ops.adapt_datetimefield_value(now)


@functools.cache
def _statements(alias: str) -> tuple[str, str, str]:
    """(INSERT of one entry, COPY of many, the INSERT with DB-API qmark placeholders) for `alias`."""
    from .models import AuditEntry

    conn = connections[alias]
    table = conn.ops.quote_name(AuditEntry._meta.db_table)
    columns = ", ".join(COLUMNS)
    insert = f"INSERT INTO {table} ({columns}) VALUES ({', '.join(['%s'] * len(COLUMNS))})"
    return insert, f"COPY {table} ({columns}) FROM STDIN", insert.replace("%s", "?")


def record(actor, action: str, target: Any = None, *, outcome: str = "success",
           details: dict | None = None, purpose: str | None = None) -> None:
    """Append one entry. Runs inside the caller's transaction (or its own when there is none).

    `details` must carry identifiers and codes only, never document content or free text that
    could hold protected information (LESSONS.md: spilled text in audit trails).

    One INSERT (prepared on PostgreSQL) and no savepoint of its own: it joins the caller's
    transaction, or autocommits alone (benchmarks: the ORM's create and a savepoint per entry cost
    about half of the append rate). Returns nothing: the stored entry is read back through
    `AuditEntry` by whoever needs it. Asking PostgreSQL for the new row's id (`RETURNING id`) cost
    about a tenth of a durable single-entry append (docs/benchmarks.md), and no service needs it:
    an entry's place in the log is its Merkle index, given when the integrator sequences it.
    """
    who, who_name, who_org = _actor(actor)
    _check(action, outcome)
    conn = connections[DEFAULT_DB_ALIAS]
    now = timezone.now()
    time_text = _plain(now)
    row = _row(who, who_name, who_org, time_text, _time_column(conn, now, time_text), actor.request_id,
               action, target, outcome, details, purpose)
    cursor = raw_cursor(conn)  # not closed: it is kept for the next call
    if cursor is None:  # queries are being logged: Django's cursor, which logs them
        with conn.cursor() as cursor:
            cursor.execute(_statements(conn.alias)[0], row)
        return
    conn.validate_no_broken_transaction()
    with conn.wrap_database_errors:
        if conn.vendor == "postgresql":
            cursor.execute(_statements(conn.alias)[0], row)
        else:
            # The base class's execute: the qmark statement as is, no %s conversion per call.
            sqlite3.Cursor.execute(cursor, _statements(conn.alias)[2], row)


def record_many(actor, entries: Iterable[Entry | tuple]) -> int:
    """Append many entries by one actor in one write: for services that record many at once.

    `entries`: `Entry(action, target=None, outcome="success", details=None, purpose=None)` (or
    plain tuples in that order), recorded in that order, each exactly as `record(actor, ...)`
    would record it (the same canonical JSON and columns), with one timestamp for the batch.
    All are checked before anything is written. One `executemany` (SQLite) or `COPY`
    (PostgreSQL) inside the caller's transaction, without a savepoint (or in a transaction of
    its own when there is none): the entries commit or roll back with the caller's changes.
    Returns the number of entries written.
    """
    who, who_name, who_org = _actor(actor)
    batch = [item if type(item) is Entry else Entry(*item) for item in entries]
    for item in batch:
        _check(item.action, item.outcome)
    if not batch:
        return 0
    conn = connections[DEFAULT_DB_ALIAS]
    now = timezone.now()
    time_text = _plain(now)
    time_col = _time_column(conn, now, time_text)
    request_id = actor.request_id
    rows = [_row(who, who_name, who_org, time_text, time_col, request_id, *item) for item in batch]
    insert, copy_sql, _ = _statements(conn.alias)
    with transaction.atomic(using=conn.alias, savepoint=False), conn.cursor() as cursor:
        if conn.vendor == "postgresql":
            with cursor.copy(copy_sql) as copy:
                write = copy.write_row
                for row in rows:
                    write(row)
        else:
            cursor.executemany(insert, rows)
    return len(rows)


def record_denial(actor, decision, action: str, target: Any = None) -> None:
    """A policy denial. Like any entry it joins the caller's transaction when there is one: callers
    record denials outside atomic blocks (`policy.require` is called before a service opens its
    transaction, and raises right after), so the rollback of a refused service cannot erase it."""
    record(actor, action, target, outcome="denied", details={"reason": decision.code})
