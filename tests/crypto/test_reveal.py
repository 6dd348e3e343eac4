"""reveal(): plaintext only through the policy decision point, every read audited with its purpose."""

from __future__ import annotations

import json

import pytest

from hozen.access.policy import PolicyDenied
from hozen.audit.models import AuditEntry
from hozen.crypto import reveal, reveal_many
from tests.testapp.models import Dossier, DossierEntry


def _entries(action="personal_data.read"):
    return [json.loads(e.data) for e in AuditEntry.objects.filter(action=action).order_by("id")]


def test_reveal_for_an_allowed_actor_is_audited_with_purpose_and_the_subjects_person(make_dossier, actors, person):
    dossier = Dossier.objects.get(pk=make_dossier(notes="面接記録", person=person).pk)
    assert reveal(actors["investigator"], dossier, "notes", purpose="investigation") == "面接記録"
    [entry] = _entries()
    assert entry["outcome"] == "success"
    assert entry["purpose"] == "investigation"
    assert entry["target"] == {"type": "testapp.dossier", "id": str(dossier.pk)}
    assert entry["details"] == {"field": "notes", "subject_person_id": person.pk}
    assert entry["actor"]["role"] == "investigator"
    assert "面接記録" not in AuditEntry.objects.get(action="personal_data.read").data


@pytest.mark.django_db(transaction=True)  # outside a transaction, as a view runs: the denial commits
def test_reveal_refused_for_an_actor_the_policy_denies_and_the_denial_is_audited(make_dossier, actors, person):
    dossier = Dossier.objects.get(pk=make_dossier(notes="面接記録", person=person).pk)
    with pytest.raises(PolicyDenied) as denied:
        reveal(actors["sysadmin"], dossier, "notes", purpose="maintenance")
    assert denied.value.decision.code == "not_investigator"
    denial = AuditEntry.objects.get(action="dossier.read_personal")
    assert denial.outcome == "denied"
    assert denial.target_id == str(dossier.pk)
    assert not AuditEntry.objects.filter(action="personal_data.read").exists()


def test_reveal_of_a_record_names_its_subject_and_person(make_dossier, actors, person):
    dossier = make_dossier(person=person)
    entry = DossierEntry.objects.create(dossier=dossier, body="渡航歴")
    assert reveal(actors["investigator"], DossierEntry.objects.get(pk=entry.pk), "body", purpose="adjudication") == "渡航歴"
    [audited] = _entries()
    assert audited["target"] == {"type": "testapp.dossierentry", "id": str(entry.pk)}
    assert audited["details"] == {"field": "body", "subject": {"type": "testapp.dossier", "id": str(dossier.pk)},
                                  "subject_person_id": person.pk}


def test_reveal_many_decrypts_several_fields_with_one_audit_entry(make_dossier, actors):
    dossier = Dossier.objects.get(pk=make_dossier(notes="n", family={"a": 1}).pk)
    values = reveal_many(actors["investigator"], dossier, ["notes", "family"], purpose="adjudication")
    assert values == {"notes": "n", "family": {"a": 1}}
    [entry] = _entries()
    assert entry["details"] == {"fields": ["notes", "family"]}


@pytest.mark.parametrize("purpose", ["", "Checking the notes because I was curious", None, "x" * 65])
def test_reveal_needs_a_purpose_code(make_dossier, actors, purpose):
    dossier = make_dossier()
    with pytest.raises(ValueError, match="purpose must be a code"):
        reveal(actors["investigator"], dossier, "notes", purpose=purpose)
    assert not AuditEntry.objects.filter(action="personal_data.read").exists()


@pytest.mark.parametrize("field", ["title", "crypto_id", "nonexistent"])
def test_reveal_refuses_fields_that_are_not_encrypted(make_dossier, actors, field):
    with pytest.raises(ValueError, match="has no encrypted field"):
        reveal(actors["investigator"], make_dossier(), field, purpose="investigation")


def test_reveal_refuses_unsaved_plaintext(make_dossier, actors):
    dossier = make_dossier()
    dossier.notes = "not saved yet"
    with pytest.raises(Exception, match="unsaved plaintext"):
        reveal(actors["investigator"], dossier, "notes", purpose="investigation")
