"""The subject portal (DOMAIN §6, issue 6): the assessed person's screens over the services.

Personas: the subject (their own case), another subject (someone else's case → 404, nothing
leaked), staff roles (the portal is refused by the policy with its reason), anonymous (sign-in).
"""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django_otp.plugins.otp_totp.models import TOTPDevice

from hozen.assessment import services
from hozen.assessment.models import AdverseTreatmentReport, BusinessNotice, Complaint
from hozen.assessment.states import State
from tests import factories

from .conftest import (
    audit_entries,
    fresh,
    new_employee,
    nominate,
    to_consented,
    to_notified,
    to_submitted,
)

pytestmark = pytest.mark.django_db


def with_totp(account):
    """Give the subject an authenticator (subjects may sign in without one; consent needs it)."""
    TOTPDevice.objects.create(user=account, name="phone", key=factories.TOTP_KEY, confirmed=True)
    return account


@pytest.fixture
def subject_client(world, signed_in):
    account = world.people["subject"]
    client = signed_in(account)
    with_totp(account)
    return client


@pytest.fixture
def noticed(world):
    case = nominate(world)
    services.give_notice(actor=world["security"], case=case)
    return fresh(case)


def url(case, name="", **kw):
    base = f"/assessment/portal/{case.pk}/"
    return base + name


def text(response) -> str:
    return response.content.decode()


# --- home, dashboard, navigation -------------------------------------------------------------------

def test_portal_home_shows_the_case_stage_and_target_date(world, subject_client, noticed):
    response = subject_client.get("/assessment/portal/")
    assert response.status_code == 200
    body = text(response)
    assert f"/assessment/portal/{noticed.pk}/" in body
    assert noticed.stage_due_on.isoformat() in body  # the consent clock from the rules pack
    assert noticed.stage_due_on == dt.date(2026, 7, 1)  # 30 days (assessment.target_days.consent)


def test_subject_dashboard_lists_cases_and_clearance_valid_until(world, signed_in):
    case = to_notified(world, nominate(world))
    client = signed_in(world.people["subject"])
    body = text(client.get("/dashboard/"))
    assert f"/assessment/portal/{case.pk}/" in body
    assert "2036-06-01" in body  # valid until: notification + 10 years
    assert "/audit/my-reads/" in body and "/assessment/portal/" in body


def test_dashboard_of_a_subject_without_a_case_says_so(world, signed_in):
    client = signed_in(world.people["subject"])
    response = client.get("/dashboard/")
    assert response.status_code == 200
    assert "portal-cases" in text(response)
    assert "/assessment/portal/1" not in text(response)


def test_portal_needs_sign_in(client, world, noticed):
    response = client.get(url(noticed))
    assert response.status_code == 302 and "/signin/" in response["Location"]


@pytest.mark.parametrize("role", ["business_officer", "security_officer", "investigator", "sysadmin",
                                  "adjudicator", "organ_head"])
def test_staff_roles_cannot_use_the_portal(world, signed_in, noticed, role):
    client = signed_in(world.people[role])
    for path in ("/assessment/portal/", url(noticed), url(noticed, "notice/"), url(noticed, "questionnaire/")):
        response = client.get(path)
        assert response.status_code == 403, path
        assert 'data-reason-code="wrong_role"' in text(response)


def test_another_persons_case_is_a_404_that_leaks_nothing(world, signed_in, noticed):
    other = new_employee(world)
    client = signed_in(other.account)
    for path in ("", "notice/", "notice.pdf", "consent.pdf", "questionnaire/", "questionnaire/identity/",
                 "questionnaire/copy.pdf", "result/", "result.pdf", "inquiries/", "complaints/",
                 "adverse-treatment/", "withdraw/"):
        response = client.get(url(noticed, path))
        assert response.status_code == 404, path
        assert noticed.person.family_name not in text(response)
    response = client.post(url(noticed, "questionnaire/identity/"), {"family_name": "x"})
    assert response.status_code == 404
    assert not noticed.sections.exists()


def test_a_missing_case_is_a_404(subject_client):
    assert subject_client.get("/assessment/portal/999999/").status_code == 404


# --- notice and consent ---------------------------------------------------------------------------------

def test_notice_shows_the_seven_items_methods_and_right_to_refuse_in_japanese(subject_client, noticed):
    body = text(subject_client.get(url(noticed, "notice/")))
    for label in ("重要経済基盤毀損活動との関係に関する事項", "犯罪及び懲戒の経歴に関する事項",
                  "情報の取扱いに係る非違の経歴に関する事項", "薬物の濫用及び影響に関する事項", "精神疾患に関する事項",
                  "飲酒についての節度に関する事項", "信用状態その他の経済的な状況に関する事項"):
        assert label in body
    assert "同意しないことができます" in body and "不利益な取扱いを受けることはありません" in body
    assert "面接" in body


def test_notice_in_english(subject_client, noticed):
    body = text(subject_client.get(url(noticed, "notice/") + "?lang=en"))
    assert "You may refuse" in body and "No disadvantage" in body and "Credit and other financial" in body


def test_consent_with_the_subjects_own_second_factor(world, subject_client, noticed):
    response = subject_client.post(url(noticed, "notice/"), {
        "decision": "consent", "token": factories.current_totp(world.people["subject"])})
    assert response.status_code == 302
    assert fresh(noticed).state == State.CONSENTED
    assert len(audit_entries("assessment.consent")) == 1


def test_consent_with_a_wrong_second_factor_changes_nothing(world, subject_client, noticed):
    from tests.browser.test_sign_in_journey import wrong_totp

    response = subject_client.post(url(noticed, "notice/"), {
        "decision": "consent", "token": wrong_totp(world.people["subject"])})
    assert response.status_code == 200
    assert "has-error" in text(response)
    assert fresh(noticed).state == State.NOTICE_GIVEN
    # The refusal is the policy's, audited as a denial; nothing was consented.
    [entry] = audit_entries("assessment.consent")
    assert entry["outcome"] == "denied" and entry["details"]["reason"] == "second_factor_required"


def test_consent_without_an_authenticator_points_to_enrolment(world, signed_in, noticed):
    client = signed_in(world.people["subject"])  # no TOTP device
    body = text(client.get(url(noticed, "notice/")))
    assert "/signin/enrol/" in body
    response = client.post(url(noticed, "notice/"), {"decision": "consent", "token": "123456"})
    assert fresh(noticed).state == State.NOTICE_GIVEN
    assert response.status_code == 200


def test_after_enrolling_from_the_notice_the_person_goes_back_to_the_notice(world, signed_in, noticed):
    import re

    from django_otp.oath import totp
    from django_otp.plugins.otp_totp.models import TOTPDevice

    client = signed_in(world.people["subject"])  # no TOTP device
    notice = url(noticed, "notice/")
    enrol = re.search(r'href="(/signin/enrol/\?next=[^"]+)"', text(client.get(notice))).group(1).replace("&amp;", "&")
    assert client.get(enrol).status_code == 200
    device = TOTPDevice.objects.get(user=world.people["subject"], confirmed=False)
    done = client.post(enrol, {"token": f"{totp(device.bin_key, step=device.step, t0=device.t0, digits=6):06d}"})
    assert done.status_code == 200
    assert re.search(r'class="button primary" href="([^"]+)"', text(done)).group(1) == notice  # back to the notice


def test_refusal_with_second_factor_ends_the_case(world, subject_client, noticed):
    response = subject_client.post(url(noticed, "notice/"), {
        "decision": "refuse", "token": factories.current_totp(world.people["subject"])})
    assert response.status_code == 302
    assert fresh(noticed).state == State.REFUSED
    assert BusinessNotice.objects.get(case=noticed).consented is False


def test_withdrawn_consent_ends_the_case_and_the_questionnaire_is_refused(world, subject_client, noticed,
                                                                          _frozen_today):
    subject = world.people["subject"]
    subject_client.post(url(noticed, "notice/"), {"decision": "consent", "token": factories.current_totp(subject)})
    assert fresh(noticed).state == State.CONSENTED
    _frozen_today.shift(dt.timedelta(seconds=90))  # a new code (a used one is refused)
    response = subject_client.post(url(noticed, "withdraw/"), {"token": factories.current_totp(subject)})
    assert response.status_code == 302
    assert fresh(noticed).state == State.NOT_CONSENTED
    response = subject_client.post(url(noticed, "questionnaire/identity/"), {"family_name": "山田"})
    assert response.status_code == 409
    assert not noticed.sections.exists()
    assert "withdraw/" not in text(subject_client.get(url(noticed)))


def test_withdrawal_is_refused_after_notification(world, signed_in):
    case = to_notified(world, nominate(world))
    subject = with_totp(world.people["subject"])
    client = signed_in(subject)
    response = client.post(url(case, "withdraw/"), {"token": factories.current_totp(subject)})
    assert response.status_code == 200
    assert fresh(case).state == State.NOTIFIED


def test_waive_reasons_in_advance(world, subject_client, noticed):
    subject_client.post(url(noticed, "reasons/"), {"waived": "true"})
    assert fresh(noticed).reasons_waived is True
    subject_client.post(url(noticed, "reasons/"), {"waived": "false"})
    assert fresh(noticed).reasons_waived is False


def test_notice_and_consent_pdfs_are_served(world, subject_client, noticed):
    response = subject_client.get(url(noticed, "notice.pdf"))
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert subject_client.get(url(noticed, "consent.pdf")).status_code == 404  # nothing declared yet
    subject_client.post(url(noticed, "notice/"), {"decision": "consent",
                                                  "token": factories.current_totp(world.people["subject"])})
    response = subject_client.get(url(noticed, "consent.pdf"))
    assert response.status_code == 200 and response.content.startswith(b"%PDF")
    # Generated from stored facts: the same facts give the same bytes.
    assert subject_client.get(url(noticed, "consent.pdf")).content == response.content


# --- after notification -----------------------------------------------------------------------------------

def test_result_and_reasons_after_notification(world, signed_in):
    case = to_notified(world, nominate(world))
    client = signed_in(world.people["subject"])
    body = text(client.get(url(case, "result/")))
    assert "事項1について懸念は認められない。" in body
    assert "2036-06-01" in body


def test_result_without_reasons_when_waived(world, signed_in):
    case = nominate(world)
    services.waive_reasons(actor=world.subject_actor(case.person), case=case)
    case = to_notified(world, case)
    client = signed_in(world.people["subject"])
    body = text(client.get(url(case, "result/")))
    assert "事項1について" not in body
    assert "reasons" in body


def test_result_before_notification_is_not_shown(world, subject_client, noticed):
    response = subject_client.get(url(noticed, "result/"))
    assert response.status_code == 302
    assert subject_client.get(url(noticed, "result.pdf")).status_code == 404


def test_inquiry_list_shows_kind_and_organisation_never_the_answers(world, signed_in):
    case = to_notified(world, nominate(world))
    client = signed_in(world.people["subject"])
    body = text(client.get(url(case, "inquiries/")))
    assert "東和重工業株式会社 技術部" in body
    assert "勤務態度について" not in body and "特段の問題はない" not in body and "上司 0" not in body


def test_inquiry_list_is_refused_before_notification(world, signed_in):
    case = to_submitted(world, nominate(world))
    client = signed_in(world.people["subject"])
    response = client.get(url(case, "inquiries/"))
    assert response.status_code == 403
    assert 'data-reason-code="after_notification"' in text(response)


def test_subject_files_a_complaint(world, signed_in):
    case = to_notified(world, nominate(world))
    client = signed_in(world.people["subject"])
    response = client.post(url(case, "complaints/"), {"text": "理由の説明が不十分です。"})
    assert response.status_code == 302
    complaint = Complaint.objects.get(case=case)
    assert complaint.state == "filed"
    assert "理由の説明が不十分です。" in text(client.get(url(case, "complaints/")))


def test_an_empty_complaint_is_refused(world, signed_in):
    case = to_notified(world, nominate(world))
    client = signed_in(world.people["subject"])
    response = client.post(url(case, "complaints/"), {"text": "   "})
    assert response.status_code == 200
    assert not Complaint.objects.filter(case=case).exists()


def test_subject_reports_adverse_treatment_to_the_organ(world, signed_in):
    case = to_notified(world, nominate(world))
    client = signed_in(world.people["subject"])
    response = client.post(url(case, "adverse-treatment/"), {"kind": "demotion", "text": "同意しなかったため降格された。"})
    assert response.status_code == 302
    report = AdverseTreatmentReport.objects.get(case=case)
    assert report.kind == "demotion" and report.employer == world.orgs["TOWA"]
    response = client.post(url(case, "adverse-treatment/"), {"kind": "nonsense", "text": "x"})
    assert response.status_code == 200 and AdverseTreatmentReport.objects.count() == 1


def test_the_employer_cannot_see_the_adverse_treatment_report(world, signed_in):
    case = to_notified(world, nominate(world))
    services.report_adverse_treatment(actor=world.subject_actor(case.person), case=case, kind="pay_cut",
                                      text="減給された。")
    client = signed_in(world.people["business_officer"])
    response = client.get(url(case, "adverse-treatment/"))
    assert response.status_code == 403
    assert "減給された。" not in text(response)


def test_reading_my_own_answers_appears_on_who_read_my_data(world, signed_in):
    case = to_consented(world, nominate(world))
    services.save_questionnaire_section(actor=world.subject_actor(case.person), case=case, section="identity",
                                        content={"family_name": "山田"})
    client = signed_in(world.people["subject"])
    client.get(url(case, "questionnaire/identity/"))
    body = text(client.get("/audit/my-reads/"))
    assert re.search(r"subject_access|本人", body)


def pdf_text(response) -> str:
    import io

    import pypdf

    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    return "".join(p.extract_text() for p in pypdf.PdfReader(io.BytesIO(response.content)).pages).replace("\n", "")


def test_result_notice_pdf_carries_the_reasons_per_item(world, signed_in):
    case = to_notified(world, nominate(world))
    client = signed_in(world.people["subject"])
    text = pdf_text(client.get(url(case, "result.pdf")))
    assert "結果通知書" in text and "事項7について懸念は認められない。" in text and "令和18年6月1日" in text
    text = pdf_text(client.get(url(case, "result.pdf") + "?lang=en"))
    assert "Favourable" in text and "2036-06-01" in text


def test_result_notice_pdf_without_reasons_when_waived(world, signed_in):
    case = nominate(world)
    services.waive_reasons(actor=world.subject_actor(case.person), case=case)
    case = to_notified(world, case)
    text = pdf_text(signed_in(world.people["subject"]).get(url(case, "result.pdf")))
    assert "事項1について" not in text and "理由の通知を希望しない" in text


def test_notice_pdf_names_the_person_and_the_seven_items_in_either_language(world, subject_client, noticed):
    text = pdf_text(subject_client.get(url(noticed, "notice.pdf") + "?lang=ja"))
    assert "告知書" in text and noticed.person.full_name in text and "精神疾患に関する事項" in text
    text = pdf_text(subject_client.get(url(noticed, "notice.pdf") + "?lang=en"))
    assert "Notice of an aptitude assessment" in text and "You may refuse" in text


def test_portal_home_reads_a_bounded_number_of_rows(world, signed_in, django_assert_max_num_queries):
    to_notified(world, nominate(world))
    nominate(world, contract="mic")
    client = signed_in(world.people["subject"])
    with django_assert_max_num_queries(20):
        response = client.get("/assessment/portal/")
    assert response.status_code == 200
    assert response.content.decode().count("portal-case-card") == 2


@pytest.mark.parametrize("role", ["business_officer", "security_officer", "organ_head"])
def test_only_the_subject_can_consent_through_the_portal(world, signed_in, noticed, role):
    staff = world.people[role]
    client = signed_in(staff)
    response = client.post(url(noticed, "notice/"), {"decision": "consent", "token": factories.current_totp(staff)})
    assert response.status_code == 403
    assert fresh(noticed).state == State.NOTICE_GIVEN
    assert audit_entries("assessment.consent") == []
