"""`hozen audit verify` finds every kind of tampering done with raw SQL, and names the place (issue 4).

Each test builds a log of twelve entries with two stored checkpoints, tampers with the tables
as someone with database access could, and expects exit 1 with one line naming the leaf index,
storage index or checkpoint.
"""

from __future__ import annotations

import base64

import pytest

from hozen.audit import checkpoints, merkle
from hozen.audit.models import (
    AuditCheckpoint,
    AuditEntry,
    AuditIntegrator,
    AuditLeaf,
    AuditSigningKey,
    AuditTreeHash,
)
from hozen.audit.note import Checkpoint, Signer, generate_signer, sign_note
from hozen.audit.verify import VerificationFailed, verify_log
from hozen.cli import main

from .helpers import INDEX, sql, table, write_entries

pytestmark = pytest.mark.django_db


@pytest.fixture
def log():
    """Twelve entries with checkpoints at 5 and 12 leaves; returns the checkpoints."""
    write_entries(5)
    first = checkpoints.issue_checkpoint()
    write_entries(12 - first.size)
    second = checkpoints.issue_checkpoint()
    assert second.size == 12 and first.size == 5
    return first, second


def verify(capsys, *extra) -> tuple[int, str]:
    code = main(["audit", "verify", *extra])
    out = capsys.readouterr()
    if code != 0:
        assert out.err.count("\n") == 1, "one readable line"
    return code, out.err if code else out.out


def _entry_id(index: int) -> int:
    return AuditLeaf.objects.get(index=index).entry_id


def _data(entry_id: int) -> str:
    return sql(f"SELECT data FROM {table(AuditEntry)} WHERE id = %s", [entry_id])[0][0]


def test_verify_passes_on_an_untouched_log(log, capsys):
    code, out = verify(capsys)
    assert code == 0
    assert out.startswith("ok: 12 entries") and "2 stored checkpoints verified" in out


def test_verify_passes_on_an_empty_log_with_a_checkpoint_of_size_zero(capsys):
    assert not AuditEntry.objects.exists()
    assert checkpoints.issue_checkpoint().size == 0
    code, out = verify(capsys)
    assert code == 0 and out.startswith("ok: 0 entries")


def test_verify_names_the_index_of_a_modified_entry(log, capsys):
    entry_id = _entry_id(7)
    data = _data(entry_id)
    changed = data.replace('"n":', '"n": ', 1) if '"n":' in data else data[:-2] + "0}"
    sql(f"UPDATE {table(AuditEntry)} SET data = %s WHERE id = %s", [changed, entry_id])
    code, err = verify(capsys)
    assert code == 1
    assert f"leaf 7 (entry id {entry_id})" in err


def test_verify_names_the_index_of_an_entry_changed_by_one_byte(log, capsys):
    entry_id = _entry_id(2)
    data = _data(entry_id)
    position = data.index('"outcome":"') + len('"outcome":"')
    flipped = data[:position] + chr(ord(data[position]) ^ 1) + data[position + 1:]
    assert len(flipped.encode()) == len(data.encode()) and flipped != data
    sql(f"UPDATE {table(AuditEntry)} SET data = %s WHERE id = %s", [flipped, entry_id])
    code, err = verify(capsys)
    assert code == 1 and "leaf 2 " in err


def test_verify_names_the_index_of_a_deleted_entry_and_its_leaf(log, capsys):
    entry_id = _entry_id(4)
    sql(f"DELETE FROM {table(AuditLeaf)} WHERE {INDEX} = 4")
    sql(f"DELETE FROM {table(AuditEntry)} WHERE id = %s", [entry_id])
    code, err = verify(capsys)
    assert code == 1 and "leaf index 4 is missing" in err


def test_verify_names_the_leaf_whose_entry_row_was_deleted(log, capsys):
    entry_id = _entry_id(9)
    sql(f"DELETE FROM {table(AuditEntry)} WHERE id = %s", [entry_id])
    code, err = verify(capsys)
    assert code == 1 and f"leaf 9: its entry id {entry_id} is missing" in err
    sql(f"DELETE FROM {table(AuditLeaf)} WHERE {INDEX} = 9")  # SQLite checks foreign keys at teardown


def test_verify_names_a_checkpoint_beyond_a_log_whose_last_entry_was_deleted(log, capsys):
    _, second = log
    entry_id = _entry_id(11)
    sql(f"DELETE FROM {table(AuditLeaf)} WHERE {INDEX} = 11")
    sql(f"DELETE FROM {table(AuditEntry)} WHERE id = %s", [entry_id])
    code, err = verify(capsys)
    assert code == 1 and f"checkpoint #{second.pk} (size 12) is beyond the log's 11 leaves" in err


def test_verify_names_the_first_of_two_swapped_entries(log, capsys):
    a, b = _entry_id(3), _entry_id(8)
    data_a, data_b = _data(a), _data(b)
    sql(f"UPDATE {table(AuditEntry)} SET data = %s WHERE id = %s", [data_b, a])
    sql(f"UPDATE {table(AuditEntry)} SET data = %s WHERE id = %s", [data_a, b])
    code, err = verify(capsys)
    assert code == 1 and f"leaf 3 (entry id {a})" in err


def test_verify_names_the_first_of_two_swapped_leaves(log, capsys):
    a, b = _entry_id(1), _entry_id(6)
    sql(f"DELETE FROM {table(AuditLeaf)} WHERE {INDEX} IN (1, 6)")
    sql(f"INSERT INTO {table(AuditLeaf)} ({INDEX}, entry_id) VALUES (1, %s), (6, %s)", [b, a])
    code, err = verify(capsys)
    assert code == 1 and "leaf 1 " in err


def test_verify_names_the_checkpoint_of_a_truncated_and_reappended_log(log, capsys):
    first, _ = log
    sql(f"DELETE FROM {table(AuditTreeHash)}")
    sql(f"DELETE FROM {table(AuditLeaf)}")
    sql(f"DELETE FROM {table(AuditEntry)}")
    sql(f"DELETE FROM {table(AuditIntegrator)}")
    write_entries(12, action="test.rewritten")  # same size, different history
    code, err = verify(capsys)
    assert code == 1
    assert f"checkpoint #{first.pk} (size 5): root" in err and "does not match the log's recomputed root" in err


def test_verify_names_a_stored_hash_that_was_changed(log, capsys):
    index = merkle.stored_hash_index(2, 1)  # the subtree over leaves 4..7
    sql(f"UPDATE {table(AuditTreeHash)} SET hash = %s WHERE {INDEX} = %s", [b"\x00" * 32, index])
    code, err = verify(capsys)
    assert code == 1 and f"stored tree hash {index} (level 2, node 1) does not match" in err


def test_verify_names_a_stored_hash_that_was_deleted(log, capsys):
    index = merkle.stored_hash_index(1, 2)
    sql(f"DELETE FROM {table(AuditTreeHash)} WHERE {INDEX} = %s", [index])
    code, err = verify(capsys)
    assert code == 1 and f"stored tree hash {index} (level 1, node 2) is missing" in err


def test_verify_names_stored_hashes_added_beyond_the_tree(log, capsys):
    extra = merkle.stored_hash_count(12)
    sql(f"INSERT INTO {table(AuditTreeHash)} ({INDEX}, hash) VALUES (%s, %s)", [extra, b"\x01" * 32])
    code, err = verify(capsys)
    assert code == 1 and f"stored tree hash {extra}" in err and "beyond the tree of 12 leaves" in err


def test_verify_names_a_checkpoint_replaced_by_one_signed_by_another_key(log, capsys):
    first, _ = log
    impostor = Signer.from_key_text(generate_signer(first.key.name)[0])
    forged = sign_note(Checkpoint(first.key.name, first.size, b"\x07" * 32).format(), impostor)
    sql(f"UPDATE {table(AuditCheckpoint)} SET note = %s, root_hash = %s WHERE id = %s",
        [forged, b"\x07" * 32, first.pk])
    code, err = verify(capsys)
    assert code == 1
    assert f"checkpoint #{first.pk} (size 5): signature does not verify with the log's key" in err


def test_verify_names_a_checkpoint_whose_note_was_edited(log, capsys):
    _, second = log
    edited = second.note.replace("\n12\n", "\n11\n", 1)
    sql(f"UPDATE {table(AuditCheckpoint)} SET note = %s, size = 11 WHERE id = %s", [edited, second.pk])
    code, err = verify(capsys)
    assert code == 1
    assert f"checkpoint #{second.pk} (size 11): signature does not verify" in err


def test_verify_names_a_checkpoint_whose_columns_disagree_with_its_note(log, capsys):
    first, _ = log
    sql(f"UPDATE {table(AuditCheckpoint)} SET size = 4 WHERE id = %s", [first.pk])
    code, err = verify(capsys)
    assert code == 1 and f"checkpoint #{first.pk} (size 4)" in err and "differ from its signed note" in err


def test_verify_names_an_entry_inserted_below_the_watermark(log, capsys):
    top = AuditEntry.objects.order_by("-id").first()
    sql(f"INSERT INTO {table(AuditEntry)} (id, data, time, action, actor_name, organisation, target_type, "
        "target_id, outcome) SELECT %s, data, time, action, actor_name, organisation, target_type, target_id, "
        f"outcome FROM {table(AuditEntry)} WHERE id = %s", [top.id + 3, top.id])
    sql(f"UPDATE {table(AuditIntegrator)} SET watermark = %s", [top.id + 10])
    code, err = verify(capsys)
    assert code == 1 and f"entry id {top.id + 3} is not in the tree" in err
    assert main(["audit", "integrate", "--sweep"]) == 0
    assert verify(capsys)[0] == 0


def test_verify_with_a_saved_checkpoint_checks_the_live_log_still_contains_it(log, capsys, tmp_path):
    first, _ = log
    saved = tmp_path / "checkpoint.txt"
    saved.write_text(first.note)
    code, out = verify(capsys, "--checkpoint", str(saved))
    assert code == 0 and "the saved checkpoint at size 5 is consistent with the log" in out
    # Rewriting history before leaf 5 is caught against the copy kept outside the database,
    # even when the attacker also replaces every stored checkpoint.
    sql(f"DELETE FROM {table(AuditCheckpoint)}")
    entry_id = _entry_id(0)
    sql(f"UPDATE {table(AuditEntry)} SET data = %s WHERE id = %s", [_data(entry_id) + " ", entry_id])
    code, err = verify(capsys, "--checkpoint", str(saved))
    assert code == 1 and "leaf 0 " in err


def test_verify_refuses_a_saved_checkpoint_signed_by_another_key(log, capsys, tmp_path):
    impostor = Signer.from_key_text(generate_signer(log[0].key.name)[0])
    saved = tmp_path / "checkpoint.txt"
    saved.write_text(sign_note(Checkpoint(log[0].key.name, 5, b"\x01" * 32).format(), impostor))
    code, err = verify(capsys, "--checkpoint", str(saved))
    assert code == 1 and "the saved checkpoint: signature does not verify" in err


def test_verify_names_a_saved_checkpoint_beyond_a_truncated_log(log, capsys, tmp_path):
    _, second = log
    saved = tmp_path / "checkpoint.txt"
    saved.write_text(second.note)
    sql(f"DELETE FROM {table(AuditCheckpoint)}")
    for index in (11, 10):
        entry_id = _entry_id(index)
        sql(f"DELETE FROM {table(AuditLeaf)} WHERE {INDEX} = %s", [index])
        sql(f"DELETE FROM {table(AuditEntry)} WHERE id = %s", [entry_id])
    code, err = verify(capsys, "--checkpoint", str(saved))
    assert code == 1 and "the saved checkpoint (size 12) is beyond the log's 10 leaves" in err


def test_verify_with_a_pinned_key_rejects_checkpoints_resigned_with_a_substituted_key(log, capsys):
    pinned = checkpoints.verifier_key_text()
    # An attacker with database access swaps in their own key and re-signs every checkpoint...
    skey, vkey = generate_signer(log[0].key.name)
    impostor = Signer.from_key_text(skey)
    public = base64.b64decode(vkey.split("+", 2)[2])[1:]
    sql(f"UPDATE {table(AuditSigningKey)} SET public_key = %s", [public])
    for cp in AuditCheckpoint.objects.all():
        sql(f"UPDATE {table(AuditCheckpoint)} SET note = %s WHERE id = %s",
            [sign_note(Checkpoint(cp.key.name, cp.size, bytes(cp.root_hash)).format(), impostor), cp.pk])
    code, err = verify(capsys)  # the log's own sealed seed does not match the substituted public key,
    assert code == 1 and "the stored public key is not the one its sealed seed belongs to" in err
    code, err = verify(capsys, "--key", pinned)  # and the key published earlier does not verify them.
    assert code == 1 and "signature does not verify" in err


def test_verify_without_the_kek_needs_the_published_key_to_catch_a_substituted_key(log, capsys, settings,
                                                                                   monkeypatch, tmp_path):
    pinned = checkpoints.verifier_key_text()
    skey, vkey = generate_signer(log[0].key.name)
    impostor = Signer.from_key_text(skey)
    sql(f"UPDATE {table(AuditSigningKey)} SET public_key = %s", [base64.b64decode(vkey.split("+", 2)[2])[1:]])
    for cp in AuditCheckpoint.objects.all():
        sql(f"UPDATE {table(AuditCheckpoint)} SET note = %s WHERE id = %s",
            [sign_note(Checkpoint(cp.key.name, cp.size, bytes(cp.root_hash)).format(), impostor), cp.pk])
    # An outside party with a copy of the database but not the KEK (production settings: no keyring is made):
    settings.PRODUCTION = True
    monkeypatch.delenv("HOZEN_KEK", raising=False)
    monkeypatch.setenv("HOZEN_KEK_FILE", str(tmp_path / "no-kek.json"))
    assert verify(capsys)[0] == 0  # the database alone cannot tell,
    code, err = verify(capsys, "--key", pinned)  # but the key published earlier can.
    assert code == 1 and "signature does not verify" in err


def test_verify_names_a_sealed_signing_seed_that_was_altered(log, capsys):
    sql(f"UPDATE {table(AuditSigningKey)} SET wrapped_seed = %s", [b"\x00" * 60])
    code, err = verify(capsys)
    assert code == 1 and "audit signing key hozen.local/audit: its sealed seed does not open" in err


def test_verify_function_raises_with_the_same_message(log):
    sql(f"UPDATE {table(AuditEntry)} SET data = %s WHERE id = %s", ['{"v":1}', _entry_id(5)])
    with pytest.raises(VerificationFailed, match=r"^leaf 5 \(entry id \d+\)"):
        verify_log()


def test_verify_refuses_a_saved_checkpoint_when_the_log_has_no_signing_key(capsys, tmp_path):
    skey, _ = generate_signer("hozen.local/audit")
    saved = tmp_path / "checkpoint.txt"
    saved.write_text(sign_note(Checkpoint("hozen.local/audit", 0, merkle.EMPTY_ROOT).format(),
                               Signer.from_key_text(skey)))
    code, err = verify(capsys, "--checkpoint", str(saved))
    assert code == 1 and "this log has no signing key yet" in err
    assert not AuditSigningKey.objects.exists()  # verifying never creates a key


def test_verify_names_a_missing_checkpoint_file(capsys, tmp_path):
    code, err = verify(capsys, "--checkpoint", str(tmp_path / "nope.txt"))
    assert code == 1 and "cannot read checkpoint file" in err


def test_verify_names_a_stored_hash_cut_short(log, capsys):
    index = merkle.stored_hash_index(0, 6)
    sql(f"UPDATE {table(AuditTreeHash)} SET hash = %s WHERE {INDEX} = %s", [b"\x00" * 31, index])
    code, err = verify(capsys)
    assert code == 1 and "leaf 6 (entry id" in err and "does not hash to the leaf hash stored" in err


def test_verify_reads_entries_whose_ids_are_far_apart_and_still_names_a_changed_one(log, capsys):
    """Leaves whose entry ids are spread wide (e.g. an old straggler) are read by id, not by range."""
    top = AuditEntry.objects.order_by("-id").first()
    far = top.id + 100_000
    sql(f"INSERT INTO {table(AuditEntry)} (id, data, time, action, actor_name, organisation, target_type, "
        "target_id, outcome) SELECT %s, data, time, action, actor_name, organisation, target_type, target_id, "
        f"outcome FROM {table(AuditEntry)} WHERE id = %s", [far, top.id])
    write_entries(2)
    assert checkpoints.issue_checkpoint().size == 15
    code, out = verify(capsys)
    assert code == 0 and out.startswith("ok: 15 entries")
    index = AuditLeaf.objects.get(entry_id=far).index
    sql(f"UPDATE {table(AuditEntry)} SET data = %s WHERE id = %s", [_data(far) + " ", far])
    code, err = verify(capsys)
    assert code == 1 and f"leaf {index} (entry id {far})" in err


# --- uniqueness held by the database itself (issue 11), on SQLite and PostgreSQL ------------------------

def _unique_columns(model) -> set[tuple[str, ...]]:
    from django.db import connection

    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, model._meta.db_table)
    return {tuple(c["columns"]) for c in constraints.values() if c["unique"] or c["primary_key"]}


def test_the_database_holds_one_leaf_index_per_entry_and_one_entry_per_leaf_index():
    assert {("index",), ("entry_id",)} <= _unique_columns(AuditLeaf)
    assert ("index",) in _unique_columns(AuditTreeHash)


def test_a_second_leaf_for_an_entry_or_a_second_entry_at_a_leaf_index_is_refused_by_the_database(log):
    from django.db import IntegrityError, transaction

    a, b = _entry_id(1), _entry_id(2)
    with pytest.raises(IntegrityError), transaction.atomic():
        sql(f"INSERT INTO {table(AuditLeaf)} ({INDEX}, entry_id) VALUES (%s, %s)", [10_000, a])
    with pytest.raises(IntegrityError), transaction.atomic():
        sql(f"INSERT INTO {table(AuditLeaf)} ({INDEX}, entry_id) VALUES (1, %s)", [b])
    assert AuditLeaf.objects.get(index=1).entry_id == a
