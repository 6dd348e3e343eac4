"""The staff workspaces (issue 6 §2 "who sees what", for the UI): nominator, investigator,
adjudicator, complaint handler, and the organ head's assignments.

Personas: a signed-in client per account (through the real sign-in views). Cases are walked to a
stage through the services (``conftest``), then the screens are driven over HTTP.
"""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.urls import reverse

from hozen.assessment import services
from hozen.assessment.models import AssessmentCase, CaseDuty, Complaint, Finding, Inquiry
from hozen.audit.models import AuditEntry
from tests import factories

from .conftest import (
    REASONS,
    SUMMARY,
    answered_inquiry,
    fresh,
    nominate,
    to_investigation_complete,
    to_notified,
    to_submitted,
)

pytestmark = pytest.mark.django_db

SECRET_FINDING = "事項1: 懸念なし"
SECRET_REASON = REASONS["item_1"]


def url(name, *args):
    return reverse(f"assessment:{name}", args=args)


def client_of(world, name, signed_in):
    return signed_in(world.people[name])


def denied_entries(action: str, code: str) -> int:
    return sum(1 for e in AuditEntry.objects.filter(action=action, outcome="denied") if code in e.data)


def text(response) -> str:
    return response.content.decode()


@pytest.fixture
def investigating(world):
    """A case under investigation by world['investigator'] (one unanswered inquiry)."""
    case = to_submitted(world, nominate(world))
    services.assign_investigator(actor=world["cao_head"], case=case, investigator=world.people["investigator"])
    return fresh(case)


# --- who sees what -----------------------------------------------------------------------------

def test_nominator_list_shows_only_consented_favourable_and_valid_until(world, signed_in):
    case = to_notified(world, nominate(world))
    business = signed_in(world.people["business_officer"])
    response = business.get(url("staff_nominations"))
    assert response.status_code == 200
    page = text(response)
    assert f'data-case="{case.pk}"' in page
    assert "2036" in page  # valid until, ten years from notification
    assert SECRET_REASON not in page and SECRET_FINDING not in page
    assert case.get_state_display() not in page  # never the internal state name
    # The business's copy of the notice, with its retention timer.
    notice = case.business_notices.get()
    assert notice.retain_until.isoformat() in page
    nominate(world, factories.account(role="subject", organisation=world.orgs["TOWA"]).person)
    dashboard = text(business.get(reverse("core:dashboard")))
    assert 'data-total="2" data-notified="1" data-awaiting="1"' in dashboard


@pytest.mark.parametrize("officer", ["business_officer", "security_officer"])
def test_nominating_side_never_gets_answers_findings_or_reasons(world, signed_in, officer):
    case = to_notified(world, nominate(world))
    client = signed_in(world.people[officer])
    before = denied_entries("assessment.read", "status_only")
    response = client.get(url("staff_case_file", case.pk))
    assert response.status_code == 403
    assert 'data-reason-code="status_only"' in text(response)
    assert SECRET_REASON not in text(response) and SECRET_FINDING not in text(response)
    # Audited once, as a refused read naming the person and the action asked (issue 12 §7).
    assert denied_entries("assessment.read", "status_only") == before + 1
    refused = AuditEntry.objects.filter(action="assessment.read", outcome="denied").latest("id")
    assert refused.subject_person_id == case.person_id and '"asked":"assessment.read_answers"' in refused.data
    # Nor through the workers' pages: another role's workspace, refused with the policy's reason.
    for name in ("investigator_case", "adjudicator_case"):
        response = client.get(url(name, case.pk))
        assert response.status_code == 403 and 'data-reason-code="wrong_role"' in text(response)


def test_system_administrator_cannot_read_case_content(world, signed_in):
    case = to_notified(world, nominate(world))
    client = signed_in(world.people["sysadmin"])
    reads = AuditEntry.objects.filter(action="personal_data.read").count()
    response = client.get(url("staff_case_file", case.pk))
    assert response.status_code == 404  # not even the status: missing and forbidden look the same
    assert SECRET_REASON not in text(response) and SECRET_FINDING not in text(response)
    for name in ("investigator_queue", "adjudicator_queue", "complaint_queue", "staff_nominations"):
        assert client.get(url(name)).status_code == 403
    assert AuditEntry.objects.filter(action="personal_data.read").count() == reads


def test_investigator_sees_only_assigned_cases(world, signed_in, investigating):
    other = signed_in(world.people["investigator2"])
    page = text(other.get(url("investigator_queue")))
    assert f"#{investigating.pk}<" not in page
    assert other.get(url("investigator_case", investigating.pk)).status_code == 404
    assert other.get(url("staff_case_file", investigating.pk)).status_code == 404
    mine = signed_in(world.people["investigator"])
    assert f"#{investigating.pk}<" in text(mine.get(url("investigator_queue")))
    assert mine.get(url("investigator_case", investigating.pk)).status_code == 200


def test_case_file_read_is_audited_with_its_purpose(world, signed_in, investigating):
    client = signed_in(world.people["investigator"])
    before = AuditEntry.objects.filter(action="personal_data.read").count()
    response = client.get(url("staff_case_file", investigating.pk))
    assert response.status_code == 200
    assert "山田" in text(response)  # the answers
    reads = AuditEntry.objects.filter(action="personal_data.read").order_by("id")[before:]
    assert reads and all('"investigation"' in e.data for e in reads)
    # The purpose named on the page in words, never its code.
    assert "適性評価調査" in text(response) and "(purpose: investigation)" not in text(response)


def test_the_seven_items_are_labelled_in_the_pages_language_only(world, signed_in):
    from django.utils.html import escape

    from hozen.assessment.items import ITEMS

    case = to_investigation_complete(world, nominate(world))
    services.assign_adjudicator(actor=world["head"], case=case, adjudicator=world.people["adjudicator"])
    client = signed_in(world.people["adjudicator"])
    page = text(client.get(url("adjudicator_decide", case.pk)))
    first = ITEMS[0]
    assert f"({first.number}) {first.label_ja}" in page and escape(first.label_en) not in page
    client.post("/language/", {"language": "en"})
    page = text(client.get(url("adjudicator_decide", case.pk)))
    assert f"({first.number}) {escape(first.label_en)}" in page and first.label_ja not in page


def test_wrong_role_gets_403_with_the_policys_reason_on_every_workspace(world, signed_in):
    client = signed_in(world.people["business_officer"])
    for name in ("investigator_queue", "investigator_inquiries", "adjudicator_queue", "complaint_queue",
                 "staff_assignments", "staff_adverse_reports"):
        response = client.get(url(name))
        assert response.status_code == 403, name
        assert 'data-reason-code="wrong_role"' in text(response)
    assert signed_in(world.people["investigator"]).get(url("staff_nominations")).status_code == 403


# --- separation of duties through the assignment screens ------------------------------------------

def test_investigator_adjudicator_and_complaint_handler_are_three_different_people(world, signed_in):
    from hozen.core import services as core_services

    case = to_notified(world, nominate(world), favourable=False)
    # The adjudicator also holds the complaint handler role: still refused, they worked the case.
    adjudicator = world.people["adjudicator"]
    core_services.assign_role(actor=factories.operator(), account=adjudicator, role="complaint_handler",
                              organisation=world.orgs["METI"])
    complaint = services.file_complaint(actor=world.subject_actor(case.person), case=case, text="評価に不服がある。")
    head = signed_in(world.people["organ_head"])
    response = head.post(url("complaint_assign", complaint.pk), {"account": adjudicator.pk})
    assert response.status_code == 200
    assert "field-errors" in text(response) and "苦情は、事案に関与していない者が処理します" in text(response)
    assert fresh_complaint(complaint).handler_id is None
    assert denied_entries("assessment.assign_complaint_handler", "worked_the_case") == 1
    # Someone who never worked the case takes it.
    response = head.post(url("complaint_assign", complaint.pk), {"account": world.people["complaint_handler"].pk})
    assert response.status_code == 302
    kinds = {d.account_id: d.kind for d in CaseDuty.objects.filter(case=case)}
    assert len({world.people["investigator"].pk, adjudicator.pk, world.people["complaint_handler"].pk}) == 3
    assert kinds[world.people["investigator"].pk] == "investigator"
    assert kinds[adjudicator.pk] == "adjudicator"
    assert kinds[world.people["complaint_handler"].pk] == "complaint_handler"


def decide_through_review(client, case, data):
    """The adjudication form's two steps (issue 15): the review page, then its confirmation with the
    review's token."""
    review = text(client.post(url("adjudicator_decide", case.pk), data))
    token = re.search(r'name="reviewed" value="([^"]+)"', review).group(1)
    return client.post(url("adjudicator_decide", case.pk), {**data, "step": "confirm", "reviewed": token})


def fresh_complaint(complaint):
    return Complaint.objects.get(pk=complaint.pk)


def test_concurring_adjudicator_must_be_a_different_person(world, signed_in):
    case = to_investigation_complete(world, nominate(world))
    services.assign_adjudicator(actor=world["head"], case=case, adjudicator=world.people["adjudicator"])
    adjudicator = signed_in(world.people["adjudicator"])
    data = {"outcome": "unfavourable", **{f"reason_{k}": v for k, v in REASONS.items()}}
    assert decide_through_review(adjudicator, case, data).status_code == 302
    assert fresh(case).state == "adjudicated_unfavourable_pending_concurrence"
    head = signed_in(world.people["organ_head"])
    assert f"#{case.pk}<" in text(head.get(url("staff_assignments")))
    response = head.post(url("staff_assign", case.pk, "concurring_adjudicator"),
                         {"account": world.people["adjudicator"].pk})
    assert "field-errors" in text(response) and "兼ねることはできません" in text(response)
    assert not CaseDuty.objects.filter(case=case, kind="concurring_adjudicator").exists()
    response = head.post(url("staff_assign", case.pk, "concurring_adjudicator"),
                         {"account": world.people["adjudicator2"].pk})
    assert response.status_code == 302
    # The result cannot be notified before the concurrence.
    security = signed_in(world.people["security_officer"])
    response = security.post(url("staff_notify_result", case.pk), follow=True)
    assert fresh(case).state == "adjudicated_unfavourable_pending_concurrence"
    second = signed_in(world.people["adjudicator2"])
    assert f"#{case.pk}<" in text(second.get(url("adjudicator_queue")))
    assert second.post(url("adjudicator_concur", case.pk), {"agree": "yes"}).status_code == 302
    assert fresh(case).state == "adjudicated_unfavourable"
    assert security.post(url("staff_notify_result", case.pk)).status_code == 302
    assert fresh(case).state == "notified"


def test_assignment_by_someone_the_policy_does_not_allow_is_403(world, signed_in):
    case = to_submitted(world, nominate(world))
    # The deciding organ's head is not the Cabinet Office: it does not assign investigators.
    response = signed_in(world.people["organ_head"]).get(url("staff_assign", case.pk, "investigator"))
    assert response.status_code == 403 and 'data-reason-code="not_cabinet_office"' in text(response)
    cao = signed_in(world.people["cao_head"])
    assert cao.get(url("staff_assign", case.pk, "investigator")).status_code == 200
    assert cao.post(url("staff_assign", case.pk, "investigator"),
                    {"account": world.people["investigator"].pk}).status_code == 302
    assert fresh(case).state == "under_investigation"


# --- the investigator's screens -------------------------------------------------------------------

def test_interview_is_refused_until_the_other_material_is_in(world, signed_in, investigating):
    client = signed_in(world.people["investigator"])
    response = client.post(url("investigator_inquiry", investigating.pk), {
        "inquiry-recipient_kind": "superior", "inquiry-recipient_organisation": "東和重工業 技術部",
        "inquiry-recipient_name": "上司 一郎", "inquiry-method": "question", "inquiry-question": "勤務態度について",
        "inquiry-sent_on": "2026-06-01"})
    assert response.status_code == 302
    inquiry = Inquiry.objects.get(case=investigating)
    assert f"#{investigating.pk}<" in text(client.get(url("investigator_inquiries")))
    response = client.post(url("investigator_interview", investigating.pk), {"interview-at": "2026-06-01T10:00"})
    assert response.status_code == 200
    assert "面接は他の資料がそろった後に行います" in text(response)
    assert fresh(investigating).interview_at is None
    response = client.post(url("investigator_response", investigating.pk, inquiry.pk), {
        f"response-{inquiry.pk}-response": "特段の問題はない", f"response-{inquiry.pk}-answered_on": "2026-06-01"})
    assert response.status_code == 302
    response = client.post(url("investigator_interview", investigating.pk), {"interview-at": "2026-06-01T11:00"})
    assert response.status_code == 302 and fresh(investigating).interview_at is not None


def test_investigation_completes_through_the_screens(world, signed_in, investigating, _frozen_today):
    answered_inquiry(world, investigating)
    client = signed_in(world.people["investigator"])
    response = client.post(url("investigator_complete", investigating.pk), {"complete-summary": SUMMARY},
                           follow=True)
    assert "面接が実施されていません" in text(response)
    client.post(url("investigator_interview", investigating.pk), {"interview-at": "2026-06-01T11:00"})
    for n in range(1, 8):
        assert client.post(url("investigator_finding", investigating.pk),
                           {"finding-item": f"item_{n}", "finding-text": f"事項{n}: 懸念なし",
                            "finding-versions": f"item_{n}:0"}).status_code == 302
    assert Finding.objects.filter(case=investigating).count() == 7
    _frozen_today.move_to(dt.datetime(2026, 6, 1, 3, 0, tzinfo=dt.UTC) + dt.timedelta(hours=9))
    client = signed_in(world.people["investigator"])
    # The case summary for the adjudicator is required: refused beside the field, nothing written.
    response = client.post(url("investigator_complete", investigating.pk), {"complete-summary": "  "})
    assert response.status_code == 200 and "id_complete-summary_error" in text(response)
    assert fresh(investigating).state == "under_investigation"
    assert client.post(url("investigator_complete", investigating.pk),
                       {"complete-summary": SUMMARY}).status_code == 302
    assert fresh(investigating).state == "investigation_complete"


def test_the_adjudicator_reads_the_case_summary_in_the_case_file(world, signed_in):
    case = to_investigation_complete(world, nominate(world))
    services.assign_adjudicator(actor=world["head"], case=case, adjudicator=world.people["adjudicator"])
    client = signed_in(world.people["adjudicator"])
    assert 'id="summary-recorded"' in text(client.get(url("adjudicator_case", case.pk)))
    page = text(client.get(url("staff_case_file", case.pk)))
    assert 'id="file-summary"' in page and SUMMARY in page
    business = signed_in(world.people["business_officer"])
    assert SUMMARY not in text(business.get(url("staff_case_file", case.pk)))


# --- malformed input: a message beside the field, nothing written ---------------------------------

def _audit_count():
    return AuditEntry.objects.exclude(action__in=["auth.sign_in", "personal_data.read"]).count()


def test_every_investigator_form_refuses_malformed_input_beside_the_field(world, signed_in, investigating):
    client = signed_in(world.people["investigator"])
    services.record_inquiry(actor=world["investigator"], case=investigating, recipient_kind="superior",
                            recipient_organisation="組織", recipient_name="氏名", question="質問",
                            sent_on=dt.date(2026, 6, 1))
    inquiry = Inquiry.objects.get(case=investigating)
    cases = [
        (url("investigator_inquiry", investigating.pk), {"inquiry-recipient_kind": "superior",
                                                          "inquiry-recipient_organisation": "組織",
                                                          "inquiry-recipient_name": "氏名", "inquiry-method": "question",
                                                          "inquiry-question": "質問", "inquiry-sent_on": "2026-13-45"},
         "id_inquiry-sent_on_error"),
        (url("investigator_inquiry", investigating.pk), {"inquiry-recipient_kind": "superior",
                                                          "inquiry-recipient_organisation": "組織",
                                                          "inquiry-recipient_name": "氏名", "inquiry-method": "question",
                                                          "inquiry-question": "質問", "inquiry-sent_on": "2027-01-01"},
         "id_inquiry-sent_on_error"),
        (url("investigator_inquiry", investigating.pk), {"inquiry-recipient_kind": "spy"}, "id_inquiry-recipient_kind_error"),
        (url("investigator_response", investigating.pk, inquiry.pk),
         {f"response-{inquiry.pk}-response": "回答", f"response-{inquiry.pk}-answered_on": "2026-05-01"},
         f"id_response-{inquiry.pk}-answered_on_error"),
        (url("investigator_interview", investigating.pk), {"interview-at": "tomorrow"}, "id_interview-at_error"),
        (url("investigator_finding", investigating.pk), {"finding-item": "item_9", "finding-text": "x"},
         "error-summary-finding"),
        (url("investigator_finding", investigating.pk), {"finding-item": "item_1", "finding-text": "   "},
         "id_item_1-finding-text_error"),
    ]
    before = (_audit_count(), Inquiry.objects.count(), Finding.objects.count())
    for target, data, error_id in cases:
        response = client.post(target, data)
        assert response.status_code == 200, (target, data)
        assert f'id="{error_id}"' in text(response), (target, data, error_id)
    assert (_audit_count(), Inquiry.objects.count(), Finding.objects.count()) == before
    assert Inquiry.objects.get(pk=inquiry.pk).answered_on is None


def test_adjudication_forms_refuse_malformed_input_beside_the_field(world, signed_in):
    case = to_investigation_complete(world, nominate(world))
    services.assign_adjudicator(actor=world["head"], case=case, adjudicator=world.people["adjudicator"])
    client = signed_in(world.people["adjudicator"])
    before = _audit_count()
    missing_reason = {"outcome": "favourable", **{f"reason_{k}": v for k, v in REASONS.items()}, "reason_item_5": " "}
    response = client.post(url("adjudicator_decide", case.pk), missing_reason)
    assert 'id="id_reason_item_5_error"' in text(response)
    response = client.post(url("adjudicator_decide", case.pk), {"outcome": "maybe", **{
        f"reason_{k}": v for k, v in REASONS.items()}})
    assert 'id="id_outcome_error"' in text(response)
    assert _audit_count() == before and fresh(case).state == "investigation_complete"


def test_nominator_and_organ_forms_refuse_malformed_input_beside_the_field(world, signed_in):
    security = signed_in(world.people["security_officer"])
    staff = world.people["meti_staff"].person
    before = (_audit_count(), AssessmentCase.objects.count())
    response = security.post(url("staff_nominate"), {
        "person": staff.pk, "tier": "esi", "trigger": "new", "department": "総務課", "post": "係長",
        "listing_agreed_on": "2026-07-01"})  # in the future
    assert 'id="id_listing_agreed_on_error"' in text(response)
    response = security.post(url("staff_nominate"), {
        "person": staff.pk, "tier": "esi", "trigger": "new", "department": "総務課", "post": "係長",
        "listing_agreed_on": "2026-05-01", "dispatched_worker": "on"})  # no employing agency
    assert 'id="id_employing_agency_error"' in text(response)
    case = nominate(world)
    before = (_audit_count(), AssessmentCase.objects.count())
    response = security.post(url("staff_give_notice", case.pk), {"language": "fr"})
    assert 'id="id_language_error"' in text(response)
    clearance_case = to_notified(world, nominate(world, factories.account(
        role="subject", organisation=world.orgs["TOWA"]).person))
    business = signed_in(world.people["business_officer"])
    before = (_audit_count(), AssessmentCase.objects.count())
    response = business.post(url("staff_report_event", clearance_case.clearance.pk),
                             {"kind": "transferred", "occurred_on": "2026-06-01", "new_post": ""})
    assert 'id="id_new_post_error"' in text(response)
    response = business.post(url("staff_report_event", clearance_case.clearance.pk),  # before the nomination
                             {"kind": "transferred", "occurred_on": "2026-05-30", "new_post": "企画部 課長"})
    assert 'id="id_occurred_on_error"' in text(response)
    response = business.post(url("staff_report_event", clearance_case.clearance.pk),
                             {"kind": "concerning_event", "occurred_on": "2026-05-30", "description": ""})
    assert 'id="id_description_error"' in text(response)
    assert (_audit_count(), AssessmentCase.objects.count()) == before
    assert fresh(case).state == "nominated"


def test_complaint_decision_refuses_malformed_input_beside_the_field(world, signed_in):
    case = to_notified(world, nominate(world))
    complaint = services.file_complaint(actor=world.subject_actor(case.person), case=case, text="理由に不服がある。")
    services.assign_complaint_handler(actor=world["head"], complaint=complaint,
                                      handler=world.people["complaint_handler"])
    client = signed_in(world.people["complaint_handler"])
    before = _audit_count()
    response = client.post(url("complaint_decide", complaint.pk), {"outcome": "re_examination", "reasons": ""})
    assert 'id="id_reasons_error"' in text(response)
    assert _audit_count() == before and fresh_complaint(complaint).state == "assigned"
    page = text(client.get(url("complaint_decide", complaint.pk)))
    assert "理由に不服がある。" in page  # the handler reads it (audited)
    decision = {"outcome": "re_examination", "reasons": "評価の理由の記載が不十分であった。"}
    review = text(client.post(url("complaint_decide", complaint.pk), decision))  # the review (issue 15)
    assert 'id="complaint-review"' in review and fresh_complaint(complaint).state == "assigned"
    token = re.search(r'name="reviewed" value="([^"]+)"', review).group(1)
    response = client.post(url("complaint_decide", complaint.pk), {**decision, "step": "confirm", "reviewed": token})
    assert response.status_code == 302
    assert fresh(case).state == "under_reexamination"


# --- the CSV upload --------------------------------------------------------------------------------

def _csv(*lines: str):
    from django.core.files.uploadedfile import SimpleUploadedFile

    body = "username,department,post,listing_agreed_on,dispatched_worker,employing_agency\n" + "\n".join(lines)
    return SimpleUploadedFile("nominees.csv", body.encode("utf-8"), content_type="text/csv")


def test_csv_upload_of_a_bad_file_writes_nothing_and_lists_lines(world, signed_in):
    good = [factories.account(role="subject", organisation=world.orgs["TOWA"]) for _ in range(2)]
    outsider = factories.account(role="subject", organisation=world.orgs["METI"])
    client = signed_in(world.people["business_officer"])
    before = (AssessmentCase.objects.count(), _audit_count())
    # A format problem (a date that is not one), by line: nothing is looked up yet.
    response = client.post(url("staff_nominate_file"), {"contract": world.contract.pk, "file": _csv(
        f"{good[0].username},技術部,主任,2026-05-20,false,",
        f"{good[1].username},技術部,主任,2026-02-30,false,",
    )})
    page = text(response)
    assert response.status_code == 200 and 'id="line-errors"' in page and 'id="id_file_error"' in page
    assert "<td>3</td><td>listing_agreed_on</td>" in page
    # A nomination rule broken (a dispatched worker without the agency; staff of another organisation,
    # answered exactly as a user name that exists nowhere: issue 12 §6).
    response = client.post(url("staff_nominate_file"), {"contract": world.contract.pk, "file": _csv(
        f"{good[0].username},技術部,主任,2026-05-20,false,",
        f"{good[1].username},技術部,主任,2026-05-20,true,",
        f"{outsider.username},技術部,主任,2026-05-20,false,",
        "nobody-here,技術部,主任,2026-05-20,false,",
    )})
    page = text(response)
    assert "<td>3</td><td>employing_agency</td>" in page
    foreign = re.search(r"<td>4</td><td>username</td><td>([^<]*)</td>", page)
    missing = re.search(r"<td>5</td><td>username</td><td>([^<]*)</td>", page)
    assert foreign and missing and foreign.group(1) == missing.group(1)
    assert (AssessmentCase.objects.count(), _audit_count()) == before


def test_csv_upload_nominates_every_line_and_counts_them(world, signed_in):
    good = [factories.account(role="subject", organisation=world.orgs["TOWA"]) for _ in range(3)]
    client = signed_in(world.people["business_officer"])
    response = client.post(url("staff_nominate_file"), {"contract": world.contract.pk, "file": _csv(
        *[f"{a.username},技術部,主任,2026-05-20,false," for a in good])})
    assert response.status_code == 200
    assert 'data-processed="3"' in text(response)
    assert AssessmentCase.objects.filter(person__in=[a.person for a in good]).count() == 3
    assert AuditEntry.objects.filter(action="assessment.nominate_many").count() == 1


def test_csv_upload_of_a_file_that_is_not_csv_writes_nothing(world, signed_in):
    from django.core.files.uploadedfile import SimpleUploadedFile

    client = signed_in(world.people["business_officer"])
    before = AssessmentCase.objects.count()
    response = client.post(url("staff_nominate_file"), {"contract": world.contract.pk, "file": SimpleUploadedFile(
        "x.csv", "名前\n".encode("shift_jis"), content_type="text/csv")})
    assert 'id="id_file_error"' in text(response)
    assert AssessmentCase.objects.count() == before


# --- nominator workflow ----------------------------------------------------------------------------

def test_business_nominates_one_candidate_with_dispatched_worker_flag(world, signed_in):
    person = factories.account(role="subject", organisation=world.orgs["TOWA"]).person
    client = signed_in(world.people["business_officer"])
    assert client.get(url("staff_nominate")).status_code == 200
    response = client.post(url("staff_nominate"), {
        "person": person.pk, "contract": world.contract.pk, "tier": "esi", "trigger": "new", "department": "技術部",
        "post": "主任", "listing_agreed_on": "2026-05-20", "dispatched_worker": "on", "employing_agency": "派遣元株式会社"})
    assert response.status_code == 302
    case = AssessmentCase.objects.get(person=person)
    assert case.dispatched_worker and case.employing_agency == "派遣元株式会社" and case.contract == world.contract
    entry = AuditEntry.objects.filter(action="assessment.nominate").latest("id")
    assert entry.outcome != "denied" and str(person.pk) in entry.data


def test_detected_exemption_is_confirmed_with_a_reason_and_no_case_opens(world, signed_in):
    case = to_notified(world, nominate(world))
    client = signed_in(world.people["business_officer"])
    hint = client.get(url("staff_nominate"), {"check-person": case.person_id, "check-contract": world.contract.pk,
                                              "check-tier": "esi"})
    assert 'id="exemption-hint"' in text(hint)
    other = factories.account(role="subject", organisation=world.orgs["TOWA"]).person
    hint = client.get(url("staff_nominate"), {"check-person": other.pk, "check-contract": world.contract.pk,
                                              "check-tier": "esi"})
    assert 'id="no-exemption"' in text(hint) and 'id="exemption-hint"' not in text(hint)
    response = client.post(url("staff_nominate"), {
        "person": case.person_id, "contract": world.contract.pk, "tier": "esi", "trigger": "new",
        "department": "技術部", "post": "主任", "listing_agreed_on": "2026-05-25"})
    assert response.status_code == 302
    exemption = case.person.assessment_exemptions.get()
    assert AssessmentCase.objects.filter(person=case.person).count() == 1
    security = signed_in(world.people["security_officer"])
    assert f"/staff/exemptions/{exemption.pk}/" in text(security.get(url("staff_nominations")))
    response = security.post(url("staff_exemption", exemption.pk), {"decision": "confirm", "reason": "短い"})
    assert 'id="id_reason_error"' in text(response)
    response = security.post(url("staff_exemption", exemption.pk), {
        "decision": "confirm", "reason": "前回の評価以降、懸念を生じさせる事情は報告されていない。"})
    assert response.status_code == 302
    page = text(client.get(url("staff_exemption", exemption.pk)))
    assert "懸念を生じさせる事情は報告されていない" in page  # the nominator sees why
    assert AssessmentCase.objects.filter(person=case.person).count() == 1


def test_security_officer_gives_notice_and_reports_a_concern(world, signed_in):
    case = nominate(world)
    security = signed_in(world.people["security_officer"])
    assert f"/staff/cases/{case.pk}/notice/" in text(security.get(url("staff_nominations")))
    assert security.post(url("staff_give_notice", case.pk), {"language": "en"}).status_code == 302
    assert fresh(case).state == "notice_given"
    done = to_notified(world, nominate(world, factories.account(role="subject", organisation=world.orgs["TOWA"]).person))
    business = signed_in(world.people["business_officer"])
    response = business.post(url("staff_report_event", done.clearance.pk), {
        "kind": "concerning_event", "occurred_on": "2026-05-30", "description": "多額の借入れが判明した。"})
    assert response.status_code == 302
    assert AssessmentCase.objects.filter(reassessment_of=done.clearance, trigger="concern").exists()
    assert fresh(done).clearance.suspended_at is not None


# --- dashboards ------------------------------------------------------------------------------------

def test_dashboards_show_counts_and_overdue_items_linking_to_the_queues(world, signed_in, investigating,
                                                                      _frozen_today):
    _frozen_today.move_to(dt.datetime(2027, 6, 1, 3, 0, tzinfo=dt.UTC))  # far past the investigation target
    page = text(signed_in(world.people["investigator"]).get(reverse("core:dashboard")))
    assert url("investigator_case", investigating.pk) in page
    assert 'class="overdue"' in page  # the overdue case is flagged
    assert 'data-total="1" data-overdue="1"' in page
    assert url("investigator_queue") in page
    for role, link in (("adjudicator", "adjudicator_queue"), ("complaint_handler", "complaint_queue"),
                       ("business_officer", "staff_nominations"), ("security_officer", "staff_nominations")):
        response = signed_in(world.people[role]).get(reverse("core:dashboard"))
        assert response.status_code == 200 and url(link) in text(response), role


def test_assignment_concurrence_and_adverse_forms_refuse_malformed_input(world, signed_in):
    case = to_investigation_complete(world, nominate(world))
    head = signed_in(world.people["organ_head"])
    before = _audit_count()
    response = head.post(url("staff_assign", case.pk, "adjudicator"), {"account": "not-a-number"})
    assert 'id="id_account_error"' in text(response)
    assert _audit_count() == before and not CaseDuty.objects.filter(case=case, kind="adjudicator").exists()
    services.assign_adjudicator(actor=world["head"], case=case, adjudicator=world.people["adjudicator"])
    services.adjudicate(actor=world["adjudicator"], case=case, outcome="unfavourable", reasons=REASONS)
    services.assign_concurring_adjudicator(actor=world["head"], case=case, adjudicator=world.people["adjudicator2"])
    second = signed_in(world.people["adjudicator2"])
    before = _audit_count()
    response = second.post(url("adjudicator_concur", case.pk), {"agree": "perhaps"})
    assert 'id="id_agree_error"' in text(response)
    assert _audit_count() == before and fresh(case).state == "adjudicated_unfavourable_pending_concurrence"


def test_adverse_treatment_report_goes_to_the_organ_never_to_the_employer(world, signed_in):
    case = nominate(world)
    report = services.report_adverse_treatment(actor=world.subject_actor(case.person), case=case, kind="pay_cut",
                                               text="同意を拒んだ後に減給された。")
    business = signed_in(world.people["business_officer"])
    assert business.get(url("staff_adverse_report", report.pk)).status_code == 403
    assert "同意を拒んだ後に減給された。" not in text(business.get(url("staff_nominations")))
    head = signed_in(world.people["organ_head"])
    assert url("staff_adverse_report", report.pk) in text(head.get(url("staff_adverse_reports")))
    page = text(head.get(url("staff_adverse_report", report.pk)))
    assert "同意を拒んだ後に減給された。" in page
    before = _audit_count()
    response = head.post(url("staff_adverse_report", report.pk), {"outcome": "", "reasons": "確認した。"})
    assert 'id="id_outcome_error"' in text(response) and _audit_count() == before
    response = head.post(url("staff_adverse_report", report.pk), {"outcome": "employer_instructed",
                                                                    "reasons": "事業者に是正を指示した。"})
    assert response.status_code == 302
    report.refresh_from_db()
    assert report.outcome == "employer_instructed" and report.handler_id == world.people["organ_head"].pk


def test_investigator_queue_page_has_a_bounded_number_of_queries(world, signed_in, django_assert_max_num_queries):
    for _ in range(3):
        person = factories.account(role="subject", organisation=world.orgs["TOWA"]).person
        case = to_submitted(world, nominate(world, person))
        services.assign_investigator(actor=world["cao_head"], case=case, investigator=world.people["investigator"])
    client = signed_in(world.people["investigator"])
    with django_assert_max_num_queries(20):
        response = client.get(url("investigator_queue"))
    assert text(response).count("/staff/investigation/") >= 3


def test_anonymous_is_sent_to_sign_in(client, world):
    for name in ("staff_nominations", "investigator_queue", "adjudicator_queue", "complaint_queue"):
        response = client.get(url(name))
        assert response.status_code == 302 and "/signin/" in response["Location"]


def test_business_without_an_active_contract_cannot_nominate(world, signed_in):
    other_business = factories.account(role="business_officer", organisation=world.orgs["TOWA"])
    response = signed_in(world.people["business_officer"]).get(url("staff_nominate"))
    assert response.status_code == 200  # under the METI contract
    outsider = signed_in(factories.account(role="business_officer", organisation=_new_business()))
    for name in ("staff_nominate", "staff_nominate_file"):
        response = outsider.get(url(name))
        assert response.status_code == 403 and 'data-reason-code="no_nomination_target"' in text(response)
    # A second officer of the business that holds the contracts may nominate too.
    assert signed_in(other_business).get(url("staff_nominate")).status_code == 200


def _new_business():
    from hozen.core import services as core_services

    return core_services.create_organisation(actor=factories.operator(), code="NOCON", kind="business",
                                             name_ja="契約なし株式会社", name_en="No Contract KK")


def test_adjudication_records_that_the_subject_waived_reasons(world, signed_in):
    case = nominate(world)
    services.waive_reasons(actor=world.subject_actor(case.person), case=case)
    case = to_investigation_complete(world, case)
    services.assign_adjudicator(actor=world["head"], case=case, adjudicator=world.people["adjudicator"])
    client = signed_in(world.people["adjudicator"])
    page = text(client.get(url("adjudicator_case", case.pk)))
    assert "The person asked in advance not to receive the reasons" in page or "事前に理由の通知を希望しない" in page
    data = {"outcome": "favourable", **{f"reason_{k}": v for k, v in REASONS.items()}}
    assert decide_through_review(client, case, data).status_code == 302
    adjudication = fresh(case).adjudications.get()
    assert adjudication.reasons_waived is True and adjudication.adjudicator_id == world.people["adjudicator"].pk
    entry = AuditEntry.objects.filter(action="assessment.adjudicate").latest("id")
    assert '"reasons_waived": true' in entry.data.replace('":true', '": true')


def test_business_copy_is_destroyed_on_its_timer_and_the_outcome_no_longer_shown(world, signed_in, operator,
                                                                                  _frozen_today):
    case = to_notified(world, nominate(world))
    notice = case.business_notices.get()
    _frozen_today.move_to(dt.datetime.combine(notice.retain_until + dt.timedelta(days=2), dt.time(3), tzinfo=dt.UTC))
    services.retention_run(actor=operator)
    page = text(signed_in(world.people["business_officer"]).get(url("staff_nominations")))
    row = page[page.index(f'data-case="{case.pk}"'):].split("</tr>")[0]
    assert "2036" not in row  # valid until: gone with the notice
    assert "Not shown" in row or "表示なし" in row


# --- the nominator's clocks (issue 6 §1 "Clocks": every queue shows what is due and overdue) --------------

def _row(page: str, case) -> str:
    import re

    return re.search(rf'<tr data-case="{case.pk}"[^>]*>.*?</tr>', page, re.S).group(0)


def test_our_nominations_show_the_stage_target_date_and_an_overdue_flag(world, signed_in, _frozen_today):
    waiting = nominate(world)  # notice due in 14 days
    notified = to_notified(world, nominate(world, factories.account(role="subject",
                                                                    organisation=world.orgs["TOWA"]).person))
    business = signed_in(world.people["business_officer"])
    page = text(business.get(url("staff_nominations")))
    row = _row(page, waiting)
    assert "2026-06-15" in row or "令和8年6月15日" in row
    assert "overdue-flag" not in row and 'class="overdue"' not in row
    assert "overdue-flag" not in _row(page, notified) and "due-flag" not in _row(page, notified)
    _frozen_today.move_to(dt.datetime(2026, 6, 20, 3, 0, tzinfo=dt.UTC))
    business = signed_in(world.people["business_officer"])  # a new session on the later day
    page = text(business.get(url("staff_nominations")))
    row = _row(page, waiting)
    assert "overdue-flag" in row and 'class="overdue"' in row


def test_the_nominators_target_date_does_not_reveal_an_unnotified_decision(world):
    from hozen.assessment import staff_queries

    favourable = to_investigation_complete(world, nominate(world))
    unfavourable = to_investigation_complete(world, nominate(world, factories.account(
        role="subject", organisation=world.orgs["TOWA"]).person))
    before = [staff_queries.nominator_clock(fresh(c)) for c in (favourable, unfavourable)]
    services.assign_adjudicator(actor=world["head"], case=favourable, adjudicator=world.people["adjudicator"])
    services.adjudicate(actor=world["adjudicator"], case=favourable, outcome="favourable", reasons=REASONS)
    services.assign_adjudicator(actor=world["head"], case=unfavourable, adjudicator=world.people["adjudicator2"])
    services.adjudicate(actor=world["adjudicator2"], case=unfavourable, outcome="unfavourable", reasons=REASONS)
    after = [staff_queries.nominator_clock(fresh(c)) for c in (favourable, unfavourable)]
    # The same date before and after either decision (completion + 30 days), so nothing leaks.
    assert before == after and after[0]["due_on"] == dt.date(2026, 7, 1)


def test_the_organ_heads_dashboard_lists_the_cases_waiting_for_an_assignment(world, signed_in):
    from .conftest import nominate, to_submitted

    case = to_submitted(world, nominate(world))  # waits for the Cabinet Office's investigator and METI's adjudicator
    page = signed_in(world.people["organ_head"]).get("/dashboard/").content.decode()
    panel = page[page.index('id="panel-assign"'):]
    panel = panel[:panel.index("</section>")]
    assert f"評価担当者を指名 #{case.pk}" in panel and "調査担当者を指名" not in panel  # METI assigns no investigator
    cao = signed_in(world.people["cao_head"]).get("/dashboard/").content.decode()
    assert f"調査担当者を指名 #{case.pk}" in cao
    assert world.people["subject"].person.family_name not in panel  # case numbers only, no names
