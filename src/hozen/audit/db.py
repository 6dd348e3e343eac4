"""A reused DB-API cursor (prepared statements on PostgreSQL) for the audit log's hot paths: appends, proof reads.

Django's psycopg cursors bind client-side: every call sends a new query text that the server
parses and plans again, and Django turns psycopg's prepared statements off (`prepare_threshold`
None). `record()` and the proof reads run one small, fixed statement per call, where that
parse and plan is a large share of the cost (docs/benchmarks.md). `raw_cursor` gives a psycopg
server-binding cursor that prepares every statement it runs (a plain sqlite3 cursor on SQLite),
made once per connection; while queries are logged, callers use Django's own cursor instead.
`prepared_cursor` is the same under Django's cursor wrapper.
"""

from __future__ import annotations

import functools


@functools.cache
def _prepared_cursor_class():
    from django.db.backends.postgresql.base import ServerBindingCursor

    class PreparedCursor(ServerBindingCursor):
        """Server-side binding, and every statement prepared once per connection."""

        def execute(self, query, params=None, *, prepare=None, binary=None):
            return super().execute(query, params, prepare=True, binary=binary)

    return PreparedCursor


def raw_cursor(conn):
    """The DB-API cursor of `conn` for the audit log's hot statements, made once per connection, or
    None while queries are logged (DEBUG, a query capture): then use Django's own cursor, so the log
    shows them. Do not close it; use it for one statement and its results at a time.

    PostgreSQL: every statement it runs is prepared. SQLite: Django's cursor class (``?`` runs
    as is through the base class's ``execute``, ``%s`` is converted). The caller
    runs it inside `conn.wrap_database_errors` after `conn.validate_no_broken_transaction()`, as
    Django's cursor wrapper would; Django's execute wrappers are not run for these statements
    (making a cursor and passing through the wrapper per statement cost 15-30 µs of the ~200 µs of
    a durable single-row commit; docs/benchmarks.md).
    """
    if conn.queries_logged:
        return None
    conn.close_if_health_check_failed()
    conn.ensure_connection()
    conn.validate_thread_sharing()
    db = conn.connection
    cached = getattr(conn, "_hozen_audit_cursor", None)
    if cached is None or cached.connection is not db or (conn.vendor == "postgresql" and cached.closed):
        if conn.vendor == "postgresql":
            if db.prepare_threshold is None:
                # Django turns psycopg's prepared statements off (None). Back on, with a threshold
                # never reached: only statements executed with prepare=True (this cursor's) are
                # prepared; Django's own cursors bind client-side and never prepare anything.
                db.prepare_threshold = 2**31 - 1
            cached = _prepared_cursor_class()(db)
        else:
            cached = conn.create_cursor()  # Django's SQLite cursor class: takes %s as well as ?
        conn._hozen_audit_cursor = cached
    return cached


def prepared_cursor(conn):
    """`raw_cursor` under Django's cursor wrapper (error translation, query logging, execute
    wrappers), or Django's own cursor while queries are logged. Same rules: do not close it; one
    statement and its results at a time. (Also used by `hozen.handling.facts`.)"""
    cursor = raw_cursor(conn)
    return conn.cursor() if cursor is None else conn.make_cursor(cursor)
