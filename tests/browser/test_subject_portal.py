"""Issue 6's subject portal in a real browser at phone width (360 px): the assessed person reads the
notice, sets up an authenticator and consents with it, fills the questionnaire (saved as they type,
errors beside the field, nothing lost when the session ends), submits it and downloads the copy with
its hash, then — once the organ has notified the result — reads the result and reasons, downloads
the 結果通知書, sees the inquiries made about them and files a complaint.

The staff steps between (investigation, adjudication, notification) are made through the services,
as their own screens are tested elsewhere. The live server's clock is not frozen.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import re

import pypdf
import pytest
from django.utils import timezone
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice
from playwright.sync_api import expect

from hozen.assessment import services
from hozen.assessment.models import AssessmentCase, Complaint, QuestionnaireSection
from hozen.assessment.states import State
from hozen.audit.models import AuditEntry
from tests import factories
from tests.assessment.conftest import REASONS, answers, world  # noqa: F401  (the world fixture)

from .test_designation_journey import download
from .test_sign_in_journey import assert_qr_code_reads_as, heading, ja, password_step

pytestmark = pytest.mark.browser

PHONE = {"width": 360, "height": 740}


@pytest.fixture
def shipped_packs(transactional_db):
    from hozen.rules.models import Category, RulesPack, SubItem
    from hozen.rules.storage import load_shipped

    load_shipped(RulesPack, Category, SubItem, published_by={"kind": "system", "name": "tests", "channel": "cli"})


def next_totp(account, steps_ahead: int = 1) -> str:
    """A code for a later time step, inside the device's tolerance: a code already used (at
    enrolment) is refused, and waiting 30 seconds would slow the test."""
    device = TOTPDevice.objects.get(user=account, confirmed=True)
    return f"{totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits, drift=device.drift + steps_ahead):0{device.digits}d}"


def fits_the_phone(page):
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"{page.url} is {width}px wide on a {PHONE['width']}px screen"


def main(page):
    return page.get_by_role("main")


def investigate_adjudicate_and_notify(world, case):  # noqa: F811
    investigator = world["investigator"]
    services.assign_investigator(actor=world["cao_head"], case=case, investigator=world.people["investigator"])
    inquiry = services.record_inquiry(actor=investigator, case=case, recipient_kind="superior",
                                      recipient_organisation="東和重工業株式会社 技術部", recipient_name="上司 一郎",
                                      question="勤務態度について", sent_on=timezone.localdate())
    services.record_inquiry_response(actor=investigator, inquiry=inquiry, response="特段の問題はない",
                                     answered_on=timezone.localdate())
    now = timezone.localtime()  # a minute ago, but never yesterday (the answer is dated today)
    services.schedule_interview(actor=investigator, case=case,
                                at=max(now - dt.timedelta(minutes=1), now.replace(hour=0, minute=0, second=0)))
    for n in range(1, 8):
        services.record_finding(actor=investigator, case=case, item=f"item_{n}", text=f"事項{n}: 懸念なし")
    services.complete_investigation(actor=investigator, case=case,
                                    summary="照会及び面接の結果、七つの事項のいずれについても懸念は認められない。")
    services.assign_adjudicator(actor=world["head"], case=case, adjudicator=world.people["adjudicator"])
    services.adjudicate(actor=world["adjudicator"], case=case, outcome="favourable", reasons=REASONS)
    services.notify_result(actor=world["security"], case=case)


def test_subject_consents_fills_submits_and_reads_the_result_on_a_phone(browser, live_server, shipped_packs,
                                                                          world):  # noqa: F811
    subject = world.people["subject"]
    result = services.nominate(actor=world["business"], person=subject.person, contract=world.contract,
                               department="技術部", post="主任", listing_agreed_on=timezone.localdate())
    case = result.case
    services.give_notice(actor=world["security"], case=case)
    case = AssessmentCase.objects.get(pk=case.pk)

    context = browser.new_context(locale="ja-JP", timezone_id="Asia/Tokyo", viewport=PHONE)
    context.set_default_timeout(10_000)
    problems: list[str] = []
    page = context.new_page()
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.on("console", lambda m: problems.append(f"console {m.type}: {m.text}") if m.type == "error" else None)
    try:
        # --- sign in (a subject may do so with a password alone) and find the case ---------------------
        page.goto(live_server.url + "/")
        page.get_by_label(ja("User name"), exact=True).fill(subject.username)
        page.get_by_label(ja("Password"), exact=True).fill(factories.PASSWORD)
        page.get_by_role("button", name=ja("Sign in"), exact=True).click()
        expect(page).to_have_url(re.compile(r"/dashboard/$"))
        cases = page.locator("#portal-cases")
        expect(cases).to_contain_text(case.stage_due_on.isoformat())  # the consent stage's target date
        fits_the_phone(page)
        cases.get_by_role("link", name=ja("Open")).click()
        expect(page).to_have_url(re.compile(rf"/assessment/portal/{case.pk}/$"))
        fits_the_phone(page)

        # --- the notice; an authenticator is needed to decide -------------------------------------------
        main(page).get_by_role("link", name=ja("Read the notice and decide whether to consent")).click()
        expect(page.locator("#notice-text")).to_contain_text("信用状態その他の経済的な状況に関する事項")
        expect(page.locator("#notice-text")).to_contain_text("同意しないことができます")
        fits_the_phone(page)
        main(page).get_by_role("link", name=ja("Set up an authenticator app")).click()
        expect(page).to_have_url(re.compile(r"/signin/enrol/\?next=/assessment/portal/\d+/notice/$"))
        device = TOTPDevice.objects.get(user=subject, confirmed=False)
        assert_qr_code_reads_as(page, device.config_url)
        code = f"{totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits):06d}"
        page.locator("input[name=token]").fill(code)
        page.get_by_role("button", name=ja("Confirm and continue")).click()
        recovery = page.locator("ul.codes code").first.inner_text()
        # Codes saved, the person continues back to the notice they came from (issue 15 §10).
        page.locator("a.button.primary").click()
        expect(page).to_have_url(re.compile(rf"/assessment/portal/{case.pk}/notice/$"))

        # --- consent with the code entered again ---------------------------------------------------------
        page.get_by_label(ja("I consent to the aptitude assessment")).check()
        page.get_by_label(ja("Code from your authenticator app"), exact=True).fill(next_totp(subject))
        page.get_by_role("button", name=ja("Send my decision")).click()
        expect(page).to_have_url(re.compile(rf"/assessment/portal/{case.pk}/$"))
        assert AssessmentCase.objects.get(pk=case.pk).state == State.CONSENTED
        expect(page.locator("#portal-stage")).to_contain_text(ja("Target date"))

        # --- the questionnaire: saved as typed, errors beside the field ------------------------------------
        main(page).get_by_role("link", name=ja("Fill in the questionnaire")).click()
        expect(page.locator("#completeness")).to_be_visible()
        fits_the_phone(page)
        page.locator("#completeness").get_by_role("link", name="本人に関する事項").click()
        expect(heading(page)).to_have_text("本人に関する事項")
        fits_the_phone(page)
        expect(page.locator("#section-form")).to_have_attribute("data-autosave-ready", "1", timeout=15_000)
        page.locator("#q-family_name").fill("山田")
        page.locator("#q-date_of_birth").fill("1980/01/01")
        status = page.locator("#save-status")
        expect(status).to_contain_text(ja("Saved"), timeout=15_000)
        expect(page.locator('[data-error-for="date_of_birth"]')).to_contain_text("YYYY-MM-DD", timeout=15_000)
        row = QuestionnaireSection.objects.get(case=case, section="identity")
        assert row.version >= 1
        page.locator("#q-date_of_birth").fill("1980-01-01")
        expect(page.locator('[data-error-for="date_of_birth"]')).to_be_empty(timeout=15_000)
        assert not problems, problems

        # --- the session ends: typed input stays on the page; after signing in again it is saved -----------
        context.clear_cookies()
        page.locator("#q-current_address").fill("東京都千代田区霞が関1-1-1")
        expect(status).to_have_class(re.compile(r"\bwarn\b"), timeout=15_000)
        expect(page.locator("#q-current_address")).to_have_value("東京都千代田区霞が関1-1-1")
        # The refused save (no session, no CSRF cookie) is the only error the page reports.
        assert problems and all("403" in p for p in problems), problems
        problems.clear()
        other = context.new_page()
        password_step(other, live_server, subject)
        other.locator("input[name=token]").fill(recovery)
        other.get_by_role("button", name=ja("Confirm")).click()
        expect(other).to_have_url(re.compile(r"/dashboard/$"))
        other.close()
        page.get_by_role("button", name=ja("Save"), exact=True).click()  # fetches a fresh token, then posts
        expect(page.locator(".message.success")).to_be_visible(timeout=15_000)
        expect(page.locator("#q-current_address")).to_have_value("東京都千代田区霞が関1-1-1")

        # --- the other sections (through the services), the completeness view and submission ---------------
        subject_actor = world.subject_actor(subject.person)
        for code, content in answers().items():
            services.save_questionnaire_section(actor=subject_actor, case=case, section=code, content=content)
        for code in ("relatives_and_cohabitants", "employment_10y"):  # repeating groups fit the phone too
            page.goto(live_server.url + f"/assessment/portal/{case.pk}/questionnaire/{code}/")
            expect(page.locator(".q-entry")).to_have_count(2)
            fits_the_phone(page)
        page.goto(live_server.url + f"/assessment/portal/{case.pk}/questionnaire/")
        expect(page.locator("#completeness .ok")).to_have_count(13)
        page.get_by_role("link", name=ja("Check your answers and submit")).click()  # the review (issue 15)
        page.get_by_role("button", name=ja("Submit the questionnaire")).click()
        sha = page.locator("code.sha256")
        expect(sha).to_have_text(re.compile(r"^[0-9a-f]{64}$"))
        fits_the_phone(page)
        stored = AssessmentCase.objects.get(pk=case.pk)
        assert sha.inner_text() == stored.questionnaire_sha256
        copy = download(page, main(page).get_by_role("link", name=ja("Copy as submitted (PDF)")))
        text = "".join(p.extract_text() for p in pypdf.PdfReader(io.BytesIO(copy)).pages).replace("\n", "")
        assert stored.questionnaire_sha256 in text and "東京都千代田区霞が関1-1-1" in text

        # --- the organ investigates, decides and notifies; the subject reads the result ----------------------
        investigate_adjudicate_and_notify(world, AssessmentCase.objects.get(pk=case.pk))
        page.goto(live_server.url + "/dashboard/")
        expect(page.locator("#portal-clearances .valid-until")).to_be_visible()
        page.goto(live_server.url + f"/assessment/portal/{case.pk}/")
        main(page).get_by_role("link", name=ja("Your result")).click()
        expect(page.locator("#reasons")).to_contain_text("事項1について懸念は認められない。")
        fits_the_phone(page)
        notice = download(page, main(page).get_by_role("link", name=ja("Result notice (PDF)")))
        text = "".join(p.extract_text() for p in pypdf.PdfReader(io.BytesIO(notice)).pages).replace("\n", "")
        assert "結果通知書" in text and "事項7について懸念は認められない。" in text

        main(page).get_by_role("link", name=ja("Inquiries made about you")).click()
        expect(page.locator("#inquiries")).to_contain_text("東和重工業株式会社 技術部")
        expect(page.locator("#inquiries")).not_to_contain_text("特段の問題はない")
        fits_the_phone(page)

        page.goto(live_server.url + f"/assessment/portal/{case.pk}/complaints/")
        page.get_by_label(ja("Your complaint"), exact=True).fill("理由の説明をもう少し詳しく求めます。")
        page.get_by_role("button", name=ja("File the complaint")).click()
        expect(page.locator(".complaint")).to_contain_text("理由の説明をもう少し詳しく求めます。")
        assert Complaint.objects.filter(case=case).count() == 1
        fits_the_phone(page)
        assert not problems, problems
    finally:
        context.close()


def test_questionnaire_input_typed_before_the_autosave_script_loads_is_saved(browser, live_server, shipped_packs,
                                                                            world):  # noqa: F811
    """On a slow connection the form is on screen before its script has run: what the person typed
    meanwhile fired no event the script heard, yet it must still be saved once the script arrives."""
    from tests.assessment.conftest import nominate, to_consented

    subject = world.people["subject"]
    case = to_consented(world, nominate(world, subject.person))
    context = browser.new_context(locale="ja-JP", timezone_id="Asia/Tokyo", viewport=PHONE)
    context.set_default_timeout(10_000)
    page = context.new_page()
    try:
        page.goto(live_server.url + "/")
        page.get_by_label(ja("User name"), exact=True).fill(subject.username)
        page.get_by_label(ja("Password"), exact=True).fill(factories.PASSWORD)
        page.get_by_role("button", name=ja("Sign in"), exact=True).click()
        expect(page).to_have_url(re.compile(r"/dashboard/$"))

        script = "**/portal-questionnaire*.js"
        page.route(script, lambda route: route.abort())  # the script has not arrived yet
        page.goto(live_server.url + f"/assessment/portal/{case.pk}/questionnaire/identity/")
        page.locator("#q-family_name").fill("佐々木")  # not the name Hozen offers (prefilled)
        assert not QuestionnaireSection.objects.filter(case=case, section="identity").exists()

        page.unroute(script)  # ... and now it has
        src = page.locator('script[src*="portal-questionnaire"]').get_attribute("src")
        page.add_script_tag(url=src)
        expect(page.locator("#section-form")).to_have_attribute("data-autosave-ready", "1")
        expect(page.locator("#save-status")).to_contain_text(ja("Saved"), timeout=15_000)
        row = QuestionnaireSection.objects.get(case=case, section="identity")
        assert row.version >= 1
    finally:
        context.close()


def test_idle_warning_before_sign_out_keeps_typed_input_and_stay_signed_in_hides_it(browser, live_server,
                                                                                   shipped_packs, world):  # noqa: F811
    """Two minutes before the idle sign-out the page warns, without reloading or clearing anything
    typed; "Stay signed in" pings the server and hides the warning (the page's clock is driven)."""
    from tests.assessment.conftest import nominate, to_consented

    subject = world.people["subject"]
    case = to_consented(world, nominate(world, subject.person))
    context = browser.new_context(locale="ja-JP", timezone_id="Asia/Tokyo", viewport=PHONE)
    context.set_default_timeout(10_000)
    page = context.new_page()
    try:
        page.clock.install()
        page.goto(live_server.url + "/")
        page.get_by_label(ja("User name"), exact=True).fill(subject.username)
        page.get_by_label(ja("Password"), exact=True).fill(factories.PASSWORD)
        page.get_by_role("button", name=ja("Sign in"), exact=True).click()
        expect(page).to_have_url(re.compile(r"/dashboard/$"))
        page.goto(live_server.url + f"/assessment/portal/{case.pk}/questionnaire/identity/")
        expect(page.locator("html")).to_have_attribute("data-js-ready", "1")
        idle_minutes = int(page.locator("body").get_attribute("data-idle-minutes"))
        warning = page.locator("#idle-warning")
        expect(warning).to_be_hidden()

        page.clock.run_for(f"{idle_minutes - 3:02d}:00")  # three minutes before sign-out: no warning yet
        expect(warning).to_be_hidden()
        page.locator("#q-family_name").fill("山田")
        page.locator("#q-family_name").blur()  # typing done (a later blur would save again: activity too)
        page.clock.run_for("00:01")  # the autosave's delay; the save is activity and re-arms the timer
        expect(page.locator("#save-status")).to_contain_text(ja("Saved"))
        page.clock.run_for(f"{idle_minutes - 2:02d}:01")
        expect(warning).to_be_visible()
        expect(warning).to_contain_text(ja("Stay signed in"))
        expect(page.locator("#q-family_name")).to_have_value("山田")  # nothing typed is lost

        stay = page.locator("#idle-stay")
        stay.click()
        expect(warning).to_be_hidden()
        expect(page.locator("#q-family_name")).to_have_value("山田")
    finally:
        context.close()


def test_a_section_saved_in_another_tab_is_never_overwritten_and_the_typing_stays(browser, live_server,
                                                                                 shipped_packs, world):  # noqa: F811
    """Two tabs open on one section (ARCHITECTURE rule 8; LESSONS.md: drafts never lose data). The
    tab that is behind is told, on its next autosave, that the section was changed elsewhere; what
    it typed stays; the person chooses to save their version over it, or to reload the saved one."""
    from hozen.crypto import reveal
    from tests.assessment.conftest import actor_of, nominate, to_consented

    subject = world.people["subject"]
    case = to_consented(world, nominate(world, subject.person))
    context = browser.new_context(locale="ja-JP", timezone_id="Asia/Tokyo", viewport=PHONE)
    context.set_default_timeout(10_000)

    def stored():
        row = QuestionnaireSection.objects.get(case=case, section="identity")
        return row.version, reveal(actor_of(subject, "subject"), row, "content", purpose="subject_access")

    try:
        first = context.new_page()
        first.goto(live_server.url + "/")
        first.get_by_label(ja("User name"), exact=True).fill(subject.username)
        first.get_by_label(ja("Password"), exact=True).fill(factories.PASSWORD)
        first.get_by_role("button", name=ja("Sign in"), exact=True).click()
        expect(first).to_have_url(re.compile(r"/dashboard/$"))
        url = live_server.url + f"/assessment/portal/{case.pk}/questionnaire/identity/"
        second = context.new_page()
        for page in (first, second):  # both opened before anything was saved
            page.goto(url)
            expect(page.locator("#section-form")).to_have_attribute("data-autosave-ready", "1")

        first.locator("#q-family_name").fill("山田")
        expect(first.locator("#save-status")).to_contain_text(ja("Saved"), timeout=15_000)
        assert stored()[0] == 1

        second.locator("#q-family_name").fill("佐藤")
        expect(second.locator("#stale-notice")).to_be_visible(timeout=15_000)
        expect(second.locator("#top-errors")).to_contain_text("他の人が変更しました")
        expect(second.locator("#q-family_name")).to_have_value("佐藤")  # the typing stays
        version, content = stored()
        assert version == 1 and content["family_name"] == "山田"  # never silently overwritten

        second.locator("#stale-keep").click()  # keep my version, knowingly
        expect(second.locator("#save-status")).to_contain_text(ja("Saved"), timeout=15_000)
        expect(second.locator("#stale-notice")).to_be_hidden()
        version, content = stored()
        assert version == 2 and content["family_name"] == "佐藤"

        # The first tab is behind now: its next change is refused too, and reloading shows the saved answers.
        first.locator("#q-given_name").fill("太郎")
        expect(first.locator("#stale-notice")).to_be_visible(timeout=15_000)
        first.on("dialog", lambda dialog: dialog.accept())  # "leave the page with unsaved input?"
        first.locator("#stale-reload").click()
        expect(first.locator("#q-family_name")).to_have_value("佐藤")
        assert stored()[0] == 2
    finally:
        context.close()


def test_a_nominated_official_reaches_and_consents_to_their_own_assessment_from_one_account(
        page, live_server, shipped_packs, world):  # noqa: F811
    """The journey that failed (issue 14 §1): the security officer nominates the organ's ESI manager
    and gives the notice; she signs in as ESI manager, finds her own assessment on her dashboard,
    opens it as the assessed person, reads the notice and consents, all from her one account."""
    official = world.people["esi_manager"]
    case = services.nominate(actor=world["security"], person=official.person, department="情報管理課",
                             post="課長補佐", listing_agreed_on=timezone.localdate()).case
    services.give_notice(actor=world["security"], case=case)

    password_step(page, live_server, official)
    page.get_by_label(ja("Code from your authenticator app, or a recovery code"), exact=True).fill(
        factories.current_totp(official))
    page.get_by_role("button", name=ja("Confirm"), exact=True).click()
    expect(page).to_have_url(re.compile(r"/dashboard/$"))
    panel = page.locator("#panel-own-assessment")
    expect(panel).to_be_visible()
    panel.get_by_role("button", name=ja("Open my assessment")).click()
    expect(page).to_have_url(re.compile(r"/assessment/portal/$"))
    expect(page.locator("#role-switch select")).to_have_value(
        str(official.active_assignments().get(role="subject").pk))
    page.goto(live_server.url + f"/assessment/portal/{case.pk}/notice/")
    expect(page.locator("#notice-text")).to_contain_text("同意しないことができます")
    page.get_by_label(ja("I consent to the aptitude assessment")).check()
    page.get_by_label(ja("Code from your authenticator app"), exact=True).fill(next_totp(official))
    page.get_by_role("button", name=ja("Send my decision")).click()
    expect(page).to_have_url(re.compile(rf"/assessment/portal/{case.pk}/$"))
    assert AssessmentCase.objects.get(pk=case.pk).state == State.CONSENTED
    consent = AuditEntry.objects.filter(action="assessment.consent").order_by("-id").first()
    assert json.loads(consent.data)["actor"]["role"] == "subject"  # recorded as the assessed person
