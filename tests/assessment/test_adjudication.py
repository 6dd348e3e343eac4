"""Adjudication (DOMAIN §6 step 6), concurrence, notification, and separation of duties
(ARCHITECTURE rule 5): investigator, adjudicator, concurring adjudicator and complaint handler of
one case are different people."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from hozen.access.policy import PolicyDenied
from hozen.assessment import queries, services
from hozen.assessment.models import Adjudication, CaseDuty
from hozen.assessment.states import State
from hozen.core import services as core_services
from hozen.core.errors import RuleViolation
from hozen.crypto import reveal
from tests import factories

from .conftest import (
    REASONS,
    SUMMARY,
    actor_of,
    answered_inquiry,
    fill_questionnaire,
    fresh,
    nominate,
    to_consented,
    to_investigation_complete,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def complete(world):
    return to_investigation_complete(world, nominate(world))


def give_role(world, account, role, org):
    core_services.assign_role(actor=factories.operator(), account=account, role=role, organisation=world.orgs[org])
    return actor_of(account, role)


def test_the_adjudication_has_reasons_for_each_of_the_seven_items_and_stores_the_rules_version(world, complete):
    services.assign_adjudicator(actor=world["head"], case=complete, adjudicator=world.people["adjudicator"])
    with pytest.raises(RuleViolation) as info:
        services.adjudicate(actor=world["adjudicator"], case=complete, outcome="favourable",
                            reasons={k: v for k, v in REASONS.items() if k != "item_6"})
    assert (info.value.code, info.value.field) == ("reason_per_item_required", "reasons.item_6")
    adjudication = services.adjudicate(actor=world["adjudicator"], case=complete, outcome="favourable", reasons=REASONS)
    assert str(adjudication.rules_pack) == "jp-esi-2025 v1" and adjudication.round == 1
    assert fresh(complete).state == State.ADJUDICATED_FAVOURABLE


def test_only_the_assigned_adjudicator_decides(world, complete):
    with pytest.raises(PolicyDenied) as info:
        services.adjudicate(actor=world["adjudicator"], case=complete, outcome="favourable", reasons=REASONS)
    assert info.value.decision.code == "not_assigned_to_case"
    services.assign_adjudicator(actor=world["head"], case=complete, adjudicator=world.people["adjudicator"])
    for who in ("adjudicator2", "head", "investigator", "security"):
        with pytest.raises(PolicyDenied):
            services.adjudicate(actor=world[who], case=complete, outcome="favourable", reasons=REASONS)


def test_the_investigator_cannot_also_be_the_adjudicator_of_the_case(world, complete):
    # One person holds both roles (investigator at the Cabinet Office, adjudicator at METI).
    investigator_as_adjudicator = give_role(world, world.people["investigator"], "adjudicator", "METI")
    with pytest.raises(PolicyDenied) as info:
        services.assign_adjudicator(actor=world["head"], case=complete, adjudicator=world.people["investigator"])
    assert info.value.decision.code == "separation_of_duties"
    with pytest.raises(PolicyDenied) as info:
        services.adjudicate(actor=investigator_as_adjudicator, case=complete, outcome="favourable", reasons=REASONS)
    assert info.value.decision.code == "separation_of_duties"


def test_an_unfavourable_decision_needs_a_second_adjudicator_not_on_the_case(world, complete):
    services.assign_adjudicator(actor=world["head"], case=complete, adjudicator=world.people["adjudicator"])
    services.adjudicate(actor=world["adjudicator"], case=complete, outcome="unfavourable", reasons=REASONS)
    with pytest.raises(PolicyDenied) as info:  # the adjudicator cannot concur with themselves
        services.assign_concurring_adjudicator(actor=world["head"], case=complete,
                                               adjudicator=world.people["adjudicator"])
    assert info.value.decision.code == "separation_of_duties"
    with pytest.raises(PolicyDenied) as info:  # nor can they concur unassigned
        services.concur(actor=world["adjudicator"], case=complete, agree=True)
    assert info.value.decision.code == "separation_of_duties"
    services.assign_concurring_adjudicator(actor=world["head"], case=complete, adjudicator=world.people["adjudicator2"])
    services.concur(actor=world["adjudicator2"], case=complete, agree=True)
    adjudication = Adjudication.objects.get(case=complete)
    assert adjudication.concurrence == "agreed" and adjudication.concurred_by == world.people["adjudicator2"]
    assert fresh(complete).state == State.ADJUDICATED_UNFAVOURABLE


def test_without_concurrence_the_case_goes_back_for_a_new_decision(world, complete):
    services.assign_adjudicator(actor=world["head"], case=complete, adjudicator=world.people["adjudicator"])
    services.adjudicate(actor=world["adjudicator"], case=complete, outcome="unfavourable", reasons=REASONS)
    services.assign_concurring_adjudicator(actor=world["head"], case=complete, adjudicator=world.people["adjudicator2"])
    services.concur(actor=world["adjudicator2"], case=complete, agree=False)
    assert fresh(complete).state == State.INVESTIGATION_COMPLETE
    second = services.adjudicate(actor=world["adjudicator"], case=complete, outcome="favourable", reasons=REASONS)
    assert second.round == 2 and fresh(complete).state == State.ADJUDICATED_FAVOURABLE


def test_nobody_holds_a_duty_on_their_own_assessment_or_on_one_they_nominated(world):
    staff = world.people["meti_staff"]
    give_role(world, staff, "adjudicator", "METI")
    case = services.nominate(actor=world["security"], person=staff.person, department="総務課", post="係長",
                             listing_agreed_on=dt.date(2026, 5, 20)).case
    case = to_investigation_complete(world, case)
    with pytest.raises(PolicyDenied) as info:
        services.assign_adjudicator(actor=world["head"], case=case, adjudicator=staff)
    assert info.value.decision.code == "own_case"
    give_role(world, world.people["security_officer"], "adjudicator", "METI")
    with pytest.raises(PolicyDenied) as info:
        services.assign_adjudicator(actor=world["head"], case=case, adjudicator=world.people["security_officer"])
    assert info.value.decision.code == "nominator_cannot_take_duty"


def test_the_database_refuses_a_second_duty_for_one_person_on_one_case(world, complete):
    with pytest.raises(IntegrityError), transaction.atomic():
        CaseDuty.objects.create(case=complete, kind="adjudicator", account=world.people["investigator"],
                                assigned_by={"kind": "test"})


def test_the_subject_receives_the_reasons_unless_they_waived_them_in_advance(world):
    case = to_consented(world, nominate(world))
    subject = world.subject_actor(case.person)
    services.waive_reasons(actor=subject, case=case)
    fill_questionnaire(world, case)
    services.submit_questionnaire(actor=subject, case=case)
    case = notified_from_submitted(world, case)
    adjudication = Adjudication.objects.get(case=case)
    assert adjudication.reasons_waived is True
    result = queries.result_for_subject(subject, case)
    assert result["favourable"] is True and result["reasons"] is None and result["reasons_waived"]
    with pytest.raises(PolicyDenied) as info:
        reveal(subject, adjudication, "reasons", purpose="subject_access")
    assert info.value.decision.code == "reasons_waived"


def notified_from_submitted(world, case):
    services.assign_investigator(actor=world["cao_head"], case=case, investigator=world.people["investigator"])
    answered_inquiry(world, case)
    services.schedule_interview(actor=world["investigator"], case=case, at=timezone.now())
    for n in range(1, 8):
        services.record_finding(actor=world["investigator"], case=case, item=f"item_{n}", text="懸念なし")
    services.complete_investigation(actor=world["investigator"], case=case, summary=SUMMARY)
    services.assign_adjudicator(actor=world["head"], case=case, adjudicator=world.people["adjudicator"])
    services.adjudicate(actor=world["adjudicator"], case=case, outcome="favourable", reasons=REASONS)
    services.notify_result(actor=world["security"], case=case)
    return fresh(case)


def test_the_subject_sees_the_reasons_only_once_notified(world, complete):
    services.assign_adjudicator(actor=world["head"], case=complete, adjudicator=world.people["adjudicator"])
    adjudication = services.adjudicate(actor=world["adjudicator"], case=complete, outcome="favourable", reasons=REASONS)
    subject = world.subject_actor(complete.person)
    with pytest.raises(PolicyDenied) as info:
        reveal(subject, Adjudication.objects.get(pk=adjudication.pk), "reasons", purpose="subject_access")
    assert info.value.decision.code == "not_notified"
    services.notify_result(actor=world["security"], case=complete)
    assert reveal(subject, Adjudication.objects.get(pk=adjudication.pk), "reasons", purpose="subject_access") == REASONS


def test_notification_ends_the_investigators_and_adjudicators_access(world, complete):
    services.assign_adjudicator(actor=world["head"], case=complete, adjudicator=world.people["adjudicator"])
    services.adjudicate(actor=world["adjudicator"], case=complete, outcome="favourable", reasons=REASONS)
    services.notify_result(actor=world["security"], case=complete)
    assert not CaseDuty.objects.filter(case=complete, ended_at__isnull=True).exists()
    with pytest.raises(PolicyDenied):
        reveal(world["investigator"], complete.sections.first(), "content", purpose="investigation")


def test_only_the_deciding_organ_notifies_the_result(world, complete):
    services.assign_adjudicator(actor=world["head"], case=complete, adjudicator=world.people["adjudicator"])
    services.adjudicate(actor=world["adjudicator"], case=complete, outcome="favourable", reasons=REASONS)
    for who in ("business", "mic_head", "adjudicator", "investigator"):
        with pytest.raises(PolicyDenied):
            services.notify_result(actor=world[who], case=complete)
