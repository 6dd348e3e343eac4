"""Integrity under concurrency for assessments (issue 11): parallel requests over the API, each
thread with its own connection (SQLite: a file database; PostgreSQL: row locks). For every write
path, exactly the allowed number of requests succeed, the others get a clear 409 or 422 with a
code (never a 5xx), one audit entry per success, second factors are spent once, and the cases,
clearances and complaints agree with the log afterwards.

Where the interleaving decides the outcome, a race is run several rounds and each possible outcome
is asserted exactly.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from hozen.assessment import services
from hozen.assessment.models import (
    Adjudication,
    AssessmentCase,
    BusinessNotice,
    CaseDuty,
    CaseEvent,
    Clearance,
    Complaint,
    Exemption,
    QuestionnaireSection,
)
from hozen.assessment.reconcile import KINDS
from hozen.assessment.states import State
from tests import factories
from tests.assessment import conftest as assessment
from tests.assessment.conftest import (
    REASONS,
    answers,
    cleared,
    fresh,
    new_employee,
    nominate,
    to_consented,
    to_investigation_complete,
)

from .harness import (
    assert_reconciled,
    assert_refusals_are_clear,
    audit_count,
    bearer,
    post,
    put,
    race,
)

pytestmark = pytest.mark.django_db(transaction=True)

world = assessment.world  # the assessment tests' personas, contracts and organs (a fixture)

BASE = "/api/v1/assessment"
FIELDS = {"department": "技術部", "post": "主任", "listing_agreed_on": "2026-05-20"}


@pytest.fixture
def tokens(world):
    cache: dict = {}

    def token(who):
        account = world.people[who] if isinstance(who, str) else who
        if account.pk not in cache:
            cache[account.pk] = bearer(factories.api_token(account))
        return cache[account.pk]
    return token


def recovery_codes(account, n: int) -> list[str]:
    """`n` recovery codes for the subject (as enrolment gives them), in the form people type them."""
    device = StaticDevice.objects.create(user=account, name="recovery", confirmed=True)
    raw = [f"{i:04x}" * 4 for i in range(1, n + 1)]
    StaticToken.objects.bulk_create([StaticToken(device=device, token=c) for c in raw])
    return ["-".join(c[i:i + 4] for i in range(0, 16, 4)) for c in raw]


def code_left(code: str) -> bool:
    return StaticToken.objects.filter(token=code.replace("-", "")).exists()


def noticed(world, person=None, *, contract="meti") -> AssessmentCase:
    case = nominate(world, person, contract=contract)
    organ = world["security"] if contract == "meti" else world["mic_head"]
    services.give_notice(actor=organ, case=case)
    return fresh(case)


def reconciled() -> None:
    assert_reconciled(*KINDS)


# --- consent -------------------------------------------------------------------------------------------

def test_consent_and_withdrawal_at_once_leave_the_case_not_consented_and_spend_only_what_succeeded(world, tokens):
    subject = world.people["subject"]
    codes = recovery_codes(subject, 8)
    for n in range(4):
        case = noticed(world)
        consent_code, withdraw_code = codes[2 * n], codes[2 * n + 1]
        consent, withdraw = race(post(f"{BASE}/cases/{case.pk}/consent", {"totp_code": consent_code}, tokens(subject)),
                                 post(f"{BASE}/cases/{case.pk}/withdraw", {"totp_code": withdraw_code},
                                      tokens(subject)))
        assert_refusals_are_clear([consent, withdraw])
        assert withdraw.status == 200 and not code_left(withdraw_code)
        assert fresh(case).state == State.NOT_CONSENTED
        if consent.status == 200:  # consented first, then withdrawn
            assert not code_left(consent_code)
            assert CaseEvent.objects.filter(case=case, kind="consented").count() == 1
        else:  # withdrawn first: the consent is refused and its code stays usable
            assert consent.status == 422 and consent.json()["code"] == "transition_not_allowed"
            assert code_left(consent_code)
    assert audit_count("assessment.withdraw_consent") == 4
    assert audit_count("assessment.consent") == CaseEvent.objects.filter(kind="consented").count()
    reconciled()


def test_two_consents_from_two_tabs_with_one_code_consent_once(world, tokens):
    subject = world.people["subject"]
    TOTPDevice.objects.create(user=subject, name="phone", key=factories.TOTP_KEY, confirmed=True)
    case = noticed(world)
    code = factories.current_totp(subject)
    outcomes = race(*[post(f"{BASE}/cases/{case.pk}/consent", {"totp_code": code}, tokens(subject)) for _ in range(2)])
    # The second tab is refused: the case is consented already (422), or, when the first had spent the
    # code before the second's was checked, the code is no longer valid (403, the policy's answer).
    assert_refusals_are_clear(outcomes, allowed=(403, 422))
    assert sorted(o.status for o in outcomes) in ([200, 403], [200, 422])
    refused = next(o for o in outcomes if o.status != 200)
    assert refused.json()["code"] == {403: "second_factor_required", 422: "transition_not_allowed"}[refused.status]
    assert fresh(case).state == State.CONSENTED
    assert CaseEvent.objects.filter(case=case, kind="consented").count() == 1
    assert audit_count("assessment.consent") == 1
    assert TOTPDevice.objects.get(user=subject).last_t >= 0
    reconciled()


def test_one_recovery_code_offered_for_two_consents_at_once_is_spent_once(world, tokens):
    """Two organs' assessments of one person, consented at the same moment with the same recovery
    code: one consent, the code gone once. The other is refused: 409 second_factor_used when both
    checked the code before either spent it, or 403 second_factor_required (the policy's answer to a
    code that is not, or no longer, valid) when the first had already spent it."""
    subject = world.people["subject"]
    for _ in range(3):
        StaticDevice.objects.filter(user=subject).delete()
        [code] = recovery_codes(subject, 1)
        meti, mic = noticed(world), noticed(world, contract="mic")
        outcomes = race(post(f"{BASE}/cases/{meti.pk}/consent", {"totp_code": code}, tokens(subject)),
                        post(f"{BASE}/cases/{mic.pk}/consent", {"totp_code": code}, tokens(subject)))
        assert_refusals_are_clear(outcomes, allowed=(403, 409))
        assert sorted(o.status for o in outcomes) in ([200, 403], [200, 409])
        refused = next(o for o in outcomes if o.status != 200)
        assert refused.json()["code"] == {403: "second_factor_required", 409: "second_factor_used"}[refused.status]
        states = sorted(fresh(c).state for c in (meti, mic))
        assert states == [State.CONSENTED, State.NOTICE_GIVEN]
        assert not code_left(code)
        for case in (meti, mic):  # close both so the next round can nominate again
            services.refuse(actor=world.subject_actor(case.person), case=case) if fresh(case).state == \
                State.NOTICE_GIVEN else services.withdraw_consent(actor=world.subject_actor(case.person), case=case)
    assert audit_count("assessment.consent") == 3
    reconciled()


# --- the questionnaire --------------------------------------------------------------------------------

def test_a_section_saved_from_two_tabs_with_the_same_version_is_saved_once(world, tokens):
    subject = world.people["subject"]
    case = to_consented(world, nominate(world))
    path = f"{BASE}/cases/{case.pk}/questionnaire/identity"
    base = answers()["identity"]
    for version in range(0, 3):
        tabs = [{**base, "current_address": f"東京都千代田区霞が関{version}-{tab}"} for tab in (1, 2)]
        headers = {**tokens(subject), "HTTP_IF_MATCH": f'"{version}"'}
        outcomes = race(*[put(path, {"content": content}, headers) for content in tabs])
        assert_refusals_are_clear(outcomes)
        assert sorted(o.status for o in outcomes) == [200, 409]
        winner = next(o for o in outcomes if o.status == 200)
        loser = next(o for o in outcomes if o.status == 409)
        assert loser.json()["code"] == "stale_edit" and loser.json()["current_version"] == version + 1
        assert winner.json()["version"] == version + 1 and winner.value["ETag"] == f'"{version + 1}"'
        assert QuestionnaireSection.objects.get(case=case, section="identity").version == version + 1
    assert audit_count("assessment.save_questionnaire") == 3
    reconciled()


def test_a_finding_autosaved_from_two_tabs_with_the_same_version_is_saved_once(world):
    """Issue 15's page of seven findings saves each item by itself: two tabs' saves of one item
    made on the same version give one revision and one clear 409 (never a lost revision)."""
    from django.urls import reverse

    from hozen.assessment.models import Finding

    from .test_core_races import signed_in, window

    case = assessment.to_submitted(world, nominate(world))
    services.assign_investigator(actor=world["cao_head"], case=case, investigator=world.people["investigator"])
    first = signed_in(world.people["investigator"])
    tabs = [first, window(first)]
    path = reverse("assessment:investigator_finding", args=[case.pk])
    autosave = {"HTTP_X_HOZEN_AUTOSAVE": "1", "HTTP_ACCEPT": "application/json"}
    for version in range(0, 3):
        def save(tab, n, version=version):
            return lambda: tab.post(path, {"finding-item": "item_1", "finding-text": f"事項1: 版{version} 窓{n}",
                                           "finding-versions": f"item_1:{version}"}, **autosave)
        outcomes = race(*[save(tab, n) for n, tab in enumerate(tabs)])
        assert sorted(o.status for o in outcomes) == [200, 409], [o.status for o in outcomes]
        loser = next(o for o in outcomes if o.status == 409)
        assert loser.json()["stale"] is True and loser.json()["current_version"] == version + 1
        assert Finding.objects.get(case=case, item="item_1").revision == version + 1
    assert audit_count("assessment.record_finding") == 3
    reconciled()


# --- nomination ------------------------------------------------------------------------------------------

def test_two_nominations_of_one_person_by_one_organ_at_once_open_one_case(world, tokens):
    for _ in range(4):
        person = new_employee(world)
        body = {"person_id": person.pk, "contract_id": world.contract.pk, **FIELDS}
        outcomes = race(*[post(f"{BASE}/nominations", body, tokens("business_officer")) for _ in range(2)])
        assert_refusals_are_clear(outcomes)
        assert sorted(o.status for o in outcomes) == [201, 422]
        assert next(o for o in outcomes if o.status == 422).json()["code"] == "case_already_open"
        assert AssessmentCase.objects.filter(person=person).count() == 1
    assert audit_count("assessment.nominate") == 4
    reconciled()


def test_two_nominations_held_as_exemptions_at_once_hold_one(world, tokens):
    case, _clearance = cleared(world)
    body = {"person_id": case.person_id, "contract_id": world.contract.pk, **FIELDS}
    outcomes = race(*[post(f"{BASE}/nominations", body, tokens("business_officer")) for _ in range(2)])
    assert_refusals_are_clear(outcomes)
    assert sorted(o.status for o in outcomes) == [201, 422]
    assert next(o for o in outcomes if o.status == 422).json()["code"] == "exemption_pending"
    assert Exemption.objects.filter(person_id=case.person_id, state="pending").count() == 1
    reconciled()


# --- adjudication and notification --------------------------------------------------------------------------

def test_two_adjudications_of_one_case_at_once_give_one_decision(world, tokens):
    for _ in range(3):
        case = to_investigation_complete(world, nominate(world, new_employee(world)))
        services.assign_adjudicator(actor=world["head"], case=case, adjudicator=world.people["adjudicator"])
        path = f"{BASE}/cases/{case.pk}/adjudication"
        outcomes = race(post(path, {"outcome": "favourable", "reasons": REASONS}, tokens("adjudicator")),
                        post(path, {"outcome": "unfavourable", "reasons": REASONS}, tokens("adjudicator")))
        assert_refusals_are_clear(outcomes)
        assert sorted(o.status for o in outcomes) == [200, 422]
        assert next(o for o in outcomes if o.status == 422).json()["code"] == "transition_not_allowed"
        [adjudication] = Adjudication.objects.filter(case=case)
        expected = {"favourable": State.ADJUDICATED_FAVOURABLE,
                    "unfavourable": State.ADJUDICATED_UNFAVOURABLE_PENDING_CONCURRENCE}[adjudication.outcome]
        assert adjudication.round == 1 and fresh(case).state == expected
    assert audit_count("assessment.adjudicate") == 3
    reconciled()


def test_a_reassignment_and_the_first_adjudicators_decision_at_once(world, tokens):
    """The organ head gives the case to a second adjudicator while the first decides: either the
    decision stands (and the reassignment is refused: the case is decided) or the reassignment
    does, and the first adjudicator's decision is refused — 403 from the policy on the locked case,
    or 404 when the case was already out of their sight when the request read it. Never both."""
    for _ in range(4):
        case = to_investigation_complete(world, nominate(world, new_employee(world)))
        services.assign_adjudicator(actor=world["head"], case=case, adjudicator=world.people["adjudicator"])
        decide, reassign = race(
            post(f"{BASE}/cases/{case.pk}/adjudication", {"outcome": "favourable", "reasons": REASONS},
                 tokens("adjudicator")),
            post(f"{BASE}/cases/{case.pk}/adjudicator", {"username": world.people["adjudicator2"].username},
                 tokens("organ_head")))
        assert_refusals_are_clear([decide, reassign], allowed=(403, 404, 409, 422))
        holder = CaseDuty.objects.get(case=case, kind="adjudicator", ended_at__isnull=True).account_id
        if decide.status == 200:
            assert reassign.status == 422 and reassign.json()["code"] == "transition_not_allowed"
            assert fresh(case).state == State.ADJUDICATED_FAVOURABLE and holder == world.people["adjudicator"].pk
        else:
            assert reassign.status == 200
            assert (decide.status, decide.json()["code"]) in ((403, "not_assigned_to_case"), (404, "not_found"))
            assert fresh(case).state == State.INVESTIGATION_COMPLETE and holder == world.people["adjudicator2"].pk
            assert not Adjudication.objects.filter(case=case).exists()
    reconciled()


def test_a_decision_and_a_return_to_the_investigator_at_once_one_wins(world, tokens):
    """Issue 15: the adjudicator decides in one window and returns the case with a question in
    another. Exactly one wins, with one audit entry; the other is refused with
    ``transition_not_allowed`` (the case is no longer awaiting a decision), nothing of it written."""
    from hozen.assessment.models import InvestigationReturn

    for _ in range(4):
        case = to_investigation_complete(world, nominate(world, new_employee(world)))
        services.assign_adjudicator(actor=world["head"], case=case, adjudicator=world.people["adjudicator"])
        decide, send_back = race(
            post(f"{BASE}/cases/{case.pk}/adjudication", {"outcome": "favourable", "reasons": REASONS},
                 tokens("adjudicator")),
            post(f"{BASE}/cases/{case.pk}/return", {"question": "欠勤の理由を確認してください。"}, tokens("adjudicator")))
        assert_refusals_are_clear([decide, send_back])
        assert sorted((decide.status, send_back.status)) == [200, 422]
        loser = decide if decide.status == 422 else send_back
        assert loser.json()["code"] == "transition_not_allowed"
        decided = Adjudication.objects.filter(case=case).count()
        returned = InvestigationReturn.objects.filter(case=case).count()
        entries = (audit_count("assessment.adjudicate", target_id=str(case.pk)),
                   audit_count("assessment.return_to_investigation", target_id=str(case.pk)))
        if decide.status == 200:
            assert (decided, returned, entries) == (1, 0, (1, 0))
            assert fresh(case).state == State.ADJUDICATED_FAVOURABLE
        else:
            assert (decided, returned, entries) == (0, 1, (0, 1))
            assert fresh(case).state == State.UNDER_INVESTIGATION
    reconciled()


def test_a_result_notified_twice_at_once_is_notified_once(world, tokens):
    for _ in range(3):
        case = to_investigation_complete(world, nominate(world, new_employee(world)))
        services.assign_adjudicator(actor=world["head"], case=case, adjudicator=world.people["adjudicator"])
        services.adjudicate(actor=world["adjudicator"], case=case, outcome="favourable", reasons=REASONS)
        outcomes = race(*[post(f"{BASE}/cases/{case.pk}/notify", {}, tokens(who))
                          for who in ("security_officer", "organ_head")])
        assert_refusals_are_clear(outcomes)
        assert sorted(o.status for o in outcomes) == [200, 422]
        assert next(o for o in outcomes if o.status == 422).json()["code"] == "transition_not_allowed"
        assert Clearance.objects.filter(case=case).count() == 1
        assert BusinessNotice.objects.filter(case=case).count() == 1
        assert fresh(case).state == State.NOTIFIED
    assert audit_count("assessment.notify_result") == audit_count("assessment.record_result") == 3
    reconciled()


# --- complaints ----------------------------------------------------------------------------------------------

def test_a_complaint_decided_twice_at_once_is_decided_once(world, tokens):
    case, _clearance = cleared(world)
    subject = world.subject_actor(case.person)
    outcomes_seen = []
    rounds = [("not_upheld", "corrected")] * 3 + [("not_upheld", "re_examination")]
    for first, second in rounds:
        complaint = services.file_complaint(actor=subject, case=case, text="評価の手続について苦情を申し出る。")
        services.assign_complaint_handler(actor=world["head"], complaint=complaint,
                                          handler=world.people["complaint_handler"])
        path = f"{BASE}/complaints/{complaint.pk}/decision"
        outcomes = race(*[post(path, {"outcome": outcome, "reasons": "検討の結果を記載する。"}, tokens("complaint_handler"))
                          for outcome in (first, second)])
        assert_refusals_are_clear(outcomes)
        assert sorted(o.status for o in outcomes) == [200, 422]
        assert next(o for o in outcomes if o.status == 422).json()["code"] == "transition_not_allowed"
        stored = Complaint.objects.get(pk=complaint.pk)
        winner = next(o for o in outcomes if o.status == 200).json()
        assert stored.state == "decided" and stored.outcome == winner["outcome"]
        outcomes_seen.append(stored.outcome)
    # The last round: a re-examination reopens the case only if it was the decision that won.
    assert fresh(case).state == (State.UNDER_REEXAMINATION if outcomes_seen[-1] == "re_examination"
                                 else State.NOTIFIED)
    assert audit_count("assessment.decide_complaint") == 4
    assert audit_count("assessment.reexamine") == outcomes_seen.count("re_examination")
    reconciled()


def test_a_concern_reported_twice_at_once_opens_one_reassessment(world, tokens):
    _case, clearance = cleared(world)
    body = {"kind": "concerning_event", "occurred_on": "2026-06-01", "description": "多額の借入れの申告があった。"}
    outcomes = race(post(f"{BASE}/clearances/{clearance.pk}/events", body, tokens("business_officer")),
                    post(f"{BASE}/clearances/{clearance.pk}/events", body, tokens("security_officer")))
    assert_refusals_are_clear(outcomes)
    assert sorted(o.status for o in outcomes) == [201, 422]
    assert next(o for o in outcomes if o.status == 422).json()["code"] == "clearance_not_valid"
    assert AssessmentCase.objects.filter(reassessment_of=clearance).count() == 1
    assert Clearance.objects.get(pk=clearance.pk).suspended_at is not None
    assert audit_count("assessment.suspend_clearance") == 1
    reconciled()


# --- the daily job ---------------------------------------------------------------------------------------------

def test_two_reminder_runs_at_once_remind_once(world, _frozen_today):
    from hozen.assessment.models import RenewalReminder
    from hozen.core.actor import Actor

    _case, clearance = cleared(world)
    _frozen_today.move_to(dt.datetime(2035, 12, 5, 3, 0, tzinfo=dt.UTC))
    outcomes = race(lambda: services.send_renewal_reminders(actor=Actor.job("assessment.renewal_reminders")),
                    lambda: services.send_renewal_reminders(actor=Actor.operator("tests")))
    assert [o.error for o in outcomes] == [None, None]
    assert sorted(o.value for o in outcomes) == [0, 3]  # the person, the business and the organ, once
    assert RenewalReminder.objects.filter(clearance=clearance).count() == 3
    assert audit_count("assessment.remind_renewal") == 1
    reconciled()


def test_two_questionnaire_reminder_runs_at_once_remind_once(world, _frozen_today):
    from hozen.assessment.models import QuestionnaireReminder
    from hozen.core.actor import Actor

    case = assessment.to_consented(world, assessment.nominate(world))
    _frozen_today.move_to(dt.datetime(2026, 6, 30, 3, 0, tzinfo=dt.UTC))
    outcomes = race(lambda: services.send_questionnaire_reminders(actor=Actor.job("assessment.questionnaire_reminders")),
                    lambda: services.send_questionnaire_reminders(actor=Actor.operator("tests")))
    assert [o.error for o in outcomes] == [None, None]
    assert sorted(o.value for o in outcomes) == [0, 1]
    assert QuestionnaireReminder.objects.filter(case=case).count() == 1
    assert audit_count("assessment.remind_questionnaire") == 1
    reconciled()
