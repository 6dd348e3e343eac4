"""Issue 15 "review before final": the subject's questionnaire submission and the adjudicator's
decision each get a review page before the final step. The review shows exactly what will be
submitted (every section's answers; the decision and every reason), lists what is incomplete with
links to fix it, and the final POST carries a token of what was reviewed, so a change made in another
window between the review and the confirmation is refused with a clear message and nothing written.
The services stay the only writers (``submit_questionnaire(reviewed=)``, ``adjudicate(reviewed=)``)."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from hozen.assessment import questionnaire, services
from hozen.assessment.models import Adjudication
from hozen.assessment.states import State
from hozen.audit.models import AuditEntry
from hozen.core.errors import RuleViolation

from .conftest import (
    REASONS,
    SectionPages,
    answers,
    fill_questionnaire,
    fresh,
    nominate,
    to_consented,
    to_investigation_complete,
)

pytestmark = pytest.mark.django_db


def url(name, *args):
    return reverse(f"assessment:{name}", args=args)


def token_of(page: str) -> str:
    return re.search(r'name="reviewed" value="([^"]+)"', page).group(1)


@pytest.fixture
def consented(world):
    return to_consented(world, nominate(world))


@pytest.fixture
def subject(world, signed_in):
    return SectionPages(signed_in(world.people["subject"]))


# --- the questionnaire ------------------------------------------------------------------------------

def test_the_questionnaire_review_lists_every_section_with_its_answers_and_the_submit_button(
        world, consented, subject):
    fill_questionnaire(world, consented)
    overview = subject.get(url("portal_questionnaire", consented.pk)).content.decode()
    # The overview links to the review; the Submit button is only on the review page.
    assert url("portal_review", consented.pk) in overview and 'id="submit-form"' not in overview
    response = subject.get(url("portal_review", consented.pk))
    page = response.content.decode()
    assert response.status_code == 200 and 'id="review-problems"' not in page
    for section in questionnaire.SECTIONS:
        assert f'id="review-{section.code}"' in page
    for value in ("山田", "東和重工業株式会社", "Example Bank"):  # answers as they will be submitted
        assert value in page
    assert 'id="submit-form"' in page
    # Reading the answers back is the subject's own read (on their "who read my data" list).
    assert AuditEntry.objects.filter(action="personal_data.read",
                                     target_type="assessment.questionnairesection").exists()
    response = subject.post(url("portal_submit", consented.pk), {"reviewed": token_of(page)})
    assert response.status_code == 302 and fresh(consented).state == State.QUESTIONNAIRE_SUBMITTED


def test_the_questionnaire_review_lists_incomplete_items_with_links_and_offers_no_submit(world, consented, subject):
    content = answers()
    content.pop("item_7")  # a section not started
    content["identity"] = {k: v for k, v in content["identity"].items() if k != "date_of_birth"}
    fill_questionnaire(world, consented, content=content)
    page = subject.get(url("portal_review", consented.pk)).content.decode()
    problems = page[page.index('id="review-problems"'):]
    problems = problems[:problems.index("</div>")]
    identity, item_7 = questionnaire.section("identity"), questionnaire.section("item_7")
    assert f'href="{url("portal_section", consented.pk, "identity")}"' in problems
    assert f'href="{url("portal_section", consented.pk, "item_7")}"' in problems
    assert identity.title("ja") in problems and item_7.title("ja") in problems
    assert any(f.label("ja") in problems for f in identity.fields if f.name == "date_of_birth")
    assert 'id="submit-form"' not in page
    # A submission without the review's token (not from the review page) is sent to the review.
    response = subject.post(url("portal_submit", consented.pk))
    assert response.status_code == 302 and response["Location"] == url("portal_review", consented.pk)
    assert fresh(consented).state == State.CONSENTED


def test_a_questionnaire_changed_in_another_window_after_the_review_is_not_submitted(world, consented, subject):
    fill_questionnaire(world, consented)
    reviewed = token_of(subject.get(url("portal_review", consented.pk)).content.decode())
    # Another window saves a section after the review was opened.
    changed = {**answers()["identity"], "family_name": "佐藤"}
    services.save_questionnaire_section(actor=world.subject_actor(consented.person), case=consented,
                                        section="identity", content=changed)
    before = AuditEntry.objects.filter(action="assessment.submit_questionnaire").count()
    response = subject.post(url("portal_submit", consented.pk), {"reviewed": reviewed})
    page = response.content.decode()
    assert response.status_code == 409 and 'id="review-stale"' in page
    assert "確認画面を開いた後に、回答が変更されました" in page
    assert "佐藤" in page  # the review is shown again, as the answers now are, with a new token
    assert fresh(consented).state == State.CONSENTED
    assert AuditEntry.objects.filter(action="assessment.submit_questionnaire").count() == before
    assert token_of(page) != reviewed
    assert subject.post(url("portal_submit", consented.pk), {"reviewed": token_of(page)}).status_code == 302
    assert fresh(consented).state == State.QUESTIONNAIRE_SUBMITTED


def test_submission_with_a_stale_review_token_is_refused_by_the_service(world, consented):
    fill_questionnaire(world, consented)
    subject = world.subject_actor(consented.person)
    stale = services.review_token({s.code: 0 for s in questionnaire.SECTIONS})
    with pytest.raises(RuleViolation) as info:
        services.submit_questionnaire(actor=subject, case=consented, reviewed=stale)
    assert info.value.code == "changed_since_review"
    assert fresh(consented).state == State.CONSENTED


# --- the adjudication -------------------------------------------------------------------------------

@pytest.fixture
def complete(world):
    case = to_investigation_complete(world, nominate(world))
    services.assign_adjudicator(actor=world["head"], case=case, adjudicator=world.people["adjudicator"])
    return fresh(case)


DECISION = {"outcome": "favourable", **{f"reason_{k}": v for k, v in REASONS.items()}}


def test_the_adjudication_review_shows_the_decision_and_reasons_as_entered_before_anything_is_recorded(
        world, complete, signed_in):
    client = signed_in(world.people["adjudicator"])
    response = client.post(url("adjudicator_decide", complete.pk), DECISION)
    page = response.content.decode()
    assert response.status_code == 200 and 'id="decision-review"' in page
    assert 'data-outcome="favourable"' in page
    for reason in REASONS.values():
        assert reason in page
    assert 'id="confirm-decision"' in page and 'id="edit-decision"' in page
    assert not Adjudication.objects.filter(case=complete).exists()
    assert fresh(complete).state == State.INVESTIGATION_COMPLETE
    # Go back to edit: the form again, with everything typed.
    back = client.post(url("adjudicator_decide", complete.pk), {**DECISION, "step": "edit",
                                                                 "reviewed": token_of(page)}).content.decode()
    assert 'id="adjudicate-form"' in back and REASONS["item_3"] in back
    assert not Adjudication.objects.filter(case=complete).exists()
    # Confirm: recorded, exactly as reviewed.
    response = client.post(url("adjudicator_decide", complete.pk), {**DECISION, "step": "confirm",
                                                                     "reviewed": token_of(page)})
    assert response.status_code == 302 and fresh(complete).state == State.ADJUDICATED_FAVOURABLE
    assert Adjudication.objects.get(case=complete).outcome == "favourable"


def test_a_missing_reason_is_refused_before_the_review(world, complete, signed_in):
    client = signed_in(world.people["adjudicator"])
    response = client.post(url("adjudicator_decide", complete.pk), {**DECISION, "reason_item_4": ""})
    page = response.content.decode()
    assert 'id="decision-review"' not in page and "id_reason_item_4_error" in page


def test_a_decision_confirmed_after_the_case_changed_in_another_window_is_refused(world, complete, signed_in):
    client = signed_in(world.people["adjudicator"])
    page = client.post(url("adjudicator_decide", complete.pk), DECISION).content.decode()
    # In another window the adjudicator returns the case to the investigator; then confirms here.
    services.return_to_investigation(actor=world["adjudicator"], case=complete, question="欠勤の理由は？")
    response = client.post(url("adjudicator_decide", complete.pk), {**DECISION, "step": "confirm",
                                                                     "reviewed": token_of(page)})
    assert response.status_code == 409
    assert "確認画面を開いた後に、この適性評価の状況が変わりました" in response.content.decode()
    assert not Adjudication.objects.filter(case=complete).exists()
    assert fresh(complete).state == State.UNDER_INVESTIGATION
    assert not AuditEntry.objects.filter(action="assessment.adjudicate").exists()


def test_a_waiver_of_reasons_after_the_review_makes_the_review_stale(world, complete, signed_in):
    client = signed_in(world.people["adjudicator"])
    page = client.post(url("adjudicator_decide", complete.pk), DECISION).content.decode()
    services.waive_reasons(actor=world.subject_actor(complete.person), case=complete)
    response = client.post(url("adjudicator_decide", complete.pk), {**DECISION, "step": "confirm",
                                                                     "reviewed": token_of(page)})
    assert response.status_code == 409 and not Adjudication.objects.filter(case=complete).exists()
    # The form is back with what was typed; reviewing and confirming again records it.
    assert REASONS["item_5"] in response.content.decode()
    page = client.post(url("adjudicator_decide", complete.pk), DECISION).content.decode()
    response = client.post(url("adjudicator_decide", complete.pk), {**DECISION, "step": "confirm",
                                                                     "reviewed": token_of(page)})
    assert response.status_code == 302 and Adjudication.objects.get(case=complete).reasons_waived is True


def test_a_confirmation_of_something_other_than_what_was_reviewed_is_refused(world, complete, signed_in):
    client = signed_in(world.people["adjudicator"])
    page = client.post(url("adjudicator_decide", complete.pk), DECISION).content.decode()
    altered = {**DECISION, "outcome": "unfavourable", "step": "confirm", "reviewed": token_of(page)}
    assert client.post(url("adjudicator_decide", complete.pk), altered).status_code == 409
    no_token = {**DECISION, "step": "confirm"}
    assert client.post(url("adjudicator_decide", complete.pk), no_token).status_code == 409
    assert not Adjudication.objects.filter(case=complete).exists()


# --- the complaint's decision -----------------------------------------------------------------------

@pytest.fixture
def assigned_complaint(world):
    from .conftest import to_notified

    case = to_notified(world, nominate(world))
    complaint = services.file_complaint(actor=world.subject_actor(case.person), case=case, text="理由に不服がある。")
    services.assign_complaint_handler(actor=world["head"], complaint=complaint,
                                      handler=world.people["complaint_handler"])
    return complaint


COMPLAINT_DECISION = {"outcome": "not_upheld", "reasons": "手続に誤りは認められない。"}


def test_the_complaint_decision_is_reviewed_before_it_is_notified(world, assigned_complaint, signed_in):
    from hozen.assessment.models import Complaint

    client = signed_in(world.people["complaint_handler"])
    page = client.post(url("complaint_decide", assigned_complaint.pk), COMPLAINT_DECISION).content.decode()
    assert 'id="complaint-review"' in page and "手続に誤りは認められない。" in page
    assert Complaint.objects.get(pk=assigned_complaint.pk).state == "assigned"
    back = client.post(url("complaint_decide", assigned_complaint.pk),
                       {**COMPLAINT_DECISION, "step": "edit"}).content.decode()
    assert 'id="complaint-form"' in back and "手続に誤りは認められない。" in back
    response = client.post(url("complaint_decide", assigned_complaint.pk),
                           {**COMPLAINT_DECISION, "step": "confirm", "reviewed": token_of(page)})
    assert response.status_code == 302
    decided = Complaint.objects.get(pk=assigned_complaint.pk)
    assert (decided.state, decided.outcome) == ("decided", "not_upheld")


def test_a_complaint_decided_in_another_window_after_the_review_is_not_decided_again(
        world, assigned_complaint, signed_in):
    client = signed_in(world.people["complaint_handler"])
    page = client.post(url("complaint_decide", assigned_complaint.pk), COMPLAINT_DECISION).content.decode()
    services.decide_complaint(actor=world["handler"], complaint=assigned_complaint, outcome="corrected",
                              reasons="別の画面での判断。")
    response = client.post(url("complaint_decide", assigned_complaint.pk),
                           {**COMPLAINT_DECISION, "step": "confirm", "reviewed": token_of(page)}, follow=True)
    assert response.redirect_chain[-1][0] == url("complaint_queue")
    from django.utils import translation

    said = "This complaint was decided in the meantime (in another window, or by someone else); your decision " \
           "was not recorded."
    with translation.override("ja"):
        said_ja = translation.gettext(said)
    assert said in response.content.decode() or said_ja in response.content.decode()
    assert AuditEntry.objects.filter(action="assessment.decide_complaint").count() == 1
    from hozen.assessment.models import Complaint

    assert Complaint.objects.get(pk=assigned_complaint.pk).outcome == "corrected"


def test_a_complaint_confirmation_other_than_what_was_reviewed_is_refused(world, assigned_complaint):
    from hozen.assessment.models import Complaint

    assigned_complaint = Complaint.objects.get(pk=assigned_complaint.pk)
    token = services.complaint_review_token(assigned_complaint, **COMPLAINT_DECISION)
    with pytest.raises(RuleViolation) as info:
        services.decide_complaint(actor=world["handler"], complaint=assigned_complaint, outcome="corrected",
                                  reasons=COMPLAINT_DECISION["reasons"], reviewed=token)
    assert info.value.code == "changed_since_review"
    services.decide_complaint(actor=world["handler"], complaint=assigned_complaint, reviewed=token,
                              **COMPLAINT_DECISION)
