"""Honest field messages in the designation form and API (issue 15): an impossible date is refused
as a date the calendar lacks (not as a format error), a justification under the minimum says the
minimum, and the form shows all its errors at once, values kept. Time is frozen at 2026-06-01."""

from __future__ import annotations

import json

import pytest
from django.test import Client
from django.utils import translation

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
