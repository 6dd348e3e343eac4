"""The staff and portal forms of the assessment answer bad input in the GOV.UK pattern (issue 15):
every problem at once in one error summary at the top, each field's problem linked to its input (a
radio group's first option), what was typed kept, and nothing written."""

from __future__ import annotations

import pytest
from django import forms
from django.template.loader import render_to_string
from django.urls import reverse
from django_otp.plugins.otp_totp.models import TOTPDevice

from hozen.assessment import services
from hozen.assessment.models import AssessmentCase, CaseDuty, Inquiry
from hozen.assessment.states import State
from hozen.audit.models import AuditEntry
from tests import factories
from tests.error_summary import one_summary, read

from .conftest import REASONS, fill_questionnaire, fresh, nominate, to_investigation_complete, to_submitted

pytestmark = pytest.mark.django_db


def url(name, *args):
    return reverse(f"assessment:{name}", args=args)


def written() -> tuple[int, int, int]:
    """What a refused post must leave as it was: the audit entries of writes (page reads and the
    sign-in aside), the cases and the inquiries."""
    return (AuditEntry.objects.exclude(action__in=["auth.sign_in", "personal_data.read"]).count(),
            AssessmentCase.objects.count(), Inquiry.objects.count())


def problems(form) -> list[str]:
    return [str(e) for errors in form.errors.values() for e in errors]


def test_the_investigators_inquiry_form_lists_every_problem_linked_to_its_field(world, signed_in):
    case = to_submitted(world, nominate(world))
    services.assign_investigator(actor=world["cao_head"], case=case, investigator=world.people["investigator"])
    client = signed_in(world.people["investigator"])
    before = written()
    response = client.post(url("investigator_inquiry", case.pk), {
        "inquiry-recipient_kind": "spy", "inquiry-recipient_organisation": "組織", "inquiry-sent_on": "2026-13-45"})
    assert response.status_code == 200
    html = response.content.decode()
    summary = one_summary(html, problems=5)
    # The page has five forms; the summary of this one is named after its prefix.
    assert summary.id == "error-summary-inquiry"
    assert summary.links == ["id_inquiry-recipient_kind", "id_inquiry-recipient_name", "id_inquiry-method",
                             "id_inquiry-question", "id_inquiry-sent_on"]
    assert summary.items == problems(response.context["inquiry_form"])
    assert 'value="組織"' in html and 'value="2026-13-45"' in html  # what was typed stays
    assert 'id="form-errors"' not in html  # no second box repeating the summary
    assert written() == before and fresh(case).state == State.UNDER_INVESTIGATION


def test_the_adjudication_form_links_a_missing_outcome_to_its_first_option(world, signed_in):
    case = to_investigation_complete(world, nominate(world))
    services.assign_adjudicator(actor=world["head"], case=case, adjudicator=world.people["adjudicator"])
    client = signed_in(world.people["adjudicator"])
    before = written()
    response = client.post(url("adjudicator_decide", case.pk), {
        **{f"reason_{k}": v for k, v in REASONS.items()}, "reason_item_5": " ", "step": "review"})
    assert response.status_code == 200
    summary = one_summary(response.content.decode(), problems=2)
    assert summary.id == "error-summary"
    assert summary.links == ["id_outcome_0", "id_reason_item_5"]
    assert summary.items == problems(response.context["form"])
    assert written() == before and fresh(case).state == State.INVESTIGATION_COMPLETE
    assert not CaseDuty.objects.filter(case=case, kind=CaseDuty.Kind.CONCURRING_ADJUDICATOR).exists()


def test_the_subjects_consent_form_lists_a_bad_decision_and_a_missing_code(world, signed_in):
    case = nominate(world)
    services.give_notice(actor=world["security"], case=case)
    subject = world.people["subject"]  # with an authenticator: the form asks for its code
    TOTPDevice.objects.create(user=subject, name="phone", key=factories.TOTP_KEY, confirmed=True)
    client = signed_in(subject)
    before = written()
    response = client.post(url("portal_notice", case.pk), {"decision": "maybe", "token": ""})
    assert response.status_code == 200
    summary = one_summary(response.content.decode(), problems=2)
    assert summary.links == ["id_decision_0", "id_token"]
    assert summary.items == problems(response.context["form"])
    assert written() == before and fresh(case).state == State.NOTICE_GIVEN


def test_the_subjects_complaint_form_keeps_its_text_and_links_its_problem(world, signed_in):
    case = to_submitted(world, nominate(world))
    client = signed_in(world.people["subject"])
    before = written()
    response = client.post(url("portal_complaints", case.pk), {"text": "x" * 20_001})
    assert response.status_code == 200
    summary = one_summary(response.content.decode(), problems=1)
    assert summary.links == ["id_text"]
    assert written() == before and not case.complaints.exists()


class _Prefixed(forms.Form):
    note = forms.CharField(label="Note")
    choice = forms.ChoiceField(label="Choice", choices=[("a", "A"), ("b", "B")], widget=forms.RadioSelect)

    def clean(self):
        raise forms.ValidationError("The case moved on.")


@pytest.mark.parametrize("template", ["assessment/staff/_form.html", "assessment/portal/_form.html"])
def test_two_prefixed_forms_on_one_page_have_their_own_summaries(template):
    page = "".join(render_to_string(template, {"form": _Prefixed({}, prefix=p)}) for p in ("one", "two"))
    summaries, ids = read(page)
    assert [s.id for s in summaries] == ["error-summary-one", "error-summary-two"]
    assert ids["error-summary-title-one"] == ids["error-summary-title-two"] == 1
    assert [s.links for s in summaries] == [["id_one-note", "id_one-choice_0"], ["id_two-note", "id_two-choice_0"]]
    # The non-field problem is the summary's first item, as text, and is not repeated in a box of its own.
    assert [s.items[0] for s in summaries] == ["The case moved on."] * 2
    assert page.count("The case moved on.") == 2


@pytest.mark.parametrize("template", ["assessment/staff/_form.html", "assessment/portal/_form.html"])
def test_a_form_without_errors_has_no_summary(template):
    assert "data-error-summary" not in render_to_string(template, {"form": _Prefixed()})


def test_an_empty_post_of_a_portal_form_is_answered_with_its_problems_not_a_blank_form(world, signed_in):
    """A POST with no fields at all (a form emptied in the browser's tools, a script) is a bound form
    with every required field missing, not the unbound form again."""
    case = nominate(world)
    services.give_notice(actor=world["security"], case=case)
    TOTPDevice.objects.create(user=world.people["subject"], name="phone", key=factories.TOTP_KEY, confirmed=True)
    client = signed_in(world.people["subject"])

    def empty_post(target):
        before = written()
        response = client.post(target, {})
        assert response.status_code == 200, target
        assert response.context["form"].errors, target
        one_summary(response.content.decode(), problems=len(problems(response.context["form"])))
        assert written() == before

    empty_post(url("portal_notice", case.pk))
    assert fresh(case).state == State.NOTICE_GIVEN
    services.consent(actor=world.subject_actor(case.person), case=case)
    fill_questionnaire(world, case)
    services.submit_questionnaire(actor=world.subject_actor(case.person), case=case)
    empty_post(url("portal_complaints", case.pk))
    assert not case.complaints.exists()
