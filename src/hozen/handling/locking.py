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

from hozen.core import rows


def lock_designation(designation, *, related: tuple[str, ...] = ()):
    """The designation (an instance or an id) read afresh, share-locked until the caller's
    transaction ends (`rows.lock(..., shared=True)`). NotFound when it is gone."""
    from hozen.designation.models import Designation

    return rows.lock(Designation, designation, related=related, shared=True)
