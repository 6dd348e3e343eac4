"""Lock what you check, refuse stale edits (ARCHITECTURE rule 8; issue 11 items 1–3).

The records people edit — questionnaire sections (the subject's autosaved drafts) and the
investigator's findings — carry a version. An edit names the version it was made on: one made on
an older copy (a second tab, another device, a colleague) is refused with 409 and writes nothing;
over the API one that names none is refused with 428. A record never saved is version 0. Services
decide on the row as stored, read afresh and locked, never on the copy a caller passed; and the
database itself keeps one notice and one consent decision per case, one pending exemption and one
current result per person, organ and tier.
"""

from __future__ import annotations

import importlib
import json

import pytest
from django.apps import apps as django_apps
from django.db import IntegrityError, connection, transaction
from django.test import Client
from django.urls import reverse

from hozen.assessment import services
from hozen.assessment.models import CaseEvent, Clearance, Exemption, Finding, QuestionnaireSection
from hozen.assessment.states import State
from hozen.audit.models import AuditEntry
from hozen.core.errors import RuleViolation, StaleEdit, VersionRequired
from hozen.crypto import reveal
from tests import factories

from .conftest import (
    actor_of,
    answers,
    cleared,
    fresh,
    nominate,
    to_consented,
    to_submitted,
)

pytestmark = pytest.mark.django_db

BASE = "/api/v1/assessment"
AUTOSAVE = {"HTTP_X_HOZEN_AUTOSAVE": "1", "HTTP_ACCEPT": "application/json"}


def saves() -> int:
    return AuditEntry.objects.filter(action="assessment.save_questionnaire").count()


def section(case, code="identity") -> QuestionnaireSection | None:
    return QuestionnaireSection.objects.filter(case=case, section=code).first()


def content_of(case, code="identity") -> dict:
    return reveal(actor_of(case.person.account, "subject"), section(case, code), "content", purpose="subject_access")


@pytest.fixture
def consented(world):
    return to_consented(world, nominate(world))


@pytest.fixture
def subject_api(world):
    headers = {"HTTP_AUTHORIZATION": f"Bearer {factories.api_token(world.people['subject'])}"}

    def call(method: str, path: str, body: dict | None = None, if_match: str | None = None):
        extra = {"HTTP_IF_MATCH": if_match} if if_match is not None else {}
        if method == "get":
            return Client().get(BASE + path, **headers, **extra)
        return getattr(Client(), method)(BASE + path, json.dumps(body), content_type="application/json", **headers,
                                         **extra)
    return call


# --- the questionnaire: service ------------------------------------------------------------------

def test_a_section_saved_on_an_older_version_is_refused_and_nothing_is_written(world, consented):
    subject = world.subject_actor(consented.person)
    first = answers()["identity"]
    saved = services.save_questionnaire_section(actor=subject, case=consented.pk, section="identity", content=first,
                                                version=0, require_version=True)
    assert saved.changed and saved.section.version == 1
    # A second tab, opened before that save, still at version 0.
    behind = {**first, "current_address": "大阪府大阪市1-1"}
    with pytest.raises(StaleEdit) as info:
        services.save_questionnaire_section(actor=subject, case=consented.pk, section="identity", content=behind,
                                            version=0, require_version=True)
    assert (info.value.status, info.value.current_version, info.value.seen_version) == (409, 1, 0)
    assert section(consented).version == 1 and content_of(consented) == first and saves() == 1
    # Made on the current version, it is saved.
    services.save_questionnaire_section(actor=subject, case=consented.pk, section="identity", content=behind,
                                        version=1, require_version=True)
    assert section(consented).version == 2 and content_of(consented)["current_address"] == "大阪府大阪市1-1"


def test_a_save_that_names_no_version_is_refused_where_one_is_required(world, consented):
    subject = world.subject_actor(consented.person)
    with pytest.raises(VersionRequired) as info:
        services.save_questionnaire_section(actor=subject, case=consented, section="identity",
                                            content=answers()["identity"], require_version=True)
    assert (info.value.status, info.value.current_version) == (428, 0)
    assert section(consented) is None and saves() == 0


def test_saving_the_stored_content_again_is_harmless_whatever_version_it_names(world, consented):
    """A retried save (its answer lost on the way) overwrites nothing: answered unchanged."""
    subject = world.subject_actor(consented.person)
    content = answers()["identity"]
    services.save_questionnaire_section(actor=subject, case=consented, section="identity", content=content, version=0,
                                        require_version=True)
    again = services.save_questionnaire_section(actor=subject, case=consented, section="identity", content=content,
                                                version=0, require_version=True)
    assert again.changed is False and again.section.version == 1 and saves() == 1


# --- the questionnaire: API ----------------------------------------------------------------------

def test_the_api_wants_if_match_on_a_section_save_and_gives_the_etag(world, consented, subject_api):
    path = f"/cases/{consented.pk}/questionnaire/identity"
    r = subject_api("put", path, {"content": answers()["identity"]})
    assert r.status_code == 428 and r.json()["code"] == "version_required" and r.json()["current_version"] == 0
    assert section(consented) is None and saves() == 0
    r = subject_api("put", path, {"content": answers()["identity"]}, '"0"')
    assert r.status_code == 200 and r["ETag"] == '"1"' and r.json()["version"] == 1
    r = subject_api("get", path)
    assert r.status_code == 200 and r["ETag"] == '"1"'
    stale = subject_api("put", path, {"content": {**answers()["identity"], "given_name": "次郎"}}, '"0"')
    assert stale.status_code == 409 and stale.json()["code"] == "stale_edit" and stale.json()["current_version"] == 1
    assert stale["ETag"] == '"1"' and content_of(consented)["given_name"] == "太郎" and saves() == 1
    for not_one_version in ('W/"1"', "*", '"0", "1"'):  # If-Match compares strongly, one version (RFC 9110)
        r = subject_api("put", path, {"content": {**answers()["identity"], "given_name": "次郎"}}, not_one_version)
        assert r.status_code == 428 and r.json()["code"] == "version_required" and saves() == 1
    r = subject_api("put", path, {"content": {**answers()["identity"], "given_name": "次郎"}}, '"1"')
    assert r.status_code == 200 and r["ETag"] == '"2"'
    assert [p["version"] for p in subject_api("get", f"/cases/{consented.pk}/questionnaire/progress").json()
            if p["section"] == "identity"] == [2]


def test_the_openapi_document_says_how_a_section_and_a_finding_are_versioned(client):
    schema = client.get("/api/v1/openapi.json").json()
    for path in ("/api/v1/assessment/cases/{case_id}/questionnaire/{section}",
                 "/api/v1/assessment/cases/{case_id}/findings/{item}"):
        put = schema["paths"][path]["put"]
        assert {"409", "428"} <= set(put["responses"]), path
        assert any(p["name"] == "If-Match" and p["in"] == "header" for p in put["parameters"]), path
        assert '"0"' in put["description"], path


# --- the questionnaire: the portal -----------------------------------------------------------------

def test_an_autosave_from_a_tab_that_is_behind_is_refused_with_the_current_version(world, consented, signed_in):
    client = signed_in(world.people["subject"])
    url = f"/assessment/portal/{consented.pk}/questionnaire/identity/"
    ok = client.post(url, {"family_name": "山田", "version": "0"}, **AUTOSAVE)
    assert ok.status_code == 200 and ok.json()["version"] == 1
    behind = client.post(url, {"family_name": "佐藤", "version": "0"}, **AUTOSAVE)
    assert behind.status_code == 409
    body = behind.json()
    assert body["saved"] is False and body["stale"] is True and body["current_version"] == 1
    assert "他の人" in body["message"] or "someone else" in body["message"]
    assert content_of(consented)["family_name"] == "山田" and saves() == 1


def test_a_plain_save_from_a_tab_that_is_behind_keeps_the_typing_and_offers_to_reload(world, consented, signed_in):
    client = signed_in(world.people["subject"])
    url = f"/assessment/portal/{consented.pk}/questionnaire/identity/"
    client.post(url, {"family_name": "山田", "version": "0", "action": "save"})
    response = client.post(url, {"family_name": "佐藤", "current_address": "大阪府大阪市1-1", "version": "0",
                                 "action": "save"})
    assert response.status_code == 409
    page = response.content.decode()
    notice = page[page.index('id="stale-notice"') - 40:page.index('id="stale-notice"') + 80]
    assert "hidden" not in notice
    assert 'value="佐藤"' in page and "大阪府大阪市1-1" in page  # never lost
    assert 'name="version" id="section-version" value="1"' in page  # sending it again saves knowingly
    assert f'id="stale-reload" href="{url}"' in page
    assert content_of(consented)["family_name"] == "山田" and saves() == 1
    again = client.post(url, {"family_name": "佐藤", "version": "1", "action": "save"})
    assert again.status_code == 200 and content_of(consented)["family_name"] == "佐藤"


def test_a_portal_save_without_a_version_writes_nothing(world, consented, signed_in):
    client = signed_in(world.people["subject"])
    response = client.post(f"/assessment/portal/{consented.pk}/questionnaire/identity/", {"family_name": "山田"},
                           **AUTOSAVE)
    assert response.status_code == 409 and response.json()["saved"] is False
    assert section(consented) is None and saves() == 0


# --- findings ---------------------------------------------------------------------------------------

@pytest.fixture
def investigating(world):
    case = to_submitted(world, nominate(world))
    services.assign_investigator(actor=world["cao_head"], case=case, investigator=world.people["investigator"])
    return fresh(case)


def test_a_finding_revised_on_an_older_version_is_refused_over_the_api(world, investigating):
    headers = {"HTTP_AUTHORIZATION": f"Bearer {factories.api_token(world.people['investigator'])}"}
    client, path = Client(), f"{BASE}/cases/{investigating.pk}/findings/item_1"

    def put(text, if_match=None):
        extra = {"HTTP_IF_MATCH": if_match} if if_match is not None else {}
        return client.put(path, json.dumps({"text": text}), content_type="application/json", **headers, **extra)

    r = put("事項1: 懸念なし")
    assert r.status_code == 428 and r.json()["code"] == "version_required" and not Finding.objects.exists()
    assert client.get(path, **headers).status_code == 404  # none yet: version 0
    r = put("事項1: 懸念なし", '"0"')
    assert r.status_code == 200 and r["ETag"] == '"1"' and (r.json()["revision"], r.json()["version"]) == (1, 1)
    r = client.get(path, **headers)
    assert r.status_code == 200 and r["ETag"] == '"1"' and r.json()["text"] == "事項1: 懸念なし"
    stale = put("事項1: 別の記述", '"0"')
    assert stale.status_code == 409 and stale.json()["code"] == "stale_edit" and stale.json()["current_version"] == 1
    finding = Finding.objects.get(case=investigating, item="item_1")
    assert (finding.revision, finding.version) == (1, 1)
    assert AuditEntry.objects.filter(action="assessment.record_finding").count() == 1
    r = put("事項1: 改訂", '"1"')
    assert r.status_code == 200 and (r.json()["revision"], r.json()["version"]) == (2, 2) and r["ETag"] == '"2"'


def test_the_finding_form_refuses_a_revision_made_on_an_older_page_and_keeps_the_text(world, investigating, signed_in):
    client = signed_in(world.people["investigator"])
    url = reverse("assessment:investigator_finding", args=[investigating.pk])
    page = client.get(url).content.decode()  # the page of all seven findings
    assert 'name="finding-versions"' in page and 'value="item_1:0"' in page
    opened = "item_1:0"
    first = client.post(url, {"finding-item": "item_1", "finding-text": "事項1: 懸念なし", "finding-versions": opened})
    assert first.status_code == 302
    response = client.post(url, {"finding-item": "item_1", "finding-text": "事項1: 別の記述", "finding-versions": opened})
    assert response.status_code == 409
    page = response.content.decode()
    assert 'id="finding-stale"' in page and "事項1: 別の記述" in page and "item_1:1" in page
    finding = Finding.objects.get(case=investigating, item="item_1")
    assert finding.revision == 1 and AuditEntry.objects.filter(action="assessment.record_finding").count() == 1
    no_version = client.post(url, {"finding-item": "item_2", "finding-text": "事項2: 懸念なし"})
    assert no_version.status_code == 200 and not Finding.objects.filter(item="item_2").exists()


# --- services decide on the row as stored ------------------------------------------------------------

def test_a_service_decides_on_the_row_as_stored_not_on_the_callers_copy(world):
    case = nominate(world)
    services.give_notice(actor=world["security"], case=case)
    copy = fresh(case)  # a view's copy, loaded before someone else acted
    services.refuse(actor=world.subject_actor(case.person), case=case.pk)
    assert copy.state == State.NOTICE_GIVEN
    with pytest.raises(RuleViolation) as info:
        services.consent(actor=world.subject_actor(case.person), case=copy)
    assert info.value.code == "transition_not_allowed"
    assert fresh(case).state == State.REFUSED
    assert AuditEntry.objects.filter(action="assessment.consent").count() == 0


def test_a_decision_on_a_complaint_decided_meanwhile_is_refused(world):
    case, _clearance = cleared(world)
    complaint = services.file_complaint(actor=world.subject_actor(case.person), case=case, text="手続に不満がある。")
    services.assign_complaint_handler(actor=world["head"], complaint=complaint.pk,
                                      handler=world.people["complaint_handler"])
    copy = type(complaint).objects.get(pk=complaint.pk)
    services.decide_complaint(actor=world["handler"], complaint=complaint.pk, outcome="not_upheld",
                              reasons="手続に誤りは認められなかった。")
    with pytest.raises(RuleViolation) as info:
        services.decide_complaint(actor=world["handler"], complaint=copy, outcome="corrected", reasons="訂正する。")
    assert info.value.code == "transition_not_allowed"
    assert type(complaint).objects.get(pk=complaint.pk).outcome == "not_upheld"


# --- uniqueness in the database ------------------------------------------------------------------------

def refused_by_the_database(make) -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        make()


def test_the_database_keeps_one_consent_decision_and_one_notice_per_case(world, consented):
    def event(kind):
        return lambda: CaseEvent.objects.create(case=consented, kind=kind, actor={"kind": "system"})
    refused_by_the_database(event("refused"))
    refused_by_the_database(event("consented"))
    refused_by_the_database(event("notice_given"))


def test_the_database_keeps_one_current_result_per_person_organ_and_tier(world):
    case, clearance = cleared(world)
    other = nominate(world, contract="mic")
    refused_by_the_database(lambda: Clearance.objects.create(
        person=clearance.person, organ=clearance.organ, tier=clearance.tier, favourable=True,
        notified_on=clearance.notified_on, valid_until=clearance.valid_until, case=other,
        rules_pack=clearance.rules_pack))


def test_the_database_keeps_one_pending_exemption_per_person_organ_and_tier(world, _frozen_today):
    import datetime as dt

    case, clearance = cleared(world)
    fields = {"department": "技術部", "post": "主任", "listing_agreed_on": dt.date(2026, 5, 20)}
    held = services.nominate(actor=world["business"], person=case.person, contract=world.contract, **fields).exemption
    assert held is not None
    refused_by_the_database(lambda: Exemption.objects.create(
        person=held.person, tier=held.tier, organ=held.organ, nominating_organisation=held.nominating_organisation,
        contract=held.contract, nominated_by=held.nominated_by, nomination=held.nomination, basis=clearance,
        window_years=10, rules_pack=held.rules_pack))
    with pytest.raises(RuleViolation) as info:  # through the service: the friendly refusal
        services.nominate(actor=world["business"], person=case.person, contract=world.contract, **fields)
    assert info.value.code == "exemption_pending"


def test_the_migration_names_existing_rows_that_break_a_new_constraint(world):
    """Rows from before the constraint: the migration stops and names them (checked here by
    dropping the index inside the test's transaction, which rolls back)."""
    migration = importlib.import_module("hozen.assessment.migrations.0005_integrity_under_concurrency")
    case, clearance = cleared(world)
    other = nominate(world, contract="mic")
    with connection.cursor() as cursor:
        cursor.execute("DROP INDEX one_current_clearance_per_person_organ_tier")
    twin = Clearance.objects.create(person=clearance.person, organ=clearance.organ, tier=clearance.tier,
                                    favourable=True, notified_on=clearance.notified_on,
                                    valid_until=clearance.valid_until, case=other, rules_pack=clearance.rules_pack)
    with pytest.raises(migration.DataBreaksConstraint) as info:
        migration.check_existing_rows(django_apps, None)
    message = str(info.value)
    assert "one_current_clearance_per_person_organ_tier" in message
    assert f"clearances not ended [{clearance.pk}, {twin.pk}]" in message
    assert f"person_id={clearance.person_id}" in message
