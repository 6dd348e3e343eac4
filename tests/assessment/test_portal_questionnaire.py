"""The questionnaire in the subject portal (DOMAIN §6 step 4; LESSONS.md "The subject"): one page
per section from the schema, drafts saved on every change (idempotent), errors beside the field,
input never discarded, resumable on another device, completeness view, submission, and the copy
of exactly what was submitted with its SHA-256."""

from __future__ import annotations

import io
import json
import re

import pypdf
import pytest

from hozen.assessment import services
from hozen.assessment.models import QuestionnaireSection
from hozen.assessment.questionnaire import SECTIONS
from hozen.assessment.states import State
from hozen.crypto import reveal

from .conftest import (
    SectionPages,
    actor_of,
    answers,
    audit_entries,
    fill_questionnaire,
    fresh,
    nominate,
    to_consented,
)

pytestmark = pytest.mark.django_db

AUTOSAVE = {"HTTP_X_HOZEN_AUTOSAVE": "1", "HTTP_ACCEPT": "application/json"}


@pytest.fixture
def consented(world):
    return to_consented(world, nominate(world))


@pytest.fixture
def client(world, signed_in):
    return SectionPages(signed_in(world.people["subject"]))


def section_url(case, code=""):
    return f"/assessment/portal/{case.pk}/questionnaire/" + (f"{code}/" if code else "")


def stored(case, code):
    return QuestionnaireSection.objects.filter(case=case, section=code).first()


def draft(case, code) -> dict:
    return reveal(actor_of(case.person.account, "subject"), stored(case, code), "content", purpose="subject_access")


def test_every_section_renders_from_the_schema(client, consented):
    for section in SECTIONS:
        response = client.get(section_url(consented, section.code))
        assert response.status_code == 200, section.code
        body = response.content.decode()
        for field in section.fields:
            assert f'name="{field.name}"' in body or f'data-group="{field.name}"' in body, (section.code, field.name)


def test_questionnaire_before_consent_is_not_open(world, client):
    case = nominate(world)
    services.give_notice(actor=world["security"], case=case)
    assert client.get(section_url(case)).status_code == 302
    assert client.get(section_url(case, "identity")).status_code == 302
    response = client.post(section_url(case, "identity"), {"family_name": "山田"})
    assert response.status_code == 409
    assert stored(case, "identity") is None


def test_unknown_section_is_a_404(client, consented):
    assert client.get(section_url(consented, "religion")).status_code == 404


def test_plain_save_button_saves_a_draft_and_repeating_it_changes_nothing(client, consented):
    data = {"family_name": "山田", "given_name": "太郎", "date_of_birth": "1980-01-01", "action": "save"}
    response = client.post(section_url(consented, "identity"), data)
    assert response.status_code == 200
    row = stored(consented, "identity")
    assert row.version == 1
    client.post(section_url(consented, "identity"), {**data, "given_name": "  太郎 "})  # white space aside
    assert stored(consented, "identity").version == 1
    assert len(audit_entries("assessment.save_questionnaire")) == 1


def test_autosave_answers_json_with_errors_beside_the_field(client, consented):
    response = client.post(section_url(consented, "relatives_and_cohabitants"), {
        "has_relatives_or_cohabitants": "true", "relatives[0].relation": "spouse", "relatives[0].name": "山田 花子",
        "relatives[0].date_of_birth": "1982/02/02", "relatives[0].nationalities": "jp, kr"}, **AUTOSAVE)
    assert response.status_code == 200
    data = response.json()
    assert data["saved"] is True and data["version"] == 1 and data["complete"] is False
    assert "relatives[0].date_of_birth" in data["errors"]
    # Typed input is kept even when wrong: the draft holds it as typed (countries upper-cased).
    content = draft(consented, "relatives_and_cohabitants")
    assert content["relatives"][0]["date_of_birth"] == "1982/02/02"
    assert content["relatives"][0]["nationalities"] == ["JP", "KR"]


def test_errors_are_shown_beside_their_field_on_the_page(client, consented):
    response = client.post(section_url(consented, "employment_10y"), {
        "has_employment": "true", "jobs[0].employer": "A社", "jobs[0].started_on": "2030-01-01",
        "jobs[0].current": "true", "action": "save"})
    body = response.content.decode()
    box = body.split('data-error-for="jobs[0].started_on"', 1)[1].split("</div>", 1)[0]
    assert "将来の日付" in box or "future" in box


def test_malformed_input_is_refused_nothing_stored_and_the_input_stays_on_the_page(client, consented):
    huge = "あ" * 20_001
    response = client.post(section_url(consented, "item_1"), {"involvement": "true", "involvement_details": huge,
                                                              "action": "save"})
    assert response.status_code == 400
    assert stored(consented, "item_1") is None
    assert huge in response.content.decode()  # never silently dropped
    response = client.post(section_url(consented, "item_1"), {"involvement_details": huge}, **AUTOSAVE)
    assert response.status_code == 400 and response.json()["saved"] is False


def test_fields_outside_the_schema_are_never_stored(client, consented):
    client.post(section_url(consented, "item_2"), {"has_convictions": "false", "religion": "x", "action": "save"})
    content = draft(consented, "item_2")
    assert content == {"has_convictions": False}


def test_repeating_groups_add_and_remove_entries_without_js(client, consented):
    url = section_url(consented, "foreign_travel_10y")
    client.post(url, {"has_travel": "true", "action": "add:trips"})
    body = client.get(url).content.decode()
    assert 'name="trips[0].country"' in body
    client.post(url, {"has_travel": "true", "trips[0].country": "US", "trips[0].departed_on": "2019-08-01",
                      "trips[0].returned_on": "2019-08-10", "action": "add:trips"})
    body = client.get(url).content.decode()
    assert 'name="trips[1].country"' in body and 'value="アメリカ合衆国 (US)"' in body
    client.post(url, {"has_travel": "true", "trips[0].country": "US", "trips[0].departed_on": "2019-08-01",
                      "trips[0].returned_on": "2019-08-10", "trips[1].country": "", "action": "remove:trips:1"})
    body = client.get(url).content.decode()
    assert 'name="trips[1].country"' not in body and 'value="アメリカ合衆国 (US)"' in body


def test_drafts_resume_on_another_device(world, client, signed_in, consented):
    client.post(section_url(consented, "identity"), {"family_name": "山田", "current_address": "東京都千代田区",
                                                     "action": "save"})
    other_device = signed_in(world.people["subject"])
    body = other_device.get(section_url(consented, "identity")).content.decode()
    assert 'value="山田"' in body and "東京都千代田区" in body


def test_completeness_view_and_refused_submission_lists_what_is_missing(client, consented):
    client.post(section_url(consented, "identity"), {"family_name": "山田", "action": "save"})
    body = client.get(section_url(consented)).content.decode()
    assert 'data-section="identity"' in body and 'id="completeness"' in body
    # Submission is only from the review page, which lists what is missing (and offers no Submit).
    response = client.post(section_url(consented, "submit"))
    assert response.status_code == 302 and response["Location"].endswith(section_url(consented, "review"))
    review = client.get(section_url(consented, "review")).content.decode()
    assert 'id="review-problems"' in review and 'id="submit-form"' not in review
    assert fresh(consented).state == State.CONSENTED


def test_submit_then_editing_is_refused_and_the_copy_carries_the_hash(world, client, consented):
    fill_questionnaire(world, consented)
    review = client.get(section_url(consented, "review")).content.decode()
    token = re.search(r'name="reviewed" value="([^"]+)"', review).group(1)
    response = client.post(section_url(consented, "submit"), {"reviewed": token})
    assert response.status_code == 302
    case = fresh(consented)
    assert case.state == State.QUESTIONNAIRE_SUBMITTED and len(case.questionnaire_sha256) == 64
    [entry] = audit_entries("assessment.submit_questionnaire")
    assert entry["details"]["sha256"] == case.questionnaire_sha256

    # Editing after submission is refused and changes nothing.
    before = stored(case, "identity").version
    response = client.post(section_url(case, "identity"), {"family_name": "別人", "action": "save"})
    assert response.status_code == 409
    assert client.post(section_url(case, "identity"), {"family_name": "別人"}, **AUTOSAVE).status_code == 409
    assert stored(case, "identity").version == before
    page = client.get(section_url(case, "identity")).content.decode()
    assert 'id="read-only"' in page and "readonly" in page

    # The copy: exactly what was submitted, with the hash the case and the audit log hold.
    response = client.get(section_url(case) + "copy.pdf")
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    text = "".join(p.extract_text() for p in pypdf.PdfReader(io.BytesIO(response.content)).pages).replace("\n", "")
    assert case.questionnaire_sha256 in text
    for value in ("山田 花子", "東和重工業株式会社", "Example Bank", "神奈川県横浜市中区1番地"):
        assert value in text
    # The canonical JSON printed in the copy hashes to the same value.
    canonical = json.loads(text[text.index('{"case"'):text.rindex("}") + 1])
    assert canonical["sections"] == answers()  # exactly what was submitted (already normalised)
    assert services.submitted_sha256(case, canonical["sections"]) == case.questionnaire_sha256


def test_copy_before_submission_is_not_available(client, consented):
    assert client.get(section_url(consented) + "copy.pdf").status_code == 404


def test_autosave_of_the_same_content_is_idempotent(client, consented):
    data = {"has_travel": "false"}
    first = client.post(section_url(consented, "foreign_travel_10y"), data, **AUTOSAVE).json()
    again = client.post(section_url(consented, "foreign_travel_10y"), data, **AUTOSAVE).json()
    assert first["changed"] is True and again["changed"] is False
    assert first["version"] == again["version"] == 1
    assert first["complete"] is True


def reassessment(world):
    """A cleared person whose employer reports a concern: a re-assessment, consented, prefilled."""
    import datetime as dt

    from .conftest import cleared

    _case, clearance = cleared(world)
    record = services.report_event(actor=world["business"], clearance=clearance, kind="concerning_event",
                                   occurred_on=dt.date(2026, 6, 1), description="多額の借入れの申告")
    return to_consented(world, record.reassessment), clearance


def test_a_reassessment_shows_carried_over_sections_what_changed_and_confirms_them(world, client):
    case, clearance = reassessment(world)
    body = client.get(section_url(case)).content.decode()
    assert body.count("needs-confirmation") == len(SECTIONS)
    page = client.get(section_url(case, "identity")).content.decode()
    assert 'id="prefill"' in page and f'data-from-case="{clearance.case_id}"' in page and 'value="confirm"' in page
    assert 'value="山田"' in page  # the last accepted answers, ready to check
    # Confirming as it stands (no JS): confirmed, nothing retyped.
    data = {k: v for k, v in answers()["identity"].items()}
    response = client.post(section_url(case, "identity"), {**data, "action": "confirm"})
    assert response.status_code == 302
    assert stored(case, "identity").confirmed_at is not None
    # A changed answer is listed as changed since the last assessment.
    client.post(section_url(case, "identity"), {**data, "current_address": "大阪府大阪市1-1", "action": "save"})
    page = client.get(section_url(case, "identity")).content.decode()
    changed = page.split('id="prefill"', 1)[1].split("</section>", 1)[0]
    assert "現住所" in changed and "生年月日" not in changed


def test_renewal_reminders_appear_on_the_subjects_portal(world, signed_in, _frozen_today):
    import datetime as dt

    from hozen.core.actor import Actor

    from .conftest import cleared

    _case, clearance = cleared(world)
    _frozen_today.move_to(dt.datetime(2035, 12, 5, 3, 0, tzinfo=dt.UTC))
    services.send_renewal_reminders(actor=Actor.job("assessment.renewal_reminders"))
    client = signed_in(world.people["subject"])  # signed in years later
    body = client.get("/assessment/portal/").content.decode()
    assert 'id="portal-reminders"' in body and "2036-06-01" in body


def test_the_identity_section_offers_what_hozen_holds_and_stores_nothing_until_saved(world, client, consented):
    person = consented.person
    body = client.get(section_url(consented, "identity")).content.decode()
    assert 'id="known-identity"' in body
    assert f'value="{person.family_name}"' in body
    if person.date_of_birth:
        assert f'value="{person.date_of_birth.isoformat()}"' in body
    assert stored(consented, "identity") is None  # offered on the page only: nothing saved
    client.post(section_url(consented, "identity"), {"family_name": "訂正後", "action": "save", "version": "0"})
    assert draft(consented, "identity")["family_name"] == "訂正後"  # the person's correction is what is kept
    assert 'id="known-identity"' not in client.get(section_url(consented, "identity")).content.decode()
