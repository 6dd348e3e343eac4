"""The demo data set: ministries, the Cabinet Office, oversight bodies, three fictional companies,
fictional people with Japanese names, and one account per role (``load``); then the work in progress
each of them finds on their dashboard (``load_scenarios``): METI's certification of and contract with
TOWA-HI, METI designations at several stages, and assessments awaiting consent, under investigation
and notified. Idempotent: loading twice is fine and creates nothing new.

Every write goes through the services, so the demo's own creation is in the audit log.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib

from django_otp.oath import totp

from . import services
from .models import Account, Organisation
from .roles import OrganisationKind as K

DEMO_PASSWORD = "hozen-demo-2025"

ORGANISATIONS = [
    ("CAO", K.CABINET_OFFICE, "内閣府", "Cabinet Office"),
    ("METI", K.ADMINISTRATIVE_ORGAN, "経済産業省", "Ministry of Economy, Trade and Industry"),
    ("MIC", K.ADMINISTRATIVE_ORGAN, "総務省", "Ministry of Internal Affairs and Communications"),
    ("MLIT", K.ADMINISTRATIVE_ORGAN, "国土交通省", "Ministry of Land, Infrastructure, Transport and Tourism"),
    ("MOFA", K.ADMINISTRATIVE_ORGAN, "外務省", "Ministry of Foreign Affairs"),
    ("IPRMS", K.OVERSIGHT_BODY, "独立公文書管理監", "Independent Public Records Management Supervisor"),
    ("DIET-HR-ISC", K.OVERSIGHT_BODY, "衆議院情報監視審査会", "House of Representatives Board of Oversight and Review of Specially Designated Secrets"),
    ("TOWA-HI", K.BUSINESS, "東和重工業株式会社", "Towa Heavy Industries Co., Ltd."),
    ("HOKUTO-NET", K.BUSINESS, "北斗通信株式会社", "Hokuto Telecommunications Inc."),
    ("ASAGIRI-SEMI", K.BUSINESS, "朝霧半導体株式会社", "Asagiri Semiconductor Corporation"),
]

# username, role, organisation, family, given, family kana, given kana, date of birth
ACCOUNTS = [
    ("head.meti", "organ_head", "METI", "高橋", "誠一", "タカハシ", "セイイチ", dt.date(1966, 4, 12)),
    ("esi.meti", "esi_manager", "METI", "佐藤", "美咲", "サトウ", "ミサキ", dt.date(1978, 9, 3)),
    ("security.meti", "security_officer", "METI", "鈴木", "健太", "スズキ", "ケンタ", dt.date(1983, 1, 27)),
    ("investigator.cao", "investigator", "CAO", "田中", "由美", "タナカ", "ユミ", dt.date(1981, 11, 8)),
    ("adjudicator.meti", "adjudicator", "METI", "伊藤", "大輔", "イトウ", "ダイスケ", dt.date(1972, 6, 19)),
    ("complaints.meti", "complaint_handler", "METI", "渡辺", "直子", "ワタナベ", "ナオコ", dt.date(1975, 2, 14)),
    ("officer.towa", "business_officer", "TOWA-HI", "山本", "浩二", "ヤマモト", "コウジ", dt.date(1970, 8, 30)),
    ("subject.towa", "subject", "TOWA-HI", "中村", "陽菜", "ナカムラ", "ハルナ", dt.date(1990, 5, 21)),
    ("oversight.iprms", "oversight", "IPRMS", "小林", "正樹", "コバヤシ", "マサキ", dt.date(1964, 10, 2)),
    ("auditor.cao", "auditor", "CAO", "加藤", "里美", "カトウ", "サトミ", dt.date(1979, 3, 16)),
    ("admin.cao", "sysadmin", "CAO", "吉田", "翔", "ヨシダ", "ショウ", dt.date(1988, 12, 5)),
]


def demo_totp_key_hex(username: str) -> str:
    """A fixed, public secret per demo account, so `make demo` can print working codes. Demo only."""
    return hashlib.sha1(f"hozen-demo-totp:{username}".encode()).hexdigest()


def demo_totp_secret_b32(username: str) -> str:
    return base64.b32encode(bytes.fromhex(demo_totp_key_hex(username))).decode()


def current_code(username: str) -> str:
    return f"{totp(bytes.fromhex(demo_totp_key_hex(username))):06d}"


def load(*, actor) -> dict:
    """Create whatever of the demo set is missing. Returns counts of what was created."""
    created = {"organisations": 0, "accounts": 0}
    for code, kind, name_ja, name_en in ORGANISATIONS:
        if not Organisation.objects.filter(code=code).exists():
            services.create_organisation(actor=actor, code=code, kind=kind, name_ja=name_ja, name_en=name_en)
            created["organisations"] += 1
    for username, role, org, family, given, family_kana, given_kana, born in ACCOUNTS:
        if Account.objects.filter(username=username).exists():
            continue
        services.create_account(
            actor=actor, username=username, family_name=family, given_name=given,
            family_name_kana=family_kana, given_name_kana=given_kana, date_of_birth=born,
            role=role, organisation=Organisation.objects.get(code=org), password=DEMO_PASSWORD,
            totp_key_hex=None if role == "subject" else demo_totp_key_hex(username),
        )
        created["accounts"] += 1
    # One person with two roles, to show switching: the METI ESI manager also reviews complaints at MIC.
    esi = Account.objects.get(username="esi.meti")
    if not esi.role_assignments.filter(role="complaint_handler", organisation__code="MIC").exists():
        services.assign_role(actor=actor, account=esi, role="complaint_handler",
                             organisation=Organisation.objects.get(code="MIC"))
    return created


# --- scenarios: the demo's organs and people at work ---------------------------------------------
#
# Everything below goes through the services, as the people named would (their actor, their role).
# Dates are relative to the real "today": the rules pack in force and the assessment's clocks depend
# on it. Each scenario is found again by a stable key (a contract reference, a designation title, a
# person's case) and only its missing steps are taken, so loading twice creates nothing new.

#: Accounts the scenarios need besides one per role: the Cabinet Office's head (assigns investigators),
#: a METI staff member assessed by their own organ, and a TOWA engineer already cleared.
SCENARIO_ACCOUNTS = [
    ("head.cao", "organ_head", "CAO", "松本", "隆", "マツモト", "タカシ", dt.date(1965, 7, 7)),
    ("subject2.meti", "subject", "METI", "井上", "拓也", "イノウエ", "タクヤ", dt.date(1987, 3, 9)),
    ("engineer.towa", "subject", "TOWA-HI", "木村", "愛", "キムラ", "アイ", dt.date(1985, 10, 30)),
]

#: Every demo login, for the summary `hozen demo` prints and for `hozen demo-codes`.
LOGINS = [*ACCOUNTS, *SCENARIO_ACCOUNTS]

CONTRACT_REFERENCE = "METI-2025-C-001"
DEMO_DEPARTMENT = "技術部"

#: title, summary, sub-item code, what happens to it: designated / draft / extended / provided
DESIGNATIONS = [
    ("発電設備の防護計画に関する情報", "基幹インフラの発電設備に係る防護措置の計画（内容は記載しない）", "A-1", "designated"),
    ("送電網の脆弱性評価に関する情報", "送電網の脆弱性評価の結果（内容は記載しない）", "A-1", "draft"),
    ("半導体製造装置の供給網に関する情報", "重要物資の供給網の調査結果（内容は記載しない）", "A-1", "extended"),
    ("次世代蓄電池の研究開発に関する情報", "東和重工業株式会社との共同研究の成果（内容は記載しない）", "A-1", "provided"),
]

JUSTIFICATIONS = {
    "justification_category": "法第2条第4項第1号の措置に関する情報であり、細目に該当する。",
    "justification_not_public": "公表されておらず、関係者以外に知られていない。",
    "justification_harm": "漏えいすれば基幹インフラへの妨害行為を容易にし、安全保障に支障を与えるおそれがある。",
}

REASONS = {f"item_{n}": f"事項{n}について、調査の結果、懸念は認められない。" for n in range(1, 8)}


def _actor(username: str, role: str | None = None):
    """A demo person acting in their role, as after signing in with both factors. The demo's assessed
    people have no authenticator; their consent is recorded as if confirmed (demo data only)."""
    from .actor import Actor

    account = Account.objects.get(username=username)
    assignments = account.active_assignments()
    assignment = assignments.filter(role=role).first() if role else assignments.first()
    return Actor.for_account(account, assignment, channel="cli", second_factor_verified=True)


def _create_accounts(actor, rows) -> int:
    created = 0
    for username, role, org, family, given, family_kana, given_kana, born in rows:
        if Account.objects.filter(username=username).exists():
            continue
        services.create_account(
            actor=actor, username=username, family_name=family, given_name=given,
            family_name_kana=family_kana, given_name_kana=given_kana, date_of_birth=born,
            role=role, organisation=Organisation.objects.get(code=org), password=DEMO_PASSWORD,
            totp_key_hex=None if role == "subject" else demo_totp_key_hex(username),
        )
        created += 1
    return created


def _contract(today: dt.date, created: dict):
    from hozen.operators import services as operators
    from hozen.operators.models import Certification, Contract

    contract = Contract.objects.filter(reference=CONTRACT_REFERENCE, organ__code="METI").first()
    if contract is not None:
        return contract
    head = _actor("head.meti")
    meti, towa = Organisation.objects.get(code="METI"), Organisation.objects.get(code="TOWA-HI")
    cert = Certification.objects.filter(organ=meti, business=towa).order_by("id").first()
    if cert is None:
        cert = operators.record_certification(actor=head, organ=meti, business=towa,
                                              certified_on=today - dt.timedelta(days=90))
        created["certifications"] += 1
    contract = operators.record_contract(
        actor=head, certification=cert, reference=CONTRACT_REFERENCE, form="receives",
        authorised_departments=[DEMO_DEPARTMENT], valid_from=today - dt.timedelta(days=90),
        valid_until=today + dt.timedelta(days=5 * 365))
    created["contracts"] += 1
    return contract


def _designations(today: dt.date, contract, created: dict) -> None:
    from hozen.designation import services as designations
    from hozen.designation.models import Designation, State
    from hozen.designation.periods import add_years
    from hozen.rules.queries import current_pack

    meti = Organisation.objects.get(code="METI")
    manager, head = _actor("esi.meti"), _actor("head.meti")
    pack = current_pack("esi", today)
    for title, summary, code, fate in DESIGNATIONS:
        designation = Designation.objects.filter(organisation=meti, title=title).first()
        if designation is None:
            item = pack.sub_items.select_related("category").get(code=code)
            years = 2 if fate == "extended" else 5
            designation = designations.create_draft(
                actor=manager, organisation=meti, title=title, summary=summary, category=item.category,
                sub_item=item, in_advance=False, advance_reason="", designated_on=today,
                term_end=add_years(today, years) - dt.timedelta(days=1), protective_measure="marking",
                **JUSTIFICATIONS)
            created["designations"] += 1
        if fate == "draft":
            continue
        if designation.state == State.DRAFT:
            designation = designations.approve(actor=head, designation=designation)
        if fate == "extended" and not designation.extensions.exists():
            designations.extend(actor=head, designation=designation,
                                new_end=add_years(designation.designated_on, 4) - dt.timedelta(days=1),
                                reason="供給網の調査が継続しており、引き続き保護する必要があるため。")
        if fate == "provided" and not designation.provisions.filter(contract=contract).exists():
            designations.record_provision(
                actor=manager, designation=designation, recipient_kind="business", recipient=contract.business,
                contract=contract, basis="適合事業者との契約に基づく提供（法第10条第1項）", provided_on=today,
                items="共同研究の成果報告書 1部", handler_list=["山本 浩二", "中村 陽菜"])


def _answers(username: str, address: str, employer: str, started_on: str) -> dict:
    """A complete, plain questionnaire for a demo person (no concerns to report)."""
    row = next(r for r in LOGINS if r[0] == username)
    _, _, _, family, given, family_kana, given_kana, born = row
    return {
        "identity": {"family_name": family, "given_name": given, "family_name_kana": family_kana,
                     "given_name_kana": given_kana, "date_of_birth": born.isoformat(),
                     "place_of_birth_country": "JP", "current_address": address},
        "domicile_and_nationality": {"registered_domicile": address, "nationalities": ["JP"],
                                     "had_other_nationality": False},
        "relatives_and_cohabitants": {"has_relatives_or_cohabitants": True, "relatives": [
            {"relation": "parent", "name": f"{family} 一郎", "date_of_birth": "1955-04-01", "nationalities": ["JP"],
             "address": address}]},
        "employment_10y": {"has_employment": True, "jobs": [
            {"employer": employer, "started_on": started_on, "current": True}]},
        "foreign_travel_10y": {"has_travel": False},
        "residence_abroad": {"has_lived_abroad": False},
        "item_1": {"involvement": False, "contacts": False},
        "item_2": {"has_convictions": False, "has_disciplinary_actions": False},
        "item_3": {"has_incidents": False},
        "item_4": {"has_drug_use": False},
        "item_5": {"has_treatment": False},
        "item_6": {"has_alcohol_problems": False},
        "item_7": {"has_financial_difficulties": False, "has_foreign_accounts": False},
    }


#: username → (nominated by, department, post, how far the case goes, questionnaire facts)
CASES = {
    "subject.towa": ("officer.towa", DEMO_DEPARTMENT, "主任", "notice_given", None),
    "subject2.meti": ("security.meti", "産業保安グループ", "係長", "under_investigation",
                      ("東京都千代田区霞が関1-3-1", "経済産業省", "2015-04-01")),
    "engineer.towa": ("officer.towa", DEMO_DEPARTMENT, "技師", "notified",
                      ("神奈川県横浜市西区みなとみらい3-3-1", "東和重工業株式会社", "2010-04-01")),
}
GOALS = ("notice_given", "under_investigation", "notified")


def _case(username: str, today: dt.date, contract, created: dict) -> None:
    """Take the case of ``username`` as far as its scenario says, from wherever it stands."""
    from django.utils import timezone

    from hozen.assessment import services as assessment
    from hozen.assessment.items import ITEMS
    from hozen.assessment.models import AssessmentCase
    from hozen.assessment.states import State

    nominator, department, post, goal, facts = CASES[username]
    person = Account.objects.get(username=username).person
    case = AssessmentCase.objects.filter(person=person).order_by("id").first()
    if case is None:
        business = nominator == "officer.towa"
        case = assessment.nominate(actor=_actor(nominator), person=person, department=department, post=post,
                                   listing_agreed_on=today, contract=contract if business else None).case
        created["assessment_cases"] += 1

    def state():
        return AssessmentCase.objects.get(pk=case.pk).state

    security, subject = _actor("security.meti"), _actor(username, "subject")
    if state() == State.NOMINATED:
        assessment.give_notice(actor=security, case=case)
    if goal == "notice_given":
        return
    if state() == State.NOTICE_GIVEN:
        assessment.consent(actor=subject, case=case)
    if state() == State.CONSENTED:
        for section, content in _answers(username, *facts).items():
            assessment.save_questionnaire_section(actor=subject, case=case, section=section, content=content)
        assessment.submit_questionnaire(actor=subject, case=AssessmentCase.objects.get(pk=case.pk))
    investigator = Account.objects.get(username="investigator.cao")
    if state() == State.QUESTIONNAIRE_SUBMITTED:
        assessment.assign_investigator(actor=_actor("head.cao"), case=case, investigator=investigator)
    if goal == "under_investigation":
        return
    if state() == State.UNDER_INVESTIGATION:
        acting = _actor("investigator.cao")
        case = AssessmentCase.objects.get(pk=case.pk)
        if not case.inquiries.exists():
            inquiry = assessment.record_inquiry(
                actor=acting, case=case, recipient_kind="superior", recipient_organisation=f"{facts[1]} {department}",
                recipient_name="上長", question="勤務状況及び情報の取扱いについて", sent_on=today)
            assessment.record_inquiry_response(actor=acting, inquiry=inquiry, response="勤務状況は良好で、特段の問題はない。",
                                               answered_on=today)
        if case.interview_at is None:
            # A few minutes ago, but never yesterday in Japan (the interview's day is checked in Japan
            # time: just after midnight there, five minutes ago is the day before).
            now = timezone.localtime()
            at = max(now - dt.timedelta(minutes=5), now.replace(hour=0, minute=0, second=0, microsecond=0))
            assessment.schedule_interview(actor=acting, case=case, at=at)
        for item in ITEMS:
            assessment.record_finding(actor=acting, case=case, item=item.code,
                                      text=f"事項{item.number}について、質問票、照会及び面接の結果、懸念は認められない。")
        assessment.complete_investigation(actor=acting, case=AssessmentCase.objects.get(pk=case.pk),
                                          summary="質問票、照会及び面接の結果、七つの事項のいずれについても懸念は認められない。")
    if state() == State.INVESTIGATION_COMPLETE:
        assessment.assign_adjudicator(actor=_actor("head.meti"), case=case,
                                      adjudicator=Account.objects.get(username="adjudicator.meti"))
        assessment.adjudicate(actor=_actor("adjudicator.meti"), case=AssessmentCase.objects.get(pk=case.pk),
                              outcome="favourable", reasons=REASONS)
    if state() == State.ADJUDICATED_FAVOURABLE:
        assessment.notify_result(actor=security, case=AssessmentCase.objects.get(pk=case.pk))


def load_scenarios(*, actor) -> dict:
    """The demo's work in progress, after ``load``: METI's certification of TOWA-HI and their contract;
    METI designations (designated, a draft awaiting approval, extended, provided to TOWA-HI); and three
    assessments (awaiting consent, under investigation, notified favourable with a clearance).
    Returns counts of what was created (all zero the second time)."""
    from django.utils import timezone

    today = timezone.localdate()
    created = {"accounts": _create_accounts(actor, SCENARIO_ACCOUNTS), "certifications": 0, "contracts": 0,
               "designations": 0, "assessment_cases": 0}
    contract = _contract(today, created)
    _designations(today, contract, created)
    for username in CASES:
        _case(username, today, contract, created)
    return created
