"""`audit.record_many`: many entries by one actor in one write, exactly as `record` writes them (issue 4)."""

from __future__ import annotations

import datetime as dt
import json

import pytest
import time_machine
from django.db import transaction

from hozen import audit
from hozen.audit import integrator, merkle, tree
from hozen.audit.canonical import canonical_json
from hozen.audit.models import AuditEntry, AuditLeaf, AuditTreeHash
from hozen.audit.verify import verify_log
from hozen.core.actor import Actor

from .helpers import recorded

pytestmark = pytest.mark.django_db

COLUMNS = ["data", "time", "action", "actor_name", "organisation", "target_type", "target_id", "outcome",
           "subject_person_id"]
FROZEN = dt.datetime(2026, 4, 1, 9, 30, 15, 123456, tzinfo=dt.UTC)


def _items(tag: str) -> list[audit.Entry]:
    return [
        audit.Entry("test.imported", {"type": "designation.designation", "id": "7"}, details={"n": 1, "tag": tag}),
        audit.Entry("test.imported", "a name", outcome="failure", details={"when": dt.date(2026, 3, 31)}),
        audit.Entry("personal_data.read", {"type": "testapp.dossier", "id": "9"},
                    details={"subject_person_id": 42, "fields": ("notes", "address")}, purpose="investigation"),
        audit.Entry("test.denied", outcome="denied"),
        audit.Entry("test.unicode", details={"名前": "山田 太郎", "nested": {"b": [1, 2], "a": None}}),
    ]


def _rows(ids) -> list[tuple]:
    return list(AuditEntry.objects.filter(id__in=ids).order_by("id").values_list(*COLUMNS))


@pytest.fixture
def actor(people):
    account = people["esi_manager"]
    return Actor.for_account(account, account.active_assignments().first(), channel="web", request_id="req-1")


def test_record_many_writes_the_same_canonical_entries_and_columns_as_record_one_by_one(actor):
    with time_machine.travel(FROZEN, tick=False):
        with transaction.atomic():
            one_by_one = [recorded(actor, *item[:2], outcome=item.outcome, details=item.details,
                                       purpose=item.purpose).pk for item in _items("x")]
        before = AuditEntry.objects.order_by("-id").values_list("id", flat=True).first()
        with transaction.atomic():
            assert audit.record_many(actor, _items("x")) == 5
    batch = list(AuditEntry.objects.filter(id__gt=before).order_by("id").values_list("id", flat=True))
    assert len(batch) == 5
    assert _rows(one_by_one) == _rows(batch)
    for data, *_ in _rows(batch):
        assert canonical_json(json.loads(data)).decode() == data
    third = AuditEntry.objects.get(pk=batch[2])
    assert third.subject_person_id == 42 and json.loads(third.data)["purpose"] == "investigation"
    assert json.loads(third.data)["actor"]["account"] == actor.account.username


def test_record_many_entries_make_the_same_tree_as_record_one_by_one(actor):
    with time_machine.travel(FROZEN, tick=False):
        with transaction.atomic():
            for item in _items("t"):
                audit.record(actor, item.action, item.target, outcome=item.outcome, details=item.details,
                             purpose=item.purpose)
        first = integrator.integrate().size
        with transaction.atomic():
            audit.record_many(actor, _items("t"))
    size = integrator.integrate().size
    assert size == first + 5
    leaves = [bytes(h) for h in AuditTreeHash.objects.filter(
        index__in=[merkle.stored_hash_index(0, i) for i in range(first - 5, size)]).order_by("index")
        .values_list("hash", flat=True)]
    assert leaves[:5] == leaves[5:]  # the same leaf hashes, in the same order
    entries = AuditLeaf.objects.filter(index__lt=size).order_by("index").values_list("entry__data", flat=True)
    assert tree.root(size) == merkle.root_from_leaves([merkle.leaf_hash(d.encode()) for d in entries])
    assert verify_log().size == size


def test_record_many_rolls_back_with_the_callers_transaction(actor):
    count = AuditEntry.objects.count()
    with pytest.raises(RuntimeError, match="the caller fails"), transaction.atomic():
        audit.record_many(actor, _items("r"))
        assert AuditEntry.objects.count() == count + 5  # written inside the caller's transaction
        raise RuntimeError("the caller fails")
    assert AuditEntry.objects.count() == count


def test_record_many_commits_with_the_callers_other_writes(actor):
    from hozen.core.models import Organisation

    with transaction.atomic():
        org = Organisation.objects.create(code="TESTORG", kind=Organisation.objects.first().kind,
                                          name_ja="試験", name_en="Test")
        audit.record_many(actor, [audit.Entry("test.created", org)])
    entry = AuditEntry.objects.get(action="test.created")
    assert entry.target_type == "core.organisation" and entry.target_id == str(org.pk)
    assert Organisation.objects.filter(code="TESTORG").exists()


def test_record_many_checks_every_entry_before_writing_any(actor):
    count = AuditEntry.objects.count()
    bad = [*_items("b")[:2], audit.Entry("no-dot-action")]
    with pytest.raises(ValueError, match="noun.verb"):
        audit.record_many(actor, bad)
    with pytest.raises(ValueError, match="unknown outcome"):
        audit.record_many(actor, [audit.Entry("test.ok"), audit.Entry("test.bad", outcome="maybe")])
    with pytest.raises(TypeError, match="cannot reference"):
        audit.record_many(actor, [audit.Entry("test.ok"), audit.Entry("test.bad", object())])
    with pytest.raises(ValueError, match="needs an actor"):
        audit.record_many(None, [audit.Entry("test.ok")])
    assert AuditEntry.objects.count() == count


def test_record_many_without_a_transaction_is_one_transaction_of_its_own(actor):
    count = AuditEntry.objects.count()
    assert audit.record_many(actor, [("test.plain", None), ("test.plain", "x", "failure")]) == 2
    assert list(AuditEntry.objects.filter(action="test.plain").order_by("id").values_list("outcome", flat=True)) \
        == ["success", "failure"]
    assert AuditEntry.objects.count() == count + 2


def test_record_many_of_nothing_writes_nothing(actor):
    count = AuditEntry.objects.count()
    assert audit.record_many(actor, []) == 0
    assert AuditEntry.objects.count() == count


def test_record_returns_nothing_and_the_stored_entry_is_append_only(actor):
    assert audit.record(actor, "test.returned", {"type": "x.y", "id": "1"}, details={"subject_person_id": 5}) is None
    stored = AuditEntry.objects.get(action="test.returned")
    assert (stored.target_type, stored.target_id, stored.subject_person_id) == ("x.y", "1", 5)
    assert json.loads(stored.data)["details"] == {"subject_person_id": 5}
    with pytest.raises(RuntimeError, match="append-only"):
        stored.save()


@pytest.mark.parametrize("moment", [
    dt.datetime(2026, 4, 1, 9, 30, 15, 123456, tzinfo=dt.UTC),
    dt.datetime(2026, 4, 1, 9, 30, 15, tzinfo=dt.UTC),  # no fraction of a second
    dt.datetime(2026, 12, 31, 23, 59, 59, 999999, tzinfo=dt.UTC),
])
def test_the_time_column_is_stored_as_the_orm_stores_it(actor, moment):
    from django.db import connection

    with time_machine.travel(moment, tick=False):
        one = recorded(actor, "test.timed")
        audit.record_many(actor, [audit.Entry("test.timed_many")])
    many = AuditEntry.objects.get(action="test.timed_many")
    for entry in (one, many):
        assert AuditEntry.objects.filter(pk=entry.pk, time=moment).exists()  # the ORM's own binding
        assert AuditEntry.objects.get(pk=entry.pk).time == moment
    if connection.vendor == "sqlite":  # stored as text: exactly the text the ORM binds
        column = AuditEntry._meta.get_field("time")
        with connection.cursor() as cursor:
            for entry in (one, many):
                cursor.execute(f"SELECT CAST(time AS TEXT) FROM {AuditEntry._meta.db_table} WHERE id = %s",
                               [entry.pk])
                assert cursor.fetchone()[0] == column.get_db_prep_value(moment, connection)
