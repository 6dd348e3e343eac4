"""Issue 6's staff workspaces in a real browser: a case whose questionnaire is submitted is given
to an investigator by the Cabinet Office; the investigator records an inquiry, is refused the
interview while it is unanswered, records the answer, holds the interview, records a finding per
item and completes the investigation; the organ head assigns an adjudicator, who reads the case
file and adjudicates favourably with reasons per item; the security officer notifies the result,
and the business that nominated sees only consented, favourable and valid until.

The live server's clock is not frozen: dates are relative to today (Japan time).
"""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from hozen.assessment import services
from hozen.assessment.items import ITEMS
from hozen.assessment.models import AssessmentCase, Finding
from hozen.core.actor import Actor
from tests import factories

from .test_designation_journey import shipped_packs, sign_in, sign_out  # noqa: F401 (fixture)
from .test_sign_in_journey import heading, ja

pytestmark = pytest.mark.browser


def actor_of(account) -> Actor:
    return Actor.for_account(account, account.active_assignments().first(), channel="web", second_factor_verified=True)


@pytest.fixture
def submitted_case(orgs, shipped_packs):  # noqa: F811
    """A TOWA employee nominated under a METI contract, consented, questionnaire submitted."""
    from hozen.operators import services as operators
    from tests.assessment.conftest import answers

    today = timezone.localdate()
    head = factories.account(role="organ_head", organisation=orgs["METI"])
    cert = operators.record_certification(actor=actor_of(head), organ=orgs["METI"], business=orgs["TOWA"],
                                          certified_on=today - dt.timedelta(days=30))
    contract = operators.record_contract(actor=actor_of(head), certification=cert, reference="METI-C-9", form="receives",
                                         authorised_departments=["技術部"], valid_from=today - dt.timedelta(days=30),
                                         valid_until=today + dt.timedelta(days=3650))
    business = factories.account(role="business_officer", organisation=orgs["TOWA"])
    security = factories.account(role="security_officer", organisation=orgs["METI"])
    subject = factories.account(role="subject", organisation=orgs["TOWA"])
    case = services.nominate(actor=actor_of(business), person=subject.person, contract=contract, department="技術部",
                             post="主任", listing_agreed_on=today - dt.timedelta(days=1)).case
    services.give_notice(actor=actor_of(security), case=case)
    services.consent(actor=actor_of(subject), case=case)
    for section, content in answers().items():
        services.save_questionnaire_section(actor=actor_of(subject), case=case, section=section, content=content)
    services.submit_questionnaire(actor=actor_of(subject), case=case)
    return {"case": case, "head": head, "business": business, "security": security,
            "cao_head": factories.account(role="organ_head", organisation=orgs["CAO"]),
            "investigator": factories.account(role="investigator", organisation=orgs["CAO"]),
            "adjudicator": factories.account(role="adjudicator", organisation=orgs["METI"])}


def nav(page, name):
    page.get_by_role("navigation", name=ja("Main navigation")).get_by_role("link", name=ja(name), exact=True).click()


def test_case_walks_through_the_investigator_and_adjudicator_screens(page, live_server, submitted_case, request):
    w = submitted_case
    case = w["case"]
    case_link = f"{ja('Assessment')} #{case.pk}"

    # --- the Cabinet Office assigns the investigator --------------------------------------------
    sign_in(page, live_server, w["cao_head"])
    nav(page, "Assessment assignments")
    expect(heading(page)).to_have_text(ja("Assessment assignments"))
    page.locator("#assign-investigator").get_by_role("link", name=case_link).click()
    page.get_by_label(ja("Person to assign"), exact=True).select_option(value=str(w["investigator"].pk))
    page.get_by_role("button", name=ja("Assign"), exact=True).click()
    expect(page.locator(".messages")).to_contain_text(ja("The duty was assigned."))
    sign_out(page)

    # --- the investigator ------------------------------------------------------------------------
    sign_in(page, live_server, w["investigator"])
    expect(page.locator("#panel-investigation")).to_contain_text(case_link)
    nav(page, "Investigation queue")
    page.locator("#investigation-queue").get_by_role("link", name=case_link).click()
    today = timezone.localdate().isoformat()
    form = page.locator("#inquiry-form")
    form.get_by_label(ja("Inquiry recipient kind"), exact=True).select_option("superior")
    form.get_by_label(ja("Inquiry recipient organisation"), exact=True).fill("東和重工業株式会社 技術部")
    form.get_by_label(ja("Inquiry recipient name"), exact=True).fill("上司 一郎")
    form.get_by_label(ja("Inquiry question"), exact=True).fill("勤務態度について")
    form.get_by_label(ja("Sent on"), exact=True).fill(today)
    form.get_by_role("button", name=ja("Record the inquiry")).click()
    expect(page.locator(".messages")).to_contain_text(ja("The inquiry was recorded."))

    # The interview is refused while the inquiry is unanswered: the service's message, beside the field.
    # An hour ago, but never yesterday: the answers are dated today, and material dated after the
    # interview day is refused.
    now = timezone.localtime()
    earlier = max(now - dt.timedelta(hours=1), now.replace(hour=0, minute=0, second=0, microsecond=0))
    earlier = earlier.strftime("%Y-%m-%dT%H:%M")
    page.locator("#interview-form").get_by_label(ja("Interview date and time")).fill(earlier)
    page.locator("#interview-form").get_by_role("button", name=ja("Schedule the interview")).click()
    expect(page.locator("#interview-form .field-errors")).to_contain_text("面接は他の資料がそろった後に行います")

    response = page.locator("#inquiries form")
    response.get_by_label(ja("Response"), exact=True).fill("特段の問題はない")
    response.get_by_label(ja("Answered on"), exact=True).fill(today)
    response.get_by_role("button", name=ja("Record the response")).click()
    expect(page.locator(".messages")).to_contain_text(ja("The response was recorded."))

    page.locator("#interview-form").get_by_label(ja("Interview date and time")).fill(earlier)
    page.locator("#interview-form").get_by_role("button", name=ja("Schedule the interview")).click()
    expect(page.locator(".messages")).to_contain_text(ja("The interview was scheduled."))

    # All seven findings on one page (issue 15): one is saved by its button, the others by themselves
    # when their field is left (autosave), and the page then says when each was saved.
    page.locator("#open-findings").click()
    page.locator("#id_item_1-finding-text").fill("事項1について懸念は認められない")
    page.locator("#finding-form-item_1").get_by_role("button", name=ja("Save this finding")).click()
    expect(page.locator("#save-status-item_1")).to_contain_text(ja("Saved"))
    for item in ITEMS[1:]:
        page.locator(f"#id_{item.code}-finding-text").fill(f"事項{item.number}について懸念は認められない")
        page.locator(f"#id_{item.code}-finding-text").blur()
        expect(page.locator(f"#save-status-{item.code}")).to_contain_text(ja("Saved"))
    assert Finding.objects.filter(case=case).count() == 7
    # A revision on a page opened before another tab's: refused, the text kept, no revision lost.
    def stored(item):
        from hozen.crypto import reveal

        return reveal(actor_of(w["investigator"]), Finding.objects.get(case=case, item=item), "text",
                      purpose="investigation")

    page.reload()
    services.record_finding(actor=actor_of(w["investigator"]), case=case, item="item_2", text="事項2: 別の窓から",
                            version=1)
    page.locator("#id_item_2-finding-text").fill("事項2: 古いページからの改訂")
    page.locator("#id_item_2-finding-text").blur()
    expect(page.locator("#save-status-item_2")).to_contain_text("変更しました")
    expect(page.locator("#finding-form-item_2 .keep-mine")).to_be_visible()
    assert stored("item_2") == "事項2: 別の窓から"
    # The refused save is a 409, which the browser logs as a console error: expected here, and only here.
    problems = request.node._browser_console_problems
    assert problems and all(re.search(r"status of 409", p) for p in problems), problems
    del problems[:]
    page.locator("#finding-form-item_2 .keep-mine").click()
    expect(page.locator("#save-status-item_2")).to_contain_text(ja("Saved"))
    assert stored("item_2") == "事項2: 古いページからの改訂"
    page.locator("#back-to-case").click()
    page.locator("#complete-form").get_by_label(ja("Case summary for the adjudicator")).fill(
        "照会及び面接の結果、七つの事項のいずれについても懸念は認められない。")
    page.locator("#complete-form").get_by_role("button").click()
    expect(page.locator(".messages")).to_contain_text(ja("The investigation is complete; the case goes to the adjudicator."))
    assert AssessmentCase.objects.get(pk=case.pk).state == "investigation_complete"
    sign_out(page)

    # --- the deciding organ's head assigns the adjudicator ----------------------------------------
    sign_in(page, live_server, w["head"])
    nav(page, "Assessment assignments")
    page.locator("#assign-adjudicator").get_by_role("link", name=case_link).click()
    page.get_by_label(ja("Person to assign"), exact=True).select_option(value=str(w["adjudicator"].pk))
    page.get_by_role("button", name=ja("Assign"), exact=True).click()
    expect(page.locator(".messages")).to_contain_text(ja("The duty was assigned."))
    sign_out(page)

    # --- the adjudicator reads the file and decides -----------------------------------------------
    sign_in(page, live_server, w["adjudicator"])
    expect(page.locator("#panel-adjudicate")).to_contain_text(case_link)
    nav(page, "Adjudication queue")
    page.locator("#to-decide").get_by_role("link", name=case_link).click()
    expect(page.locator("#case-summary")).to_contain_text("7")
    page.locator("#open-file").click()
    expect(page.locator("#file-findings")).to_contain_text("事項1について懸念は認められない")
    expect(page.locator("#file-inquiries")).to_contain_text("特段の問題はない")
    page.get_by_role("link", name=ja("Back to the case")).click()
    # The decision page (issue 15): the finding beside each reason, the summary above.
    page.locator("#open-decide").click()
    expect(page.locator("#decide-item_4")).to_contain_text("事項4について懸念は認められない")
    expect(page.locator("#file-summary")).to_contain_text("七つの事項のいずれについても懸念は認められない")
    adjudicate = page.locator("#adjudicate-form")
    adjudicate.get_by_label(ja("Favourable"), exact=True).check()
    for item in ITEMS:
        adjudicate.locator(f"#id_reason_{item.code}").fill(f"事項{item.number}について懸念は認められない。")
    # One reason left empty: refused beside that field, nothing recorded.
    adjudicate.locator("#id_reason_item_7").fill("")
    adjudicate.get_by_role("button", name=ja("Review the decision")).click()
    expect(page.locator("#id_reason_item_7_error")).to_be_visible()
    assert AssessmentCase.objects.get(pk=case.pk).state == "investigation_complete"
    page.locator("#id_reason_item_7").fill("事項7について懸念は認められない。")
    page.locator("#adjudicate-form").get_by_role("button", name=ja("Review the decision")).click()
    # The review (issue 15): the decision as entered; recorded only on confirmation.
    expect(page.locator("#decision-review")).to_contain_text("事項7について懸念は認められない。")
    page.get_by_role("button", name=ja("Confirm and record the decision")).click()
    expect(page.locator(".messages")).to_contain_text(ja("Recorded. The organ notifies the result."))
    sign_out(page)

    # --- the organ notifies; the business sees only the three facts -------------------------------
    sign_in(page, live_server, w["security"])
    nav(page, "Assessment nominations")
    page.locator("#organ-todo").get_by_role("link", name=case_link).click()
    page.get_by_role("button", name=ja("Notify the result"), exact=True).click()
    expect(page.locator(".messages")).to_contain_text(ja("The result was notified to the person and to the nominating side."))
    sign_out(page)

    sign_in(page, live_server, w["business"])
    nav(page, "Assessment nominations")
    row = page.locator(f'#nominations tr[data-case="{case.pk}"]')
    expect(row).to_contain_text(ja("Favourable"))
    expect(page.locator("#nominations")).not_to_contain_text("懸念は認められない")
    expect(page).to_have_url(re.compile(r"/assessment/staff/$"))


PHONE = {"width": 390, "height": 844}


def _complete_investigation(w, *, finish: bool = True):
    """The submitted case through its investigation (every finding recorded), by the services."""
    case = w["case"]
    investigator = actor_of(w["investigator"])
    services.assign_investigator(actor=actor_of(w["cao_head"]), case=case, investigator=w["investigator"])
    today = timezone.localdate()
    inquiry = services.record_inquiry(actor=investigator, case=case, recipient_kind="superior",
                                      recipient_organisation="東和重工業株式会社", recipient_name="上司",
                                      question="勤務態度について", sent_on=today)
    services.record_inquiry_response(actor=investigator, inquiry=inquiry, response="特段の問題はない", answered_on=today)
    services.schedule_interview(actor=investigator, case=case, at=timezone.now())
    if not finish:
        return
    for item in ITEMS:
        services.record_finding(actor=investigator, case=case, item=item.code, text=f"事項{item.number}: 懸念なし")
    services.complete_investigation(actor=investigator, case=case, summary="七つの事項のいずれについても懸念は認められない。")
    services.assign_adjudicator(actor=actor_of(w["head"]), case=case, adjudicator=w["adjudicator"])


def _fits(page) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"the page is {width}px wide on a {PHONE['width']}px screen"


def test_the_decision_page_stacks_the_finding_above_its_reason_on_a_phone(page, live_server, submitted_case):
    w = submitted_case
    _complete_investigation(w)
    page.set_viewport_size(PHONE)
    sign_in(page, live_server, w["adjudicator"])
    page.goto(f"{live_server.url}/assessment/staff/adjudication/{w['case'].pk}/decide/")
    expect(page.locator("#decide-item_1")).to_contain_text("事項1: 懸念なし")
    _fits(page)
    finding = page.locator("#finding-item_1").bounding_box()
    reason = page.locator("#id_reason_item_1").bounding_box()
    assert reason["y"] > finding["y"] + finding["height"] - 1  # below the finding, not squeezed beside it
    assert reason["width"] > PHONE["width"] * 0.6


def test_the_findings_page_fits_a_phone_and_saves_an_item_by_itself(page, live_server, submitted_case):
    w = submitted_case
    _complete_investigation(w, finish=False)
    page.set_viewport_size(PHONE)
    sign_in(page, live_server, w["investigator"])
    page.goto(f"{live_server.url}/assessment/staff/investigation/{w['case'].pk}/findings/")
    _fits(page)
    page.locator("#id_item_3-finding-text").fill("事項3: 電話から記入")
    page.locator("#id_item_3-finding-text").blur()
    expect(page.locator("#save-status-item_3")).to_contain_text(ja("Saved"))
    assert Finding.objects.get(case=w["case"], item="item_3").revision == 1
