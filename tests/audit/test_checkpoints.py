"""Signed checkpoints: the key under the KEK, issuing rules, the job and `hozen audit checkpoint|key|prove`."""

from __future__ import annotations

import base64
import datetime as dt
import json

import pytest
import time_machine

from hozen.audit import checkpoints, integrator, jobs, merkle, tree
from hozen.audit.models import AuditCheckpoint, AuditSigningKey
from hozen.audit.note import Checkpoint, Signer, Verifier, generate_signer, open_note, sign_note
from hozen.cli import main
from hozen.core import jobs as job_registry
from hozen.crypto.provider import get_provider

from .helpers import write_entries

pytestmark = pytest.mark.django_db


def _cli(capsys, *argv) -> tuple[int, str, str]:
    code = main(["audit", *argv])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_checkpoint_signature_verifies_with_the_key_printed_by_hozen_audit_key(capsys):
    write_entries(5)
    code, vkey, _ = _cli(capsys, "key")
    assert code == 0
    verifier = Verifier.from_key_text(vkey.strip())
    code, note, _ = _cli(capsys, "checkpoint")
    assert code == 0
    text, signatures = open_note(note, [verifier])
    cp = Checkpoint.parse(text)
    assert cp.origin == "hozen.local/audit" == verifier.name
    assert cp.size == tree.tree_size() and cp.root_hash == tree.root(cp.size)
    assert signatures[0].key_hash == verifier.key_hash


def test_verifier_key_is_in_note_vkey_form(capsys):
    _, vkey, _ = _cli(capsys, "key")
    name, key_hash, key = vkey.strip().split("+", 2)
    assert name == "hozen.local/audit" and len(key_hash) == 8
    assert base64.b64decode(key)[0] == 0x01 and len(base64.b64decode(key)) == 33


def test_origin_and_key_name_come_from_the_setting(settings):
    settings.HOZEN_AUDIT_ORIGIN = "audit.example.go.jp/hozen"
    write_entries(1)
    cp = checkpoints.issue_checkpoint()
    assert cp.key.name == "audit.example.go.jp/hozen"
    assert cp.note.startswith("audit.example.go.jp/hozen\n")


def test_signing_key_seed_is_stored_only_wrapped_by_the_kek():
    key = checkpoints.signing_key()
    signer = checkpoints.signer(key)
    seed = base64.b64decode(signer.key_text.split("+", 4)[4])[1:]
    assert seed not in bytes(key.wrapped_seed)
    assert get_provider().unwrap(key.kek_version, bytes(key.wrapped_seed),
                                 b"hozen.audit.signing-key:" + key.name.encode()) == seed
    assert checkpoints.signing_key().pk == key.pk  # created once, then reused


def test_signing_key_wrapped_for_another_name_does_not_unwrap():
    key = checkpoints.signing_key()
    with pytest.raises(Exception, match="failed authentication"):
        get_provider().unwrap(key.kek_version, bytes(key.wrapped_seed), b"hozen.audit.signing-key:other")


def test_signing_key_cannot_be_changed_only_rewrapped():
    key = checkpoints.signing_key()
    key.public_key = b"\x00" * 32
    with pytest.raises(RuntimeError):
        key.save()
    with pytest.raises(RuntimeError):
        key.delete()
    assert checkpoints.rewrap_signing_keys() == 0  # already under the current version


def test_checkpoint_is_issued_only_when_the_log_grew():
    write_entries(3)
    first = checkpoints.issue_checkpoint()
    assert checkpoints.issue_checkpoint().pk == first.pk
    write_entries(1)
    second = checkpoints.issue_checkpoint()
    assert second.pk != first.pk and second.size == first.size + 1
    assert list(AuditCheckpoint.objects.order_by("id").values_list("size", flat=True)) == [first.size, second.size]


def test_every_issued_checkpoint_is_stored_with_its_root_and_note():
    write_entries(2)
    cp = checkpoints.issue_checkpoint()
    stored = AuditCheckpoint.objects.get(pk=cp.pk)
    assert bytes(stored.root_hash) == tree.root(stored.size)
    assert Checkpoint.parse(open_note(stored.note, [checkpoints.verifier(stored.key)])[0]).size == stored.size


def test_background_job_signs_while_the_log_grows_but_not_more_often_than_the_interval(settings):
    settings.HOZEN_AUDIT_CHECKPOINT_INTERVAL_SECONDS = 300
    with time_machine.travel(dt.datetime(2026, 4, 1, 9, 0, tzinfo=dt.UTC), tick=False) as clock:
        write_entries(2)
        first = jobs.issue_checkpoint_if_grown()
        assert first is not None
        write_entries(1)
        clock.shift(dt.timedelta(minutes=2))
        assert jobs.issue_checkpoint_if_grown() is None  # grew, but the last one is recent
        clock.shift(dt.timedelta(minutes=4))
        second = jobs.issue_checkpoint_if_grown()
        assert second is not None and second.size == first.size + 1
        clock.shift(dt.timedelta(hours=1))
        assert jobs.issue_checkpoint_if_grown() is None  # idle log: no new checkpoint


def test_background_job_is_registered_with_the_job_runner():
    from hozen.core.actor import Actor

    job = next(j for j in job_registry.registered() if j.name == "audit.checkpoint")
    write_entries(1)
    # As the runner calls it (run_job itself also recycles connections, which a test transaction cannot).
    assert isinstance(job.fn(actor=Actor.job(job.name)), AuditCheckpoint)


def test_background_job_integrates_pending_entries():
    write_entries(4)
    cp = jobs.issue_checkpoint_if_grown()
    assert cp.size == tree.tree_size() > 0


def test_signing_key_moves_to_the_current_kek_version_at_the_next_signature(monkeypatch):
    key = checkpoints.signing_key()
    provider = get_provider()
    monkeypatch.setattr(type(provider), "current_version", lambda self: key.kek_version + 1)
    real_wrap = type(provider).wrap

    def wrap(self, version, dek, aad):
        return real_wrap(self, key.kek_version if version is None else version, dek, aad)[0] + 1, b"rewrapped"

    monkeypatch.setattr(type(provider), "wrap", wrap)
    assert checkpoints.rewrap_signing_keys() == 1
    stored = AuditSigningKey.objects.get(pk=key.pk)
    assert stored.kek_version == key.kek_version + 1 and bytes(stored.wrapped_seed) == b"rewrapped"


def test_cli_prove_prints_an_inclusion_proof_that_verifies_against_its_checkpoint(capsys):
    write_entries(9)
    verifier = Verifier.from_key_text(checkpoints.verifier_key_text())
    code, out, _ = _cli(capsys, "prove", "--index", "4")
    assert code == 0
    proof = json.loads(out)
    cp = Checkpoint.parse(open_note(proof["checkpoint"], [verifier])[0])
    assert proof["tree_size"] == cp.size
    assert merkle.verify_inclusion(base64.b64decode(proof["leaf_hash"]), 4, cp.size,
                                   [base64.b64decode(h) for h in proof["audit_path"]], cp.root_hash)


def test_cli_prove_prints_a_consistency_proof_that_verifies(capsys):
    write_entries(6)
    size = integrator.integrate().size
    code, out, _ = _cli(capsys, "prove", "--first", "3", "--second", str(size))
    assert code == 0
    proof = json.loads(out)
    assert merkle.verify_consistency(3, size, tree.root(3), tree.root(size),
                                     [base64.b64decode(h) for h in proof["consistency_path"]])


def test_cli_prove_names_an_index_beyond_the_log(capsys):
    write_entries(2)
    size = integrator.integrate().size
    code, _, err = _cli(capsys, "prove", "--index", str(size + 5))
    assert code == 1
    assert "--index" in err and "below the audit log's size" in err


def test_cli_prove_refuses_a_malformed_index_as_usage_error(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["audit", "prove", "--index", "-3"])
    assert exc.value.code == 2
    assert "--index" in capsys.readouterr().err


def test_cli_integrate_reports_what_it_appended(capsys):
    write_entries(3)
    code, out, _ = _cli(capsys, "integrate")
    assert code == 0 and out.startswith("integrated ")


def test_a_note_signed_by_another_key_with_the_same_name_is_not_the_logs():
    write_entries(1)
    cp = checkpoints.issue_checkpoint()
    impostor = Signer.from_key_text(generate_signer(cp.key.name)[0])
    forged = sign_note(Checkpoint(cp.key.name, cp.size, b"\x00" * 32).format(), impostor)
    with pytest.raises(Exception, match="no valid signature"):
        open_note(forged, [checkpoints.verifier(cp.key)])


def test_cli_says_in_one_line_when_the_key_encryption_key_is_unusable(capsys, monkeypatch):
    monkeypatch.setenv("HOZEN_KEK", "{not a keyring")
    code, _, err = _cli(capsys, "key")
    assert code == 1
    assert err.startswith("hozen: error: audit signing key unavailable:") and err.count("\n") == 1
