"""Hostile input and honest contracts in aptitude assessments (issue 12 §1, §2, §5, §6).

Every example the issue found in this app is a named test here, on SQLite and PostgreSQL alike:

- the one text policy (``hozen.core.text.clean``) on every free text the assessment services store
  — every string of a questionnaire answer, refused naming its path (``relatives[1].name``) and the
  character's position; readings stored full-width; eleven NULs never "ten characters";
- the one date policy: nothing dated in year one, before 1900, before the subject's consent (an
  inquiry), before the nomination (a departure or transfer), before the regime started (an
  agreement to be listed), or more than a year ahead (an interview);
- exact duplicates of a fact refused: a reportable event, an adverse-treatment report, a complaint
  while the first is open, an inquiry — also when two arrive at once;
- no existence oracle in nominations: a candidate outside the nominator's staff gets one answer,
  byte for byte, whether the account or person exists elsewhere or not at all — over the API (one
  and many), the CSV upload and the CLI.

Property tests (Hypothesis, bounded for CI: 60 examples each, derandomised, no deadline) send
arbitrary text into a questionnaire section, a nomination row, a complaint and a finding over the
API: each is stored exactly as ``clean`` returns it, or refused naming the field — never a 5xx.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter

import pytest
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hozen.assessment import services
from hozen.assessment.models import (
    AdverseTreatmentReport,
    AssessmentCase,
    Complaint,
    Finding,
    Inquiry,
    QuestionnaireSection,
    ReportableEvent,
)
from hozen.assessment.questionnaire import SECTIONS
from hozen.audit.models import AuditEntry
from hozen.core.errors import RuleViolation
from hozen.core.text import clean
from hozen.crypto import reveal
from tests import factories

from .conftest import (
    actor_of,
    answers,
    cleared,
    fresh,
    new_employee,
    nominate,
    to_consented,
    to_notified,
    to_submitted,
)

pytestmark = pytest.mark.django_db

BASE = "/api/v1/assessment"
ROW = {"department": "技術部", "post": "主任", "listing_agreed_on": "2026-05-20"}


def client_for(account) -> tuple[Client, dict]:
    """A client whose server errors come back as 5xx responses (never raised into the test)."""
    return Client(raise_request_exception=False), {"HTTP_AUTHORIZATION": f"Bearer {factories.api_token(account)}"}


def send(account, method: str, path: str, body, **extra):
    client, headers = client_for(account)
    return getattr(client, method)(BASE + path, json.dumps(body), content_type="application/json", **headers,
                                   **extra)


def section_version(case, code: str) -> str:
    row = QuestionnaireSection.objects.filter(case=case, section=code).first()
    return f'"{row.version if row else 0}"'


def draft(case, code: str) -> dict:
    row = QuestionnaireSection.objects.get(case=case, section=code)
    return reveal(actor_of(case.person.account, "subject"), row, "content", purpose="subject_access")


def save(case, code: str, content: dict):
    return send(case.person.account, "put", f"/cases/{case.pk}/questionnaire/{code}", {"content": content},
                HTTP_IF_MATCH=section_version(case, code))


@pytest.fixture
def consented(world):
    return to_consented(world, nominate(world))


@pytest.fixture
def notified(world):
    return to_notified(world, nominate(world))


@pytest.fixture
def investigating(world):
    case = to_submitted(world, nominate(world))
    services.assign_investigator(actor=world["cao_head"], case=case, investigator=world.people["investigator"])
    return fresh(case)


# --- §1 the text policy in the questionnaire ---------------------------------------------------------------

def test_a_lone_surrogate_in_a_questionnaire_answer_is_refused_naming_its_path_never_a_500(world, consented):
    content = answers()["relatives_and_cohabitants"]
    content["relatives"][1]["name"] = "山田\ud800一郎"
    # Over the API: 422 naming the answer (the request parser refuses a lone surrogate before the service).
    response = save(consented, "relatives_and_cohabitants", content)
    assert response.status_code == 422, response.content[:300]
    assert response.json()["code"] == "invalid_character"
    assert response.json()["field"].endswith("relatives[1].name")
    # The service itself, whichever channel calls it: refused with the path and the position.
    with pytest.raises(RuleViolation) as info:
        services.save_questionnaire_section(actor=world.subject_actor(consented.person), case=consented,
                                            section="relatives_and_cohabitants", content=content)
    assert (info.value.code, info.value.field) == ("questionnaire_malformed",
                                                   "relatives_and_cohabitants.relatives[1].name")
    assert [(e.path, e.code) for e in info.value.errors] == [("relatives[1].name", "invalid_character")]
    assert "3文字目" in info.value.errors[0].message_ja and "U+D800" in info.value.errors[0].message_en
    assert not QuestionnaireSection.objects.filter(case=consented).exists()


def test_nul_characters_in_answers_are_refused_naming_the_path_and_nothing_is_saved(world, consented):
    subject = world.subject_actor(consented.person)
    content = answers()["item_3"] | {"has_incidents": True, "incidents": [
        {"date": "2020-01-01", "description": "\x00" * 11}]}
    with pytest.raises(RuleViolation) as info:
        services.save_questionnaire_section(actor=subject, case=consented, section="item_3", content=content)
    assert (info.value.code, info.value.field) == ("questionnaire_malformed", "item_3.incidents[0].description")
    assert [e.path for e in info.value.errors] == ["incidents[0].description"]
    assert not QuestionnaireSection.objects.filter(case=consented).exists()


def test_a_direction_override_or_a_line_break_in_a_one_line_answer_is_refused_with_its_position(consented):
    content = answers()["identity"] | {"family_name": "山田\u202e", "place_of_birth_city": "横浜\n市"}
    body = save(consented, "identity", content).json()
    errors = {e["path"]: e for e in body["errors"]}
    assert set(errors) == {"identity.family_name", "identity.place_of_birth_city"}
    assert "U+202E" in errors["identity.family_name"]["message"] and "3" in errors["identity.family_name"]["message"]
    # A long text keeps its line breaks (normalised to \n).
    content = answers()["identity"] | {"current_address": "東京都千代田区\r\n霞が関1-1-1"}
    assert save(consented, "identity", content).status_code == 200
    assert draft(consented, "identity")["current_address"] == "東京都千代田区\n霞が関1-1-1"


def test_half_width_kana_readings_and_full_width_digits_are_stored_as_the_policy_normalises_them(consented):
    content = answers()["identity"] | {"family_name_kana": "ﾔﾏﾀﾞ", "given_name_kana": "ﾀﾛｳ",
                                       "date_of_birth": "１９８０-０１-０１", "family_name": "  山田  "}
    response = save(consented, "identity", content)
    assert response.status_code == 200 and response.json()["errors"] == []
    stored = draft(consented, "identity")
    assert (stored["family_name_kana"], stored["given_name_kana"]) == ("ヤマダ", "タロウ")
    assert (stored["date_of_birth"], stored["family_name"]) == ("1980-01-01", "山田")


def test_a_reading_not_in_katakana_is_an_error_beside_the_field_and_the_draft_is_kept(consented):
    content = answers()["identity"] | {"family_name_kana": "やまだ"}
    response = save(consented, "identity", content)
    assert response.status_code == 200
    assert [(e["path"], e["code"]) for e in response.json()["errors"]] == [("identity.family_name_kana",
                                                                            "not_katakana")]
    assert draft(consented, "identity")["family_name_kana"] == "やまだ"


def test_an_answer_of_invisible_characters_only_is_no_answer(world, consented):
    subject = world.subject_actor(consented.person)
    content = answers()["identity"] | {"family_name": "\u200b\u200b"}
    saved = services.save_questionnaire_section(actor=subject, case=consented, section="identity", content=content)
    assert saved.is_complete is False


def test_a_nul_typed_into_a_portal_section_is_shown_beside_the_field_and_nothing_is_saved(world, consented,
                                                                                         signed_in):
    client = signed_in(world.people["subject"])
    response = client.post(f"/assessment/portal/{consented.pk}/questionnaire/identity/",
                           {"family_name": "山\x00田", "version": "0", "action": "save"})
    assert response.status_code == 400
    page = response.content.decode()
    assert 'id="q-family_name"' in page and "U+0000" in page
    assert not QuestionnaireSection.objects.filter(case=consented).exists()


# --- §2 the date policy ------------------------------------------------------------------------------------

def test_questionnaire_dates_before_1900_are_errors_beside_the_field(consented):
    content = answers()["identity"] | {"date_of_birth": "0001-01-01"}
    errors = save(consented, "identity", content).json()["errors"]
    assert [(e["path"], e["code"]) for e in errors] == [("identity.date_of_birth", "date_out_of_range")]
    content = answers()["employment_10y"]
    content["jobs"][1]["started_on"] = "1899-12-31"
    errors = save(consented, "employment_10y", content).json()["errors"]
    assert ("employment_10y.jobs[1].started_on", "date_out_of_range") in [(e["path"], e["code"]) for e in errors]


def test_a_reportable_event_dated_0001_01_01_is_refused_naming_occurred_on(world):
    _case, clearance = cleared(world)
    response = send(world.people["business_officer"], "post", f"/clearances/{clearance.pk}/events",
                    {"kind": "transferred", "occurred_on": "0001-01-01", "new_post": "企画部 課長"})
    assert response.status_code == 422 and response.json()["field"] == "occurred_on"
    assert response.json()["code"] == "date_out_of_range"
    assert not ReportableEvent.objects.exists()


def test_a_departure_dated_before_the_nomination_and_a_concern_before_birth_are_refused(world):
    case, clearance = cleared(world)
    with pytest.raises(RuleViolation) as info:
        services.report_event(actor=world["business"], clearance=clearance, kind="left",
                              occurred_on=dt.date(2026, 5, 31))
    assert (info.value.code, info.value.field) == ("date_out_of_range", "occurred_on")
    with pytest.raises(RuleViolation) as info:
        services.report_event(actor=world["business"], clearance=clearance, kind="concerning_event",
                              occurred_on=case.person.date_of_birth - dt.timedelta(days=1), description="借入れの申告")
    assert (info.value.code, info.value.field) == ("date_out_of_range", "occurred_on")
    assert not ReportableEvent.objects.exists()


def test_an_inquiry_dated_before_the_subjects_consent_is_refused(world):
    case = to_submitted(world, nominate(world))
    services.assign_investigator(actor=world["cao_head"], case=case, investigator=world.people["investigator"])
    with pytest.raises(RuleViolation) as info:
        services.record_inquiry(actor=world["investigator"], case=case, recipient_kind="superior",
                                recipient_organisation="東和重工業株式会社", recipient_name="上司", question="勤務態度",
                                sent_on=dt.date(2026, 5, 31))
    assert (info.value.code, info.value.field) == ("date_out_of_range", "sent_on")
    assert not Inquiry.objects.exists()


def test_an_interview_set_more_than_a_year_ahead_is_refused(world):
    from django.utils import timezone

    from .conftest import answered_inquiry

    case = to_submitted(world, nominate(world))
    services.assign_investigator(actor=world["cao_head"], case=case, investigator=world.people["investigator"])
    answered_inquiry(world, case)
    with pytest.raises(RuleViolation) as info:
        services.schedule_interview(actor=world["investigator"], case=case, at=timezone.now() + dt.timedelta(days=400))
    assert (info.value.code, info.value.field) == ("date_out_of_range", "at")
    assert fresh(case).interview_at is None


def test_an_agreement_to_be_listed_before_the_regime_started_is_refused(world):
    response = send(world.people["business_officer"], "post", "/nominations",
                    {"username": new_employee(world).account.username, "contract_id": world.contract.pk,
                     **ROW, "listing_agreed_on": "2025-05-15"})
    assert response.status_code == 422
    assert (response.json()["code"], response.json()["field"]) == ("date_out_of_range", "listing_agreed_on")
    assert not AssessmentCase.objects.exists()


# --- §1 free text of the other assessment records ---------------------------------------------------------

def test_eleven_nuls_do_not_pass_the_ten_character_minimum_of_an_exemption_reason(world):
    earlier, _clearance = cleared(world)
    held = services.nominate(actor=world["business"], person=earlier.person, contract=world.contract,
                             department="技術部", post="主任", listing_agreed_on=dt.date(2026, 5, 20)).exemption
    for reason in ("\x00" * 11, " " * 20, "\u200b" * 12):
        with pytest.raises(RuleViolation) as info:
            services.confirm_exemption(actor=world["head"], exemption=held, reason=reason)
        assert info.value.field == "reason"
    assert held.__class__.objects.get(pk=held.pk).state == "pending"


def test_nuls_in_a_complaint_a_finding_and_a_nomination_are_refused_naming_the_field(world):
    # The services refuse them whichever channel calls (a form, the CLI, a CSV file, the API).
    case = to_notified(world, nominate(world))
    with pytest.raises(RuleViolation) as info:
        services.file_complaint(actor=world.subject_actor(case.person), case=case, text="理由に不服がある\x00")
    assert (info.value.code, info.value.field) == ("invalid_character", "text")
    with pytest.raises(RuleViolation) as info:
        services.nominate(actor=world["business"], person=new_employee(world), contract=world.contract,
                          department="技術\x00部", post="主任", listing_agreed_on=dt.date(2026, 5, 20))
    assert (info.value.code, info.value.field) == ("invalid_character", "department")
    investigating = to_submitted(world, nominate(world, new_employee(world)))
    services.assign_investigator(actor=world["cao_head"], case=investigating,
                                 investigator=world.people["investigator"])
    with pytest.raises(RuleViolation) as info:
        services.record_finding(actor=world["investigator"], case=investigating, item="item_1", text="懸念なし\x00")
    assert (info.value.code, info.value.field) == ("invalid_character", "text")
    # Over the API too: 422 naming the field, never stored.
    response = send(case.person.account, "post", f"/cases/{case.pk}/complaints", {"text": "理由に不服がある\x00"})
    assert response.status_code == 422 and (response.json()["code"], response.json()["field"]) == (
        "invalid_character", "text")
    assert not Complaint.objects.exists() and not Finding.objects.filter(case=investigating).exists()
    assert AssessmentCase.objects.count() == 2


def test_a_right_to_left_override_in_a_complaint_is_refused_with_its_position(world):
    case = to_notified(world, nominate(world))
    with pytest.raises(RuleViolation) as info:
        services.file_complaint(actor=world.subject_actor(case.person), case=case, text="結果に\u202e不服")
    assert (info.value.code, info.value.field) == ("invalid_character", "text")
    assert "character 4 " in info.value.message_en and "U+202E" in info.value.message_en


def test_department_and_post_are_stored_normalised_and_longer_than_200_after_nfkc_refused(world):
    result = services.nominate(actor=world["business"], person=new_employee(world), contract=world.contract,
                               department=" ｷﾞｼﾞｭﾂﾌﾞ ", post="ＳＥ", listing_agreed_on=dt.date(2026, 5, 20))
    assert (result.case.department, result.case.post) == ("ギジュツブ", "SE")
    with pytest.raises(RuleViolation) as info:  # U+3350 (㍐) is two characters once normalised
        services.nominate(actor=world["business"], person=new_employee(world), contract=world.contract,
                          department="技術部", post="\u3350" * 101, listing_agreed_on=dt.date(2026, 5, 20))
    assert (info.value.code, info.value.field) == ("text_too_long", "post")


def test_an_inquiry_organisation_longer_than_200_characters_is_refused_not_cut(world):
    case = to_submitted(world, nominate(world))
    services.assign_investigator(actor=world["cao_head"], case=case, investigator=world.people["investigator"])
    with pytest.raises(RuleViolation) as info:
        services.record_inquiry(actor=world["investigator"], case=case, recipient_kind="organisation",
                                recipient_organisation="株" * 201, recipient_name="担当者", question="照会事項",
                                sent_on=dt.date(2026, 6, 1))
    assert (info.value.code, info.value.field) == ("text_too_long", "recipient_organisation")


# --- §5 exact duplicates of a fact -------------------------------------------------------------------------

def test_the_same_reportable_event_sent_eighteen_times_is_recorded_once(world, _frozen_today):
    _case, clearance = cleared(world)
    body = {"kind": "transferred", "occurred_on": "2026-06-01", "new_post": "企画部 課長"}
    statuses = [send(world.people["business_officer"], "post", f"/clearances/{clearance.pk}/events", body)
                for _ in range(18)]
    assert [r.status_code for r in statuses] == [201] + [422] * 17
    assert {(r.json()["code"], r.json()["field"]) for r in statuses[1:]} == {("already_reported", "occurred_on")}
    assert ReportableEvent.objects.filter(clearance=clearance).count() == 1
    assert AuditEntry.objects.filter(action="assessment.report_event").count() == 1
    # Another reporter, or another day, is another fact.
    services.report_event(actor=world["security"], clearance=clearance, kind="transferred",
                          occurred_on=dt.date(2026, 6, 1), new_post="企画部 課長")
    _frozen_today.move_to(dt.datetime(2026, 6, 2, 3, 0, tzinfo=dt.UTC))
    services.report_event(actor=world["business"], clearance=clearance, kind="transferred",
                          occurred_on=dt.date(2026, 6, 2), new_post="企画部 部長")
    assert ReportableEvent.objects.filter(clearance=clearance).count() == 3


def test_the_same_adverse_treatment_report_twice_is_one_report_until_it_is_decided(world):
    case = to_notified(world, nominate(world))
    subject = world.subject_actor(case.person)
    first = services.report_adverse_treatment(actor=subject, case=case, kind="pay_cut", text="評価の後に減給された。")
    with pytest.raises(RuleViolation) as info:
        services.report_adverse_treatment(actor=subject, case=case, kind="pay_cut", text=" 評価の後に減給された。 ")
    assert (info.value.code, info.value.field) == ("already_reported", "text")
    services.report_adverse_treatment(actor=subject, case=case, kind="demotion", text="評価の後に減給された。")
    services.decide_adverse_treatment(actor=world["head"], report=first, outcome="not_substantiated",
                                      reasons="事実を確認できなかった。")
    services.report_adverse_treatment(actor=subject, case=case, kind="pay_cut", text="評価の後に減給された。")
    assert AdverseTreatmentReport.objects.filter(case=case).count() == 3


def test_the_same_complaint_filed_twice_while_the_first_is_open_is_filed_once(world):
    case = to_notified(world, nominate(world))
    subject = world.subject_actor(case.person)
    services.file_complaint(actor=subject, case=case, text="理由に不服がある。")
    with pytest.raises(RuleViolation) as info:
        services.file_complaint(actor=subject, case=case, text="理由に不服がある。")
    assert (info.value.code, info.value.field) == ("complaint_already_filed", "text")
    services.file_complaint(actor=subject, case=case, text="手続にも不服がある。")
    assert Complaint.objects.filter(case=case).count() == 2


def test_the_same_inquiry_recorded_twice_is_one_inquiry(world):
    case = to_submitted(world, nominate(world))
    services.assign_investigator(actor=world["cao_head"], case=case, investigator=world.people["investigator"])
    fields = {"recipient_kind": "superior", "recipient_organisation": "東和重工業株式会社", "recipient_name": "上司",
              "question": "勤務態度について", "sent_on": dt.date(2026, 6, 1)}
    services.record_inquiry(actor=world["investigator"], case=case, **fields)
    with pytest.raises(RuleViolation) as info:
        services.record_inquiry(actor=world["investigator"], case=case, **fields)
    assert (info.value.code, info.value.field) == ("inquiry_already_recorded", "question")
    services.record_inquiry(actor=world["investigator"], case=case, **fields | {"method": "document_request"})
    assert Inquiry.objects.filter(case=case).count() == 2


@pytest.mark.django_db(transaction=True)
def test_an_exact_duplicate_reported_twice_at_once_is_recorded_once(world):
    from tests.concurrency.harness import assert_refusals_are_clear, bearer, post, race

    _case, clearance = cleared(world)
    body = {"kind": "left", "occurred_on": "2026-06-01"}
    headers = bearer(factories.api_token(world.people["business_officer"]))
    outcomes = race(*(post(f"{BASE}/clearances/{clearance.pk}/events", body, headers) for _ in range(3)))
    assert_refusals_are_clear(outcomes)
    assert sorted(o.status for o in outcomes) == [201, 422, 422]
    assert {o.json()["code"] for o in outcomes if o.status == 422} == {"already_reported"}
    assert ReportableEvent.objects.filter(clearance=clearance).count() == 1


# --- §6 no existence oracle in nominations -------------------------------------------------------------------

def _outsider(world):
    """Someone on another organisation's staff (METI), with no date of birth recorded either."""
    account = factories.account(role="subject", organisation=world.orgs["METI"])
    account.person.__class__.objects.filter(pk=account.person_id).update(date_of_birth=None)
    return account


def _same(a, b) -> None:
    assert (a.status_code, a["Content-Type"], a.content) == (b.status_code, b["Content-Type"], b.content)


def test_a_nominator_gets_the_same_answer_for_a_foreign_and_a_missing_account_or_person(world):
    outsider = _outsider(world)
    officer = world.people["business_officer"]
    by_name = [send(officer, "post", "/nominations", {"username": name, "contract_id": world.contract.pk, **ROW})
               for name in (outsider.username, "nobody-at-all")]
    _same(*by_name)
    assert by_name[0].status_code == 422 and by_name[0].json()["field"] == "username"
    by_id = [send(officer, "post", "/nominations", {"person_id": pk, "contract_id": world.contract.pk, **ROW})
             for pk in (outsider.person_id, outsider.person_id + 10_000, 2**63)]
    _same(by_id[0], by_id[1])
    _same(by_id[0], by_id[2])
    # Whatever else the row gets wrong, the answer about the candidate comes first, for both alike.
    wrong = [send(officer, "post", "/nominations", {"username": name, "contract_id": world.contract.pk, **ROW,
                                                    "department": "", "listing_agreed_on": "2020-01-01"})
             for name in (outsider.username, "nobody-at-all")]
    _same(*wrong)
    assert not AssessmentCase.objects.exists()


def test_a_bulk_nomination_answers_a_foreign_and_a_missing_candidate_alike(world):
    outsider = _outsider(world)
    rows = [{"username": outsider.username, **ROW}, {"username": "nobody-at-all", **ROW},
            {"person_id": outsider.person_id, **ROW}, {"person_id": outsider.person_id + 10_000, **ROW}]
    response = send(world.people["business_officer"], "post", "/nominations/bulk",
                    {"contract_id": world.contract.pk, "rows": rows})
    assert response.status_code == 422
    errors = response.json()["errors"]
    assert [e["row"] for e in errors] == [0, 1, 2, 3]
    assert errors[0] | {"row": 1} == errors[1] and errors[2] | {"row": 3} == errors[3]
    assert errors[0]["message"] == errors[2]["message"]


def test_the_csv_file_answers_a_foreign_and_a_missing_candidate_alike_and_checks_no_stranger_birth_date(
        world, tmp_path, capsys):
    from hozen.cli import main

    outsider = factories.account(role="subject", organisation=world.orgs["METI"])
    path = tmp_path / "nominees.csv"
    path.write_text("username,department,post,listing_agreed_on,date_of_birth\r\n"
                    f"{outsider.username},技術部,主任,2026-05-20,1999-09-09\r\n"
                    "nobody-at-all,技術部,主任,2026-05-20,1999-09-09\r\n", encoding="utf-8")
    assert main(["assessments", "nominate", str(path), "--as", "business-officer", "--contract", "METI-C-1"]) == 1
    err = capsys.readouterr().err.splitlines()
    foreign = next(e for e in err if " line 2: " in e).split(" line 2: ", 1)[1]
    missing = next(e for e in err if " line 3: " in e).split(" line 3: ", 1)[1]
    assert foreign == missing and foreign.startswith("username: No one among the staff of")
    assert not AssessmentCase.objects.exists()


def test_someone_who_may_not_nominate_learns_nothing_about_candidates(world):
    outsider = _outsider(world)
    answers_seen = [send(world.people["investigator"], "post", "/nominations",
                         {"username": name, **ROW}) for name in (outsider.username, "nobody-at-all")]
    _same(*answers_seen)
    assert answers_seen[0].status_code == 403


# --- property tests over the write services and their routes -------------------------------------------------

#: Characters the policy refuses, rewrites or must count right.
HOSTILE = [
    "\x00", "\x01", "\x1b", "\x7f", "\x85", "\x9f", "\r", "\n", "\t", "\r\n",
    "\u202a", "\u202e", "\u2066", "\u2069", "\ud800", "\udfff", "\ufdd0", "\ufffe", "\U0010ffff",
    "\u200b", "\ufeff", "\u3000", "\u00a0", " ", "ｱ", "ｶﾞ", "ﾊﾟ", "Ａ", "１", "①", "ﬁ", "㍻", "\u3350", "e\u0301",
    "\U0001f600",
]
_pieces = st.one_of(st.sampled_from(HOSTILE), st.characters(), st.text(max_size=6))
hostile_text = st.one_of(
    st.lists(_pieces, max_size=24).map("".join),
    st.tuples(st.lists(_pieces, max_size=4).map("".join), st.sampled_from(["山田", "東京都千代田区", "ﾔﾏﾀﾞ"])).map(
        lambda t: t[1] + t[0] + t[1]),
    st.tuples(st.sampled_from(["あ", "ｱ", " ", "\u200b", "\u3350"]), st.sampled_from([1, 199, 200, 201, 4001])).map(
        lambda t: t[0] * t[1]),
    st.sampled_from(["", " ", "\x00" * 11, "あ" * 20_000 + "い"]),
)
PROPERTY = settings(max_examples=60, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                           HealthCheck.large_base_example])


def _refused_naming(response, *fields: str) -> dict:
    """A refusal (never a 5xx) that names one of ``fields``; its body."""
    assert response.status_code in (409, 422), (response.status_code, response.content[:300])
    body = response.json()
    named = {body.get("field")} | set(body.get("fields") or []) | {e.get("path") or e.get("field")
                                                                   for e in body.get("errors") or []
                                                                   if isinstance(e, dict)}
    assert named & set(fields), (fields, body)
    return body


def _policy(value, **rule):
    try:
        return clean(value, field="f", **rule), None
    except RuleViolation as exc:
        return None, exc.code


STRING_KINDS = ("text", "long_text", "date", "choice", "country")
#: (section, group or None, field) for every string answer of the questionnaire
PATHS = [(s.code, None, f) for s in SECTIONS for f in s.fields if f.kind in STRING_KINDS] + [
    (s.code, g.name, f) for s in SECTIONS for g in s.fields if g.kind == "group" for f in g.fields
    if f.kind in STRING_KINDS]


def test_any_text_in_any_questionnaire_answer_is_stored_as_the_policy_leaves_it_or_refused_naming_its_path(
        consented):
    outcomes = Counter()

    @PROPERTY
    @given(where=st.sampled_from(PATHS), value=hostile_text)
    def example(where, value):
        code, group, f = where
        content = answers()[code]
        if group is None:
            content[f.name] = value
            path = f"{code}.{f.name}"
        else:
            content[group] = [dict((content.get(group) or [{}])[0]) | {f.name: value}]
            path = f"{code}.{group}[0].{f.name}"
        response = save(consented, code, content)
        cleaned, refusal = _policy(value, multiline=f.kind == "long_text")
        if response.status_code == 200:
            outcomes["stored"] += 1
            assert refusal is None, (value, refusal)
            stored = draft(consented, code)
            stored = stored[f.name] if group is None else stored[group][0][f.name]
            assert stored == cleaned and len(stored) <= 20_000
            return
        outcomes["refused"] += 1
        # The service names the answer's path; the request parser (a NUL, a lone surrogate) the body's.
        body = _refused_naming(response, path, "content." + path.split(".", 1)[1])
        if refusal is None:
            assert len(cleaned) > 20_000, (value, body)
        elif any(e.get("path") == path for e in body.get("errors") or []):
            assert any(e["code"] == refusal for e in body["errors"] if e["path"] == path), body
        else:
            assert body["code"] == refusal, (value, body)

    example()
    assert outcomes["stored"] and outcomes["refused"], outcomes  # both sides of the property were tried


def test_any_text_in_a_nomination_row_is_stored_as_the_policy_leaves_it_or_refused_naming_the_field(world):
    outcomes = Counter()

    @PROPERTY
    @given(field=st.sampled_from(["department", "post", "employing_agency"]), value=hostile_text)
    def example(field, value):
        person = new_employee(world)
        body = {"person_id": person.pk, "contract_id": world.contract.pk, **ROW, field: value}
        if field == "employing_agency":
            body["dispatched_worker"] = True
        response = send(world.people["business_officer"], "post", "/nominations", body)
        cleaned, refusal = _policy(value, max_length=200)
        if response.status_code == 201:
            outcomes["stored"] += 1
            assert refusal is None and cleaned
            case = AssessmentCase.objects.get(pk=response.json()["case"]["id"])
            assert getattr(case, field) == cleaned
            return
        outcomes["refused"] += 1
        answer = _refused_naming(response, field)
        if refusal is not None and answer.get("code") != "invalid_input":  # the schema's own length limit
            assert answer["code"] == refusal, (value, answer)
        assert not AssessmentCase.objects.filter(person=person).exists()

    example()
    assert outcomes["stored"] and outcomes["refused"], outcomes


def test_any_complaint_text_is_stored_as_the_policy_leaves_it_or_refused_naming_the_field(world, notified):
    outcomes = Counter()

    @PROPERTY
    @given(value=hostile_text)
    def example(value):
        response = send(notified.person.account, "post", f"/cases/{notified.pk}/complaints", {"text": value})
        cleaned, refusal = _policy(value, multiline=True, max_length=20_000)
        if response.status_code == 201:
            outcomes["stored"] += 1
            assert refusal is None
            complaint = Complaint.objects.get(pk=response.json()["id"])
            subject = world.subject_actor(notified.person)
            assert reveal(subject, complaint, "text", purpose="subject_access") == cleaned
            return
        outcomes["refused"] += 1
        answer = _refused_naming(response, "text")
        if refusal is not None and answer.get("code") != "invalid_input":  # the schema's own length limit
            assert answer["code"] == refusal, (value, answer)

    example()
    assert outcomes["stored"] and outcomes["refused"], outcomes


def test_any_finding_text_is_stored_as_the_policy_leaves_it_or_refused_naming_the_field(world, investigating):
    outcomes = Counter()

    @PROPERTY
    @given(value=hostile_text)
    def example(value):
        version = Finding.objects.filter(case=investigating, item="item_1").values_list("version", flat=True).first()
        response = send(world.people["investigator"], "put", f"/cases/{investigating.pk}/findings/item_1",
                        {"text": value}, HTTP_IF_MATCH=f'"{version or 0}"')
        cleaned, refusal = _policy(value, multiline=True, max_length=20_000)
        if response.status_code == 200:
            outcomes["stored"] += 1
            assert refusal is None and response.json()["text"] == cleaned
            finding = Finding.objects.get(case=investigating, item="item_1")
            assert reveal(world["investigator"], finding, "text", purpose="investigation") == cleaned
            return
        outcomes["refused"] += 1
        answer = _refused_naming(response, "text")
        if refusal is not None and answer.get("code") != "invalid_input":  # the schema's own length limit
            assert answer["code"] == refusal, (value, answer)

    example()
    assert outcomes["stored"] and outcomes["refused"], outcomes
