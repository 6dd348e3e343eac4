"""Who sees what (issue 6 §2; ARCHITECTURE rules 1 and 4): the nominating side sees status and
outcome only, a system administrator no content, an investigator only assigned cases, the subject
all of their own case and who read it. ``scope`` agrees with ``decide`` row by row."""

from __future__ import annotations

import pytest

from hozen.access import policy
from hozen.access.policy import PolicyDenied
from hozen.assessment import queries, services
from hozen.assessment.models import (
    Adjudication,
    AdverseTreatmentReport,
    AssessmentCase,
    BusinessNotice,
    Clearance,
    Complaint,
    Exemption,
    Finding,
    Inquiry,
    QuestionnaireSection,
)
from hozen.audit.models import AuditEntry
from hozen.core.errors import NotFound
from hozen.crypto import reveal

from .conftest import answers, new_employee, nominate, to_consented, to_notified, to_submitted

pytestmark = pytest.mark.django_db


@pytest.fixture
def notified(world):
    case = to_notified(world, nominate(world))
    subject = world.subject_actor(case.person)
    services.file_complaint(actor=subject, case=case, text="調査の進め方に疑問があります。")
    services.report_adverse_treatment(actor=subject, case=case, kind="transfer", text="結果の後に配置換えを受けた。")
    return case


def records(case):
    return {
        "answers": QuestionnaireSection.objects.filter(case=case).first(),
        "inquiry": Inquiry.objects.filter(case=case).first(),
        "finding": Finding.objects.filter(case=case).first(),
        "reasons": Adjudication.objects.filter(case=case).first(),
        "complaint": Complaint.objects.filter(case=case).first(),
        "adverse_report": AdverseTreatmentReport.objects.filter(case=case).first(),
    }


FIELDS = {"answers": "content", "inquiry": "response", "finding": "text", "reasons": "reasons", "complaint": "text",
          "adverse_report": "text"}


@pytest.mark.parametrize("who", ["business", "security"])
def test_the_nominating_side_never_reads_answers_findings_or_reasons(world, notified, who):
    for name, record in records(notified).items():
        with pytest.raises(PolicyDenied) as info:
            reveal(world[who], record, FIELDS[name], purpose="oversight")
        assert info.value.decision.code == "status_only", name
        assert "status and outcome only" in info.value.decision.reason_en


@pytest.mark.parametrize("who", ["business", "security"])
def test_the_nominating_side_sees_three_facts_only(world, notified, who):
    status = queries.case_status(world[who], notified)
    assert status == {"case": notified.pk, "person": notified.person_id, "status": "notified", "consented": True,
                      "favourable": True, "valid_until": notified.clearance.valid_until}
    with pytest.raises(NotFound):
        queries.events_for(world[who], notified)


def test_the_nominating_side_does_not_learn_an_unnotified_decision(world):
    from .conftest import to_adjudicated

    case = to_adjudicated(world, nominate(world), favourable=False)
    assert queries.case_status(world["business"], case)["status"] == "in_progress"
    assert queries.case_status(world["business"], case)["favourable"] is None


@pytest.mark.parametrize("who", ["sysadmin", "auditor", "oversight"])
def test_a_system_administrator_auditor_or_oversight_reads_no_case_content(world, notified, who):
    for name, record in records(notified).items():
        with pytest.raises(PolicyDenied) as info:
            reveal(world[who], record, FIELDS[name], purpose="maintenance")
        assert info.value.decision.code == "no_assessment_content", name
    with pytest.raises(NotFound):
        queries.case_for(world[who], notified.pk)


def test_the_subject_reads_their_own_answers_reasons_complaint_and_report_and_sees_who_read_them(world, notified):
    subject = world.subject_actor(notified.person)
    parts = records(notified)
    assert reveal(subject, parts["answers"], "content", purpose="subject_access")
    assert reveal(subject, parts["reasons"], "reasons", purpose="subject_access")["item_1"]
    assert reveal(subject, parts["complaint"], "text", purpose="subject_access")
    assert reveal(subject, parts["adverse_report"], "text", purpose="subject_access")
    for name in ("inquiry", "finding"):
        with pytest.raises(PolicyDenied) as info:
            reveal(subject, parts[name], FIELDS[name], purpose="subject_access")
        assert info.value.decision.code == "not_disclosed_to_subject"
    # Their "who read my data" page: every read of their data, including the investigator's.
    handler = world["handler"]
    services.assign_complaint_handler(actor=world["head"], complaint=parts["complaint"],
                                      handler=world.people["complaint_handler"])
    reveal(handler, parts["answers"], "content", purpose="complaint_handling")
    own = AuditEntry.objects.filter(policy.scope(subject, "audit.view_own_reads", AuditEntry))
    purposes = set(own.values_list("subject_person_id", flat=True))
    assert purposes == {notified.person_id}
    assert own.filter(actor_name=handler.account.username).exists()


def test_another_subject_sees_nothing_of_the_case(world, notified):
    other = world.subject_actor(world.people["meti_staff"].person)
    with pytest.raises(NotFound):
        queries.case_for(other, notified.pk)
    with pytest.raises(PolicyDenied) as info:
        reveal(other, records(notified)["answers"], "content", purpose="subject_access")
    assert info.value.decision.code == "not_your_case"


def test_an_adverse_treatment_report_goes_to_the_organ_not_the_employer(world, notified):
    report = records(notified)["adverse_report"]
    assert reveal(world["head"], report, "text", purpose="adverse_treatment") == "結果の後に配置換えを受けた。"
    for who in ("business", "security", "mic_head"):
        with pytest.raises(PolicyDenied):
            reveal(world[who], report, "text", purpose="adverse_treatment")
    with pytest.raises(PolicyDenied):
        services.decide_adverse_treatment(actor=world["business"], report=report, outcome="not_substantiated",
                                          reasons="x")
    decided = services.decide_adverse_treatment(actor=world["head"], report=report, outcome="employer_instructed",
                                                reasons="事業者に是正を指導した。")
    assert decided.notified_at is not None and decided.handler == world.people["organ_head"]


@pytest.mark.django_db(transaction=True)  # outside a transaction, as a view runs: the denial commits
def test_a_denied_read_of_personal_data_is_audited_with_the_policys_reason(world):
    case = to_consented(world, nominate(world))
    services.save_questionnaire_section(actor=world.subject_actor(case.person), case=case, section="item_4",
                                        content=answers()["item_4"])
    with pytest.raises(PolicyDenied):
        reveal(world["business"], QuestionnaireSection.objects.get(case=case), "content", purpose="curiosity")
    denial = AuditEntry.objects.get(action="assessment.read_answers")
    assert denial.outcome == "denied" and '"reason":"status_only"' in denial.data


ROLES = ["subject", "business", "security", "head", "mic_head", "cao_head", "investigator", "investigator2",
         "adjudicator", "adjudicator2", "handler", "sysadmin", "auditor", "oversight", "meti_staff"]


@pytest.fixture
def many_cases(world):
    """Cases in several states, organs and nominators, with duties spread over people."""
    notified = to_notified(world, nominate(world))
    services.file_complaint(actor=world.subject_actor(notified.person), case=notified, text="苦情の内容です。")
    services.assign_complaint_handler(actor=world["head"], complaint=notified.complaints.first(),
                                      handler=world.people["complaint_handler"])
    submitted = to_submitted(world, nominate(world, new_employee(world)))
    services.assign_investigator(actor=world["cao_head"], case=submitted, investigator=world.people["investigator2"])
    nominate(world, new_employee(world), contract="mic")
    services.nominate(actor=world["security"], person=world.people["meti_staff"].person, department="総務課",
                      post="係長", listing_agreed_on=notified.listing_agreed_on)
    return list(AssessmentCase.objects.all())


@pytest.mark.parametrize("who", ROLES)
def test_scope_agrees_with_decide_row_by_row_for_cases(world, many_cases, who):
    actor = world[who]
    visible = set(AssessmentCase.objects.filter(policy.scope(actor, "assessment.view", AssessmentCase))
                  .values_list("pk", flat=True))
    for case in many_cases:
        assert policy.decide(actor, "assessment.view", case).allowed == (case.pk in visible), (who, case.state)


@pytest.mark.parametrize("who", ROLES)
def test_scope_agrees_with_decide_for_clearances_notices_and_exemptions(world, many_cases, who):
    actor = world[who]
    for model, action in ((Clearance, "assessment.view_clearance"), (BusinessNotice, "assessment.view_notice"),
                          (Exemption, "assessment.view_exemption")):
        visible = set(model.objects.filter(policy.scope(actor, action, model)).values_list("pk", flat=True))
        for row in model.objects.all():
            assert policy.decide(actor, action, row).allowed == (row.pk in visible), (who, model)


def test_each_worker_sees_exactly_the_cases_they_are_assigned_to(world, many_cases):
    assert queries.cases_for(world["investigator2"]).count() == 1
    assert queries.cases_for(world["investigator"]).count() == 0  # its duty ended at notification
    assert queries.cases_for(world["handler"]).count() == 1
    assert queries.cases_for(world["handler2"]).count() == 0
    assert queries.cases_for(world["business"]).count() == 3  # TOWA's nominees, whichever organ decides
    assert queries.cases_for(world["security"]).count() == 3  # METI decides these (TOWA's two, its staff)


def test_the_nominators_notice_can_hold_nothing_but_the_three_facts():
    from hozen.assessment.models import BusinessNotice

    fields = {f.name for f in BusinessNotice._meta.concrete_fields}
    assert fields == {"id", "case", "recipient", "consented", "favourable", "valid_until", "issued_at",
                      "retain_until", "expired_at"}
