"""Honest field messages in the designation form and API (issue 15): an impossible date is refused
as a date the calendar lacks (not as a format error), a justification under the minimum says the
minimum, and the form shows all its errors at once, values kept. Time is frozen at 2026-06-01."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from hozen.core.errors import RuleViolation
from hozen.core.text import parse_date_text
from hozen.designation.models import Designation
from tests import factories

pytestmark = pytest.mark.django_db

API = "/api/v1/designations"


@pytest.mark.parametrize(("typed", "ja", "en"), [
    ("2025-02-30", "2025年2月30日は暦にない日付です（2025年2月は28日までです）。",
     "2025-02-30 is not a date in the calendar (February 2025 has 28 days)."),
    ("2028-02-30", "2028年2月30日は暦にない日付です（2028年2月は29日までです）。",
     "2028-02-30 is not a date in the calendar (February 2028 has 29 days)."),
    ("2026-04-31", "2026年4月31日は暦にない日付です（2026年4月は30日までです）。",
     "2026-04-31 is not a date in the calendar (April 2026 has 30 days)."),
    ("2026-13-01", "2026年13月1日は暦にない日付です（月は1から12までです）。",
     "2026-13-01 is not a date in the calendar (months run from 1 to 12)."),
])
def test_a_date_the_calendar_lacks_is_refused_as_such_not_as_a_format_error(typed, ja, en):
    with pytest.raises(RuleViolation) as info:
        parse_date_text(typed, field="term_end")
    assert (info.value.code, info.value.message_ja, info.value.message_en) == ("date_not_in_calendar", ja, en)


@pytest.mark.parametrize("typed", ["30/02/2025", "2025-02", "tomorrow", "2025-02-30T00:00", ""])
def test_only_text_of_another_shape_is_told_the_format(typed):
    with pytest.raises(RuleViolation) as info:
        parse_date_text(typed, field="term_end")
    assert info.value.code == "invalid_date" and "YYYY-MM-DD" in info.value.message_en


def test_a_slash_date_is_a_format_error_where_only_iso_is_accepted():
    with pytest.raises(RuleViolation) as info:
        parse_date_text("2026/06/01", field="d", separators="-")
    assert info.value.code == "invalid_date"


def form_data(draft_fields, **changes) -> dict:
    data = {k: (v.pk if hasattr(v, "pk") else v) for k, v in draft_fields.items()}
    data = {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in data.items()}
    data.pop("in_advance")
    data.update(changes)
    return data


@pytest.fixture
def manager_client(people, signed_in):
    return signed_in(people["esi_manager"])


@pytest.mark.parametrize("field", ["designated_on", "term_end"])
def test_the_form_refuses_an_impossible_date_with_the_calendar_message_in_japanese(manager_client, draft_fields,
                                                                                    field):
    page = manager_client.post("/designations/new/", form_data(draft_fields, **{field: "2025-02-30"}))
    assert page.status_code == 200
    assert page.context["form"].errors[field] == ["2025年2月30日は暦にない日付です（2025年2月は28日までです）。"]
    assert 'value="2025-02-30"' in page.content.decode()  # the value is kept
    assert not Designation.objects.exists()


def test_the_form_says_the_calendar_message_in_english_to_an_english_reader(people, signed_in, draft_fields):
    account = people["esi_manager"]
    account.language = "en"
    account.save(update_fields=["language"])
    page = signed_in(account).post("/designations/new/", form_data(draft_fields, term_end="2026-02-29"))
    assert page.context["form"].errors["term_end"] == [
        "2026-02-29 is not a date in the calendar (February 2026 has 28 days)."]


@pytest.mark.parametrize("field", ["designated_on", "term_end"])
def test_the_api_refuses_an_impossible_date_naming_the_field_and_the_calendar(people, field):
    from tests.api.test_designation_api import draft_body

    headers = {"HTTP_AUTHORIZATION": f"Bearer {factories.api_token(people['esi_manager'])}"}
    response = Client().post(API, data=json.dumps(draft_body(**{field: "2025-02-30"})),
                             content_type="application/json", **headers)
    assert response.status_code == 422, response.content
    body = response.json()
    assert (body["code"], body["field"]) == ("date_not_in_calendar", field)
    assert body["detail"] == f"{field}: 2025年2月30日は暦にない日付です（2025年2月は28日までです）。"
    assert not Designation.objects.exists()


def test_the_api_still_tells_the_format_for_text_of_another_shape(people):
    from tests.api.test_designation_api import draft_body

    headers = {"HTTP_AUTHORIZATION": f"Bearer {factories.api_token(people['esi_manager'])}"}
    response = Client().post(API, data=json.dumps(draft_body(term_end="2031/05/31")),
                             content_type="application/json", **headers)
    assert response.status_code == 422 and response.json()["field"] == "term_end"
    assert "YYYY-MM-DD" in json.dumps(response.json()["errors"])


# --- (b) a justification under the minimum says the minimum ---------------------------------------

def test_a_short_justification_is_refused_saying_the_minimum_in_both_languages():
    from hozen.designation import rules

    [problem] = rules.justification_problems("短い理由です", None, "十分な長さの理由をここに記載しています。")
    assert (problem.code, problem.field) == ("justification_required", "justification_category")
    assert problem.message_ja == "要件1（区分・細目への該当）の理由は10文字以上で記載してください（現在6文字）。"
    assert problem.message_en == "Requirement 1 (falls in the category): write at least 10 characters (it has 6)."


def test_the_form_states_the_minimum_before_and_when_a_justification_is_short(manager_client, draft_fields):
    form = manager_client.get("/designations/new/").context["form"]
    assert all("10" in str(form.fields[name].help_text) for name in form.JUSTIFICATIONS)
    page = manager_client.post("/designations/new/", form_data(draft_fields, justification_harm="短い理由"))
    assert page.context["form"].errors["justification_harm"] == ["要件3（漏えいによる支障）の理由は10文字以上で記載してください。"]


def test_the_api_states_the_minimum_in_english_to_an_english_caller(people):
    from tests.api.test_designation_api import draft_body

    account = people["esi_manager"]
    account.language = "en"
    account.save(update_fields=["language"])
    response = Client().post(API, data=json.dumps(draft_body(justification_not_public="short")),
                             content_type="application/json",
                             HTTP_AUTHORIZATION=f"Bearer {factories.api_token(account)}")
    assert response.status_code == 422 and response.json()["field"] == "justification_not_public"
    assert "at least 10" in response.json()["detail"]


# --- (c) every error at once, values kept ------------------------------------------------------------

def test_the_form_shows_every_error_at_once_its_own_and_the_services_with_values_kept(manager_client, draft_fields):
    data = form_data(draft_fields, title="", designated_on="2025-02-30", justification_harm="短い理由",
                     justification_not_public="まだ短い", term_end="2040-01-01", in_advance="on", advance_reason="")
    page = manager_client.post("/designations/new/", data)
    errors = page.context["form"].errors
    # The form's own: the title, the impossible date; the service's, on the fields the form accepted:
    # two short justifications and the missing reason for designating in advance. (The term's maximum
    # needs the designation date, which is refused: it is not judged against a date nobody gave.)
    assert set(errors) == {"title", "designated_on", "justification_harm", "justification_not_public",
                           "advance_reason"}, errors
    body = page.content.decode()
    assert "短い理由" in body and "まだ短い" in body and "2040-01-01" in body  # what was typed stays
    assert not Designation.objects.exists()


def test_a_valid_form_gets_every_rule_refusal_of_the_service_at_once(manager_client, draft_fields):
    data = form_data(draft_fields, justification_harm="短い理由", justification_category="短すぎる",
                     term_end="2040-01-01", protective_measure="marking")
    page = manager_client.post("/designations/new/", data)
    errors = page.context["form"].errors
    assert set(errors) == {"justification_harm", "justification_category", "term_end"}, errors
    assert not Designation.objects.exists()


def test_the_service_refuses_a_draft_once_with_every_independent_problem(meti, orgs, draft_fields):
    from hozen.designation import services
    from hozen.designation.violations import Violations

    with pytest.raises(Violations) as info:
        services.create_draft(actor=meti["manager"], organisation=orgs["METI"],
                              **{**draft_fields, "title": " ", "justification_harm": "短い",
                                 "term_end": draft_fields["term_end"].replace(year=2040),
                                 "protective_measure": "shouting"})
    exc = info.value
    assert [v.field for v in exc.violations] == ["title", "justification_harm", "term_end", "protective_measure"]
    assert (exc.code, exc.field) == ("text_required", "title")  # the first, as a single refusal read
    assert "ほか3件" in exc.message_ja and "and 3 more" in exc.message_en
    assert not Designation.objects.exists()


def test_an_edit_is_refused_once_with_every_problem(meti, orgs, draft_fields, signed_in, people):
    from hozen.designation import services

    draft = services.create_draft(actor=meti["manager"], organisation=orgs["METI"], **draft_fields)
    client = signed_in(people["esi_manager"])
    data = form_data(draft_fields, version=draft.version, justification_harm="短い", justification_category="短い",
                     term_end="2040-01-01")
    page = client.post(f"/designations/{draft.pk}/edit/", data)
    assert set(page.context["form"].errors) == {"justification_harm", "justification_category", "term_end"}
    assert Designation.objects.get(pk=draft.pk).version == draft.version


def test_the_api_lists_every_problem_of_a_draft_in_errors(people):
    from tests.api.test_designation_api import draft_body

    headers = {"HTTP_AUTHORIZATION": f"Bearer {factories.api_token(people['esi_manager'])}"}
    response = Client().post(API, data=json.dumps(draft_body(title=" ", justification_harm="短い",
                                                             term_end="2040-01-01")),
                             content_type="application/json", **headers)
    assert response.status_code == 422, response.content
    body = response.json()
    assert (body["code"], body["field"]) == ("text_required", "title")
    assert body["fields"] == ["title", "justification_harm", "term_end"]
    assert [(e["field"], e["code"]) for e in body["errors"]] == [
        ("title", "text_required"), ("justification_harm", "text_too_short"), ("term_end", "term_over_maximum")]
    assert all(e["message"] for e in body["errors"])
    assert not Designation.objects.exists()
