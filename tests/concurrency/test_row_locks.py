"""The row lock itself (`hozen.core.rows.lock`) against foreign-key checks, in the interleaving that
deadlocked (PostgreSQL; SQLite runs one write transaction at a time, so it cannot interleave).

Transaction A locks an organisation (as an approval does for the reference number) and then writes
a row pointing at an account; transaction B locks that account (as every account service does) and
then inserts a row pointing at the organisation. Each foreign-key check takes FOR KEY SHARE on the
row it points at: with FOR UPDATE locks each waited for the other (deadlock detected, a 500); with
FOR NO KEY UPDATE, what `rows.lock` takes, key checks never wait and both commit."""

from __future__ import annotations

import threading

import pytest
from django.db import connection, transaction

from hozen.core import rows
from hozen.core.models import Account, Organisation, RoleAssignment
from tests import factories

from .harness import race

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.mark.skipif("connection.vendor != 'postgresql'")
def test_a_row_lock_never_waits_for_or_blocks_a_foreign_key_check():
    orgs = factories.organisations()
    head = factories.account(role="organ_head", organisation=orgs["METI"])
    draft_owner = factories.account(role="esi_manager", organisation=orgs["METI"])
    a_locked, b_locked = threading.Event(), threading.Event()

    def a():
        with transaction.atomic():
            rows.lock(Organisation, orgs["METI"].pk)
            a_locked.set()
            assert b_locked.wait(10)
            # A row pointing at the account B holds: its key check must not wait for B.
            RoleAssignment.objects.create(account_id=head.pk, role="adjudicator", organisation_id=orgs["MIC"].pk)
        return "a"

    def b():
        with transaction.atomic():
            rows.lock(Account, head.pk)
            b_locked.set()
            assert a_locked.wait(10)
            # A row pointing at the organisation A holds.
            RoleAssignment.objects.create(account_id=draft_owner.pk, role="adjudicator",
                                          organisation_id=orgs["METI"].pk)
        return "b"

    outcomes = race(a, b, timeout=30)
    assert [o.error for o in outcomes] == [None, None], [o.error for o in outcomes]
    assert [o.value for o in outcomes] == ["a", "b"]


def test_a_lock_outside_a_transaction_is_refused():
    factories.organisations()
    with pytest.raises(RuntimeError, match="outside a transaction"):
        rows.lock(Organisation, Organisation.objects.first().pk)
    assert connection.in_atomic_block is False
