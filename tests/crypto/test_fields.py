"""Encrypted model fields: ciphertext at rest, sealed on read, bound to their row and field."""

from __future__ import annotations

import json
from contextlib import contextmanager
from unittest import mock

import pytest
from django.core import checks
from django.db import DatabaseError, connection, models, transaction
from django.db.models.sql.compiler import SQLInsertCompiler
from django.test.utils import isolate_apps

from hozen.audit.models import AuditEntry
from hozen.crypto import envelope, keys, reveal
from hozen.crypto.envelope import CryptoError, DecryptionError
from hozen.crypto.fields import EncryptedTextField, Sealed
from hozen.crypto.kek import load_keyring
from hozen.crypto.models import DataKey
from tests.testapp.models import Dossier, DossierEntry


def _raw(model, pk, column):
    table = model._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {connection.ops.quote_name(column)} FROM {table} WHERE id = %s", [pk])
        return bytes(cursor.fetchone()[0])


def test_plaintext_round_trips_through_the_encrypted_fields(make_dossier, actors):
    family = {"spouse": {"name": "山田 花子", "born": "1982-04-01"}, "children": [], "abroad": True}
    dossier = make_dossier(notes="飲酒の節度：問題なし", family=family)
    entry = DossierEntry.objects.create(dossier=dossier, body="海外渡航歴 2019 台湾")
    loaded = Dossier.objects.get(pk=dossier.pk)
    investigator = actors["investigator"]
    assert reveal(investigator, loaded, "notes", purpose="investigation") == "飲酒の節度：問題なし"
    assert reveal(investigator, loaded, "family", purpose="investigation") == family
    assert reveal(investigator, DossierEntry.objects.get(pk=entry.pk), "body", purpose="investigation") == "海外渡航歴 2019 台湾"


def test_empty_text_is_encrypted_and_none_is_no_value(make_dossier, actors):
    dossier = make_dossier(notes="", family=None)
    dossier.family = None
    dossier.save()
    loaded = Dossier.objects.get(pk=dossier.pk)
    assert isinstance(loaded.notes, Sealed)
    assert loaded.family is None
    assert Dossier.objects.filter(family__isnull=True).count() == 1
    assert reveal(actors["investigator"], loaded, "notes", purpose="investigation") == ""
    assert reveal(actors["investigator"], loaded, "family", purpose="investigation") is None


def test_stored_column_holds_ciphertext_not_plaintext(make_dossier):
    dossier = make_dossier(notes="秘密の記録 secret-marker", family={"marker": "family-marker"})
    notes = _raw(Dossier, dossier.pk, "notes")
    family = _raw(Dossier, dossier.pk, "family")
    for blob in (notes, family):
        assert blob[0] == envelope.BLOB_VERSION
        assert b"marker" not in blob and "秘密".encode() not in blob


def test_value_read_from_the_database_is_sealed_and_never_shows_plaintext(make_dossier):
    dossier = make_dossier(notes="secret-marker", family={"k": "secret-marker"})
    loaded = Dossier.objects.get(pk=dossier.pk)
    for value in (loaded.notes, loaded.family):
        assert isinstance(value, Sealed)
        for shown in (repr(value), str(value), f"{value}", repr(loaded), str(loaded), repr(loaded.__dict__)):
            assert "secret-marker" not in shown
    assert repr(loaded.notes) == "<Sealed testapp.dossier.notes>"
    assert str(loaded.notes) == "[encrypted]"


def test_instance_keeps_no_plaintext_after_save(make_dossier):
    dossier = make_dossier(notes="secret-marker")
    assert isinstance(dossier.notes, Sealed) and isinstance(dossier.family, Sealed)
    assert "secret-marker" not in repr(dossier.__dict__)


def test_unchanged_sealed_value_is_saved_back_unchanged(make_dossier, actors):
    dossier = Dossier.objects.get(pk=make_dossier(notes="keep me").pk)
    before = _raw(Dossier, dossier.pk, "notes")
    dossier.title = "renamed"
    dossier.save()
    assert _raw(Dossier, dossier.pk, "notes") == before
    assert reveal(actors["investigator"], dossier, "notes", purpose="investigation") == "keep me"


def test_ciphertext_moved_to_another_row_fails_to_decrypt(make_dossier, actors):
    alice = make_dossier(notes="alice's interview")
    bob = make_dossier(notes="bob's interview")
    # Someone with database access copies Alice's ciphertext into Bob's row.
    Dossier.objects.filter(pk=bob.pk).update(notes=Dossier.objects.get(pk=alice.pk).notes)
    moved = Dossier.objects.get(pk=bob.pk)
    with pytest.raises(DecryptionError, match="wrong associated data"):
        reveal(actors["investigator"], moved, "notes", purpose="investigation")
    failure = AuditEntry.objects.filter(action="personal_data.read", outcome="failure").get()
    assert '"error":"decryption_failed"' in failure.data


def test_ciphertext_moved_to_another_record_of_the_same_subject_fails_to_decrypt(make_dossier, actors):
    # Same data key, different row: only the associated data tells them apart.
    dossier = make_dossier()
    first = DossierEntry.objects.create(dossier=dossier, body="first")
    second = DossierEntry.objects.create(dossier=dossier, body="second")
    DossierEntry.objects.filter(pk=second.pk).update(body=DossierEntry.objects.get(pk=first.pk).body)
    with pytest.raises(DecryptionError):
        reveal(actors["investigator"], DossierEntry.objects.get(pk=second.pk), "body", purpose="investigation")


def test_ciphertext_moved_to_another_field_fails_to_decrypt(make_dossier, actors):
    dossier = make_dossier(notes='"a JSON string"')
    Dossier.objects.filter(pk=dossier.pk).update(family=Dossier.objects.get(pk=dossier.pk).notes)
    with pytest.raises(DecryptionError):
        reveal(actors["investigator"], Dossier.objects.get(pk=dossier.pk), "family", purpose="investigation")


def test_wrong_associated_data_refused(make_dossier):
    dossier = make_dossier(notes="bound")
    ciphertext = Dossier.objects.get(pk=dossier.pk).notes.ciphertext
    assert keys.open_sealed(dossier, "notes", ciphertext) == b"bound"
    dek = keys.unwrap(keys.current_key(dossier))
    with pytest.raises(DecryptionError):
        envelope.decrypt(dek, ciphertext, envelope.aad_for(str(dossier.crypto_id), "family"))
    with pytest.raises(DecryptionError):
        envelope.decrypt(dek, ciphertext, envelope.aad_for("another-row", "notes"))


def test_each_subject_gets_its_own_data_key_wrapped_under_the_current_kek(make_dossier, keyring):
    first, second = make_dossier(), make_dossier()
    assert first.data_key_id != second.data_key_id
    key = DataKey.objects.get(pk=first.data_key_id)
    assert key.kek_version == load_keyring(keyring).current_version() == 1
    assert key.owner == f"testapp.dossier:{first.crypto_id}" and key.subject_uuid == first.crypto_id
    assert key.destroyed_at is None and len(bytes(key.wrapped)) > 32
    assert "wrapped" not in str(key) and str(bytes(key.wrapped)) not in repr(key)


def test_wrapped_data_key_moved_to_another_subject_does_not_unwrap(make_dossier):
    alice, bob = make_dossier(), make_dossier()
    alice_key = DataKey.objects.get(pk=alice.data_key_id)
    DataKey.objects.filter(pk=bob.data_key_id).update(wrapped=alice_key.wrapped)
    with pytest.raises(DecryptionError, match="wrapped data key failed authentication"):
        keys.unwrap(DataKey.objects.get(pk=bob.data_key_id))


def test_plaintext_cannot_be_written_by_update_or_bulk_update_or_used_in_filters(make_dossier):
    dossier = make_dossier(notes="x")
    with pytest.raises(TypeError, match="is encrypted"):
        Dossier.objects.filter(pk=dossier.pk).update(notes="plain")
    dossier.notes = "plain"
    with pytest.raises(TypeError, match="is encrypted"):
        Dossier.objects.bulk_update([dossier], ["notes"])
    with pytest.raises(Exception, match="Unsupported lookup|exact"):
        list(Dossier.objects.filter(notes="x"))
    with pytest.raises(Exception, match="Unsupported lookup"):
        list(Dossier.objects.filter(notes__contains="x"))


def test_encrypted_text_field_refuses_non_text(make_dossier):
    with pytest.raises(TypeError, match="takes str plaintext"):
        make_dossier(notes=42)


def test_bulk_create_of_subjects_cannot_bypass_data_key_creation(keyring, db):
    # bulk_create skips Model.save(), which creates the data key; encrypting must then refuse.
    with pytest.raises(CryptoError, match="has no data key"), transaction.atomic():
        Dossier.objects.bulk_create([Dossier(title="bulk", notes="x")])
    assert not Dossier.objects.exists()


def test_subject_with_a_live_data_key_cannot_be_deleted(make_dossier):
    dossier = make_dossier()
    with pytest.raises(CryptoError, match="shred it first"):
        dossier.delete()
    assert Dossier.objects.filter(pk=dossier.pk).exists()


@isolate_apps("tests.testapp")
def test_encrypted_field_outside_a_protected_model_is_a_check_error():
    class Plain(models.Model):
        secret = EncryptedTextField()

        class Meta:
            app_label = "testapp"

        def __str__(self) -> str:
            return "plain"

    errors = Plain._meta.get_field("secret").check()
    assert [e.id for e in errors] == ["hozen.E010"]
    assert all(e.level == checks.ERROR for e in errors)


@isolate_apps("tests.testapp")
def test_protected_model_without_a_read_action_is_a_check_error():
    from hozen.crypto.models import ProtectedSubject

    class NoAction(ProtectedSubject):
        secret = EncryptedTextField()

        class Meta:
            app_label = "testapp"

    assert [e.id for e in NoAction._meta.get_field("secret").check()] == ["hozen.E011"]


def test_protected_test_models_pass_the_system_checks():
    from django.core.management import call_command

    call_command("check", "testapp", "crypto")


@contextmanager
def _insert_fails_after_encryption(model):
    """The INSERT of ``model`` rows fails after its values (ciphertext included) were prepared."""
    real = SQLInsertCompiler.execute_sql

    def execute_sql(compiler, *args, **kwargs):
        if compiler.query.model is model:
            compiler.as_sql()  # runs pre_save, i.e. the encryption
            raise DatabaseError("connection lost")
        return real(compiler, *args, **kwargs)

    with mock.patch.object(SQLInsertCompiler, "execute_sql", execute_sql), pytest.raises(DatabaseError), \
            transaction.atomic():
        yield


def test_failed_save_keeps_the_plaintext_so_a_retry_stores_readable_data(make_dossier, actors):
    # A subject: the insert fails after its fields were encrypted under its brand-new data key.
    dossier = Dossier(title="x", notes="retry me")
    with _insert_fails_after_encryption(Dossier):
        dossier.save()
    assert dossier.notes == "retry me" and dossier.data_key_id is None
    dossier.save()
    # A record: the same, under its subject's existing key.
    entry = DossierEntry(dossier=dossier, body="entry retry")
    with _insert_fails_after_encryption(DossierEntry):
        entry.save()
    assert entry.body == "entry retry"
    entry.save()
    investigator = actors["investigator"]
    assert reveal(investigator, Dossier.objects.get(pk=dossier.pk), "notes", purpose="investigation") == "retry me"
    assert reveal(investigator, DossierEntry.objects.get(pk=entry.pk), "body", purpose="investigation") == "entry retry"


def test_saving_and_revealing_several_fields_unwraps_the_data_key_once(make_dossier, actors):
    dossier = make_dossier()
    with mock.patch.object(keys, "unwrap", wraps=keys.unwrap) as unwrap:
        dossier.notes, dossier.family = "new", {"new": True}
        dossier.save()
        assert unwrap.call_count == 1
        from hozen.crypto import reveal_many

        reveal_many(actors["investigator"], Dossier.objects.get(pk=dossier.pk), ["notes", "family"],
                    purpose="investigation")
        assert unwrap.call_count == 2


def test_serialised_rows_carry_ciphertext_only(make_dossier):
    from django.core import serializers

    dossier = make_dossier(notes="secret-marker", family={"k": "secret-marker"})
    dumped = serializers.serialize("json", [Dossier.objects.get(pk=dossier.pk)])
    assert "secret-marker" not in dumped
    assert json.loads(dumped)[0]["fields"]["notes"]  # base64 of the ciphertext
