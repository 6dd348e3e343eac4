"""Exemption by an earlier result (Art. 12(1)(i); DOMAIN §6): same organ head only, within the
window from notification, ESI never for SDS; it takes effect only on the organ's confirmation."""

from __future__ import annotations

import datetime as dt

import pytest

from hozen.access.policy import PolicyDenied
from hozen.assessment import queries, services
from hozen.assessment.models import AssessmentCase, Exemption
from hozen.core.errors import RuleViolation

from .conftest import cleared, to_notified

pytestmark = pytest.mark.django_db

FIELDS = {"department": "技術部", "post": "主任", "listing_agreed_on": dt.date(2026, 5, 20)}
REASON = "前回の評価以降、懸念を生じさせる事情は認められない。"


def renominate(world, *, contract=None, tier="esi"):
    return services.nominate(actor=world["business"], person=world.people["subject"].person,
                             contract=contract or world.contract, tier=tier, **FIELDS)


def at(traveller, day: dt.date):
    traveller.move_to(dt.datetime(day.year, day.month, day.day, 3, 0, tzinfo=dt.UTC))


def test_a_favourable_result_from_the_same_organ_head_opens_no_case_but_a_possible_exemption(world, _frozen_today):
    _case, clearance = cleared(world)
    at(_frozen_today, dt.date(2030, 1, 10))
    result = renominate(world)
    assert result.case is None and result.exemption.state == "pending"
    assert result.exemption.basis == clearance and result.exemption.window_years == 10
    assert AssessmentCase.objects.count() == 1
    exemption = services.confirm_exemption(actor=world["head"], exemption=result.exemption, reason=REASON)
    assert exemption.state == "confirmed" and AssessmentCase.objects.count() == 1
    # The nominator sees why no case opened.
    seen = queries.exemption_explained(queries.exemption_for(world["business"], exemption.pk))
    assert (seen["state"], seen["basis_notified_on"], seen["window_years"], seen["reason"]) == (
        "confirmed", dt.date(2026, 6, 1), 10, REASON)


def test_detection_counts_the_window_from_the_notification_date(world, _frozen_today):
    cleared(world)
    at(_frozen_today, dt.date(2036, 6, 1))  # the tenth anniversary: still less than ten years (初日不算入)
    assert services.detect_exemption(actor=world["business"], person=world.people["subject"].person,
                                     contract=world.contract) is not None


def test_no_exemption_after_ten_years(world, _frozen_today):
    cleared(world)
    at(_frozen_today, dt.date(2036, 6, 2))
    result = renominate(world)
    assert result.exemption is None and result.case.state == "nominated"


def test_no_exemption_across_organs(world, _frozen_today):
    cleared(world)  # by METI
    at(_frozen_today, dt.date(2027, 6, 1))
    result = renominate(world, contract=world.mic_contract)  # MIC decides this one
    assert result.exemption is None and result.case.organ == world.orgs["MIC"]


def test_an_esi_result_never_exempts_from_an_sds_assessment(world, _frozen_today):
    cleared(world, tier="esi")
    at(_frozen_today, dt.date(2027, 6, 1))
    result = renominate(world, tier="sds")
    assert result.exemption is None and result.case.tier == "sds"


def test_an_sds_result_from_the_same_organ_head_exempts_for_five_years(world, _frozen_today):
    _case, sds = cleared(world, tier="sds")
    assert sds.valid_until == dt.date(2031, 6, 1)  # SDS validity 5 years
    at(_frozen_today, dt.date(2031, 6, 1))
    result = renominate(world, tier="esi")
    assert result.exemption is not None and result.exemption.basis == sds and result.exemption.window_years == 5
    services.decline_exemption(actor=world["head"], exemption=result.exemption, reason="再度の評価を行うこととする。")
    at(_frozen_today, dt.date(2031, 6, 2))
    other = services.nominate(actor=world["business"], person=world.people["subject"].person, contract=world.contract,
                              tier="sds", **FIELDS)
    assert other.exemption is None  # past five years


def test_an_unfavourable_result_never_exempts(world, _frozen_today):
    cleared(world, favourable=False)
    at(_frozen_today, dt.date(2027, 6, 1))
    assert renominate(world).exemption is None


def test_the_exemption_takes_effect_only_with_a_recorded_reason(world, _frozen_today):
    cleared(world)
    at(_frozen_today, dt.date(2027, 6, 1))
    exemption = renominate(world).exemption
    with pytest.raises(RuleViolation) as info:
        services.confirm_exemption(actor=world["head"], exemption=exemption, reason="問題なし")
    assert (info.value.code, info.value.field) == ("exemption_reason_required", "reason")
    assert Exemption.objects.get(pk=exemption.pk).state == "pending"


def test_only_the_deciding_organ_confirms_an_exemption(world, _frozen_today):
    cleared(world)
    at(_frozen_today, dt.date(2027, 6, 1))
    exemption = renominate(world).exemption
    for who in ("business", "mic_head", "adjudicator", "subject"):
        with pytest.raises(PolicyDenied):
            services.confirm_exemption(actor=world[who], exemption=exemption, reason=REASON)


def test_declining_an_exemption_opens_the_case_as_nominated(world, _frozen_today):
    cleared(world)
    at(_frozen_today, dt.date(2027, 6, 1))
    exemption = renominate(world).exemption
    case = services.decline_exemption(actor=world["head"], exemption=exemption, reason="所属が変わったため評価を行う。")
    assert case.state == "nominated" and case.listing_agreed_on == dt.date(2026, 5, 20)
    assert Exemption.objects.get(pk=exemption.pk).case == case
    with pytest.raises(RuleViolation) as info:
        services.confirm_exemption(actor=world["head"], exemption=exemption, reason=REASON)
    assert info.value.code == "transition_not_allowed"


def test_a_pending_exemption_blocks_a_second_nomination(world, _frozen_today):
    cleared(world)
    at(_frozen_today, dt.date(2027, 6, 1))
    renominate(world)
    with pytest.raises(RuleViolation) as info:
        renominate(world)
    assert info.value.code == "exemption_pending"


def test_a_suspended_result_does_not_exempt(world, _frozen_today):
    _case, clearance = cleared(world)
    services.report_event(actor=world["business"], clearance=clearance, kind="concerning_event",
                          occurred_on=dt.date(2026, 6, 1), description="多額の借入れについての申告があった。")
    at(_frozen_today, dt.date(2027, 6, 1))
    result = services.nominate(actor=world["business"], person=world.people["subject"].person,
                               contract=world.mic_contract, **FIELDS)
    assert result.exemption is None


def test_an_organs_own_staff_result_exempts_their_later_nomination_by_the_organ(world, _frozen_today):
    staff = world.people["meti_staff"].person
    case = services.nominate(actor=world["security"], person=staff, **FIELDS).case
    to_notified(world, case)
    at(_frozen_today, dt.date(2028, 6, 1))
    again = services.nominate(actor=world["security"], person=staff, **FIELDS)
    assert again.exemption is not None and again.exemption.organ == world.orgs["METI"]
