"""Facts are cached per request and never stale: a revocation, a suspension, an expiry or a
removal from the list is seen by the very next decision of the same request."""

from __future__ import annotations

import datetime as dt
from contextlib import contextmanager

import pytest
from django.utils import timezone

from hozen.access.policy import decide
from hozen.assessment.models import Clearance
from hozen.handling import facts, services
from hozen.handling.models import HandlerEntry
from hozen.operators.models import Certification
from tests.handling_factories import actor_for, keeper_for, make_cleared_handler

READ = "designation.material.read"


@pytest.fixture
def staff_keeper(orgs, people):
    return keeper_for(orgs["METI"]), orgs


def test_second_decision_in_a_request_reads_nothing(designation, django_assert_num_queries):
    actor = make_cleared_handler(designation)
    assert decide(actor, READ, designation).allowed
    with django_assert_num_queries(0):
        assert decide(actor, READ, designation).allowed


def test_a_new_request_reads_the_facts_again(designation, django_assert_max_num_queries):
    actor = make_cleared_handler(designation)
    assert decide(actor, READ, designation).allowed
    again = actor_for(actor.account)
    with django_assert_max_num_queries(8):
        assert decide(again, READ, designation).allowed


def test_cache_not_stale_after_handler_removal(designation, orgs):
    actor = make_cleared_handler(designation)
    assert decide(actor, READ, designation).allowed
    entry = HandlerEntry.objects.get(account=actor.account, ended_at__isnull=True)
    services.remove_handler(actor=keeper_for(orgs["METI"]), entry=entry)
    assert decide(actor, READ, designation).code == "not_on_handler_list"


def test_cache_not_stale_after_suspension(designation):
    actor = make_cleared_handler(designation)
    assert decide(actor, READ, designation).allowed
    Clearance.objects.filter(person=actor.account.person).update(suspended_at=timezone.now())
    assert decide(actor, READ, designation).code == "no_valid_assessment"


def test_cache_not_stale_after_suspension_through_a_reported_concern(designation, people):
    from hozen.assessment import services as assessment

    actor = make_cleared_handler(designation)
    assert decide(actor, READ, designation).allowed
    clearance = Clearance.objects.get(person=actor.account.person)
    assessment.report_event(actor=actor_for(people["security_officer"]), clearance=clearance,
                            kind="concerning_event", occurred_on=dt.date(2026, 5, 30),
                            description="多額の借入れが判明した。")
    assert decide(actor, READ, designation).code == "no_valid_assessment"


def test_cache_not_stale_after_certification_revoked(provided, towa_employee, orgs):
    actor = make_cleared_handler(provided, towa_employee)
    assert decide(actor, READ, provided).allowed
    cert = Certification.objects.get(business=orgs["TOWA"])
    cert.revoked_on = dt.date(2026, 6, 1)
    cert.save(update_fields=["revoked_on"])
    assert decide(actor, READ, provided).code == "no_active_contract"


def test_cache_not_stale_after_expiry(designation, _frozen_today):
    actor = make_cleared_handler(designation, valid_until=dt.date(2026, 6, 1))
    assert decide(actor, READ, designation).allowed
    _frozen_today.move_to(dt.datetime(2026, 6, 2, 3, 0, tzinfo=dt.UTC))  # no write at all: time passes
    assert decide(actor, READ, designation).code == "no_valid_assessment"


def test_cache_not_stale_after_a_reported_departure(designation, people):
    from hozen.assessment import services as assessment

    actor = make_cleared_handler(designation)
    assert decide(actor, READ, designation).allowed
    clearance = Clearance.objects.get(person=actor.account.person)
    assessment.report_event(actor=actor_for(people["security_officer"]), clearance=clearance,
                            kind="transferred", occurred_on=dt.date(2026, 6, 1), new_post="総務部 主任")
    assert decide(actor, READ, designation).code == "not_on_handler_list"


def test_explicit_invalidation_drops_the_cache(designation):
    actor = make_cleared_handler(designation)
    assert decide(actor, READ, designation).allowed
    before = facts.generation()
    facts.invalidate()
    assert facts.generation() == before + 1
    assert facts.for_request(actor).persons == {}


def test_cache_lives_no_longer_than_its_time_to_live(designation, settings):
    actor = make_cleared_handler(designation)
    decide(actor, READ, designation)
    settings.HOZEN_ACCESS_FACTS_TTL_SECONDS = 0
    assert facts.for_request(actor).persons == {}


def test_cache_not_stale_after_the_clearance_is_ended(designation):
    # What the assessment app does when a re-assessment ends unfavourably (a bulk update).
    actor = make_cleared_handler(designation)
    assert decide(actor, READ, designation).allowed
    Clearance.objects.filter(person=actor.account.person, ended_on__isnull=True).update(
        ended_on=dt.date(2026, 6, 1), end_reason="reassessment_unfavourable")
    assert decide(actor, READ, designation).code == "no_valid_assessment"


def test_cache_not_stale_after_the_designation_is_cancelled(designation, people):
    from hozen.designation import services as designations

    actor = make_cleared_handler(designation)
    assert decide(actor, READ, designation).allowed
    designations.cancel(actor=actor_for(people["organ_head"]), designation=designation,
                        reason="非公知性の要件を欠くに至ったため解除する。")
    assert decide(actor, READ, designation).code == "designation_not_in_force"


def test_facts_read_inside_a_rolled_back_transaction_are_not_kept(designation, staff_keeper):
    from django.db import transaction

    from tests import factories
    from tests.handling_factories import make_clearance

    keeper, orgs = staff_keeper
    account = factories.account(role="subject", organisation=orgs["METI"])
    make_clearance(account, organ=orgs["METI"])
    actor = actor_for(account)
    services.acknowledge_briefing(actor=actor)
    assert decide(actor, READ, designation).code == "not_on_handler_list"

    class Abort(Exception):
        pass

    try:
        with transaction.atomic():
            HandlerEntry.objects.create(designation=designation, organisation=orgs["METI"], account=account,
                                        starts_on=dt.date(2026, 6, 1), ends_on=dt.date(2031, 5, 31),
                                        added_by={}, review_due=dt.date(2027, 6, 1))
            assert decide(actor, READ, designation).allowed  # seen inside the transaction
            raise Abort
    except Abort:
        pass
    assert decide(actor, READ, designation).code == "not_on_handler_list"


# --- the cache belongs to the server's request object, never to a client-chosen id -------------------

@contextmanager
def _another_process():
    """Writes as another app process or the CLI would make them: this process's watcher does not
    see them, so its generation does not move (the only thing telling this process is the database)."""
    from django.db import connection

    connection.execute_wrappers.remove(facts._watch)
    before = facts.generation()
    try:
        yield
    finally:
        connection.execute_wrappers.append(facts._watch)
    assert facts.generation() == before


def _same_request_id(actor):
    from hozen.core.actor import Actor

    return Actor.for_account(actor.account, actor.assignment, channel="web", request_id=actor.request_id)


def test_a_reused_request_id_does_not_carry_facts_into_another_request(designation):
    actor = make_cleared_handler(designation)
    assert decide(actor, READ, designation).allowed
    again = _same_request_id(actor)  # a client sending the same X-Request-ID on its next request
    assert facts.for_request(again) is not facts.for_request(actor)
    assert facts.for_request(again).persons == {}


def test_a_suspension_written_by_another_process_is_seen_by_the_next_request(designation):
    actor = make_cleared_handler(designation)
    assert decide(actor, READ, designation).allowed
    with _another_process():
        Clearance.objects.filter(person=actor.account.person).update(suspended_at=timezone.now())
    assert decide(_same_request_id(actor), READ, designation).code == "no_valid_assessment"
    assert decide(actor_for(actor.account), READ, designation).code == "no_valid_assessment"


def test_a_removal_written_by_another_process_is_seen_by_the_next_request(designation):
    actor = make_cleared_handler(designation)
    assert decide(actor, READ, designation).allowed
    with _another_process():
        HandlerEntry.objects.filter(account=actor.account).update(ended_at=timezone.now(), end_reason="removed")
    assert decide(_same_request_id(actor), READ, designation).code == "not_on_handler_list"


def test_a_rules_pack_published_by_another_process_asks_for_a_new_briefing_at_the_next_request(designation):
    from hozen.core.actor import Actor
    from hozen.rules import services as rules_services
    from hozen.rules.queries import current_pack

    actor = make_cleared_handler(designation)
    assert decide(actor, READ, designation).allowed
    pack = current_pack("esi", dt.date(2026, 6, 1))
    text = pack.source_text.replace("version: 1\n", "version: 2\n", 1).replace(
        "effective_from: 2025-05-16", "effective_from: 2026-06-01", 1)
    with _another_process():
        rules_services.publish_pack(actor=Actor.operator("tests"), source_text=text, filename="jp-esi-2025-v2.yaml")
    assert decide(actor_for(actor.account), READ, designation).code == "briefing_not_acknowledged"

