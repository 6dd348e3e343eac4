"""The assessment API (issue 6): every step of the workflow over HTTP, and issue 6 §2 "who sees
what" for the API — the nominating side (a business's protection officer, an organ's security
officer) never gets questionnaire answers, findings or reasons (403 with the policy's reason,
audited); a system administrator reads no case; an investigator only assigned cases; three
different people for the three duties; the subject sees all of their own case. Consent needs the
subject's own current second-factor code in the request. Time is frozen at 2026-06-01."""

# ruff: noqa: F811  (the assessment fixtures are imported by name)
from __future__ import annotations

import datetime as dt
import json

import pytest
from django_otp.plugins.otp_totp.models import TOTPDevice

from hozen.assessment import services
from hozen.assessment.models import AdverseTreatmentReport, AssessmentCase, BusinessNotice, Exemption
from hozen.audit.models import AuditEntry
from tests import factories
from tests.assessment.conftest import (  # noqa: F401  (fixtures)
    REASONS,
    SUMMARY,
    _frozen_today,
    _packs,
    answers,
    cleared,
    fill_questionnaire,
    fresh,
    new_employee,
    nominate,
    to_consented,
    to_investigation_complete,
    to_notified,
    to_submitted,
    world,
)

pytestmark = pytest.mark.django_db

BASE = "/api/v1/assessment"


@pytest.fixture
def api(world, client):
    """``api(who)`` → a caller with a bearer token for that persona (the world's accounts)."""
    tokens = {}

    class Caller:
        def __init__(self, account):
            self.account = account
            if account.pk not in tokens:
                tokens[account.pk] = {"HTTP_AUTHORIZATION": f"Bearer {factories.api_token(account)}"}
            self.headers = tokens[account.pk]

        def get(self, path):
            return client.get(BASE + path, **self.headers)

        def post(self, path, body=None):
            return client.post(BASE + path, json.dumps(body or {}), content_type="application/json", **self.headers)

        def put(self, path, body, if_match: str | None = None):
            extra = {"HTTP_IF_MATCH": if_match} if if_match is not None else {}
            return client.put(BASE + path, json.dumps(body), content_type="application/json", **self.headers,
                              **extra)

    def caller(who):
        account = world.actors[who].account if isinstance(who, str) else who
        return Caller(account)

    return caller


def subject_code(account) -> str:
    """The subject's current TOTP code (subjects get an authenticator here; tests/factories gives none)."""
    if not TOTPDevice.objects.filter(user=account, confirmed=True).exists():
        TOTPDevice.objects.create(user=account, name="phone", key=factories.TOTP_KEY, confirmed=True)
    return factories.current_totp(account)


def denied(action: str) -> list[dict]:
    return [json.loads(e.data) for e in AuditEntry.objects.filter(action=action, outcome="denied")]


def ok(response, status=200):
    assert response.status_code == status, response.content[:600]
    return response.json()


# --- the whole workflow -----------------------------------------------------------------------------

def test_a_case_walks_from_a_business_nomination_to_both_notifications_over_the_api(world, api):
    subject_account = world.people["subject"]
    business, security, subject = api("business"), api("security"), api(subject_account)
    body = {"username": subject_account.username, "contract_id": world.contract.pk, "department": "技術部",
            "post": "主任", "listing_agreed_on": "2026-05-20"}
    case = ok(business.post("/nominations", body), 201)["case"]
    assert (case["view"], case["status"], case["state"]) == ("status_only", "awaiting_consent", None)
    cid = case["id"]
    # The organ's security officer gives the notice and sees status only, as the nominator does.
    assert ok(security.post(f"/cases/{cid}/notice", {"language": "en"}))["status"] == "awaiting_consent"
    assert ok(subject.get(f"/cases/{cid}"))["state"] == "notice_given"
    assert ok(subject.post(f"/cases/{cid}/consent", {"totp_code": subject_code(subject_account)}))["state"] == \
        "consented"
    for section, content in answers().items():
        saved = ok(subject.put(f"/cases/{cid}/questionnaire/{section}", {"content": content}, if_match='"0"'))
        assert saved["changed"] and saved["complete"] and saved["errors"] == []
    again = ok(subject.put(f"/cases/{cid}/questionnaire/identity", {"content": answers()["identity"]}, '"1"'))
    assert again["changed"] is False and again["version"] == 1
    assert ok(subject.get(f"/cases/{cid}/questionnaire/identity")) == answers()["identity"]
    submitted = ok(subject.post(f"/cases/{cid}/questionnaire/submit"))
    assert len(submitted["sha256"]) == 64 and submitted["case"]["state"] == "questionnaire_submitted"

    investigator_account = world.people["investigator"]
    ok(api("cao_head").post(f"/cases/{cid}/investigator", {"username": investigator_account.username}))
    investigator = api("investigator")
    inquiry = ok(investigator.post(f"/cases/{cid}/inquiries", {
        "recipient_kind": "superior", "recipient_organisation": "東和重工業株式会社 技術部", "recipient_name": "上司 一郎",
        "question": "勤務態度について", "sent_on": "2026-06-01"}), 201)
    early = investigator.post(f"/cases/{cid}/interview", {"at": "2026-06-01T11:00:00+09:00"})
    assert early.status_code == 422 and early.json()["code"] == "material_not_gathered"  # the inquiry is unanswered
    ok(investigator.post(f"/inquiries/{inquiry['id']}/response", {"response": "問題はない", "answered_on": "2026-06-01"}))
    ok(investigator.post(f"/cases/{cid}/interview", {"at": "2026-06-01T11:00:00+09:00"}))
    for n in range(1, 8):
        ok(investigator.put(f"/cases/{cid}/findings/item_{n}", {"text": f"事項{n}: 懸念なし"}, if_match='"0"'))
    assert set(ok(investigator.get(f"/cases/{cid}/findings"))) == {f"item_{n}" for n in range(1, 8)}
    refused = investigator.post(f"/cases/{cid}/investigation/complete", {"summary": " "})
    assert refused.status_code == 422 and (refused.json()["code"], refused.json()["field"]) == (
        "summary_required", "summary")
    assert ok(investigator.post(f"/cases/{cid}/investigation/complete", {"summary": SUMMARY}))["state"] == \
        "investigation_complete"

    ok(api("head").post(f"/cases/{cid}/adjudicator", {"username": world.people["adjudicator"].username}))
    assert ok(api("adjudicator").get(f"/cases/{cid}/summary"))["text"] == SUMMARY  # the case summary
    assert business.get(f"/cases/{cid}/summary").json()["code"] == "status_only"
    decided = ok(api("adjudicator").post(f"/cases/{cid}/adjudication", {"outcome": "favourable", "reasons": REASONS}))
    assert decided["outcome"] == "favourable" and decided["rules_pack"].startswith("jp-esi-2025")
    clearance = ok(security.post(f"/cases/{cid}/notify"))
    assert (clearance["favourable"], clearance["valid_until"], clearance["status"]) == (True, "2036-06-01", "valid")

    # The subject: the result with reasons, and which inquiries were made (never names or answers).
    result = ok(subject.get(f"/cases/{cid}/result"))
    assert result["favourable"] and [r["item"] for r in result["reasons"]] == [f"item_{n}" for n in range(1, 8)]
    log = ok(subject.get(f"/cases/{cid}/inquiry-log"))
    assert log == [{"recipient_kind": "superior", "recipient_organisation": "東和重工業株式会社 技術部",
                    "method": "question", "sent_on": "2026-06-01", "answered_on": "2026-06-01"}]
    # The business: three facts, in its case view and its notice.
    seen = ok(business.get(f"/cases/{cid}"))
    assert (seen["view"], seen["status"], seen["consented"], seen["favourable"], seen["valid_until"]) == (
        "status_only", "notified", True, True, "2036-06-01")
    assert seen["state"] is None and seen["stage_due_on"] is None and seen["questionnaire_sha256"] is None
    notices = ok(business.get("/notices"))
    assert [(n["case"], n["consented"], n["favourable"], n["valid_until"]) for n in notices] == [
        (cid, True, True, "2036-06-01")]
    assert [c["id"] for c in ok(business.get("/clearances"))] == [clearance["id"]]
    # Then a complaint, handled by someone who never worked the case.
    complaint = ok(subject.post(f"/cases/{cid}/complaints", {"text": "調査の進め方に疑問があります。"}), 201)
    ok(api("head").post(f"/complaints/{complaint['id']}/handler", {"username": world.people["complaint_handler"]
                                                                  .username}))
    assert [c["id"] for c in ok(api("handler").get("/complaints/queue"))] == [complaint["id"]]
    decided = ok(api("handler").post(f"/complaints/{complaint['id']}/decision",
                                     {"outcome": "not_upheld", "reasons": "手続に誤りは認められない。"}))
    assert decided["state"] == "decided"
    mine = ok(subject.get(f"/cases/{cid}/complaints"))
    assert mine[0]["outcome_reasons"] == "手続に誤りは認められない。"


def test_errors_are_403_with_the_reason_404_and_422_with_the_field(world, api):
    case = nominate(world)
    assert api("mic_security").post(f"/cases/{case.pk}/notice").status_code == 404  # not visible: 404
    r = api("business").post(f"/cases/{case.pk}/notice")
    assert r.status_code == 403 and r.json()["code"] == "wrong_role"
    r = api("security").post(f"/cases/{case.pk}/notice", {"language": "fr"})
    assert r.status_code == 422 and r.json()["fields"] == ["language"]
    r = api("business").post("/nominations", {"username": new_employee(world).account.username,
                                              "contract_id": world.contract.pk, "department": "技術部", "post": "",
                                              "listing_agreed_on": "2026-05-20"})
    assert r.status_code == 422 and (r.json()["code"], r.json()["field"]) == ("post_required", "post")
    r = api("business").post("/nominations", {"username": "nobody", "contract_id": world.contract.pk,
                                              "department": "技術部", "post": "主任", "listing_agreed_on": "2026-05-20"})
    assert r.status_code == 422 and r.json()["field"] == "username"
    r = api("business").post("/nominations", {"person_id": case.person_id, "contract_id": world.contract.pk,
                                              "department": "技術部", "post": "主任", "listing_agreed_on": "2026-05-20",
                                              "state": "notified"})
    assert r.status_code == 422 and r.json()["fields"] == ["state"]  # a field the schema does not name
    assert AssessmentCase.objects.count() == 1


# --- consent needs the subject's own second factor --------------------------------------------------

def test_consent_over_the_api_needs_the_subjects_own_current_code(world, api):
    case = nominate(world)
    services.give_notice(actor=world["security"], case=case)
    subject_account = world.people["subject"]
    subject = api(subject_account)
    assert subject.post(f"/cases/{case.pk}/consent").status_code == 422  # the code is required
    r = subject.post(f"/cases/{case.pk}/consent", {"totp_code": "000000"})
    assert r.status_code == 403 and r.json()["code"] == "second_factor_required"
    assert denied("assessment.consent")[-1]["details"]["reason"] == "second_factor_required"
    # Someone else's valid code does not make them the subject: only the subject consents.
    officer = world.people["business_officer"]
    r = api("business").post(f"/cases/{case.pk}/consent", {"totp_code": factories.current_totp(officer)})
    assert r.status_code == 403 and r.json()["code"] == "subject_only"
    assert AssessmentCase.objects.get(pk=case.pk).state == "notice_given"
    assert ok(subject.post(f"/cases/{case.pk}/consent", {"totp_code": subject_code(subject_account)}))["state"] == \
        "consented"


def test_refusal_and_withdrawal_over_the_api_end_the_case_with_only_not_consented_for_the_nominator(world, api):
    subject_account = world.people["subject"]
    case = to_consented(world, nominate(world))
    r = api(subject_account).post(f"/cases/{case.pk}/withdraw", {"totp_code": "123456"})
    assert r.status_code == 403 and r.json()["code"] == "second_factor_required"
    body = ok(api(subject_account).post(f"/cases/{case.pk}/withdraw", {"totp_code": subject_code(subject_account)}))
    assert body["state"] == "not_consented" and body["closed"]
    notice = ok(api("business").get("/notices"))[0]
    assert (notice["consented"], notice["favourable"], notice["valid_until"]) == (False, None, None)


# --- who sees what (issue 6 §2) -------------------------------------------------------------------------

CONTENT = ("/questionnaire", "/questionnaire/identity", "/findings", "/inquiries", "/reasons", "/result")


@pytest.mark.parametrize("who", ["business", "security"])
def test_the_nominating_side_never_gets_answers_findings_or_reasons(world, api, who):
    case = to_notified(world, nominate(world))
    caller = api(who)
    seen = ok(caller.get(f"/cases/{case.pk}"))
    assert seen["view"] == "status_only" and seen["state"] is None
    before = AuditEntry.objects.filter(outcome="denied").count()
    for path in CONTENT:
        r = caller.get(f"/cases/{case.pk}{path}")
        assert r.status_code == 403, path
        assert r.json()["code"] == "status_only", path
        assert "status and outcome only" in r.json()["detail"] or "のみ" in r.json()["detail"]
    assert AuditEntry.objects.filter(outcome="denied").count() - before == len(CONTENT)
    assert all(e["details"]["reason"] == "status_only" for e in denied("assessment.read_answers"))
    assert caller.get(f"/cases/{case.pk}/events").status_code == 404  # the history is not theirs either


@pytest.mark.parametrize("who", ["sysadmin", "auditor", "oversight"])
def test_a_system_administrator_reads_no_case_content(world, api, who):
    case = to_notified(world, nominate(world))
    caller = api(who)
    assert ok(caller.get("/cases"))["total"] == 0
    for path in ("", "/events", *CONTENT):
        assert caller.get(f"/cases/{case.pk}{path}").status_code == 404, path  # not even that it exists
    assert caller.put(f"/cases/{case.pk}/questionnaire/identity", {"content": {}}).status_code == 404


def test_an_investigator_sees_only_assigned_cases(world, api):
    mine = to_submitted(world, nominate(world))
    other = to_submitted(world, nominate(world, new_employee(world)))
    services.assign_investigator(actor=world["cao_head"], case=mine, investigator=world.people["investigator"])
    services.assign_investigator(actor=world["cao_head"], case=other, investigator=world.people["investigator2"])
    investigator = api("investigator")
    assert [c["id"] for c in ok(investigator.get("/cases"))["items"]] == [mine.pk]
    assert [c["id"] for c in ok(investigator.get("/queue"))["items"]] == [mine.pk]
    assert set(ok(investigator.get(f"/cases/{mine.pk}/questionnaire"))) == set(answers())
    for path in ("", *CONTENT[:4]):
        assert investigator.get(f"/cases/{other.pk}{path}").status_code == 404, path
    r = investigator.put(f"/cases/{other.pk}/findings/item_1", {"text": "x"})
    assert r.status_code == 404
    reads = [json.loads(e.data) for e in AuditEntry.objects.filter(action="personal_data.read")]
    assert reads and all(e["details"]["subject_person_id"] == mine.person_id for e in reads
                         if e["actor"].get("account") == world.people["investigator"].username)


def test_investigator_adjudicator_and_complaint_handler_are_three_different_people(world, api):
    case = to_investigation_complete(world, nominate(world))
    head = api("head")
    adjudicator = world.people["adjudicator"]
    ok(head.post(f"/cases/{case.pk}/adjudicator", {"username": adjudicator.username}))
    ok(api("adjudicator").post(f"/cases/{case.pk}/adjudication", {"outcome": "unfavourable", "reasons": REASONS}))
    r = head.post(f"/cases/{case.pk}/concurring-adjudicator", {"username": adjudicator.username})
    assert r.status_code == 403 and r.json()["code"] == "separation_of_duties"
    # A complaint handler who also holds the adjudicator's role and worked the case is refused.
    from hozen.core import services as core

    core.assign_role(actor=factories.operator(), account=adjudicator, role="complaint_handler",
                     organisation=world.orgs["METI"])
    ok(head.post(f"/cases/{case.pk}/concurring-adjudicator", {"username": world.people["adjudicator2"].username}))
    ok(api("adjudicator2").post(f"/cases/{case.pk}/concurrence", {"agree": True}))
    ok(api("security").post(f"/cases/{case.pk}/notify"))
    subject_account = world.people["subject"]
    complaint = ok(api(subject_account).post(f"/cases/{case.pk}/complaints", {"text": "結果に納得できません。"}), 201)
    r = head.post(f"/complaints/{complaint['id']}/handler", {"username": adjudicator.username})
    assert r.status_code == 403 and r.json()["code"] == "worked_the_case"
    r = head.post(f"/complaints/{complaint['id']}/handler", {"username": world.people["investigator"].username})
    assert r.status_code == 403 and r.json()["code"] in ("candidate_lacks_role", "worked_the_case")
    ok(head.post(f"/complaints/{complaint['id']}/handler", {"username": world.people["complaint_handler"].username}))
    assert denied("assessment.assign_complaint_handler")


def test_the_subject_sees_all_of_their_own_case(world, api):
    case = to_notified(world, nominate(world))
    subject_account = world.people["subject"]
    subject = api(subject_account)
    full = ok(subject.get(f"/cases/{case.pk}"))
    assert full["view"] == "full" and full["state"] == "notified" and full["questionnaire_sha256"]
    assert ok(subject.get(f"/cases/{case.pk}/questionnaire")) == answers()
    assert ok(subject.get(f"/cases/{case.pk}/reasons"))["reasons"] == REASONS
    assert ok(subject.get(f"/cases/{case.pk}/result"))["favourable"] is True
    assert [e["kind"] for e in ok(subject.get(f"/cases/{case.pk}/events"))][:2] == ["nominated", "notice_given"]
    assert len(ok(subject.get(f"/cases/{case.pk}/inquiry-log"))) == 1
    # Not the investigation's own content: the answers of inquiries and the findings stay with the workers.
    r = subject.get(f"/cases/{case.pk}/findings")
    assert r.status_code == 403 and r.json()["code"] == "not_disclosed_to_subject"
    # Another subject sees nothing of it.
    other = api("meti_staff")
    assert other.get(f"/cases/{case.pk}").status_code == 404
    assert other.get(f"/cases/{case.pk}/questionnaire").status_code == 404


def test_the_inquiry_log_is_shown_to_the_subject_only_after_notification(world, api):
    case = to_investigation_complete(world, nominate(world))
    r = api(world.people["subject"]).get(f"/cases/{case.pk}/inquiry-log")
    assert r.status_code == 403 and r.json()["code"] == "after_notification"


# --- nomination in bulk, exemptions, reported changes --------------------------------------------------

def test_bulk_nomination_over_the_api_is_all_or_nothing(world, api):
    people = [new_employee(world) for _ in range(3)]
    row = {"department": "技術部", "post": "主任", "listing_agreed_on": "2026-05-20"}
    rows = [{"username": people[0].account.username, **row}, {"person_id": people[1].pk, **row, "post": ""},
            {"username": "nobody", **row}]
    r = api("business").post("/nominations/bulk", {"contract_id": world.contract.pk, "rows": rows})
    assert r.status_code == 422
    # Every row's problem at once: the candidates are found by the service, among the nominator's staff.
    assert [(e["row"], e["field"]) for e in r.json()["errors"]] == [(1, "post"), (2, "username")]
    rows[2] = {"person_id": people[2].pk, **row, "dispatched_worker": True}
    r = api("business").post("/nominations/bulk", {"contract_id": world.contract.pk, "rows": rows})
    assert r.status_code == 422 and r.json()["code"] == "nomination_rows_invalid"
    assert [(e["row"], e["field"]) for e in r.json()["errors"]] == [(1, "post"), (2, "employing_agency")]
    assert AssessmentCase.objects.count() == 0
    rows[1]["post"], rows[2]["employing_agency"] = "係長", "派遣元株式会社"
    body = ok(api("business").post("/nominations/bulk", {"contract_id": world.contract.pk, "rows": rows}), 201)
    assert body["rows"] == 3 and len(body["cases"]) == 3 and body["exemptions"] == []
    # The organ's security officer names a business's contract: answered as a missing contract (issue
    # 12 §6: no existence oracle), exactly as an id that does not exist.
    r = api("security").post("/nominations/bulk", {"contract_id": world.contract.pk, "rows": rows})
    missing = api("security").post("/nominations/bulk", {"contract_id": 987654321, "rows": rows})
    assert r.status_code == missing.status_code == 422 and r.json()["code"] == "unknown_contract"
    assert r.content == missing.content


def test_an_exemption_is_confirmed_by_the_organ_and_explained_to_the_nominator(world, api):
    earlier, _clearance = cleared(world)
    body = ok(api("business").post("/nominations", {"person_id": earlier.person_id, "contract_id": world.contract.pk,
                                                    "department": "技術部", "post": "主任",
                                                    "listing_agreed_on": "2026-05-20"}), 201)
    assert body["case"] is None and body["exemption"]["state"] == "pending"
    eid = body["exemption"]["id"]
    assert api("mic_security").post(f"/exemptions/{eid}/confirm", {"reason": "懸念が生じていないことを確認した。"}).status_code \
        == 404
    r = api("security").post(f"/exemptions/{eid}/confirm", {"reason": "短い"})
    assert r.status_code == 422 and r.json()["field"] == "reason"
    confirmed = ok(api("security").post(f"/exemptions/{eid}/confirm", {"reason": "前回の評価以降、懸念は生じていない。"}))
    assert confirmed["state"] == "confirmed"
    seen = ok(api("business").get(f"/exemptions/{eid}"))
    assert seen["basis_notified_on"] == "2026-06-01" and seen["window_years"] == 10
    assert Exemption.objects.get().case is None


def test_a_concern_reported_over_the_api_opens_a_reassessment_and_suspends_the_result(world, api):
    _case, clearance = cleared(world)
    r = api("business").post(f"/clearances/{clearance.pk}/events", {"kind": "concerning_event",
                                                                   "occurred_on": "2026-05-30",
                                                                   "description": "多額の借入れの申告があった。"})
    body = ok(r, 201)
    assert body["case"] and AssessmentCase.objects.get(pk=body["case"]).trigger == "concern"
    assert ok(api("business").get("/clearances"))[0]["status"] == "suspended"
    assert api("mic_security").post(f"/clearances/{clearance.pk}/events", {"kind": "left",
                                                                          "occurred_on": "2026-05-30"}).status_code == 404


def test_adverse_treatment_goes_to_the_organ_and_never_the_employer(world, api):
    case = to_notified(world, nominate(world))
    subject = api(world.people["subject"])
    report = ok(subject.post(f"/cases/{case.pk}/adverse-treatment", {"kind": "transfer", "text": "配置換えを受けた。"}),
                201)
    assert report["employer"] == "TOWA"
    r = api("business").post(f"/adverse-treatment/{report['id']}/decision", {"outcome": "not_substantiated",
                                                                             "reasons": "x"})
    assert r.status_code == 403
    decided = ok(api("head").post(f"/adverse-treatment/{report['id']}/decision",
                                  {"outcome": "employer_instructed", "reasons": "是正を指導した。"}))
    assert decided["outcome"] == "employer_instructed"


def test_the_questionnaire_reports_errors_beside_the_field_and_refuses_malformed_content(world, api):
    case = to_consented(world, nominate(world))
    subject = api(world.people["subject"])
    content = answers()["employment_10y"]
    content["jobs"][1]["ended_on"] = "2031-01-01"
    saved = ok(subject.put(f"/cases/{case.pk}/questionnaire/employment_10y", {"content": content}, if_match='"0"'))
    assert saved["changed"] and not saved["complete"]
    assert any(e["path"].startswith("employment_10y.jobs[1]") for e in saved["errors"])
    r = subject.put(f"/cases/{case.pk}/questionnaire/identity", {"content": {"religion": "x"}}, if_match='"0"')
    assert r.status_code == 422 and r.json()["code"] == "questionnaire_malformed"
    assert r.json()["errors"][0]["path"].startswith("identity")
    r = subject.post(f"/cases/{case.pk}/questionnaire/submit")
    assert r.status_code == 422 and r.json()["code"] == "questionnaire_incomplete" and len(r.json()["errors"]) > 1
    assert subject.put(f"/cases/{case.pk}/questionnaire/beliefs", {"content": {}}).status_code == 422
    progress = ok(subject.get(f"/cases/{case.pk}/questionnaire/progress"))
    assert [p["section"] for p in progress if p["version"]] == ["employment_10y"]


def test_renewal_reminders_and_notices_are_listed_for_their_recipients(world, api, _frozen_today):
    from hozen.core.actor import Actor

    _case, clearance = cleared(world)
    _frozen_today.move_to(dt.datetime(2036, 1, 1, 3, 0, tzinfo=dt.UTC))
    services.send_renewal_reminders(actor=Actor.job("assessment.renewal_reminders"))
    mine = ok(api(world.people["subject"]).get("/reminders"))
    assert [(r["recipient"], r["days_before"], r["valid_until"]) for r in mine] == [("person", 180, "2036-06-01")]
    assert [r["recipient"] for r in ok(api("business").get("/reminders"))] == ["nominator"]
    assert ok(api("sysadmin").get("/reminders")) == []
    assert BusinessNotice.objects.count() == 1


def test_the_openapi_document_describes_the_assessment_api(client):
    schema = client.get("/api/v1/openapi.json").json()
    paths = {p for p in schema["paths"] if p.startswith("/api/v1/assessment/")}
    for p in ("/api/v1/assessment/nominations", "/api/v1/assessment/nominations/bulk",
              "/api/v1/assessment/cases/{case_id}/consent", "/api/v1/assessment/cases/{case_id}/questionnaire/{section}",
              "/api/v1/assessment/cases/{case_id}/findings/{item}", "/api/v1/assessment/cases/{case_id}/inquiry-log",
              "/api/v1/assessment/clearances/{clearance_id}/events", "/api/v1/assessment/reminders"):
        assert p in paths, p
    components = schema["components"]["schemas"]
    # Every error response has the one schema, Error (issue 12 §3), with the bulk and questionnaire `errors`.
    assert {"CaseOut", "SecondFactorIn", "NominateIn", "Error", "ErrorItemOut"} <= set(components)
    assert "totp_code" in components["SecondFactorIn"]["required"]


# --- issue 6 §4 "every action in the API": adverse-treatment reports, the papers ---------------------

def _adverse(world, api, case, kind="pay_cut"):
    return ok(api(world.people["subject"]).post(f"/cases/{case.pk}/adverse-treatment",
                                                {"kind": kind, "text": "同意しなかったことを理由に減給された。"}), 201)


def test_adverse_treatment_reports_are_listed_and_read_by_the_subject_and_the_organ_only(world, api):
    case = to_consented(world, nominate(world))
    other_case = to_consented(world, nominate(world, new_employee(world)))
    report = _adverse(world, api, case)
    other = services.report_adverse_treatment(actor=world.subject_actor(other_case.person), case=other_case,
                                              kind="demotion", text="降格された。")
    subject, head = api(world.people["subject"]), api("head")
    # The subject: their own reports only, with the text.
    listed = ok(subject.get("/adverse-treatment"))
    assert [r["id"] for r in listed["items"]] == [report["id"]] and listed["total"] == 1
    assert "text" not in listed["items"][0]
    mine = ok(subject.get(f"/cases/{case.pk}/adverse-treatment"))
    assert [(r["id"], r["text"], r["outcome"]) for r in mine] == [(report["id"], "同意しなかったことを理由に減給された。", None)]
    assert subject.get(f"/adverse-treatment/{other.pk}").status_code == 404  # another person's: not there
    # The organ's head: its organ's reports, undecided first to find the ids, then decides one.
    pending = ok(head.get("/adverse-treatment?decided=false"))
    assert {r["id"] for r in pending["items"]} == {report["id"], other.pk}
    assert ok(head.get(f"/adverse-treatment/{report['id']}"))["text"] == "同意しなかったことを理由に減給された。"
    ok(head.post(f"/adverse-treatment/{report['id']}/decision",
                 {"outcome": "employer_instructed", "reasons": "事実を確認し、雇用主に是正を求めた。"}))
    assert [r["id"] for r in ok(head.get("/adverse-treatment?decided=true"))["items"]] == [report["id"]]
    decided = ok(subject.get(f"/adverse-treatment/{report['id']}"))
    assert (decided["outcome"], decided["outcome_reasons"]) == ("employer_instructed", "事実を確認し、雇用主に是正を求めた。")
    reads = AuditEntry.objects.filter(action="personal_data.read", subject_person_id=case.person_id)
    assert any(json.loads(e.data).get("purpose") == "adverse_treatment_handling" for e in reads)
    # Never the employer, nor another organ.
    assert ok(api("business").get("/adverse-treatment"))["items"] == []
    r = api("business").get(f"/cases/{case.pk}/adverse-treatment")
    assert r.status_code == 403 and r.json()["code"] == "status_only"
    assert api("business").get(f"/adverse-treatment/{report['id']}").status_code == 404
    assert ok(api("mic_head").get("/adverse-treatment"))["items"] == []
    # The refused read and a missing one answer alike, and both are in the audit log.
    # Refused reads, naming the action asked and, for the report that exists, its person (issue 12 §7).
    refused = AuditEntry.objects.filter(action="assessment.read", outcome="denied",
                                        target_type="assessment.adversetreatmentreport")
    assert refused.filter(target_id=str(report["id"]), subject_person_id=case.person_id).exists()
    assert subject.get("/adverse-treatment/999999").status_code == 404
    assert refused.filter(target_id="999999").exists()


def test_the_adverse_treatment_scope_agrees_with_the_policy_row_by_row(world):
    from hozen.access import policy
    from hozen.assessment.models import AdverseTreatmentReport

    case = to_consented(world, nominate(world))
    other_case = to_consented(world, nominate(world, new_employee(world)))
    for c in (case, other_case):
        services.report_adverse_treatment(actor=world.subject_actor(c.person), case=c, kind="other", text="x")
    for who in ("subject", "head", "mic_head", "business", "security", "sysadmin", "handler"):
        actor = world[who]
        visible = set(AdverseTreatmentReport.objects.filter(
            policy.scope(actor, "assessment.read_adverse_report", AdverseTreatmentReport)).values_list("pk", flat=True))
        for report in AdverseTreatmentReport.objects.all():
            assert policy.decide(actor, "assessment.read_adverse_report", report).allowed == (report.pk in visible), who


def test_the_subject_reads_the_written_notice_and_gets_every_pdf_over_the_api(world, api):
    subject_account = world.people["subject"]
    subject = api(subject_account)
    case = to_notified(world, nominate(world))
    notice = ok(subject.get(f"/cases/{case.pk}/notice?language=en"))
    assert notice["language"] == "en" and notice["given_in"] == "ja"
    assert len(notice["sections"]) == 8 and any("(7)" in p for p in notice["sections"][0]["paragraphs"])
    assert ok(subject.get(f"/cases/{case.pk}/notice"))["sections"][0]["heading"].startswith("1")
    for path in ("notice.pdf", "consent.pdf", "result.pdf", "questionnaire.pdf"):
        for language in ("ja", "en"):
            r = subject.get(f"/cases/{case.pk}/{path}?language={language}")
            assert r.status_code == 200 and r["Content-Type"] == "application/pdf", (path, r.content[:200])
            assert r.content.startswith(b"%PDF")
    assert subject.get(f"/cases/{case.pk}/questionnaire.pdf")["X-Content-SHA256"] == fresh(case).questionnaire_sha256
    # The complaint's written outcome.
    complaint = services.file_complaint(actor=world.subject_actor(case.person), case=case, text="理由を知りたい。")
    assert subject.get(f"/complaints/{complaint.pk}/outcome.pdf").status_code == 404  # not decided yet
    services.assign_complaint_handler(actor=world["head"], complaint=complaint,
                                      handler=world.people["complaint_handler"])
    services.decide_complaint(actor=world["handler"], complaint=complaint, outcome="not_upheld",
                              reasons="手続に誤りは認められない。")
    for language in ("ja", "en"):
        r = subject.get(f"/complaints/{complaint.pk}/outcome.pdf?language={language}")
        assert r.status_code == 200 and r.content.startswith(b"%PDF")
    # The handler's duty ended with the decision: the case is no longer theirs to see.
    assert api("handler").get(f"/complaints/{complaint.pk}/outcome.pdf").status_code == 404
    # The decision on an adverse-treatment report.
    report = _adverse(world, api, case)
    services.decide_adverse_treatment(actor=world["head"], report=AdverseTreatmentReport.objects.get(pk=report["id"]),
                                      outcome="not_substantiated", reasons="確認できなかった。")
    r = subject.get(f"/adverse-treatment/{report['id']}/decision.pdf?language=en")
    assert r.status_code == 200 and r.content.startswith(b"%PDF")


def test_the_papers_are_refused_to_the_nominating_side_and_the_sysadmin(world, api):
    case = to_notified(world, nominate(world))
    for path in ("notice", "notice.pdf", "consent.pdf"):
        r = api("business").get(f"/cases/{case.pk}/{path}")
        assert r.status_code == 403 and r.json()["code"] == "status_only", path
        assert api("sysadmin").get(f"/cases/{case.pk}/{path}").status_code == 404  # reads no case at all
    for path in ("result.pdf", "questionnaire.pdf"):
        r = api("business").get(f"/cases/{case.pk}/{path}")
        assert r.status_code == 403 and r.json()["code"] == "status_only", path
    assert api("subject").get(f"/cases/{case.pk}/notice.pdf?language=fr").status_code == 422
    # The deciding organ, who gave the notice, reads the kept notice and consent record.
    assert api("head").get(f"/cases/{case.pk}/notice.pdf").status_code == 200
    assert api("head").get(f"/cases/{case.pk}/consent.pdf").status_code == 200


def test_openapi_lists_the_papers_and_the_adverse_treatment_reads(client):
    paths = client.get("/api/v1/openapi.json").json()["paths"]
    for path in ("/cases/{case_id}/notice", "/cases/{case_id}/notice.pdf", "/cases/{case_id}/consent.pdf",
                 "/cases/{case_id}/result.pdf", "/cases/{case_id}/questionnaire.pdf", "/cases/{case_id}/summary",
                 "/complaints/{complaint_id}/outcome.pdf", "/adverse-treatment", "/adverse-treatment/{report_id}",
                 "/adverse-treatment/{report_id}/decision.pdf", "/cases/{case_id}/adverse-treatment"):
        assert "get" in paths[f"/api/v1/assessment{path}"], path
    assert "application/pdf" in paths["/api/v1/assessment/cases/{case_id}/notice.pdf"]["get"]["responses"]["200"][
        "content"]
    assert "post" in paths["/api/v1/assessment/cases/{case_id}/notice"]


def test_adverse_treatment_list_refuses_out_of_range_paging_with_the_field_named(world, api):
    caller = api(world.people["subject"])
    for query, field in (("limit=0", "limit"), ("limit=501", "limit"), ("offset=-1", "offset")):
        response = caller.get(f"/adverse-treatment?{query}")
        assert response.status_code == 422, query
        assert field in response.content.decode()


def test_an_id_beyond_any_stored_is_a_clean_refusal_not_a_server_error(world, api):
    caller = api(world.people["subject"])
    for path in (f"/cases/{2**63}", f"/adverse-treatment/{2**64}", f"/cases/{2**63}/result.pdf",
                 f"/complaints/{2**63}/handler"):
        response = caller.get(path) if "handler" not in path else caller.post(path, {"username": "x"})
        assert response.status_code in (400, 404), (path, response.status_code)


def test_a_case_workers_read_of_the_result_is_recorded_with_their_duty_not_as_the_subjects_own(world, api):
    case = to_notified(world, nominate(world))
    services.file_complaint(actor=world.subject_actor(case.person), case=case, text="苦情の内容です。")
    services.assign_complaint_handler(actor=world["head"], complaint=case.complaints.first(),
                                      handler=world.people["complaint_handler"])
    last = AuditEntry.objects.order_by("-id").values_list("id", flat=True).first()
    handler = api("handler")
    ok(handler.get(f"/cases/{case.pk}/result"))
    assert handler.get(f"/cases/{case.pk}/result.pdf").status_code == 200
    reads = [json.loads(e.data) for e in AuditEntry.objects.filter(id__gt=last, action="personal_data.read",
                                                                   subject_person_id=case.person_id)]
    assert len(reads) >= 2 and {r["purpose"] for r in reads} == {"complaint_handling"}


def test_a_duty_named_for_an_unknown_user_name_is_answered_as_one_for_someone_without_the_role(world, api):
    """No existence oracle (issue 12 §8): assigning a duty to a name no account has, to an account of
    another organisation, or to one without the role: one answer, byte for byte, and nothing changes.
    A caller who may not assign at all is told that first, whatever the name."""
    case = to_submitted(world, nominate(world))
    path = f"/cases/{case.pk}/investigator"
    for who in ("cao_head", "head"):
        answers = {api(who).post(path, {"username": name}).content
                   for name in ("no.such.person", world.people["adjudicator"].username,
                                world.people["organ_head"].username)}
        assert len(answers) == 1, (who, answers)
    refused = api("cao_head").post(path, {"username": "no.such.person"})
    assert refused.status_code == 403 and refused.json()["code"] == "candidate_lacks_role"
    wrong_role = api("head").post(path, {"username": "no.such.person"}).json()["code"]
    assert wrong_role == "not_cabinet_office"
    assert fresh(case).state == "questionnaire_submitted" and not case.duties.exists()


def test_an_adjudicator_named_by_an_unknown_name_is_answered_as_one_without_the_role(world, api):
    case = to_investigation_complete(world, nominate(world))
    answers = [api("head").post(f"/cases/{case.pk}/adjudicator", {"username": name})
               for name in ("no.such.person", world.people["investigator"].username)]
    assert {r.status_code for r in answers} == {403} and answers[0].content == answers[1].content


# --- issue 15: the adjudicator returns a case to the investigator with a question ------------------

def test_the_adjudicator_returns_a_case_with_a_question_and_the_investigator_answers_over_the_api(world, api):
    case = to_investigation_complete(world, nominate(world))
    ok(api("head").post(f"/cases/{case.pk}/adjudicator", {"username": world.people["adjudicator"].username}))
    adjudicator, investigator = api("adjudicator"), api("investigator")
    # Refusals: someone else (403 with the policy's reason, audited), an empty question (422 naming it).
    r = api("adjudicator2").post(f"/cases/{case.pk}/return", {"question": "質問"})
    assert r.status_code in (403, 404)
    r = investigator.post(f"/cases/{case.pk}/return", {"question": "質問"})
    assert r.status_code == 403 and r.json()["code"] == "not_assigned_to_case"
    assert denied("assessment.return_to_investigation")
    r = adjudicator.post(f"/cases/{case.pk}/return", {"question": "  "})
    assert r.status_code == 422 and (r.json()["code"], r.json()["field"]) == ("question_required", "question")
    assert fresh(case).state == "investigation_complete"
    body = ok(adjudicator.post(f"/cases/{case.pk}/return", {"question": "欠勤の理由を確認してください。"}))
    assert body["state"] == "under_investigation"
    # Not twice: the case is no longer awaiting a decision.
    r = adjudicator.post(f"/cases/{case.pk}/return", {"question": "もう一つ"})
    assert r.status_code == 422 and r.json()["code"] == "transition_not_allowed"
    [asked] = ok(investigator.get(f"/cases/{case.pk}/returns"))
    assert asked["question"] == "欠勤の理由を確認してください。" and asked["answer"] is None
    # The nominating side is refused the question (status only).
    assert api("business").get(f"/cases/{case.pk}/returns").status_code == 403
    # Completing again needs the answer; with it the case is back with the adjudicator.
    r = investigator.post(f"/cases/{case.pk}/investigation/complete", {"summary": SUMMARY})
    assert r.status_code == 422 and (r.json()["code"], r.json()["field"]) == ("answer_required", "answer")
    body = ok(investigator.post(f"/cases/{case.pk}/investigation/complete",
                                {"summary": SUMMARY, "answer": "看病のための休暇で、懸念はない。"}))
    assert body["state"] == "investigation_complete"
    [asked] = ok(adjudicator.get(f"/cases/{case.pk}/returns"))
    assert asked["answer"] == "看病のための休暇で、懸念はない。" and asked["answered_at"]
    ok(adjudicator.post(f"/cases/{case.pk}/adjudication", {"outcome": "favourable", "reasons": REASONS}))


def test_openapi_lists_the_return_to_the_investigator(client):
    paths = client.get("/api/v1/openapi.json").json()["paths"]
    assert "post" in paths["/api/v1/assessment/cases/{case_id}/return"]
    assert "get" in paths["/api/v1/assessment/cases/{case_id}/returns"]
