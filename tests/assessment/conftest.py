"""Assessment fixtures: every role's actor, a certified business under contract with METI, a
complete set of questionnaire answers, and helpers that walk a case to any stage through the
services (as production data is made)."""

from __future__ import annotations

import copy
import datetime as dt
import json
from dataclasses import dataclass

import pytest
import time_machine

from hozen.assessment import services
from hozen.assessment.models import AssessmentCase
from hozen.audit.models import AuditEntry
from hozen.core.actor import Actor
from tests import factories

TODAY = dt.date(2026, 6, 1)


@pytest.fixture(autouse=True)
def _frozen_today():
    # Clocks, validity and retention depend on "today": freeze it (tests move it explicitly).
    with time_machine.travel(dt.datetime(2026, 6, 1, 3, 0, tzinfo=dt.UTC), tick=False) as traveller:
        yield traveller


@pytest.fixture(autouse=True)
def _packs(db):
    """The shipped packs (a transactional test's flush may have removed what the migration loaded)."""
    from hozen.rules.models import Category, RulesPack, SubItem
    from hozen.rules.storage import load_shipped

    load_shipped(RulesPack, Category, SubItem, published_by={"kind": "system", "name": "tests", "channel": "cli"})


def actor_of(account, role: str | None = None, *, second_factor: bool = True) -> Actor:
    assignments = account.active_assignments()
    assignment = assignments.filter(role=role).first() if role else assignments.first()
    return Actor.for_account(account, assignment, channel="web", second_factor_verified=second_factor)


def audit_entries(action: str) -> list[dict]:
    return [json.loads(e.data) for e in AuditEntry.objects.filter(action=action).order_by("id")]


@dataclass
class World:
    orgs: dict
    people: dict
    actors: dict
    contract: object
    mic_contract: object

    def __getitem__(self, name):
        return self.actors[name]

    def subject_actor(self, person, *, second_factor: bool = True) -> Actor:
        return actor_of(person.account, "subject", second_factor=second_factor)


@pytest.fixture
def world(people, orgs) -> World:
    from hozen.operators import services as operators

    head = actor_of(people["organ_head"])
    cert = operators.record_certification(actor=head, organ=orgs["METI"], business=orgs["TOWA"],
                                          certified_on=dt.date(2026, 1, 1))
    contract = operators.record_contract(actor=head, certification=cert, reference="METI-C-1", form="receives",
                                         authorised_departments=["技術部"], valid_from=dt.date(2026, 1, 1),
                                         valid_until=dt.date(2050, 12, 31))
    mic_head = factories.account(role="organ_head", organisation=orgs["MIC"])
    mic_cert = operators.record_certification(actor=actor_of(mic_head), organ=orgs["MIC"], business=orgs["TOWA"],
                                              certified_on=dt.date(2026, 1, 1))
    mic_contract = operators.record_contract(actor=actor_of(mic_head), certification=mic_cert, reference="MIC-C-1",
                                             form="receives", authorised_departments=["技術部"],
                                             valid_from=dt.date(2026, 1, 1), valid_until=dt.date(2050, 12, 31))
    more = {
        "cao_head": factories.account(role="organ_head", organisation=orgs["CAO"]),
        "investigator2": factories.account(role="investigator", organisation=orgs["CAO"]),
        "adjudicator2": factories.account(role="adjudicator", organisation=orgs["METI"]),
        "handler2": factories.account(role="complaint_handler", organisation=orgs["METI"]),
        "business_mic": factories.account(role="business_officer", organisation=orgs["TOWA"]),
        "mic_security": factories.account(role="security_officer", organisation=orgs["MIC"]),
        "meti_staff": factories.account(role="subject", organisation=orgs["METI"]),
    }
    actors = {
        "subject": actor_of(people["subject"], "subject"),
        "business": actor_of(people["business_officer"]),
        "security": actor_of(people["security_officer"]),
        "head": head,
        "mic_head": actor_of(mic_head),
        "cao_head": actor_of(more["cao_head"]),
        "investigator": actor_of(people["investigator"]),
        "investigator2": actor_of(more["investigator2"]),
        "adjudicator": actor_of(people["adjudicator"]),
        "adjudicator2": actor_of(more["adjudicator2"]),
        "handler": actor_of(people["complaint_handler"]),
        "handler2": actor_of(more["handler2"]),
        "mic_security": actor_of(more["mic_security"]),
        "meti_staff": actor_of(more["meti_staff"], "subject"),
        "sysadmin": actor_of(people["sysadmin"]),
        "auditor": actor_of(people["auditor"]),
        "oversight": actor_of(people["oversight"]),
        "esi_manager": actor_of(people["esi_manager"]),
    }
    return World(orgs=orgs, people={**people, **more}, actors=actors, contract=contract, mic_contract=mic_contract)


def new_employee(world: World, name: str = "社員"):
    """Another TOWA employee with a subject role (the nominee of a business)."""
    return factories.account(role="subject", organisation=world.orgs["TOWA"]).person


# --- questionnaire answers ------------------------------------------------------------------

ANSWERS = {
    "identity": {"family_name": "山田", "given_name": "太郎", "family_name_kana": "ヤマダ", "given_name_kana": "タロウ",
                 "date_of_birth": "1980-01-01", "place_of_birth_country": "JP", "place_of_birth_city": "横浜市",
                 "current_address": "東京都千代田区霞が関1-1-1"},
    "domicile_and_nationality": {"registered_domicile": "神奈川県横浜市中区1番地", "nationalities": ["JP"],
                                 "had_other_nationality": False},
    "relatives_and_cohabitants": {"has_relatives_or_cohabitants": True, "relatives": [
        {"relation": "spouse", "name": "山田 花子", "date_of_birth": "1982-02-02", "nationalities": ["JP"],
         "former_nationalities": ["KR"], "address": "東京都千代田区霞が関1-1-1"},
        {"relation": "parent", "name": "山田 一郎", "date_of_birth": "1950-03-03", "nationalities": ["JP"],
         "address": "神奈川県横浜市中区2-2"},
    ]},
    "employment_10y": {"has_employment": True, "jobs": [
        {"employer": "東和重工業株式会社", "position": "技術部 主任", "started_on": "2017-04-01", "current": True},
        {"employer": "前職工業株式会社", "started_on": "2012-04-01", "ended_on": "2017-03-31"},
    ]},
    "foreign_travel_10y": {"has_travel": True, "trips": [
        {"country": "US", "departed_on": "2019-08-01", "returned_on": "2019-08-10"}]},
    "residence_abroad": {"has_lived_abroad": False},
    "item_1": {"involvement": False, "contacts": False},
    "item_2": {"has_convictions": False, "has_disciplinary_actions": False},
    "item_3": {"has_incidents": False},
    "item_4": {"has_drug_use": False},
    "item_5": {"has_treatment": False},
    "item_6": {"has_alcohol_problems": False},
    "item_7": {"has_financial_difficulties": False, "has_foreign_accounts": True,
               "foreign_accounts": [{"country": "US", "institution": "Example Bank"}]},
}


def answers() -> dict:
    return copy.deepcopy(ANSWERS)


SUMMARY = "照会及び面接の結果、七つの事項のいずれについても懸念は認められない。"

REASONS = {f"item_{n}": f"事項{n}について懸念は認められない。" for n in range(1, 8)}


# --- walking a case ---------------------------------------------------------------------------

def nominate(world: World, person=None, *, contract="meti", tier="esi", **fields) -> AssessmentCase:
    person = person or world.people["subject"].person
    contract = {"meti": world.contract, "mic": world.mic_contract}.get(contract, contract)
    actor = world["business"]
    result = services.nominate(actor=actor, person=person, contract=contract, tier=tier,
                               **{"department": "技術部", "post": "主任", "listing_agreed_on": dt.date(2026, 5, 20),
                                  **fields})
    assert result.case is not None, result
    return result.case


def fresh(case) -> AssessmentCase:
    return AssessmentCase.objects.get(pk=case.pk)


def to_consented(world, case, subject=None):
    subject = subject or world.subject_actor(case.person)
    services.give_notice(actor=world["security"], case=case)
    services.consent(actor=subject, case=case)
    return fresh(case)


def fill_questionnaire(world, case, subject=None, content=None):
    subject = subject or world.subject_actor(case.person)
    for section, section_answers in (content or answers()).items():
        services.save_questionnaire_section(actor=subject, case=case, section=section, content=section_answers)


def to_submitted(world, case, subject=None):
    case = to_consented(world, case, subject)
    fill_questionnaire(world, case, subject)
    services.submit_questionnaire(actor=subject or world.subject_actor(case.person), case=case)
    return fresh(case)


def answered_inquiry(world, case, investigator=None, *, on: dt.date | None = None):
    """One inquiry made and answered (today by default): the material the interview must wait for
    (DOMAIN §6 step 5)."""
    from django.utils import timezone

    investigator = investigator or world["investigator"]
    on = on or timezone.localdate()
    inquiry = services.record_inquiry(actor=investigator, case=case, recipient_kind="superior",
                                      recipient_organisation="東和重工業株式会社 技術部", recipient_name="上司",
                                      question="勤務態度について", sent_on=on)
    services.record_inquiry_response(actor=investigator, inquiry=inquiry, response="特段の問題はない", answered_on=on)
    return inquiry


def to_investigation_complete(world, case, subject=None, *, inquiries: int = 1):
    from django.utils import timezone

    case = to_submitted(world, case, subject)
    services.assign_investigator(actor=world["cao_head"], case=case, investigator=world.people["investigator"])
    investigator = world["investigator"]
    on = timezone.localdate()  # inquiries are made after the subject's consent (today, in these walks)
    for n in range(inquiries):
        inquiry = services.record_inquiry(actor=investigator, case=case, recipient_kind="superior",
                                          recipient_organisation="東和重工業株式会社 技術部",
                                          recipient_name=f"上司 {n}", question="勤務態度について", sent_on=on)
        services.record_inquiry_response(actor=investigator, inquiry=inquiry, response="特段の問題はない",
                                         answered_on=on)
    services.schedule_interview(actor=investigator, case=case, at=timezone.now())
    for n in range(1, 8):
        services.record_finding(actor=investigator, case=case, item=f"item_{n}", text=f"事項{n}: 懸念なし")
    services.complete_investigation(actor=investigator, case=case, summary=SUMMARY)
    return fresh(case)


def to_adjudicated(world, case, subject=None, *, favourable=True):
    case = to_investigation_complete(world, case, subject)
    services.assign_adjudicator(actor=world["head"], case=case, adjudicator=world.people["adjudicator"])
    services.adjudicate(actor=world["adjudicator"], case=case, outcome="favourable" if favourable else "unfavourable",
                        reasons=REASONS)
    if not favourable:
        services.assign_concurring_adjudicator(actor=world["head"], case=case,
                                               adjudicator=world.people["adjudicator2"])
        services.concur(actor=world["adjudicator2"], case=case, agree=True)
    return fresh(case)


def to_notified(world, case, subject=None, *, favourable=True):
    case = to_adjudicated(world, case, subject, favourable=favourable)
    services.notify_result(actor=world["security"], case=case)
    return fresh(case)


def cleared(world, person=None, *, contract="meti", tier="esi", favourable=True):
    """A person with a notified result: the case and its clearance."""
    case = to_notified(world, nominate(world, person, contract=contract, tier=tier), favourable=favourable)
    return case, case.clearance


# --- the subject's browser on a questionnaire section ------------------------------------------

class SectionPages:
    """A signed-in client that posts a questionnaire section as its page does: with the hidden
    ``version`` the page was opened at (the section's stored version, 0 before its first save),
    unless the test names one. Tests of the version itself post through ``.client``."""

    import re as _re

    SECTION = _re.compile(r"/assessment/portal/(\d+)/questionnaire/([a-z0-9_]+)/$")

    def __init__(self, client):
        self.client = client

    def __getattr__(self, name):
        return getattr(self.client, name)

    def post(self, path, data=None, **extra):
        from hozen.assessment.models import QuestionnaireSection

        match = self.SECTION.search(path)
        if match and match.group(2) != "submit" and isinstance(data, dict) and "version" not in data:
            row = QuestionnaireSection.objects.filter(case_id=int(match.group(1)), section=match.group(2)).first()
            data = {**data, "version": str(row.version if row else 0)}
        return self.client.post(path, data, **extra)
