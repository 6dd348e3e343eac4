"""The stored Merkle tree: the integrator, O(log n) appends and proofs, stragglers (issue 4)."""

from __future__ import annotations

import random
import threading
import time

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from hozen import audit
from hozen.audit import integrator, merkle, tree
from hozen.audit.models import AuditEntry, AuditIntegrator, AuditLeaf, AuditTreeHash
from hozen.core.actor import Actor

from .helpers import INDEX, recorded, sql, table, write_entries
from .test_merkle import independent_verify_consistency, independent_verify_inclusion, ref_mth

pytestmark = pytest.mark.django_db

on_postgresql = pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL concurrency")


def _reference_root(size: int) -> bytes:
    """The root by RFC 9162's recursive definition over the entries, in leaf order."""
    rows = AuditLeaf.objects.filter(index__lt=size).order_by("index").values_list("entry__data", flat=True)
    return merkle.root_from_leaves([merkle.leaf_hash(d.encode()) for d in rows])


def test_integrator_gives_entries_consecutive_leaf_indexes_in_id_order():
    written = write_entries(12)
    result = integrator.integrate(batch_size=5)
    leaves = list(AuditLeaf.objects.order_by("index").values_list("index", "entry_id"))
    assert [i for i, _ in leaves] == list(range(len(leaves)))
    entry_ids = [e for _, e in leaves]
    assert entry_ids == sorted(entry_ids)
    assert {e.id for e in written} <= set(entry_ids)
    assert result.size == len(leaves) == AuditEntry.objects.count()


def test_stored_tree_equals_the_rfc_9162_tree_of_the_entries():
    write_entries(21)
    size = integrator.integrate(batch_size=4).size
    for n in (1, 2, 3, 7, 8, 13, size):
        assert tree.root(n) == _reference_root(n)
    assert AuditTreeHash.objects.count() == merkle.stored_hash_count(size)


def test_integrator_is_idempotent_when_run_twice():
    write_entries(5)
    first = integrator.integrate()
    second = integrator.integrate()
    assert second.appended == 0 and second.size == first.size
    assert AuditLeaf.objects.count() == first.size
    assert AuditTreeHash.objects.count() == merkle.stored_hash_count(first.size)


def test_entries_written_after_an_integration_are_appended_after_the_earlier_ones():
    write_entries(3)
    before = integrator.integrate().size
    later = write_entries(4)
    after = integrator.integrate()
    assert after.appended == 4 and after.size == before + 4
    assert list(AuditLeaf.objects.filter(index__gte=before).order_by("index").values_list("entry_id", flat=True)) \
        == [e.id for e in later]


@pytest.mark.parametrize("size", [1, 2, 63, 64, 100, 127, 255])
def test_append_reads_at_most_log_n_stored_hashes_in_one_read(monkeypatch, size):
    write_entries(size - AuditEntry.objects.count() if AuditEntry.objects.count() < size else 0)
    integrator.integrate()
    n = tree.tree_size()
    calls: list[list[int]] = []
    real = tree.read_hashes

    def counting(indexes):
        calls.append(list(indexes))
        return real(indexes)

    monkeypatch.setattr(tree, "read_hashes", counting)
    write_entries(1)
    integrator.integrate()
    assert len(calls) == 1  # the frontier of the tree, in one query
    assert len(calls[0]) == n.bit_count() <= n.bit_length()
    assert tree.tree_size() == n + 1


def test_append_costs_the_same_number_of_queries_at_any_size():
    def queries_for_one_append() -> int:
        write_entries(1)
        with CaptureQueriesContext(connection) as ctx:
            integrator.integrate()
        return len(ctx.captured_queries)

    write_entries(3)
    integrator.integrate()
    small = queries_for_one_append()
    write_entries(200)
    integrator.integrate()
    assert queries_for_one_append() == small


def test_append_writes_one_leaf_and_its_completed_subtrees_only():
    write_entries(7 - min(7, AuditEntry.objects.count()))
    size = integrator.integrate().size
    hashes_before = AuditTreeHash.objects.count()
    write_entries(1)
    integrator.integrate()
    completed = ((size + 1) & -(size + 1)).bit_length() - 1  # trailing 1 bits of size
    assert AuditTreeHash.objects.count() - hashes_before == 1 + completed


def _stored_leaf_hashes(size: int) -> list[bytes]:
    """Leaf hashes recomputed from the stored entries' bytes, in log order."""
    rows = AuditLeaf.objects.select_related("entry").filter(index__lt=size).order_by("index")
    return [merkle.leaf_hash(leaf.entry.data.encode()) for leaf in rows]


def test_inclusion_proofs_from_the_database_verify_for_random_indexes():
    write_entries(40)
    size = integrator.integrate().size
    leaves = _stored_leaf_hashes(size)
    rng = random.Random(4)
    for _ in range(30):
        tree_size = rng.randint(1, size)
        index = rng.randrange(tree_size)
        proof = tree.inclusion_proof(index, tree_size)
        data = AuditLeaf.objects.select_related("entry").get(index=index).entry.data
        assert merkle.verify_inclusion(merkle.leaf_hash(data.encode()), index, tree_size, proof,
                                       tree.root(tree_size))
        # ... and with the verifier written in the tests from RFC 9162's algorithm, against the
        # root the RFC's recursive definition gives over the stored entries.
        assert tree.root(tree_size) == ref_mth(leaves[:tree_size])
        assert independent_verify_inclusion(leaves[index], index, tree_size, proof, ref_mth(leaves[:tree_size]))
        assert not merkle.verify_inclusion(merkle.leaf_hash(b"forged"), index, tree_size, proof,
                                           tree.root(tree_size))


def test_consistency_proofs_from_the_database_verify_for_random_sizes():
    write_entries(40)
    size = integrator.integrate().size
    leaves = _stored_leaf_hashes(size)
    rng = random.Random(9)
    for _ in range(30):
        second = rng.randint(1, size)
        first = rng.randint(0, second)
        proof = tree.consistency_proof(first, second)
        assert merkle.verify_consistency(first, second, tree.root(first), tree.root(second), proof)
        if 0 < first < second:
            assert independent_verify_consistency(first, second, ref_mth(leaves[:first]), ref_mth(leaves[:second]),
                                                  proof)


def test_a_proof_is_one_query_with_an_in_list():
    write_entries(50)
    size = integrator.integrate().size
    with CaptureQueriesContext(connection) as ctx:
        tree.inclusion_proof(17, size)
    sql_text = ctx.captured_queries[0]["sql"]
    assert len(ctx.captured_queries) == 1 and (" IN (" in sql_text or "= ANY(" in sql_text)
    with CaptureQueriesContext(connection) as ctx:
        tree.consistency_proof(13, size)
    assert len(ctx.captured_queries) == 1


@pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite has one writer: no stragglers")
def test_watermark_reaches_the_newest_entry_at_once_on_sqlite():
    written = write_entries(3)
    assert integrator.integrate().watermark == written[-1].id


def test_integrator_refuses_to_append_to_an_inconsistent_store():
    write_entries(4)
    size = integrator.integrate().size
    sql(f"DELETE FROM {table(AuditTreeHash)} WHERE {INDEX} = %s", [merkle.stored_hash_count(size) - 1])
    write_entries(1)
    with pytest.raises(tree.TreeStorageError, match="stored hashes"):
        integrator.integrate()


def test_sweep_integrates_an_entry_the_watermark_has_passed():
    write_entries(2)
    integrator.integrate()
    top = AuditEntry.objects.order_by("-id").first()
    sql(f"INSERT INTO {table(AuditEntry)} (id, data, time, action, actor_name, organisation, target_type, "
        "target_id, outcome) SELECT %s, data, time, action, actor_name, organisation, target_type, target_id, "
        f"outcome FROM {table(AuditEntry)} WHERE id = %s", [top.id + 5, top.id])
    sql(f"UPDATE {table(AuditIntegrator)} SET watermark = %s", [top.id + 10])
    assert integrator.integrate().appended == 0  # above the window's floor only
    result = integrator.integrate(sweep=True)
    assert result.appended == 1
    assert AuditLeaf.objects.get(index=result.size - 1).entry_id == top.id + 5


def test_integrator_refuses_to_run_inside_another_transaction():
    write_entries(1)
    with transaction.atomic(), pytest.raises(RuntimeError):
        integrator.integrate()


# --- many writers, stragglers (PostgreSQL); writers and integrators at once (both databases) ---------


def _in_thread(fn):
    def run(*args):
        try:
            fn(*args)
        finally:
            connection.close()

    return run


@on_postgresql
@pytest.mark.django_db(transaction=True)
def test_straggler_committed_after_a_higher_id_is_integrated_and_the_watermark_waits_for_it(settings):
    settings.HOZEN_AUDIT_STRAGGLER_MARGIN_SECONDS = 0
    actor = Actor.operator("tests")
    inserted, release, held = threading.Event(), threading.Event(), {}

    @_in_thread
    def straggler():
        with transaction.atomic():
            held["id"] = recorded(actor, "test.straggler").id
            inserted.set()
            release.wait(20)

    thread = threading.Thread(target=straggler)
    thread.start()
    try:
        assert inserted.wait(20)
        later = recorded(actor, "test.later")
        assert later.id > held["id"]
        for _ in range(4):  # observe, stamp, and runs that must not advance past the open transaction
            integrator.integrate()
        state = AuditIntegrator.objects.get()
        assert state.candidate_id == later.id and state.candidate_xmax is not None  # observed and stamped
        assert state.watermark < held["id"]  # but not advanced while the straggler's transaction is open
        assert AuditLeaf.objects.filter(entry_id=later.id).exists()
        assert not AuditLeaf.objects.filter(entry_id=held["id"]).exists()
    finally:
        release.set()
        thread.join()
    integrator.integrate()
    straggler_leaf = AuditLeaf.objects.get(entry_id=held["id"])
    assert straggler_leaf.index > AuditLeaf.objects.get(entry_id=later.id).index
    for _ in range(3):
        integrator.integrate()
    state = AuditIntegrator.objects.get()
    if state.watermark < later.id:
        # The watermark waits for every transaction on the *server* older than its stamp, not only
        # ours: another client's open transaction (another test run, a benchmark) legitimately holds
        # it back. Then it must still be behind, never past, an id it cannot prove committed.
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint")
            xmin = cursor.fetchone()[0]
        assert state.candidate_xmax is None or xmin < int(state.candidate_xmax), (
            "no older transaction is open, yet the watermark did not advance")
    else:
        assert state.watermark >= later.id


@pytest.mark.django_db(transaction=True)
def test_concurrent_writers_and_integrators_sequence_every_entry_exactly_once(settings):
    """On PostgreSQL the integrators take turns by the advisory lock while writers insert freely; on
    SQLite (a file database, several connections) every transaction holds the write lock from its
    start (BEGIN IMMEDIATE), so an integrator's batch and a writer's entry never interleave."""
    from hozen.audit.verify import verify_log

    settings.HOZEN_AUDIT_STRAGGLER_MARGIN_SECONDS = 0
    actor = Actor.operator("tests")
    stop = threading.Event()
    errors: list[BaseException] = []

    @_in_thread
    def writer(seed):
        rng = random.Random(seed)
        try:
            for i in range(25):
                with transaction.atomic():
                    audit.record(actor, "test.concurrent", details={"writer": seed, "i": i})
                    time.sleep(rng.random() * 0.004)  # hold the id uncommitted for a moment
        except BaseException as exc:  # noqa: BLE001 - reported by the main thread
            errors.append(exc)

    @_in_thread
    def integrating():
        try:
            while not stop.is_set():
                integrator.integrate(batch_size=7)
                # A breath between batches, as the periodic job has: on SQLite a loop re-taking the
                # write lock at once could starve the writers past the busy timeout on a loaded machine.
                time.sleep(0.002)
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    writers = [threading.Thread(target=writer, args=(s,)) for s in range(4)]
    integrators = [threading.Thread(target=integrating) for _ in range(2)]
    for t in writers + integrators:
        t.start()
    for t in writers:
        t.join()
    stop.set()
    for t in integrators:
        t.join()
    assert errors == []
    integrator.integrate()
    total = AuditEntry.objects.count()
    assert AuditLeaf.objects.count() == total == tree.tree_size()
    assert AuditLeaf.objects.values("entry_id").distinct().count() == total
    assert verify_log().size == total


# --- proofs for the API: the tree size checked in the proof's own query ----------------------------


def test_api_proofs_need_one_query_and_no_tree_size_query():
    from hozen.audit import queries

    write_entries(30)
    size = integrator.integrate().size
    actor = Actor.operator("tests")
    with CaptureQueriesContext(connection) as ctx:
        proof = queries.inclusion_proof_for(actor=actor, index=3, tree_size=size)
    assert proof == tree.inclusion_proof(3, size)
    assert len(ctx.captured_queries) == 1 and "max(" not in ctx.captured_queries[0]["sql"].lower()
    with CaptureQueriesContext(connection) as ctx:
        proof = queries.consistency_proof_for(actor=actor, first=7, second=size)
    assert proof == tree.consistency_proof(7, size) and len(ctx.captured_queries) == 1


def test_api_proofs_integrate_entries_written_a_moment_ago():
    from hozen.audit import queries

    write_entries(5)
    size = integrator.integrate().size
    write_entries(3)  # committed, not yet leaves
    actor = Actor.operator("tests")
    proof = queries.inclusion_proof_for(actor=actor, index=size + 2, tree_size=size + 3)
    assert tree.tree_size() == size + 3
    data = AuditLeaf.objects.select_related("entry").get(index=size + 2).entry.data
    assert merkle.verify_inclusion(merkle.leaf_hash(data.encode()), size + 2, size + 3, proof, tree.root(size + 3))


@pytest.mark.parametrize("beyond", [1, 1000, 2**70])
def test_api_proofs_beyond_the_log_name_the_size_parameter(beyond):
    from hozen.audit import queries
    from hozen.core.errors import RuleViolation

    write_entries(4)
    size = integrator.integrate().size
    actor = Actor.operator("tests")
    with pytest.raises(RuleViolation) as exc:
        queries.inclusion_proof_for(actor=actor, index=0, tree_size=size + beyond)
    assert exc.value.field == "tree_size"
    with pytest.raises(RuleViolation) as exc:
        queries.consistency_proof_for(actor=actor, first=1, second=size + beyond)
    assert exc.value.field == "second"


def test_api_proof_with_the_last_leaf_hash_missing_reports_a_damaged_store():
    from hozen.audit import queries

    write_entries(6)
    size = integrator.integrate().size
    sql(f"DELETE FROM {table(AuditTreeHash)} WHERE {INDEX} = %s", [merkle.stored_hash_index(0, size - 1)])
    with pytest.raises(tree.TreeStorageError, match="is missing"):
        queries.inclusion_proof_for(actor=Actor.operator("tests"), index=0, tree_size=size)


def test_verify_reports_progress_forward_up_to_the_log_size(db):
    from hozen.audit.verify import verify_log

    write_entries(30)
    integrator.integrate()
    seen: list[tuple[int, int]] = []
    verify_log(progress=lambda done, total: seen.append((done, total)))
    assert seen and seen[-1] == (30, 30)
    assert [d for d, _ in seen] == sorted(d for d, _ in seen)


def test_cli_verify_with_progress_draws_a_bar_on_stderr(db, capsys):
    from hozen.cli import main

    write_entries(5)
    integrator.integrate()
    assert main(["audit", "verify", "--progress"]) == 0
    assert "verif" in capsys.readouterr().err.lower()
