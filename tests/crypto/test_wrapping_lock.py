"""The wrapping lock between new data keys and a KEK rotation (issue 11; crypto.keys.hold_wrapping_lock).

A key wrapped under the current KEK version just before a rotation makes a new version current must
be stored before the rotation's passes begin, or it would stay under the old version (and, after
--retire-old, be unreadable). The race itself runs in tests/concurrency/test_core_races.py on both
databases; these check the lock is taken where a key is wrapped, and held to the end of the
transaction that stores it.
"""

from __future__ import annotations

import pytest
from django.db import connection, transaction

from hozen.crypto import keys

pytestmark = pytest.mark.django_db

on_postgresql = pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL advisory lock")


def _wrapping_locks_held() -> int:
    high, low = keys.WRAP_LOCK_KEY >> 32, keys.WRAP_LOCK_KEY & 0xFFFFFFFF
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND mode = 'ShareLock' "
                       "AND classid = %s AND objid = %s AND pid = pg_backend_pid() AND granted", [high, low])
        return cursor.fetchone()[0]


@on_postgresql
def test_creating_a_data_key_takes_the_wrapping_lock_for_the_rest_of_its_transaction(make_dossier):
    assert _wrapping_locks_held() == 0
    make_dossier()
    assert _wrapping_locks_held() == 1  # still held: the test's transaction has not ended


@on_postgresql
@pytest.mark.django_db(transaction=True)
def test_the_wrapping_lock_outside_a_transaction_is_refused_as_holding_nothing():
    assert not connection.in_atomic_block
    with pytest.raises(RuntimeError, match="outside a transaction holds nothing"):
        keys.hold_wrapping_lock()
    with transaction.atomic():
        keys.hold_wrapping_lock()
        assert _wrapping_locks_held() == 1
    assert _wrapping_locks_held() == 0  # released with the transaction
