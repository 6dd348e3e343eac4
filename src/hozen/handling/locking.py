"""Locking the designation a write depends on (ARCHITECTURE rule 8, lock what you check).

Adding a handler, filing a document or a new version, issuing a copy, recording a medium and
handing a copy on all depend on the designation being in force (or, for copies, on its state for
the marking). Each locks the designation row first, inside its own transaction, and decides on the
row as locked; a cancellation, expiry or move to SDS locks the same row for update
(`hozen.designation.services`), so the two are applied one after the other, never interleaved:
either the dependent write commits first, or it waits and then sees the designation ended.

The lock is a *shared* one (PostgreSQL ``SELECT … FOR SHARE``): dependent writes do not wait for
each other (two uploads or a hundred downloads under one designation run side by side; an upload
may hold it while it encrypts a large file), but a change of the designation itself waits for all
of them, and they wait for it. The designation row is always locked before the writer's own rows,
the order the designation services use too, so no two writers wait for each other in a circle.
On SQLite the transaction already holds the database's write lock from its first statement
(``BEGIN IMMEDIATE``), so there is nothing more to take.
"""

from __future__ import annotations

from django.db import connections, router

from hozen.core.errors import NotFound


def lock_designation(designation, *, related: tuple[str, ...] = ()):
    """The designation (an instance or an id) read afresh, share-locked until the caller's
    transaction ends. NotFound when it is gone."""
    from hozen.designation.models import Designation

    pk = designation.pk if isinstance(designation, Designation) else designation
    try:
        pk = int(pk)
    except (TypeError, ValueError, OverflowError):
        raise NotFound from None
    if not 0 < pk < 2**63:
        raise NotFound
    alias = router.db_for_write(Designation)
    connection = connections[alias]
    if not connection.in_atomic_block:
        raise RuntimeError("locking a designation outside a transaction holds nothing: call it inside the "
                           "service's transaction.atomic block")
    if connection.vendor == "postgresql":
        table = connection.ops.quote_name(Designation._meta.db_table)
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT 1 FROM {table} WHERE id = %s FOR SHARE", [pk])
            if cursor.fetchone() is None:
                raise NotFound
    row = Designation.objects.using(alias).select_related(*related).filter(pk=pk).first()
    if row is None:
        raise NotFound
    return row
