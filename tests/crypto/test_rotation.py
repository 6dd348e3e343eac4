"""KEK rotation: re-wrap every data key under a new KEK version, resumably, without re-encrypting data."""

from __future__ import annotations

import json

import pytest
from django.db import connection

from hozen.access.policy import PolicyDenied
from hozen.audit.models import AuditEntry
from hozen.cli import main
from hozen.crypto import kek, provider, reveal, rotation
from hozen.crypto.kek import KeyManagementError, load_keyring
from hozen.crypto.models import DataKey, RotationRun
from hozen.crypto.queries import key_status
from hozen.crypto.rotation import rotate
from tests.testapp.models import Dossier


def _by_version() -> dict[int, int]:
    counts: dict[int, int] = {}
    for version in DataKey.objects.filter(destroyed_at__isnull=True).values_list("kek_version", flat=True):
        counts[version] = counts.get(version, 0) + 1
    return counts


def _raw_notes() -> dict[int, bytes]:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT id, notes FROM {Dossier._meta.db_table}")
        return {pk: bytes(blob) for pk, blob in cursor.fetchall()}


def _all_decrypt(actor, dossiers) -> bool:
    return all(reveal(actor, Dossier.objects.get(pk=d.pk), "notes", purpose="investigation") == f"notes {i}"
               for i, d in enumerate(dossiers))


@pytest.fixture
def dossiers(make_dossier):
    return [make_dossier(notes=f"notes {i}") for i in range(7)]


def test_rotation_rewraps_every_key_under_a_new_kek_version_without_reencrypting_data(
        dossiers, keyring, operator, actors):
    ciphertexts = _raw_notes()
    wrapped_before = {k.pk: bytes(k.wrapped) for k in DataKey.objects.all()}
    report = rotate(actor=operator, batch_size=3)
    assert (report.target_version, report.added_version, report.resumed) == (2, True, False)
    assert (report.rewrapped, report.batches, report.retired_versions) == (7, 3, ())
    ring = load_keyring(keyring)
    assert ring.versions() == (1, 2) and ring.current_version() == 2  # old version kept without --retire-old
    assert _by_version() == {2: 7}
    assert all(bytes(k.wrapped) != wrapped_before[k.pk] and k.rewrapped_at for k in DataKey.objects.all())
    assert _raw_notes() == ciphertexts  # data untouched: only the data keys were re-wrapped
    assert _all_decrypt(actors["investigator"], dossiers)
    assert RotationRun.objects.get().finished_at is not None


def test_rotation_audits_once_per_batch_not_per_key(dossiers, keyring, operator):
    rotate(actor=operator, batch_size=3)
    batches = [json.loads(e.data) for e in AuditEntry.objects.filter(action="data_key.rewrapped").order_by("id")]
    assert [b["details"]["count"] for b in batches] == [3, 3, 1]
    assert batches[0]["details"]["from_versions"] == [1] and batches[0]["details"]["to_version"] == 2
    assert AuditEntry.objects.filter(action="kek.version_added").count() == 1
    assert AuditEntry.objects.filter(action="kek.rotation_finished").count() == 1


def test_interrupted_rotation_resumes_without_adding_a_second_kek_version(
        dossiers, keyring, operator, actors, monkeypatch):
    real_batch = rotation._rewrap_batch
    calls = []

    def crash_after_first_batch(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("simulated crash")
        return real_batch(*args, **kwargs)

    monkeypatch.setattr(rotation, "_rewrap_batch", crash_after_first_batch)
    with pytest.raises(RuntimeError, match="simulated crash"):
        rotate(actor=operator, batch_size=3)
    assert _by_version() == {1: 4, 2: 3}  # the first batch committed, the rest still under version 1
    assert RotationRun.objects.get().finished_at is None
    assert key_status(operator)["last_rotation"]["unfinished"] is True
    assert _all_decrypt(actors["investigator"], dossiers)  # half-rotated is a consistent state

    monkeypatch.setattr(rotation, "_rewrap_batch", real_batch)
    report = rotate(actor=operator, batch_size=3)
    assert (report.resumed, report.added_version, report.target_version, report.rewrapped) == (True, False, 2, 4)
    assert load_keyring(keyring).versions() == (1, 2)  # no version 3
    assert _by_version() == {2: 7}
    assert _all_decrypt(actors["investigator"], dossiers)
    run = RotationRun.objects.get()
    assert run.finished_at is not None and run.rewrapped == 7
    assert AuditEntry.objects.filter(action="data_key.rewrapped").count() == 3


def test_crash_before_the_new_version_is_written_leaves_nothing_and_the_next_run_takes_that_version(
        dossiers, keyring, operator, monkeypatch):
    """The run and the version's entry commit with the keyring change or not at all (one transaction,
    the file written last): a failure before the file changed leaves no run to resume."""
    real_add_version = kek.add_version

    def fail(path):
        raise OSError("disk full")

    monkeypatch.setattr(kek, "add_version", fail)
    with pytest.raises(OSError):
        rotate(actor=operator)
    assert load_keyring(keyring).versions() == (1,)
    assert not AuditEntry.objects.filter(action="kek.version_added").exists()  # nothing claims the failed change
    assert not RotationRun.objects.exists()
    monkeypatch.setattr(kek, "add_version", real_add_version)
    report = rotate(actor=operator)
    assert (report.resumed, report.added_version, report.target_version) == (False, True, 2)
    assert load_keyring(keyring).versions() == (1, 2) and _by_version() == {2: 7}


def test_finished_rotation_is_followed_by_a_new_version_next_time(dossiers, keyring, operator):
    rotate(actor=operator)
    report = rotate(actor=operator)
    assert (report.target_version, report.added_version, report.rewrapped) == (3, True, 7)
    assert _by_version() == {3: 7}


def test_rotation_with_no_data_keys_still_adds_a_version(keyring, operator, db):
    report = rotate(actor=operator)
    assert (report.target_version, report.rewrapped) == (2, 0)


def test_rotation_stops_at_a_data_key_it_cannot_unwrap_and_changes_nothing_in_that_batch(
        dossiers, keyring, operator):
    bad = DataKey.objects.order_by("id")[4]
    DataKey.objects.filter(pk=bad.pk).update(wrapped=DataKey.objects.order_by("id")[0].wrapped)
    with pytest.raises(KeyManagementError, match=f"data key #{bad.pk} .* could not be unwrapped"):
        rotate(actor=operator, batch_size=3)
    assert _by_version() == {2: 3, 1: 4}
    assert RotationRun.objects.get().finished_at is None


def test_running_processes_follow_a_rotated_keyring_without_restart(keyring, db):
    assert provider.get_provider().current_version() == 1
    kek.add_version(keyring)
    assert provider.get_provider().current_version() == 2


def test_rotation_refused_for_a_keyring_from_the_environment(keyring, operator, monkeypatch, db):
    monkeypatch.setenv("HOZEN_KEK", keyring.read_text())
    with pytest.raises(KeyManagementError, match="comes from the HOZEN_KEK variable"):
        rotate(actor=operator)
    assert not RotationRun.objects.exists()


@pytest.mark.parametrize("action", ["rotate", "status"])
def test_key_management_refused_for_role_holders(keyring, actors, action):
    with pytest.raises(PolicyDenied) as denied:
        rotate(actor=actors["sysadmin"]) if action == "rotate" else key_status(actors["sysadmin"])
    assert denied.value.decision.code == "server_operator_only"
    assert load_keyring(keyring).versions() == (1,)


def test_status_counts_data_keys_per_kek_version(dossiers, keyring, operator, monkeypatch):
    real_batch = rotation._rewrap_batch
    calls = []

    def crash_after_first_batch(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("simulated crash")
        return real_batch(*args, **kwargs)

    monkeypatch.setattr(rotation, "_rewrap_batch", crash_after_first_batch)
    with pytest.raises(RuntimeError):
        rotate(actor=operator, batch_size=2)
    status = key_status(operator)
    assert status["source"] == f"file:{keyring}"
    assert (status["kek_versions"], status["current_version"]) == ([1, 2], 2)
    assert status["data_keys"] == {"live": 7, "destroyed": 0, "by_kek_version": {"1": 5, "2": 2}}
    assert status["missing_versions"] == []
    assert status["last_rotation"]["unfinished"] and status["last_rotation"]["rewrapped"] == 2


def test_cli_status_json_and_text(dossiers, keyring, capsys):
    assert main(["keys", "status", "--json"]) == 0
    status = json.loads(capsys.readouterr().out)
    assert status["data_keys"] == {"live": 7, "destroyed": 0, "by_kek_version": {"1": 7}}
    assert status["last_rotation"] is None
    assert main(["keys", "status"]) == 0
    out = capsys.readouterr().out
    assert "KEK versions:     1 (current 1)" in out and "live data keys:   7 (v1: 7)" in out
    assert "last rotation:    never" in out


def test_cli_rotate_reports_what_it_did(dossiers, keyring, capsys):
    assert main(["keys", "rotate", "--batch-size", "3"]) == 0
    out = capsys.readouterr().out
    assert "added KEK version 2" in out and "re-wrapped 7 data key(s) in 3 batch(es)" in out
    assert main(["keys", "status"]) == 0
    assert "to v2, finished" in capsys.readouterr().out


def test_cli_rotate_errors_are_one_line(keyring, capsys, monkeypatch, db):
    monkeypatch.setenv("HOZEN_KEK", keyring.read_text())
    assert main(["keys", "rotate"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("hozen: error: the keyring comes from the HOZEN_KEK variable") and err.count("\n") == 1


def test_retiring_old_kek_versions_keeps_the_audit_log_able_to_sign(dossiers, keyring, operator):
    """The audit signing key is wrapped by the KEK too: rotation moves it before old versions go."""
    from hozen.audit import checkpoints, integrator
    from hozen.audit.models import AuditSigningKey
    from hozen.audit.note import Verifier, open_note

    integrator.integrate()
    first = checkpoints.issue_checkpoint()
    vkey = checkpoints.verifier_key_text()
    report = rotate(actor=operator, retire_old=True)
    assert report.retired_versions == (1,)
    assert set(AuditSigningKey.objects.values_list("kek_version", flat=True)) == {2}
    from hozen.audit.service import record

    record(operator, "test.after_rotation")
    integrator.integrate()
    later = checkpoints.issue_checkpoint()
    assert later is not None and later.size > first.size
    open_note(later.note, [Verifier.from_key_text(vkey)])  # same key, still signing


def test_rotation_reports_progress_after_each_batch_up_to_the_total(dossiers, keyring, operator):
    seen: list[tuple[int, int]] = []
    rotate(actor=operator, batch_size=3, progress=lambda done, total: seen.append((done, total)))
    assert seen and seen[-1] == (7, 7)
    assert [done for done, _ in seen] == sorted(done for done, _ in seen)  # only ever forward
    assert {total for _, total in seen} == {7}


def test_cli_rotate_shows_a_progress_bar(dossiers, keyring, monkeypatch, capsys):
    from rich.progress import Progress

    updates: list[dict] = []
    original = Progress.update
    monkeypatch.setattr(Progress, "update", lambda self, task, **kw: (updates.append(kw), original(self, task, **kw)))
    assert main(["keys", "rotate", "--batch-size", "3"]) == 0
    assert updates and updates[-1]["completed"] == updates[-1]["total"] == 7
