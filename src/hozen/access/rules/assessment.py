"""Rules for aptitude assessments (DOMAIN §1, §6; ARCHITECTURE rules 4 and 5).

Who sees what:

- the subject sees their own case: its state, dates and target dates, their answers, the
  notified result and reasons (unless they waived them in advance), their complaints and reports,
  and — after notification — which inquiries were made (kind, organisation, date; never answers);
- the nominating side (a business's protection officer, an organ's security officer) sees status
  and outcome only; every read of personal data is refused with ``status_only``;
- the Cabinet Office's investigator, the adjudicator, the concurring adjudicator and the complaint
  handler see the case file of the cases they are assigned to, and only those;
- the organ head's delegate of the deciding organ sees status, assigns adjudicators and complaint
  handlers, and receives adverse-treatment reports; with the organ's security officer it reads the
  kept notice and consent papers (``assessment.read_papers``); the Cabinet Office's organ head assigns
  investigators;
- a system administrator, an auditor and an oversight inspector read no case (oversight gets counts).

Separation of duties: one person holds at most one duty on a case (also a database constraint),
never on their own case or one they nominated, and a complaint handler has never worked the case.
"""

from __future__ import annotations

from django.db.models import Q
from django.utils import timezone

from hozen.core.roles import OrganisationKind, Role

from ..policy import NO_ROLE, allow, deny, rule, scope_rule
from .core import _is_operator, _only

STATUS_ONLY = ("status_only",
               "推薦した側は適性評価の進捗と結果（同意の有無、評価の結果、有効期限）のみを知ることができます。"
               "質問票の回答、調査の内容及び評価の理由は閲覧できません。",
               "The nominating side sees the status and outcome only (consented or not, favourable or not, "
               "valid until), never questionnaire answers, findings or reasons.")
NO_CONTENT_FOR_ROLE = ("no_assessment_content",
                       "この役割では適性評価の内容を閲覧できません。",
                       "Your role cannot read the content of assessments.")
NOT_ASSIGNED = ("not_assigned_to_case", "この適性評価の担当に指定されていません。",
                "You are not assigned to this assessment.")
NOT_YOUR_CASE = ("not_your_case", "ご本人の適性評価ではありません。", "This is not your own assessment.")
NO_ACCESS = ("no_access_to_assessment", "この適性評価を閲覧する権限がありません。",
             "You have no access to this assessment.")
OTHER_ORGAN = ("other_organisation", "他の組織の適性評価は扱えません。",
               "This assessment belongs to another organisation.")
SECOND_FACTOR = ("second_factor_required",
                 "同意・不同意の意思表示には、ご自身の二要素認証による確認が必要です。",
                 "Consent, refusal and its withdrawal need your own second factor: sign in with it first.")

DUTY_ROLES = {
    "investigator": Role.INVESTIGATOR,
    "adjudicator": Role.ADJUDICATOR,
    "concurring_adjudicator": Role.ADJUDICATOR,
    "complaint_handler": Role.COMPLAINT_HANDLER,
}
DUTY_LABELS = {
    "investigator": ("調査担当", "investigator"),
    "adjudicator": ("評価担当", "adjudicator"),
    "concurring_adjudicator": ("同意する第二の評価担当", "concurring adjudicator"),
    "complaint_handler": ("苦情処理担当", "complaint handler"),
}


# --- helpers ----------------------------------------------------------------------------------

def _case_of(target):
    """The case a target belongs to: the case itself, a record of it, or a clearance's case."""
    from hozen.assessment.models import AssessmentCase, Clearance

    if isinstance(target, AssessmentCase):
        return target
    if isinstance(target, Clearance):
        return target.case
    case = getattr(target, "case", None)
    if case is not None:
        return case
    return target.crypto_subject


def _person_id(actor):
    return actor.account.person_id if actor.account is not None else None


def _is_subject_of(actor, case) -> bool:
    return actor.role == Role.SUBJECT and _person_id(actor) == case.person_id


def _in(actor, organisation_id) -> bool:
    return actor.organisation is not None and actor.organisation.pk == organisation_id


def _active_duty(actor, case, *kinds) -> bool:
    """The actor holds one of ``kinds`` on the case now, in the role that duty needs."""
    from hozen.assessment.models import CaseDuty

    if actor.account is None:
        return False
    kinds = [k for k in kinds if DUTY_ROLES[k] == actor.role]
    return bool(kinds) and CaseDuty.objects.filter(case_id=case.pk, account_id=actor.account.pk, kind__in=kinds,
                                                   ended_at__isnull=True).exists()


def _duty_q(actor, *kinds) -> Q:
    from hozen.assessment.models import CaseDuty

    kinds = [k for k in kinds if DUTY_ROLES[k] == actor.role]
    if not kinds or actor.account is None:
        return Q(pk__in=[])
    # IN (the worker's duties), not a correlated EXISTS: with a million cases the database starts
    # from the duty index (account, kind, ended_at) and reads only the worker's few cases.
    return Q(pk__in=CaseDuty.objects.filter(account_id=actor.account.pk, kind__in=kinds,
                                            ended_at__isnull=True).values("case_id"))


def _is_cabinet_office_head(actor) -> bool:
    return actor.role == Role.ORGAN_HEAD and actor.organisation.kind == OrganisationKind.CABINET_OFFICE


def _has_role(account, role: str, *, organisation_id=None, organisation_kind=None) -> bool:
    qs = account.role_assignments.filter(role=role, revoked_at__isnull=True)
    if organisation_id is not None:
        qs = qs.filter(organisation_id=organisation_id)
    if organisation_kind is not None:
        qs = qs.filter(organisation__kind=organisation_kind)
    return qs.exists()


def duty_conflict(account, case, kind: str):
    """Why ``account`` may not take ``kind`` on ``case`` (a Decision), or None if it may.

    One person, one duty per case, for good (ended duties count: a former investigator has
    worked the case); never on one's own case, nor on a case one nominated.
    """
    from hozen.assessment.models import CaseDuty

    if account.person_id == case.person_id:
        return deny("own_case", "ご自身の適性評価の担当にはなれません。", "Nobody may hold a duty on their own assessment.")
    if account.pk == case.nominated_by_id:
        return deny("nominator_cannot_take_duty", "この適性評価を推薦した者は、その担当にはなれません。",
                    "The person who nominated the subject cannot hold a duty on the assessment.")
    held = CaseDuty.objects.filter(case_id=case.pk, account_id=account.pk).values_list("kind", flat=True).first()
    if held is not None and held != kind:
        ja, en = DUTY_LABELS[held]
        want_ja, want_en = DUTY_LABELS[kind]
        if kind == "complaint_handler":
            return deny("worked_the_case",
                        f"この者は既にこの適性評価の{ja}を務めています。苦情は、事案に関与していない者が処理します。",
                        f"This person has worked the case as its {en}; a complaint is handled by someone who "
                        "did not work the case.")
        return deny("separation_of_duties",
                    f"この者は既にこの適性評価の{ja}です。{want_ja}を兼ねることはできません"
                    "（調査担当、評価担当、第二の評価担当及び苦情処理担当は別の者が務めます）。",
                    f"This person is already the {en} of this assessment and cannot also be its {want_en} "
                    "(investigator, adjudicator, concurring adjudicator and complaint handler are different people).")
    return None


# --- seeing a case ----------------------------------------------------------------------------

@rule("assessment.view")
def assessment_view(actor, target):
    """Status of a case: state, dates, target dates, outcome once notified."""
    if actor.assignment is None:
        return deny(*NO_ROLE)
    case = target
    if _is_subject_of(actor, case):
        return allow("subject")
    if actor.role == Role.SECURITY_OFFICER and (_in(actor, case.nominating_organisation_id) or _in(actor, case.organ_id)):
        return allow("status_only")
    if actor.role == Role.BUSINESS_OFFICER and _in(actor, case.nominating_organisation_id):
        return allow("status_only")
    if actor.role == Role.ORGAN_HEAD and (_in(actor, case.organ_id) or _is_cabinet_office_head(actor)):
        return allow("organ")
    if _active_duty(actor, case, "investigator", "adjudicator", "concurring_adjudicator", "complaint_handler"):
        return allow("assigned")
    if actor.role in (Role.INVESTIGATOR, Role.ADJUDICATOR, Role.COMPLAINT_HANDLER):
        return deny(*NOT_ASSIGNED)
    return deny(*NO_ACCESS)


@scope_rule("assessment.view", "assessment.assessmentcase")
def assessment_view_scope(actor):
    if actor.assignment is None:
        return Q(pk__in=[])
    role, org = actor.role, actor.organisation.pk
    if role == Role.SUBJECT:
        return Q(person_id=_person_id(actor))
    if role == Role.SECURITY_OFFICER:
        return Q(nominating_organisation_id=org) | Q(organ_id=org)
    if role == Role.BUSINESS_OFFICER:
        return Q(nominating_organisation_id=org)
    if role == Role.ORGAN_HEAD:
        return Q() if _is_cabinet_office_head(actor) else Q(organ_id=org)
    if role in (Role.INVESTIGATOR, Role.ADJUDICATOR, Role.COMPLAINT_HANDLER):
        return _duty_q(actor, "investigator", "adjudicator", "concurring_adjudicator", "complaint_handler")
    return Q(pk__in=[])


@rule("assessment.view_inquiry_log")
def assessment_view_inquiry_log(actor, target):
    """Which inquiries were made about the subject (kind, organisation, date — not the answers):
    to the subject once the result is notified (issue 6 §1 "Clocks"); to the case's workers."""
    if actor.assignment is None:
        return deny(*NO_ROLE)
    case = target
    if _is_subject_of(actor, case):
        if case.notified_at is None:
            return deny("after_notification", "照会の一覧は、結果の通知後に表示されます。",
                        "The list of inquiries is shown after the result is notified.")
        return allow("subject")
    return _case_worker(actor, case, "investigator", "adjudicator", "concurring_adjudicator", "complaint_handler")


def _case_worker(actor, case, *kinds):
    if _active_duty(actor, case, *kinds):
        return allow("assigned")
    return _content_denial(actor, case)


def _content_denial(actor, case):
    if actor.role in (Role.BUSINESS_OFFICER, Role.SECURITY_OFFICER):
        return deny(*STATUS_ONLY)
    if actor.role in (Role.INVESTIGATOR, Role.ADJUDICATOR, Role.COMPLAINT_HANDLER):
        return deny(*NOT_ASSIGNED)
    if actor.role == Role.SUBJECT:
        return deny(*NOT_YOUR_CASE) if _person_id(actor) != case.person_id else deny(
            "not_disclosed_to_subject", "この情報は評価対象者には開示されません。",
            "This part of the file is not disclosed to the assessed person.")
    return deny(*NO_CONTENT_FOR_ROLE)


# --- reading personal data (the models' crypto_read_action) -------------------------------------

@rule("assessment.read_answers")
def assessment_read_answers(actor, target):
    """Questionnaire answers: the subject, and the investigator, adjudicators and complaint handler."""
    if actor.assignment is None:
        return deny(*NO_ROLE)
    case = _case_of(target)
    if _is_subject_of(actor, case):
        return allow("subject_access")
    return _case_worker(actor, case, "investigator", "adjudicator", "concurring_adjudicator", "complaint_handler")


@rule("assessment.read_investigation")
def assessment_read_investigation(actor, target):
    """Inquiries and their answers, findings, a reported concern: the case's workers only (the
    subject learns the inquiries' kind and organisation, never the answers)."""
    if actor.assignment is None:
        return deny(*NO_ROLE)
    case = _case_of(target)
    return _case_worker(actor, case, "investigator", "adjudicator", "concurring_adjudicator", "complaint_handler")


@rule("assessment.read_reasons")
def assessment_read_reasons(actor, target):
    """An adjudication's reasons per item: its adjudicators and the complaint handler; the subject
    once notified, unless they asked in advance not to receive them (DOMAIN §6 step 6)."""
    if actor.assignment is None:
        return deny(*NO_ROLE)
    case = _case_of(target)
    if _is_subject_of(actor, case):
        if getattr(target, "notified_at", None) is None:
            return deny("not_notified", "評価の理由は、結果の通知とともにお知らせします。",
                        "The reasons are given with the notified result.")
        if target.reasons_waived:
            return deny("reasons_waived", "事前に理由の通知を希望しないと申し出られたため、理由は表示されません。",
                        "You asked in advance not to receive the reasons.")
        return allow("subject_access")
    return _case_worker(actor, case, "adjudicator", "concurring_adjudicator", "complaint_handler")


@rule("assessment.read_complaint")
def assessment_read_complaint(actor, target):
    """A complaint and its outcome: the subject who filed it and its handler."""
    if actor.assignment is None:
        return deny(*NO_ROLE)
    case = _case_of(target)
    if _is_subject_of(actor, case):
        return allow("subject_access")
    if actor.role == Role.COMPLAINT_HANDLER and actor.account is not None and target.handler_id == actor.account.pk:
        return allow("assigned")
    return _content_denial(actor, case)


@rule("assessment.read_adverse_report")
def assessment_read_adverse_report(actor, target):
    """An adverse-treatment report goes to the organ (its head's delegate), never to the employer."""
    if actor.assignment is None:
        return deny(*NO_ROLE)
    case = _case_of(target)
    if _is_subject_of(actor, case):
        return allow("subject_access")
    if actor.role == Role.ORGAN_HEAD and _in(actor, case.organ_id):
        return allow("organ")
    return _content_denial(actor, case)


@scope_rule("assessment.read_adverse_report", "assessment.adversetreatmentreport")
def assessment_read_adverse_report_scope(actor):
    """The reports a list may show: the subject their own, the deciding organ's head its organ's."""
    if actor.assignment is None:
        return Q(pk__in=[])
    if actor.role == Role.SUBJECT:
        return Q(case__person_id=_person_id(actor))
    if actor.role == Role.ORGAN_HEAD:
        return Q(case__organ_id=actor.organisation.pk)
    return Q(pk__in=[])


@rule("assessment.read_papers")
def assessment_read_papers(actor, target):
    """The kept 告知書 and 同意書 (a ``CaseDocument``, or the case): the subject; the deciding
    organ's head and security officer, who give the notice (the papers say who was notified of
    what and whether they consented — nothing of the questionnaire, findings or reasons)."""
    if actor.assignment is None:
        return deny(*NO_ROLE)
    case = _case_of(target)
    if _is_subject_of(actor, case):
        return allow("subject_access")
    if actor.role in (Role.ORGAN_HEAD, Role.SECURITY_OFFICER) and _in(actor, case.organ_id):
        return allow("organ")
    return _content_denial(actor, case)


# --- nomination and exemption -------------------------------------------------------------------

@rule("assessment.nominate")
def assessment_nominate(actor, target):
    """`target` is the organ (its security officer nominates its staff) or a contract (the
    business's protection officer nominates its employees under an active contract)."""
    from hozen.core.models import Organisation
    from hozen.operators.models import Contract

    if actor.assignment is None:
        return deny(*NO_ROLE)
    if isinstance(target, Contract):
        decision = _only(actor, Role.BUSINESS_OFFICER, code="wrong_role")
        if not decision.allowed:
            return decision
        if not _in(actor, target.business_id):
            return deny("other_business", "他の事業者の契約では推薦できません。",
                        "This contract belongs to another business.")
        if not target.is_active(timezone.localdate()):
            return deny("contract_not_active", "有効な契約（適合事業者の認定を含む）がないため推薦できません。",
                        "There is no active contract (with an active certification) to nominate under.")
        return allow()
    if isinstance(target, Organisation):
        decision = _only(actor, Role.SECURITY_OFFICER, code="wrong_role")
        if not decision.allowed:
            return decision
        if not _in(actor, target.pk):
            return deny(*OTHER_ORGAN)
        return allow()
    return deny("no_nomination_target", "推薦の根拠（組織又は契約）を指定してください。",
                "Name the organ or the contract the nomination is made under.")


def _organ_official(actor, organ_id, *roles):
    decision = _only(actor, *roles, code="wrong_role")
    if not decision.allowed:
        return decision
    if not _in(actor, organ_id):
        return deny(*OTHER_ORGAN)
    return allow()


@rule("assessment.confirm_exemption")
def assessment_confirm_exemption(actor, target):
    """The organ confirms (or declines) a detected exemption: its head's delegate or security officer."""
    return _organ_official(actor, target.organ_id, Role.ORGAN_HEAD, Role.SECURITY_OFFICER)


rule("assessment.decline_exemption")(assessment_confirm_exemption)


@rule("assessment.view_exemption")
def assessment_view_exemption(actor, target):
    """The nominator sees why no case opened; the organ sees what it must decide."""
    if actor.assignment is None:
        return deny(*NO_ROLE)
    if actor.role in (Role.SECURITY_OFFICER, Role.BUSINESS_OFFICER) and _in(actor, target.nominating_organisation_id):
        return allow("nominator")
    if actor.role in (Role.ORGAN_HEAD, Role.SECURITY_OFFICER) and _in(actor, target.organ_id):
        return allow("organ")
    return deny(*NO_ACCESS)


@scope_rule("assessment.view_exemption", "assessment.exemption")
def assessment_view_exemption_scope(actor):
    if actor.assignment is None:
        return Q(pk__in=[])
    q = Q(pk__in=[])
    org = actor.organisation.pk
    if actor.role in (Role.SECURITY_OFFICER, Role.BUSINESS_OFFICER):
        q |= Q(nominating_organisation_id=org)
    if actor.role in (Role.ORGAN_HEAD, Role.SECURITY_OFFICER):
        q |= Q(organ_id=org)
    return q


# --- notice, consent, questionnaire: the organ gives notice; only the subject answers -----------

@rule("assessment.give_notice")
def assessment_give_notice(actor, target):
    return _organ_official(actor, target.organ_id, Role.ORGAN_HEAD, Role.SECURITY_OFFICER)


rule("assessment.notify_result")(assessment_give_notice)


def _subject_only(actor, case):
    if actor.assignment is None:
        return deny(*NO_ROLE)
    if _is_subject_of(actor, case):
        return allow()
    return deny("subject_only", "この操作は評価対象者ご本人のみが行えます。",
                "Only the assessed person themselves can do this.")


@rule("assessment.consent")
def assessment_consent(actor, target):
    """DOMAIN §6 step 3: nobody but the subject consents, with their own second factor."""
    decision = _subject_only(actor, target)
    if not decision.allowed:
        return decision
    if not actor.second_factor_verified:
        return deny(*SECOND_FACTOR)
    return allow()


rule("assessment.refuse")(assessment_consent)
rule("assessment.withdraw_consent")(assessment_consent)


@rule("assessment.waive_reasons")
def assessment_waive_reasons(actor, target):
    return _subject_only(actor, target)


rule("assessment.save_questionnaire")(assessment_waive_reasons)
rule("assessment.submit_questionnaire")(assessment_waive_reasons)
rule("assessment.file_complaint")(assessment_waive_reasons)
rule("assessment.report_adverse_treatment")(assessment_waive_reasons)


# --- assignments: who may assign, and who may take the duty ------------------------------------

def _candidate(proposal, role: str, **where):
    account = proposal.account  # None: no active account of the name given (the same answer, no oracle)
    if account is None or not _has_role(account, role, **where):
        ja, en = DUTY_LABELS[proposal.kind]
        return deny("candidate_lacks_role", f"指定された者は、この業務に必要な{ja}の役割を持つ有効なアカウントではありません。",
                    f"The person named is not an active account holding the {en} role needed for this duty.")
    conflict = duty_conflict(account, proposal.case, proposal.kind)
    return allow() if conflict is None else conflict


@rule("assessment.assign_investigator")
def assessment_assign_investigator(actor, target):
    """The Cabinet Office's organ head assigns one of its investigators (DOMAIN §1)."""
    decision = _only(actor, Role.ORGAN_HEAD, code="wrong_role")
    if not decision.allowed:
        return decision
    if not _is_cabinet_office_head(actor):
        return deny("not_cabinet_office", "調査担当の指定は内閣府が行います。", "The Cabinet Office assigns investigators.")
    return _candidate(target, Role.INVESTIGATOR, organisation_kind=OrganisationKind.CABINET_OFFICE)


@rule("assessment.assign_adjudicator")
def assessment_assign_adjudicator(actor, target):
    """The deciding organ's head assigns its adjudicator, or the second adjudicator who must concur."""
    decision = _organ_official(actor, target.case.organ_id, Role.ORGAN_HEAD)
    if not decision.allowed:
        return decision
    return _candidate(target, Role.ADJUDICATOR, organisation_id=target.case.organ_id)


rule("assessment.assign_concurring_adjudicator")(assessment_assign_adjudicator)


@rule("assessment.assign_complaint_handler")
def assessment_assign_complaint_handler(actor, target):
    """The organ head's delegate gives a complaint to a handler who never worked the case."""
    decision = _organ_official(actor, target.case.organ_id, Role.ORGAN_HEAD)
    if not decision.allowed:
        return decision
    return _candidate(target, Role.COMPLAINT_HANDLER, organisation_id=target.case.organ_id)


# --- the work on a case: only the assigned person, in that role --------------------------------

def _assigned(kind: str):
    def check(actor, target):
        if actor.assignment is None:
            return deny(*NO_ROLE)
        case = _case_of(target)
        if _active_duty(actor, case, kind):
            return allow("assigned")
        if actor.role == DUTY_ROLES[kind] and actor.account is not None:
            conflict = duty_conflict(actor.account, case, kind)
            if conflict is not None:
                return conflict
        ja, en = DUTY_LABELS[kind]
        return deny("not_assigned_to_case", f"この適性評価の{ja}に指定された者のみが行えます。",
                    f"Only the {en} assigned to this assessment may do this.")
    return check


for _action in ("assessment.record_inquiry", "assessment.record_inquiry_response", "assessment.schedule_interview",
                "assessment.record_finding", "assessment.complete_investigation"):
    rule(_action)(_assigned("investigator"))
rule("assessment.adjudicate")(_assigned("adjudicator"))
# Issue 15: instead of deciding, the case's adjudicator sends it back to the investigator.
rule("assessment.return_to_investigation")(_assigned("adjudicator"))
rule("assessment.concur")(_assigned("concurring_adjudicator"))


@rule("assessment.decide_complaint")
def assessment_decide_complaint(actor, target):
    """`target` is the complaint: only the handler it was given to decides it."""
    decision = _assigned("complaint_handler")(actor, target)
    if not decision.allowed:
        return decision
    if target.handler_id != actor.account.pk:
        return deny("not_this_complaint", "この苦情の処理担当ではありません。", "This complaint is not assigned to you.")
    return decision


@rule("assessment.decide_adverse_treatment")
def assessment_decide_adverse_treatment(actor, target):
    return _organ_official(actor, _case_of(target).organ_id, Role.ORGAN_HEAD)


# --- after the result: clearances, notices, reported changes -------------------------------------

@rule("assessment.report_event")
def assessment_report_event(actor, target):
    """`target` is the clearance. The employer (the business that nominated) or the organ reports."""
    if actor.assignment is None:
        return deny(*NO_ROLE)
    case = target.case
    if actor.role == Role.BUSINESS_OFFICER and _in(actor, case.nominating_organisation_id):
        return allow("employer")
    if actor.role == Role.SECURITY_OFFICER and (_in(actor, target.organ_id) or _in(actor, case.nominating_organisation_id)):
        return allow("organ")
    return deny("not_employer_or_organ", "変更の報告は、雇用主（推薦した事業者）又は行政機関が行います。",
                "Changes are reported by the employer that nominated the person or by the organ.")


@rule("assessment.view_clearance")
def assessment_view_clearance(actor, target):
    """The person sees their own record; the nominating side and the organ see it as status."""
    if actor.assignment is None:
        return deny(*NO_ROLE)
    if _is_subject_of(actor, target.case):
        return allow("subject")
    if actor.role in (Role.SECURITY_OFFICER, Role.BUSINESS_OFFICER) and _in(actor, target.case.nominating_organisation_id):
        return allow("status_only")
    if actor.role in (Role.ORGAN_HEAD, Role.SECURITY_OFFICER) and _in(actor, target.organ_id):
        return allow("organ")
    return deny(*NO_ACCESS)


@scope_rule("assessment.view_clearance", "assessment.clearance")
def assessment_view_clearance_scope(actor):
    if actor.assignment is None:
        return Q(pk__in=[])
    org = actor.organisation.pk
    q = Q(pk__in=[])
    if actor.role == Role.SUBJECT:
        q |= Q(person_id=_person_id(actor))
    if actor.role in (Role.SECURITY_OFFICER, Role.BUSINESS_OFFICER):
        q |= Q(case__nominating_organisation_id=org)
    if actor.role in (Role.ORGAN_HEAD, Role.SECURITY_OFFICER):
        q |= Q(organ_id=org)
    return q


@rule("assessment.view_notice")
def assessment_view_notice(actor, target):
    """A notice to the nominating side: that side's officers only."""
    if actor.assignment is None:
        return deny(*NO_ROLE)
    if actor.role in (Role.SECURITY_OFFICER, Role.BUSINESS_OFFICER) and _in(actor, target.recipient_id):
        return allow()
    return deny(*NO_ACCESS)


@scope_rule("assessment.view_notice", "assessment.businessnotice")
def assessment_view_notice_scope(actor):
    if actor.assignment is None or actor.role not in (Role.SECURITY_OFFICER, Role.BUSINESS_OFFICER):
        return Q(pk__in=[])
    return Q(recipient_id=actor.organisation.pk)


@rule("assessment.retention_run")
def assessment_retention_run(actor, target):
    """Shredding past retention: the background job, or the operator at the shell."""
    if _is_operator(actor):
        return allow("server_operator")
    if actor.is_system and actor.channel == "job":
        return allow("background_job")
    return deny("system_only", "この処理は自動処理又はサーバーの操作者のみが行います。",
                "Only the background job or the server's operator does this.")


rule("assessment.send_renewal_reminders")(assessment_retention_run)
rule("assessment.send_questionnaire_reminders")(assessment_retention_run)


@rule("assessment.view_reminder")
def assessment_view_reminder(actor, target):
    """A renewal reminder: the person their own; the nominating side's and the organ's officers
    theirs (status: who, valid until — nothing of the case's content)."""
    if actor.assignment is None:
        return deny(*NO_ROLE)
    if target.recipient_kind == "person":
        if actor.role == Role.SUBJECT and _person_id(actor) == target.person_id:
            return allow("subject")
        return deny(*NO_ACCESS)
    if actor.role in (Role.SECURITY_OFFICER, Role.BUSINESS_OFFICER, Role.ORGAN_HEAD) and _in(
            actor, target.recipient_organisation_id):
        return allow("recipient")
    return deny(*NO_ACCESS)


@scope_rule("assessment.view_reminder", "assessment.renewalreminder")
def assessment_view_reminder_scope(actor):
    if actor.assignment is None:
        return Q(pk__in=[])
    if actor.role == Role.SUBJECT:
        return Q(recipient_kind="person", person_id=_person_id(actor))
    if actor.role in (Role.SECURITY_OFFICER, Role.BUSINESS_OFFICER, Role.ORGAN_HEAD):
        return ~Q(recipient_kind="person") & Q(recipient_organisation_id=actor.organisation.pk)
    return Q(pk__in=[])


@rule("assessment.view_result")
def assessment_view_result(actor, target):
    """The notified result with its reasons as the subject receives it (the reasons themselves are
    ``assessment.read_reasons``): the subject once notified; the adjudicators and the complaint
    handler. The nominating side gets its three facts from its notice, never this."""
    if actor.assignment is None:
        return deny(*NO_ROLE)
    case = _case_of(target)
    if _is_subject_of(actor, case):
        if case.notified_at is None:
            return deny("not_notified", "評価の結果は、通知の後に表示されます。", "The result is shown once it is notified.")
        return allow("subject")
    return _case_worker(actor, case, "adjudicator", "concurring_adjudicator", "complaint_handler")
