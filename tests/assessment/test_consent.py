"""Notice, consent, refusal and withdrawal (DOMAIN §6 steps 2–3): only the subject, with their own
second factor; refusing or withdrawing ends the case as not consented, and the nominator learns
only that."""

from __future__ import annotations

import datetime as dt

import pytest

from hozen.access.policy import PolicyDenied
from hozen.assessment import queries, services
from hozen.assessment.models import BusinessNotice, QuestionnaireSection
from hozen.assessment.states import State
from hozen.core.errors import RuleViolation

from .conftest import answers, audit_entries, fresh, nominate, to_adjudicated, to_consented, to_notified

pytestmark = pytest.mark.django_db


@pytest.fixture
def noticed(world):
    case = nominate(world)
    services.give_notice(actor=world["security"], case=case)
    return fresh(case)


def test_only_the_deciding_organ_gives_the_notice(world):
    case = nominate(world)
    for who in ("business", "mic_head", "investigator", "subject"):
        with pytest.raises(PolicyDenied):
            services.give_notice(actor=world[who], case=case)
    services.give_notice(actor=world["head"], case=case, language="en")
    assert fresh(case).notice_given_at is not None
    assert audit_entries("assessment.give_notice")[0]["details"]["language"] == "en"


@pytest.mark.parametrize("who", ["business", "security", "head", "investigator", "meti_staff", "sysadmin"])
def test_nobody_but_the_subject_can_consent(world, noticed, who):
    with pytest.raises(PolicyDenied) as info:
        services.consent(actor=world[who], case=noticed)
    assert info.value.decision.code in ("subject_only", "no_active_role")
    assert fresh(noticed).state == State.NOTICE_GIVEN


def test_consent_needs_the_subjects_own_second_factor(world, noticed):
    without = world.subject_actor(noticed.person, second_factor=False)
    with pytest.raises(PolicyDenied) as info:
        services.consent(actor=without, case=noticed)
    assert info.value.decision.code == "second_factor_required"
    services.consent(actor=world.subject_actor(noticed.person), case=noticed)
    assert fresh(noticed).state == State.CONSENTED


def test_refusal_ends_the_case_and_the_nominator_learns_only_not_consented(world, noticed):
    services.refuse(actor=world.subject_actor(noticed.person), case=noticed)
    case = fresh(noticed)
    assert case.state == State.REFUSED and case.closed_at is not None
    assert case.retain_until == dt.date(2036, 6, 1)
    notice = BusinessNotice.objects.get(case=case)
    assert (notice.recipient, notice.consented, notice.favourable, notice.valid_until) == (
        world.orgs["TOWA"], False, None, None)
    assert notice.retain_until == dt.date(2027, 6, 1)  # other papers: 1 year (to verify)
    assert queries.case_status(world["business"], case) == {
        "case": case.pk, "person": case.person_id, "status": "not_consented", "consented": False,
        "favourable": None, "valid_until": None}


def test_withdrawal_mid_questionnaire_ends_the_case_as_not_consented(world):
    case = to_consented(world, nominate(world))
    subject = world.subject_actor(case.person)
    services.save_questionnaire_section(actor=subject, case=case, section="identity", content=answers()["identity"])
    services.withdraw_consent(actor=subject, case=case)
    case = fresh(case)
    assert case.state == State.NOT_CONSENTED
    with pytest.raises(RuleViolation) as info:
        services.save_questionnaire_section(actor=subject, case=case, section="item_1", content=answers()["item_1"])
    assert info.value.code == "transition_not_allowed"
    assert QuestionnaireSection.objects.filter(case=case).count() == 1  # kept until retention, then shredded
    assert BusinessNotice.objects.get(case=case).consented is False


def test_withdrawal_is_possible_until_the_result_is_notified_and_not_after(world):
    case = to_adjudicated(world, nominate(world))
    subject = world.subject_actor(case.person)
    services.withdraw_consent(actor=subject, case=case)
    assert fresh(case).state == State.NOT_CONSENTED
    other = to_notified(world, nominate(world, tier="sds"))
    with pytest.raises(RuleViolation) as info:
        services.withdraw_consent(actor=subject, case=other)
    assert info.value.code == "transition_not_allowed"


def test_withdrawal_also_needs_the_subjects_second_factor(world):
    case = to_consented(world, nominate(world))
    with pytest.raises(PolicyDenied) as info:
        services.withdraw_consent(actor=world.subject_actor(case.person, second_factor=False), case=case)
    assert info.value.decision.code == "second_factor_required"


def test_only_the_subject_asks_in_advance_not_to_receive_reasons(world):
    case = to_consented(world, nominate(world))
    with pytest.raises(PolicyDenied):
        services.waive_reasons(actor=world["business"], case=case)
    services.waive_reasons(actor=world.subject_actor(case.person), case=case)
    assert fresh(case).reasons_waived is True and fresh(case).reasons_waiver_recorded_at is not None


def test_the_waiver_is_in_advance_only(world):
    case = to_adjudicated(world, nominate(world))
    with pytest.raises(RuleViolation) as info:
        services.waive_reasons(actor=world.subject_actor(case.person), case=case)
    assert info.value.code == "transition_not_allowed"
