"""Issue 6's "Done when": one aptitude assessment walked end to end through the screens only.

A business (TOWA, certified by METI and under contract with it) nominates its employee; METI gives the
written notice; the employee reads it and consents with their authenticator code, fills every section
of the questionnaire (repeating groups included), submits it and downloads the copy; the Cabinet
Office assigns an investigator, who records an inquiry and its response, holds the interview, records
a finding per item and completes; METI's head assigns an adjudicator, who decides favourably with
reasons; METI notifies the result. The employee reads the result and downloads the 結果通知書; the
business sees only consented, favourable and valid until — never reasons or answers, and not the
subject's pages. The employee files a complaint, which METI's head gives to a handler who did not
work the case (the adjudicator, who also holds that role, is refused), and the handler decides it.

Only accounts, organisations and the contract are set up directly. The live server's clock is not
frozen: dates are relative to today (Japan time).
"""

from __future__ import annotations

import datetime as dt
import io
import re
import time
import unicodedata

import pypdf
import pytest
from django.utils import timezone
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice
from playwright.sync_api import expect

from hozen.assessment.items import ITEMS
from hozen.assessment.models import AssessmentCase, Complaint
from hozen.assessment.questionnaire import SECTIONS
from hozen.assessment.states import State
from hozen.audit.models import AuditEntry
from hozen.core import services as core_services
from hozen.core.actor import Actor
from hozen.core.calendars import wareki
from tests import factories
from tests.assessment.conftest import answers

from .test_assessment_staff import actor_of, nav
from .test_designation_journey import download, shipped_packs, sign_out  # noqa: F401 (fixture)
from .test_sign_in_journey import heading, ja, password_step, second_factor_step

pytestmark = pytest.mark.browser

ANSWERS_TEXT = ("東京都千代田区霞が関1-1-1", "山田 花子", "Example Bank", "前職工業株式会社")
REASON = "事項{n}について懸念は認められない。"
FINDING = "事項{n}の調査結果：特記事項なし"  # typed with a full-width colon


def as_shown(text: str) -> str:
    """The text as the screens show it: the text policy NFKC-normalises what was typed (issue 12)."""
    return unicodedata.normalize("NFKC", text)


@pytest.fixture
def journey(orgs, shipped_packs):  # noqa: F811
    """Accounts, METI's certification of TOWA and their contract: nothing of the case itself."""
    from hozen.operators import services as operators

    today = timezone.localdate()
    head = factories.account(role="organ_head", organisation=orgs["METI"])
    cert = operators.record_certification(actor=actor_of(head), organ=orgs["METI"], business=orgs["TOWA"],
                                          certified_on=today - dt.timedelta(days=60))
    contract = operators.record_contract(actor=actor_of(head), certification=cert, reference="METI-C-2026-01",
                                         form="receives", authorised_departments=["技術部"],
                                         valid_from=today - dt.timedelta(days=60),
                                         valid_until=today + dt.timedelta(days=3650))
    # The employee sets up an authenticator (the portal test shows that step); here it is given.
    subject = core_services.create_account(
        actor=Actor.operator("tests"), username="employee.towa", family_name="中村", given_name="陽菜",
        family_name_kana="ナカムラ", given_name_kana="ハルナ", date_of_birth=dt.date(1990, 5, 21), role="subject",
        organisation=orgs["TOWA"], password=factories.PASSWORD, totp_key_hex=factories.TOTP_KEY)
    adjudicator = factories.account(role="adjudicator", organisation=orgs["METI"])
    # The adjudicator also handles complaints at METI: the one who decided may not handle the complaint.
    core_services.assign_role(actor=Actor.operator("tests"), account=adjudicator, role="complaint_handler",
                              organisation=orgs["METI"])
    return {
        "head": head, "subject": subject, "contract": contract, "adjudicator": adjudicator,
        "business": factories.account(role="business_officer", organisation=orgs["TOWA"]),
        "security": factories.account(role="security_officer", organisation=orgs["METI"]),
        "cao_head": factories.account(role="organ_head", organisation=orgs["CAO"]),
        "investigator": factories.account(role="investigator", organisation=orgs["CAO"]),
        "handler": factories.account(role="complaint_handler", organisation=orgs["METI"]),
    }


@pytest.fixture
def own_device(browser, request):
    """The employee's own browser (their phone), signed in once and kept open: the officials work
    in the other one. Its console errors fail the test too, as the `page` fixture's do."""
    from .conftest import DEFAULT_TIMEOUT_MS, REPORT_CSP_VIOLATIONS

    context = browser.new_context(locale="ja-JP", timezone_id="Asia/Tokyo")
    context.set_default_timeout(DEFAULT_TIMEOUT_MS)
    context.add_init_script(REPORT_CSP_VIOLATIONS)
    # This journey posts the questionnaire the no-JavaScript way (test_subject_portal covers the
    # autosave): a debounced autosave in flight while a button posts the form would share the test
    # live server's single in-memory SQLite connection with that post, which production never does.
    context.route("**/portal-questionnaire*.js",
                  lambda route: route.fulfill(body="", content_type="application/javascript"))
    own = context.new_page()

    def on_console(message):
        if message.type == "error" or "Content Security Policy" in message.text:
            problems = getattr(request.node, "_browser_console_problems", None)
            if problems is not None:
                problems.append(f"(employee's browser) console {message.type}: {message.text}")

    own.on("console", on_console)
    own.on("pageerror", lambda error: request.node._browser_console_problems.append(f"uncaught: {error}"))
    yield own
    context.close()


def unused_code(account) -> str:
    """The code of the first time step this account has not used yet. The journey is quick, so one
    person may sign in twice (or sign in and consent) within 30 seconds, and a used code is refused;
    the device accepts one step ahead, and waiting for the clock would only slow the test."""
    device = TOTPDevice.objects.get(user=account, confirmed=True)
    now = (int(time.time()) - device.t0) // device.step
    step = max(now, device.last_t + 1)
    if step > now + device.tolerance:  # both codes this device would accept were used: wait for the next
        time.sleep(device.step - (time.time() - device.t0) % device.step + 0.1)
        return unused_code(account)
    return f"{totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits, drift=step - now):0{device.digits}d}"


def sign_in(page, live_server, account):
    password_step(page, live_server, account)
    second_factor_step(page, unused_code(account))
    expect(page).to_have_url(re.compile(r"/dashboard/$"))


def html_id(path: str) -> str:
    return "#q-" + re.sub(r"[^A-Za-z0-9_-]", "-", path)


def fill_fields(page, fields, content: dict, prefix: str = "") -> None:
    """Type one section's answers into its form, in the schema's order (a yes/no before its group)."""
    for f in fields:
        if f.name not in content:
            continue
        value, path = content[f.name], prefix + f.name
        if f.kind == "group":
            for i, entry in enumerate(value):
                # "Add an entry" posts what is typed so far and comes back with one more blank entry.
                page.locator(f'button[name=action][value="add:{path}"]').click()
                expect(page.locator(f'[data-group="{f.name}"] .q-entry')).to_have_count(i + 1)
                fill_fields(page, f.fields, entry, f"{path}[{i}].")
        elif f.kind == "yes_no" and not prefix:
            page.locator(f'input[name="{path}"][value="{"true" if value else "false"}"]').check()
        elif f.kind == "yes_no":
            page.locator(html_id(path)).set_checked(bool(value))
        elif f.kind == "choice":
            page.locator(html_id(path)).select_option(value)
        elif f.kind == "countries":
            page.locator(html_id(path)).fill(", ".join(value))
        else:
            page.locator(html_id(path)).fill(str(value))


def nominations_row(page, case):
    return page.locator(f'#nominations tr[data-case="{case.pk}"]')


def test_company_nominated_assessment_from_notice_to_complaint(page, own_device, live_server, journey, request):
    w = journey
    today = timezone.localdate()
    subject = w["subject"]

    # --- 1. the business nominates its employee under its contract with METI ---------------------
    sign_in(page, live_server, w["business"])
    nav(page, "Assessment nominations")
    page.get_by_role("link", name=ja("Nominate a candidate"), exact=True).click()
    form = page.locator("#nominate-form")
    form.get_by_label(ja("Candidate"), exact=True).select_option(value=str(subject.person.pk))
    form.get_by_label(ja("Contract"), exact=True).select_option(value=str(w["contract"].pk))
    form.get_by_label(ja("Department"), exact=True).fill("技術部")
    form.get_by_label(ja("Post"), exact=True).fill("主任")
    form.get_by_label(ja("Date the candidate agreed to be listed"), exact=True).fill(
        (today - dt.timedelta(days=1)).isoformat())
    form.get_by_role("button", name=ja("Nominate"), exact=True).click()
    expect(page.locator(".messages")).to_contain_text(ja("The candidate was nominated."))
    case = AssessmentCase.objects.get(person=subject.person)
    assert case.organ.code == "METI" and case.contract.reference == "METI-C-2026-01"
    case_link = f"{ja('Assessment')} #{case.pk}"
    expect(nominations_row(page, case)).to_contain_text(ja("Awaiting notice and consent"))
    sign_out(page)

    # --- 2. METI (the deciding organ) gives the written notice -------------------------------------
    sign_in(page, live_server, w["security"])
    nav(page, "Assessment nominations")
    page.locator("#organ-todo").get_by_role("link", name=case_link).click()
    page.get_by_role("button", name=ja("Give the notice"), exact=True).click()
    expect(page.locator(".messages")).to_contain_text(
        ja("The notice was given. The person consents or refuses in their portal."))
    sign_out(page)

    # --- 3. the employee reads the notice and consents with their authenticator code ----------------
    sign_in(own_device, live_server, subject)
    own_device.locator("#portal-cases").get_by_role("link", name=ja("Open")).click()
    expect(own_device).to_have_url(re.compile(rf"/assessment/portal/{case.pk}/$"))
    main = own_device.get_by_role("main")
    main.get_by_role("link", name=ja("Read the notice and decide whether to consent")).click()
    expect(own_device.locator("#notice-text")).to_contain_text("同意しないことができます")
    own_device.get_by_label(ja("I consent to the aptitude assessment")).check()
    own_device.get_by_label(ja("Code from your authenticator app"), exact=True).fill(unused_code(subject))
    own_device.get_by_role("button", name=ja("Send my decision")).click()
    expect(own_device.locator(".messages")).to_contain_text(ja("You consented. You can now fill in the questionnaire."))
    assert AssessmentCase.objects.get(pk=case.pk).state == State.CONSENTED
    record = download(own_device, main.get_by_role("link", name=ja("Record of your consent or refusal (PDF)")))
    text = "".join(p.extract_text() for p in pypdf.PdfReader(io.BytesIO(record)).pages).replace("\n", "")
    assert "同意書" in text and "不同意書" not in text and "中村" in text

    # --- 4. every section of the questionnaire, through the form; submit; download the copy ---------
    main.get_by_role("link", name=ja("Fill in the questionnaire")).click()
    expect(own_device.locator("#completeness .ok")).to_have_count(0)
    own_device.locator("#completeness").get_by_role("link", name=SECTIONS[0].title("ja")).click()
    content = answers()
    for n, section in enumerate(SECTIONS):
        expect(heading(own_device)).to_have_text(section.title("ja"))
        fill_fields(own_device, section.fields, content[section.code])
        last = n == len(SECTIONS) - 1
        own_device.get_by_role("button", name=ja("Save and check completeness" if last else
                                           "Save and go to the next section"), exact=True).click()
    expect(own_device).to_have_url(re.compile(rf"/assessment/portal/{case.pk}/questionnaire/$"))
    expect(own_device.locator("#completeness .ok")).to_have_count(len(SECTIONS))
    own_device.get_by_role("link", name=ja("Check your answers and submit")).click()  # the review (issue 15)
    own_device.get_by_role("button", name=ja("Submit the questionnaire")).click()
    sha = own_device.locator("code.sha256")
    expect(sha).to_have_text(re.compile(r"^[0-9a-f]{64}$"))
    stored = AssessmentCase.objects.get(pk=case.pk)
    assert stored.state == State.QUESTIONNAIRE_SUBMITTED and sha.inner_text() == stored.questionnaire_sha256
    copy = download(own_device, main.get_by_role("link", name=ja("Copy as submitted (PDF)")))
    text = "".join(p.extract_text() for p in pypdf.PdfReader(io.BytesIO(copy)).pages).replace("\n", "")
    assert stored.questionnaire_sha256 in text
    assert all(answer in text for answer in ANSWERS_TEXT), text[:2000]

    # --- 5. the Cabinet Office assigns the investigator ----------------------------------------------
    sign_in(page, live_server, w["cao_head"])
    nav(page, "Assessment assignments")
    page.locator("#assign-investigator").get_by_role("link", name=case_link).click()
    page.get_by_label(ja("Person to assign"), exact=True).select_option(value=str(w["investigator"].pk))
    page.get_by_role("button", name=ja("Assign"), exact=True).click()
    expect(page.locator(".messages")).to_contain_text(ja("The duty was assigned."))
    sign_out(page)

    # --- 6. the investigator: inquiry, response, interview, findings, complete ------------------------
    sign_in(page, live_server, w["investigator"])
    nav(page, "Investigation queue")
    page.locator("#investigation-queue").get_by_role("link", name=case_link).click()
    inquiry = page.locator("#inquiry-form")
    inquiry.get_by_label(ja("Inquiry recipient kind"), exact=True).select_option("superior")
    inquiry.get_by_label(ja("Inquiry recipient organisation"), exact=True).fill("東和重工業株式会社 技術部")
    inquiry.get_by_label(ja("Inquiry recipient name"), exact=True).fill("上司 一郎")
    inquiry.get_by_label(ja("Inquiry question"), exact=True).fill("勤務態度について")
    inquiry.get_by_label(ja("Sent on"), exact=True).fill(today.isoformat())
    inquiry.get_by_role("button", name=ja("Record the inquiry")).click()
    expect(page.locator(".messages")).to_contain_text(ja("The inquiry was recorded."))
    response = page.locator("#inquiries form")
    response.get_by_label(ja("Response"), exact=True).fill("勤務態度に問題はない")
    response.get_by_label(ja("Answered on"), exact=True).fill(today.isoformat())
    response.get_by_role("button", name=ja("Record the response")).click()
    expect(page.locator(".messages")).to_contain_text(ja("The response was recorded."))
    # An hour ago, but never yesterday: the answers are dated today, and material dated after the
    # interview day is refused.
    now = timezone.localtime()
    earlier = max(now - dt.timedelta(hours=1), now.replace(hour=0, minute=0, second=0, microsecond=0))
    earlier = earlier.strftime("%Y-%m-%dT%H:%M")
    page.locator("#interview-form").get_by_label(ja("Interview date and time")).fill(earlier)
    page.locator("#interview-form").get_by_role("button", name=ja("Schedule the interview")).click()
    expect(page.locator(".messages")).to_contain_text(ja("The interview was scheduled."))
    # All seven findings on one page (issue 15), each saved by itself when its field is left.
    page.locator("#open-findings").click()
    for item in ITEMS:
        page.locator(f"#id_{item.code}-finding-text").fill(FINDING.format(n=item.number))
        page.locator(f"#finding-form-{item.code}").get_by_role("button", name=ja("Save this finding")).click()
        expect(page.locator(f"#save-status-{item.code}")).to_contain_text(ja("Saved"))
    page.locator("#back-to-case").click()
    page.locator("#complete-form").get_by_label(ja("Case summary for the adjudicator")).fill(
        "照会及び面接の結果、七つの事項のいずれについても懸念は認められない。")
    page.locator("#complete-form").get_by_role("button").click()
    expect(page.locator(".messages")).to_contain_text(
        ja("The investigation is complete; the case goes to the adjudicator."))
    sign_out(page)

    # --- 7. METI's head assigns the adjudicator, who decides favourably with reasons ----------------
    sign_in(page, live_server, w["head"])
    nav(page, "Assessment assignments")
    page.locator("#assign-adjudicator").get_by_role("link", name=case_link).click()
    page.get_by_label(ja("Person to assign"), exact=True).select_option(value=str(w["adjudicator"].pk))
    page.get_by_role("button", name=ja("Assign"), exact=True).click()
    expect(page.locator(".messages")).to_contain_text(ja("The duty was assigned."))
    sign_out(page)

    sign_in(page, live_server, w["adjudicator"])
    nav(page, "Adjudication queue")
    page.locator("#to-decide").get_by_role("link", name=case_link).click()
    # The decision page (issue 15): each item's finding beside the field for its reason.
    page.locator("#open-decide").click()
    expect(page.locator("#decide-item_1")).to_contain_text(as_shown(FINDING.format(n=1)))
    page.locator("#file-inquiries summary").click()
    expect(page.locator("#file-inquiries")).to_contain_text("勤務態度に問題はない")
    adjudicate = page.locator("#adjudicate-form")
    adjudicate.get_by_label(ja("Favourable"), exact=True).check()
    for item in ITEMS:
        adjudicate.locator(f"#id_reason_{item.code}").fill(REASON.format(n=item.number))
    adjudicate.get_by_role("button", name=ja("Review the decision")).click()
    # The review (issue 15): the decision as entered, recorded only on confirmation.
    expect(page.locator("#decision-review")).to_contain_text(REASON.format(n=7))
    page.get_by_role("button", name=ja("Confirm and record the decision")).click()
    expect(page.locator(".messages")).to_contain_text(ja("Recorded. The organ notifies the result."))
    sign_out(page)

    # --- 8. METI notifies the result ------------------------------------------------------------------
    sign_in(page, live_server, w["security"])
    nav(page, "Assessment nominations")
    page.locator("#organ-todo").get_by_role("link", name=case_link).click()
    page.get_by_role("button", name=ja("Notify the result"), exact=True).click()
    expect(page.locator(".messages")).to_contain_text(
        ja("The result was notified to the person and to the nominating side."))
    sign_out(page)
    case = AssessmentCase.objects.get(pk=case.pk)
    assert case.state == State.NOTIFIED
    valid_until = case.clearance.valid_until

    # --- 9. the employee reads the result and the reasons, and downloads the 結果通知書 -----------------
    own_device.goto(live_server.url + "/dashboard/")
    expect(own_device.locator("#portal-clearances .valid-until")).to_contain_text(valid_until.isoformat())
    own_device.locator("#portal-cases").get_by_role("link", name=ja("Open")).click()
    main.get_by_role("link", name=ja("Your result")).click()
    expect(own_device.locator("#reasons")).to_contain_text(REASON.format(n=1))
    notice = download(own_device, main.get_by_role("link", name=ja("Result notice (PDF)")))
    text = "".join(p.extract_text() for p in pypdf.PdfReader(io.BytesIO(notice)).pages).replace("\n", "")
    assert "結果通知書" in text and REASON.format(n=7) in text

    # --- 10. ... and files a complaint ----------------------------------------------------------------
    own_device.goto(live_server.url + f"/assessment/portal/{case.pk}/")
    main.get_by_role("link", name=ja("Complaints"), exact=True).click()
    own_device.get_by_label(ja("Your complaint"), exact=True).fill("面接の進め方について説明を求めます。")
    own_device.get_by_role("button", name=ja("File the complaint")).click()
    expect(own_device.locator(".complaint")).to_contain_text("面接の進め方について説明を求めます。")
    complaint = Complaint.objects.get(case=case)

    # --- 11. the business sees only consented, favourable, valid until ---------------------------------
    sign_in(page, live_server, w["business"])
    nav(page, "Assessment nominations")
    row = nominations_row(page, case)
    expect(row).to_contain_text(ja("Consented"))
    expect(row).to_contain_text(ja("Favourable"))
    expect(row).to_contain_text(ja("valid until"))
    expect(row).to_contain_text(f"{wareki(valid_until)}（{valid_until.isoformat()}）")
    listing = page.get_by_role("main")
    for secret in (REASON.format(n=1), as_shown(FINDING.format(n=1)), "勤務態度に問題はない", "面接の進め方", *ANSWERS_TEXT):
        expect(listing).not_to_contain_text(secret)
    # Typing the addresses of the subject's pages or the case file does not help: refused, nothing shown.
    problems = request.node._browser_console_problems
    before = len(problems)
    for path in ("portal/{pk}/result/", "portal/{pk}/result.pdf", "portal/{pk}/questionnaire/",
                 "portal/{pk}/questionnaire/copy.pdf", "portal/{pk}/inquiries/", "portal/{pk}/complaints/",
                 "staff/cases/{pk}/file/"):
        response = page.goto(live_server.url + "/assessment/" + path.format(pk=case.pk))
        assert response.status in (403, 404), (path, response.status)
        for secret in (REASON.format(n=1), as_shown(FINDING.format(n=1)), "面接の進め方", ANSWERS_TEXT[0]):
            expect(page.locator("body")).not_to_contain_text(secret)
    # The browser logs each refused page load as a console error: expected here, and only here.
    assert all(re.search(r"status of 40[34]", p) for p in problems[before:]), problems[before:]
    del problems[before:]
    page.goto(live_server.url + "/dashboard/")
    expect(page.locator("#nomination-counts")).to_have_attribute("data-notified", "1")
    for secret in (REASON.format(n=1), as_shown(FINDING.format(n=1)), *ANSWERS_TEXT):
        expect(page.get_by_role("main")).not_to_contain_text(secret)
    sign_out(page)

    # --- 12. METI's head gives the complaint to a handler who did not work the case -----------------------
    sign_in(page, live_server, w["head"])
    nav(page, "Assessment assignments")
    page.locator("#assign-complaints").get_by_role("link", name=f"{ja('Complaint')} #{complaint.pk}").click()
    page.get_by_label(ja("Person to assign"), exact=True).select_option(value=str(w["adjudicator"].pk))
    page.get_by_role("button", name=ja("Assign"), exact=True).click()
    expect(page.locator("#id_account_error")).to_contain_text("苦情は、事案に関与していない者が処理します。")
    assert Complaint.objects.get(pk=complaint.pk).state == "filed"
    page.get_by_label(ja("Person to assign"), exact=True).select_option(value=str(w["handler"].pk))
    page.get_by_role("button", name=ja("Assign"), exact=True).click()
    expect(page.locator(".messages")).to_contain_text(ja("The complaint was given to the handler."))
    sign_out(page)

    # --- 13. the handler reads the complaint and decides it ---------------------------------------------
    sign_in(page, live_server, w["handler"])
    nav(page, "Complaints")
    page.locator("#complaint-queue").get_by_role("link", name=f"{ja('Complaint')} #{complaint.pk}").click()
    expect(page.locator("#complaint-text")).to_contain_text("面接の進め方について説明を求めます。")
    decide = page.locator("#complaint-form")
    decide.get_by_label(ja("Not upheld"), exact=True).check()
    decide.get_by_label(ja("Reasons (notified to the complainant in writing)"), exact=True).fill(
        "面接は規程に沿って行われており、手続に誤りは認められない。")
    decide.get_by_role("button", name=ja("Review the decision")).click()
    expect(page.locator("#complaint-review")).to_contain_text("手続に誤りは認められない。")  # issue 15
    page.get_by_role("button", name=ja("Confirm, decide and notify in writing")).click()
    expect(page.locator(".messages")).to_contain_text(ja("The complaint was decided and the outcome notified in writing."))
    expect(page.locator("#decided")).to_contain_text(ja("Not upheld"))
    decided = Complaint.objects.get(pk=complaint.pk)
    assert decided.state == "decided" and decided.outcome == "not_upheld"
    sign_out(page)

    # --- 14. the employee sees the complaint's outcome --------------------------------------------------
    own_device.reload()
    expect(own_device.locator(".complaint")).to_contain_text(ja("Not upheld"))

    # Each step was the named person's own, and is in the audit log under their name.
    steps = {"assessment.nominate": w["business"], "assessment.give_notice": w["security"],
             "assessment.consent": subject, "assessment.submit_questionnaire": subject,
             "assessment.assign_investigator": w["cao_head"], "assessment.complete_investigation": w["investigator"],
             "assessment.adjudicate": w["adjudicator"], "assessment.notify_result": w["security"],
             "assessment.file_complaint": subject, "assessment.decide_complaint": w["handler"]}
    done = {a: set(AuditEntry.objects.filter(action=a, outcome="success").values_list("actor_name", flat=True))
            for a in steps}
    assert done == {a: {account.username} for a, account in steps.items()}, done
