"""Nomination (DOMAIN §6 step 1): who nominates whom, what a nomination needs, bulk all or nothing."""

from __future__ import annotations

import datetime as dt

import pytest

from hozen.access.policy import PolicyDenied
from hozen.assessment import services
from hozen.assessment.models import AssessmentCase, CaseEvent
from hozen.core.errors import RuleViolation

from .conftest import audit_entries, new_employee, nominate

pytestmark = pytest.mark.django_db

FIELDS = {"department": "技術部", "post": "主任", "listing_agreed_on": dt.date(2026, 5, 20)}


def test_an_organs_security_officer_nominates_its_own_staff_for_its_own_decision(world):
    staff = world.people["meti_staff"].person
    result = services.nominate(actor=world["security"], person=staff, **FIELDS)
    case = result.case
    assert (case.organ, case.nominating_organisation, case.contract) == (world.orgs["METI"], world.orgs["METI"], None)
    assert case.rules_pack.code == "jp-esi-2025" and case.trigger == "new"
    [event] = CaseEvent.objects.filter(case=case)
    assert event.kind == "nominated" and event.actor["role"] == "security_officer"
    [entry] = audit_entries("assessment.nominate")
    assert entry["details"]["subject_person_id"] == staff.pk and entry["target"]["type"] == "assessment.assessmentcase"


def test_a_business_nominates_its_employee_under_a_contract_and_the_contracts_organ_decides(world):
    case = nominate(world)
    assert (case.organ, case.nominating_organisation, case.contract) == (world.orgs["METI"], world.orgs["TOWA"],
                                                                         world.contract)


def test_a_security_officer_cannot_nominate_someone_who_does_not_work_for_the_organ(world):
    with pytest.raises(RuleViolation) as info:
        services.nominate(actor=world["security"], person=world.people["subject"].person, **FIELDS)
    assert (info.value.code, info.value.field) == ("not_staff_of_nominator", "person")


def test_a_business_cannot_nominate_without_an_active_contract(world):
    contract = world.contract
    contract.terminated_on = dt.date(2026, 5, 1)
    contract.save()
    with pytest.raises(PolicyDenied) as info:
        services.nominate(actor=world["business"], person=world.people["subject"].person, contract=contract, **FIELDS)
    assert info.value.decision.code == "contract_not_active"
    assert not AssessmentCase.objects.exists()


@pytest.mark.parametrize("who", ["subject", "investigator", "adjudicator", "sysadmin", "head", "esi_manager"])
def test_only_a_security_officer_or_a_business_protection_officer_nominates(world, who):
    with pytest.raises(PolicyDenied) as info:
        services.nominate(actor=world[who], person=world.people["subject"].person, contract=world.contract, **FIELDS)
    assert info.value.decision.code == "wrong_role"


def test_the_security_officer_of_another_organ_cannot_nominate_the_organs_staff(world):
    with pytest.raises(RuleViolation) as info:
        services.nominate(actor=world["mic_security"], person=world.people["meti_staff"].person, **FIELDS)
    assert info.value.code == "not_staff_of_nominator"
    assert not AssessmentCase.objects.exists()


def test_the_candidate_must_first_agree_to_be_listed(world):
    with pytest.raises(RuleViolation) as info:
        nominate(world, listing_agreed_on=None)
    assert (info.value.code, info.value.field) == ("listing_agreement_required", "listing_agreed_on")
    with pytest.raises(RuleViolation) as info:
        nominate(world, listing_agreed_on=dt.date(2026, 6, 2))
    assert info.value.code == "listing_agreement_in_future"


def test_a_dispatched_worker_is_flagged_with_the_employing_agency(world):
    with pytest.raises(RuleViolation) as info:
        nominate(world, dispatched_worker=True)
    assert (info.value.code, info.value.field) == ("employing_agency_required", "employing_agency")
    case = nominate(world, dispatched_worker=True, employing_agency="派遣元株式会社")
    assert case.dispatched_worker and case.employing_agency == "派遣元株式会社"


def test_a_second_nomination_while_an_assessment_is_open_is_refused(world):
    nominate(world)
    with pytest.raises(RuleViolation) as info:
        nominate(world)
    assert info.value.code == "case_already_open"
    assert nominate(world, tier="sds").tier == "sds"  # a different tier is a different assessment


def test_a_concern_is_not_a_nomination_trigger(world):
    with pytest.raises(RuleViolation) as info:
        nominate(world, trigger="concern")
    assert info.value.code == "invalid_trigger"


def test_bulk_nomination_writes_every_row(world):
    people = [new_employee(world) for _ in range(3)]
    rows = [{"person": p, **FIELDS} for p in people]
    rows[2]["person"] = people[2].pk  # a person may be given by id
    seen = []
    results = services.nominate_many(actor=world["business"], rows=rows, contract=world.contract, progress=seen.append)
    assert [r.case.person for r in results] == people and seen == [3]  # after each chunk written
    assert audit_entries("assessment.nominate_many")[0]["details"]["cases"] == 3
    # Each row is a case like a single nomination: its own data key, its event, its audit entry.
    cases = [AssessmentCase.objects.get(pk=r.case.pk) for r in results]
    assert len({c.data_key_id for c in cases}) == 3 and all(c.data_key_id for c in cases)
    assert all(c.events.get().kind == "nominated" and c.stage_due_on == dt.date(2026, 6, 15) for c in cases)
    assert sorted(e["target"]["id"] for e in audit_entries("assessment.nominate")) == sorted(str(c.pk) for c in cases)
    assert all(e["details"]["subject_person_id"] == c.person_id
               for e, c in zip(audit_entries("assessment.nominate"), cases, strict=True))
    # The data key made in bulk encrypts and decrypts the case's records like any other.
    from hozen.crypto import reveal

    from .conftest import answers, to_consented

    case = to_consented(world, cases[0])
    subject = world.subject_actor(case.person)
    saved = services.save_questionnaire_section(actor=subject, case=case, section="identity",
                                                content=answers()["identity"])
    assert reveal(subject, saved.section, "content", purpose="subject_access") == answers()["identity"]


def test_bulk_nomination_refuses_an_open_case_and_holds_an_exemption_like_a_single_one(world):
    from .conftest import cleared

    earlier, _clearance = cleared(world)  # favourable, same organ: a new ESI nomination is held
    busy = new_employee(world)
    nominate(world, busy)
    fresh_person = new_employee(world)
    with pytest.raises(services.NominationRowsInvalid) as info:
        services.nominate_many(actor=world["business"], rows=[{"person": busy, **FIELDS},
                                                               {"person": fresh_person, **FIELDS}],
                               contract=world.contract)
    assert [(i, f) for i, f, _, _ in info.value.errors] == [(0, "person")]
    assert "already in progress" in info.value.errors[0][3]
    results = services.nominate_many(actor=world["business"], rows=[{"person": earlier.person, **FIELDS},
                                                                     {"person": fresh_person, **FIELDS}],
                                     contract=world.contract)
    assert results[0].case is None and results[0].exemption.basis == earlier.clearance
    held = [e for e in audit_entries("assessment.nominate") if e["target"]["type"] == "assessment.exemption"]
    assert [(e["target"]["id"], e["details"]["outcome"], e["details"]["basis"]["id"]) for e in held] == [
        (str(results[0].exemption.pk), "possible_exemption", str(earlier.clearance.pk))]
    assert results[0].exemption.state == "pending" and results[0].exemption.nomination["post"] == "主任"
    assert results[1].exemption is None and results[1].case.person == fresh_person


def test_bulk_nomination_with_one_bad_row_writes_nothing_and_names_every_bad_row(world):
    people = [new_employee(world) for _ in range(3)]
    rows = [{"person": people[0], **FIELDS},
            {"person": people[1], **FIELDS, "listing_agreed_on": None},
            {"person": people[2], **FIELDS, "post": ""},
            {"person": people[0], **FIELDS},
            {"person": 999999, **FIELDS}]
    with pytest.raises(services.NominationRowsInvalid) as info:
        services.nominate_many(actor=world["business"], rows=rows, contract=world.contract)
    assert [(i, f) for i, f, _, _ in info.value.errors] == [
        (1, "listing_agreed_on"), (2, "post"), (3, "person"), (4, "person")]
    assert info.value.field == "rows[1].listing_agreed_on"
    assert "nothing was nominated" in info.value.message_en
    assert not AssessmentCase.objects.exists()


def test_the_database_keeps_one_open_assessment_per_person_organ_and_tier(world):
    from django.db import IntegrityError, transaction

    case = nominate(world)
    twin = AssessmentCase(person=case.person, organ=case.organ, tier=case.tier,
                          nominating_organisation=case.nominating_organisation, nominated_by=case.nominated_by,
                          trigger="new", department="x", post="y", rules_pack=case.rules_pack)
    with pytest.raises(IntegrityError), transaction.atomic():
        twin.save()
