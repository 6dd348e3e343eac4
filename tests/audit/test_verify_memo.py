"""`hozen audit verify` checks each checkpoint signature once (issue 4: the cost of signature checks
must not grow with every checkpoint ever issued), without letting any tampering through."""

from __future__ import annotations

import pytest

from hozen.audit import checkpoints, note, verify
from hozen.audit.models import AuditCheckpoint, AuditSignatureMemo
from hozen.audit.note import Checkpoint, Signer, generate_signer, sign_note
from hozen.audit.verify import VerificationFailed, verify_log

from .helpers import sql, table, write_entries

pytestmark = pytest.mark.django_db


@pytest.fixture
def signature_checks(monkeypatch):
    """Counts Ed25519 verifications of checkpoint notes."""
    calls = []
    real = note.Verifier.verify

    def counting(self, message, signature):
        calls.append(message)
        return real(self, message, signature)

    monkeypatch.setattr(note.Verifier, "verify", counting)
    return calls


@pytest.fixture
def three_checkpoints():
    made = []
    for n in (3, 4, 5):
        write_entries(n)
        made.append(checkpoints.issue_checkpoint())
    return made


def test_a_passed_verify_is_remembered_and_the_next_checks_only_new_signatures(three_checkpoints, signature_checks):
    verify_log()
    assert len(signature_checks) == 3
    memo = AuditSignatureMemo.objects.get()
    assert memo.checkpoint_id == three_checkpoints[-1].pk
    signature_checks.clear()
    assert verify_log().checkpoints == 3
    assert signature_checks == []
    write_entries(2)
    checkpoints.issue_checkpoint()
    signature_checks.clear()
    assert verify_log().checkpoints == 4
    assert len(signature_checks) == 1  # the new checkpoint only


def test_a_remembered_checkpoint_replaced_by_another_key_is_still_caught(three_checkpoints):
    verify_log()
    first = three_checkpoints[0]
    impostor = Signer.from_key_text(generate_signer(first.key.name)[0])
    forged = sign_note(Checkpoint(first.key.name, first.size, bytes(first.root_hash)).format(), impostor)
    sql(f"UPDATE {table(AuditCheckpoint)} SET note = %s WHERE id = %s", [forged, first.pk])
    with pytest.raises(VerificationFailed, match=rf"^checkpoint #{first.pk} \(size 3\): signature does not verify"):
        verify_log()


def test_remembered_checkpoint_columns_changed_are_still_caught(three_checkpoints):
    verify_log()
    second = three_checkpoints[1]
    sql(f"UPDATE {table(AuditCheckpoint)} SET size = 6 WHERE id = %s", [second.pk])
    with pytest.raises(VerificationFailed, match="differ from its signed note"):
        verify_log()


def test_a_remembered_checkpoint_deleted_makes_every_signature_be_checked_again(three_checkpoints,
                                                                                 signature_checks):
    verify_log()
    sql(f"DELETE FROM {table(AuditCheckpoint)} WHERE id = %s", [three_checkpoints[0].pk])
    signature_checks.clear()
    assert verify_log().checkpoints == 2
    assert len(signature_checks) == 2


def test_a_forged_memo_is_not_trusted(three_checkpoints, signature_checks):
    verify_log()
    first = three_checkpoints[0]
    impostor = Signer.from_key_text(generate_signer(first.key.name)[0])
    forged = sign_note(Checkpoint(first.key.name, first.size, bytes(first.root_hash)).format(), impostor)
    sql(f"UPDATE {table(AuditCheckpoint)} SET note = %s WHERE id = %s", [forged, first.pk])
    # Someone with database access recomputes the digest over the forged note; without the key
    # behind the tag, the memo no longer verifies and every signature is checked.
    rows = list(AuditCheckpoint.objects.order_by("id").values_list("id", "key_id", "size", "root_hash", "note"))
    digest = b""
    for row_id, _key_id, size, root, text in rows:
        digest = verify._memo_digest(digest, row_id, size, root, text)
    sql(f"UPDATE {table(AuditSignatureMemo)} SET digest = %s", [digest])
    with pytest.raises(VerificationFailed, match=rf"checkpoint #{first.pk} \(size 3\): signature does not verify"):
        verify_log()


def test_a_failed_verify_remembers_nothing(three_checkpoints):
    sql(f"UPDATE {table(AuditCheckpoint)} SET size = 2 WHERE id = %s", [three_checkpoints[0].pk])
    with pytest.raises(VerificationFailed):
        verify_log()
    assert not AuditSignatureMemo.objects.exists()


def test_a_pinned_key_checks_every_signature_and_the_memo_is_ignored(three_checkpoints, signature_checks):
    verify_log()
    signature_checks.clear()
    pinned = note.Verifier.from_key_text(checkpoints.verifier_key_text())
    assert verify_log(pinned=pinned).checkpoints == 3
    assert len(signature_checks) == 3
