"""Crypto-shredding: destroying a subject's data key makes its data unrecoverable, backups included
once the old KEK versions are retired (`hozen keys rotate --retire-old`)."""

from __future__ import annotations

import json

import pytest
from django.db import connection

from hozen import audit
from hozen.access.policy import PolicyDenied
from hozen.audit.models import AuditEntry
from hozen.crypto import envelope, keys, reveal, rotation, shred
from hozen.crypto.kek import UnknownKekVersion, load_keyring
from hozen.crypto.keys import DataKeyDestroyed, KekVersionUnavailable
from hozen.crypto.models import DataKey
from hozen.crypto.queries import key_status
from hozen.crypto.rotation import rotate
from tests.testapp.models import Dossier, DossierEntry


def _backup(dossier) -> dict:
    """What a database backup holds for one subject: its wrapped data key row and its ciphertext."""
    key = DataKey.objects.get(pk=dossier.data_key_id)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT notes FROM {Dossier._meta.db_table} WHERE id = %s", [dossier.pk])
        notes = bytes(cursor.fetchone()[0])
    return {"kek_version": key.kek_version, "wrapped": bytes(key.wrapped), "notes": notes}


def _restore(dossier, backup) -> Dossier:
    """Put the backup's bytes back, as restoring the old database would."""
    DataKey.objects.filter(pk=dossier.data_key_id).update(
        kek_version=backup["kek_version"], wrapped=backup["wrapped"], destroyed_at=None)
    Dossier.objects.filter(pk=dossier.pk).update(notes=backup["notes"])
    return Dossier.objects.get(pk=dossier.pk)


@pytest.fixture
def case(make_dossier, person):
    dossier = make_dossier(notes="精神疾患に関する事項：記載あり", person=person)
    DossierEntry.objects.create(dossier=dossier, body="家族の国籍")
    return dossier


def test_shredded_data_cannot_be_decrypted(case, operator, actors):
    shred(operator, case, "retention_expired")
    loaded = Dossier.objects.get(pk=case.pk)
    for instance, field in ((loaded, "notes"), (loaded, "family"), (case.entries.get(), "body")):
        with pytest.raises(DataKeyDestroyed, match="destroyed \\(crypto-shredded\\).*cannot be recovered"):
            reveal(actors["investigator"], instance, field, purpose="investigation")
    key = DataKey.objects.get(pk=case.data_key_id)
    assert key.wrapped is None and key.kek_version is None and key.destroyed_at is not None


def test_an_instance_loaded_before_the_shred_cannot_decrypt_either(case, operator, actors):
    stale = Dossier.objects.select_related("data_key").get(pk=case.pk)
    assert stale.data_key.wrapped is not None
    shred(operator, case, "retention_expired")
    with pytest.raises(DataKeyDestroyed):
        reveal(actors["investigator"], stale, "notes", purpose="investigation")


def test_no_new_data_can_be_written_under_a_shredded_key(case, operator):
    shred(operator, case, "retention_expired")
    case.notes = "new notes"
    with pytest.raises(DataKeyDestroyed):
        case.save()


def test_failed_read_of_shredded_data_is_audited(case, operator, actors):
    shred(operator, case, "retention_expired")
    with pytest.raises(DataKeyDestroyed):
        reveal(actors["investigator"], Dossier.objects.get(pk=case.pk), "notes", purpose="investigation")
    entry = json.loads(AuditEntry.objects.get(action="personal_data.read").data)
    assert entry["outcome"] == "failure" and entry["details"]["error"] == "data_key_destroyed"


def test_shred_is_audited_with_its_reason_and_the_subjects_person(case, operator, person):
    key = shred(operator, case, "retention_expired")
    entry = json.loads(AuditEntry.objects.get(action="data_key.shredded").data)
    assert entry["target"] == {"type": "testapp.dossier", "id": str(case.pk)}
    assert entry["details"] == {"key_id": str(key.key_id), "reason": "retention_expired",
                                "subject_person_id": person.pk}


def test_shred_and_its_audit_entry_commit_together(case, operator, monkeypatch):
    def broken_record(*args, **kwargs):
        raise RuntimeError("audit log unavailable")

    monkeypatch.setattr(audit, "record", broken_record)
    with pytest.raises(RuntimeError):
        shred(operator, case, "retention_expired")
    assert DataKey.objects.get(pk=case.data_key_id).destroyed_at is None  # rolled back with the entry


def test_shredding_twice_changes_nothing_and_writes_one_entry(case, operator):
    first = shred(operator, case, "retention_expired")
    second = shred(operator, Dossier.objects.get(pk=case.pk), "retention_expired")
    assert second.destroyed_at == first.destroyed_at
    assert AuditEntry.objects.filter(action="data_key.shredded").count() == 1


@pytest.mark.parametrize("reason", ["", "because the subject asked on 2024-01-01 by phone", None])
def test_shred_reason_must_be_a_code(case, operator, reason):
    with pytest.raises(ValueError, match="reason must be a code"):
        shred(operator, case, reason)
    assert DataKey.objects.get(pk=case.data_key_id).destroyed_at is None


@pytest.mark.django_db(transaction=True)  # outside a transaction, as a view runs: the denial commits
def test_shred_refused_for_an_actor_without_the_subjects_destroy_action(case, actors):
    with pytest.raises(PolicyDenied) as denied:
        shred(actors["investigator"], case, "retention_expired")
    assert denied.value.decision.code == "not_organ_head"
    assert AuditEntry.objects.get(action="data_key.shred").outcome == "denied"
    assert DataKey.objects.get(pk=case.data_key_id).destroyed_at is None


def test_shred_allowed_for_the_holder_of_the_subjects_destroy_action_and_for_jobs(make_dossier, actors):
    from hozen.core.actor import Actor

    shred(actors["organ_head"], make_dossier(), "retention_expired")
    shred(Actor.job("retention"), make_dossier(), "retention_expired")
    assert DataKey.objects.filter(destroyed_at__isnull=False).count() == 2


def test_shredding_keeps_rows_for_statistics(case, make_dossier, operator, actors):
    other = make_dossier(notes="still readable")
    shred(operator, case, "retention_expired")
    assert Dossier.objects.count() == 2 and DossierEntry.objects.count() == 1
    assert DataKey.objects.count() == 2
    status = key_status(operator)
    assert status["data_keys"] == {"live": 1, "destroyed": 1, "by_kek_version": {"1": 1}}
    assert reveal(actors["investigator"], Dossier.objects.get(pk=other.pk), "notes", purpose="investigation") == \
        "still readable"
    case.refresh_from_db()
    case.delete()  # with the key destroyed, deleting the row is allowed (statistics usually keep it)


def test_backup_from_before_the_shred_still_decrypts_until_old_kek_versions_are_retired(case, operator, actors):
    # Step 1 alone does not reach backups: this is why `rotate --retire-old` exists.
    backup = _backup(case)
    shred(operator, case, "retention_expired")
    restored = _restore(case, backup)
    assert reveal(actors["investigator"], restored, "notes", purpose="investigation") == "精神疾患に関する事項：記載あり"
    assert key_status(operator)["shredded_not_covered_by_retire"] == 0  # restored: nothing destroyed now


def test_backup_from_before_the_shred_cannot_be_decrypted_after_rotate_retire_old(
        case, make_dossier, keyring, operator, actors):
    other = make_dossier(notes="still readable")
    backup = _backup(case)
    shred(operator, case, "retention_expired")
    assert key_status(operator)["shredded_not_covered_by_retire"] == 1

    report = rotate(actor=operator, retire_old=True)
    assert report.retired_versions == (1,) and report.shredded_during_run == 0
    assert load_keyring(keyring).versions() == (2,)
    status = key_status(operator)
    assert status["shredded_not_covered_by_retire"] == 0
    assert status["data_keys"] == {"live": 1, "destroyed": 1, "by_kek_version": {"2": 1}}
    assert Dossier.objects.count() == 2  # counts for statistics unchanged

    # Live data still decrypts under the new version...
    assert reveal(actors["investigator"], Dossier.objects.get(pk=other.pk), "notes", purpose="investigation") == \
        "still readable"
    # ...but the backup's wrapped key needs KEK version 1, which no longer exists anywhere in the keyring.
    restored = _restore(case, backup)
    with pytest.raises(KekVersionUnavailable, match="KEK version 1, which the keyring does not hold"):
        reveal(actors["investigator"], restored, "notes", purpose="investigation")
    with pytest.raises(UnknownKekVersion):
        load_keyring(keyring).unwrap(1, backup["wrapped"], keys.wrap_aad(restored.data_key.key_id, case.crypto_id))
    # And no current KEK version unwraps it either.
    with pytest.raises(envelope.DecryptionError):
        load_keyring(keyring).unwrap(2, backup["wrapped"], keys.wrap_aad(restored.data_key.key_id, case.crypto_id))


def test_retire_old_resumes_an_interrupted_retiring_rotation(case, make_dossier, keyring, operator, actors,
                                                              monkeypatch):
    others = [make_dossier(notes=f"n{i}") for i in range(4)]
    backup = _backup(case)
    shred(operator, case, "retention_expired")
    real_batch = rotation._rewrap_batch
    calls = []

    def crash_after_first_batch(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("simulated crash")
        return real_batch(*args, **kwargs)

    monkeypatch.setattr(rotation, "_rewrap_batch", crash_after_first_batch)
    with pytest.raises(RuntimeError):
        rotate(actor=operator, retire_old=True, batch_size=2)
    assert load_keyring(keyring).versions() == (1, 2)  # nothing retired while keys still need version 1
    monkeypatch.setattr(rotation, "_rewrap_batch", real_batch)
    report = rotate(actor=operator, batch_size=2)  # the unfinished run remembers --retire-old
    assert report.resumed and report.retired_versions == (1,)
    assert load_keyring(keyring).versions() == (2,)
    assert all(reveal(actors["investigator"], Dossier.objects.get(pk=d.pk), "notes", purpose="investigation")
               == f"n{i}" for i, d in enumerate(others))
    with pytest.raises(KekVersionUnavailable):
        reveal(actors["investigator"], _restore(case, backup), "notes", purpose="investigation")


def test_key_shredded_during_a_retiring_rotation_is_reported_as_not_covered(make_dossier, operator, monkeypatch):
    dossiers = [make_dossier() for _ in range(4)]
    real_batch = rotation._rewrap_batch
    calls = []

    def shred_between_batches(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            shred(operator, Dossier.objects.get(pk=dossiers[0].pk), "retention_expired")
        return real_batch(*args, **kwargs)

    monkeypatch.setattr(rotation, "_rewrap_batch", shred_between_batches)
    report = rotate(actor=operator, retire_old=True, batch_size=2)
    # Its key was re-wrapped under the kept version before it was shredded: a backup from that moment
    # is still readable, so the operator is told to run --retire-old again.
    assert report.shredded_during_run == 1
    assert key_status(operator)["shredded_not_covered_by_retire"] == 1
    monkeypatch.setattr(rotation, "_rewrap_batch", real_batch)
    rotate(actor=operator, retire_old=True)
    assert key_status(operator)["shredded_not_covered_by_retire"] == 0


def test_cli_rotate_retire_old_says_what_it_retired(case, keyring, operator, capsys):
    from hozen.cli import main

    shred(operator, case, "retention_expired")
    assert main(["keys", "status"]) == 0
    assert "1 shredded key(s) may still be recoverable from backups" in capsys.readouterr().out
    assert main(["keys", "rotate", "--retire-old"]) == 0
    assert "retired KEK version(s) 1" in capsys.readouterr().out
    assert main(["keys", "status"]) == 0
    out = capsys.readouterr().out
    assert "may still be recoverable" not in out and "retired 1" in out
