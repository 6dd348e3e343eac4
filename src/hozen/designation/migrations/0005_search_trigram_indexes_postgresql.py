"""PostgreSQL only: trigram GIN indexes for the designation search (benchmarks: the search's
COUNT(*) fell from ~90 ms to ~13 ms at 100,000 designations).

`icontains` is `UPPER(col::text) LIKE UPPER('%…%')` on PostgreSQL, which a B-tree cannot answer;
a GIN index over the same expression with `gin_trgm_ops` can (three characters or more). The
pg_trgm extension ships with PostgreSQL's contrib package and is "trusted" since PostgreSQL 13,
so the database owner may create it without superuser rights. If it cannot be created (contrib
not installed, no privilege), the migration warns and carries on: the search still works, as a
scan. Running `hozen migrate` again does not retry; `CREATE EXTENSION pg_trgm` and the two
statements of INDEXES, run by hand, add them later (docs/benchmarks.md).
"""

import logging

from django.db import DatabaseError, migrations, transaction

log = logging.getLogger("hozen.designation")

INDEXES = (
    "CREATE INDEX IF NOT EXISTS designation_title_trgm ON designation_designation "
    "USING gin (UPPER(title::text) gin_trgm_ops)",
    "CREATE INDEX IF NOT EXISTS designation_reference_trgm ON designation_designation "
    "USING gin (UPPER(reference::text) gin_trgm_ops)",
)


def create_trigram_indexes(apps, schema_editor):
    connection = schema_editor.connection
    if connection.vendor != "postgresql":
        return  # SQLite: the search reads the organ's own rows only (see the scope), no index needed
    try:
        with transaction.atomic(using=connection.alias), connection.cursor() as cur:  # a savepoint
            cur.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    except DatabaseError as exc:
        log.warning("pg_trgm is not available (%s): the designation search runs without its trigram "
                    "indexes (a scan); install PostgreSQL's contrib package and create them later", exc)
        return
    with connection.cursor() as cur:
        for sql in INDEXES:
            cur.execute(sql)


def drop_trigram_indexes(apps, schema_editor):
    connection = schema_editor.connection
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cur:
        cur.execute("DROP INDEX IF EXISTS designation_title_trgm")
        cur.execute("DROP INDEX IF EXISTS designation_reference_trgm")


class Migration(migrations.Migration):

    dependencies = [
        ("designation", "0004_holding_organ_holds_its_drafts"),
    ]

    operations = [
        migrations.RunPython(create_trigram_indexes, drop_trigram_indexes),
    ]
