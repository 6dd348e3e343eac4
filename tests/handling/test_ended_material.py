"""Material of a designation that is no longer in force (DOMAIN §2, §5; docs/vault.md).

Expired or cancelled material is read only by people who are still valid handlers: every condition
of `designation.material.read` except "in force" still applies (a removed, lapsed, departed or
unbriefed handler, or one whose clearance expired, is refused), plus the holding organ's keepers.
Material moved to SDS is SDS: access follows the SDS successor designation's handler list, SDS
clearance and SDS briefing, or is refused with `moved_to_sds`.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from hozen.access.policy import decide
from hozen.assessment.models import Clearance
from hozen.handling import services
from hozen.handling.models import HandlerEntry
from hozen.rules.queries import current_pack
from tests import factories
from tests.handling_factories import actor_for, keeper_for, make_cleared_handler

from .conftest import TODAY

VAULT_READ = "vault.material.read"
ENDED_READ = "designation.material.read_ended"


def _cancel(designation, people):
    from hozen.designation import services as designations

    designations.cancel(actor=actor_for(people["organ_head"]), designation=designation,
                        reason="要件を欠くに至ったため解除する。")
    designation.refresh_from_db()
    return designation


def _move_to_sds(designation, people):
    from hozen.designation import services as designations

    pack = current_pack("sds", TODAY)
    item = pack.sub_items.select_related("category").order_by("position").first()
    successor = designations.move_to_sds(
        actor=actor_for(people["organ_head"]), designation=designation, reason="著しい支障のおそれがあると判断したため",
        sds_category=item.category, sds_sub_item=item, term_end=dt.date(2031, 5, 31),
        justification_harm="漏えいすれば安全保障に著しい支障を与えるおそれがある。")
    designation.refresh_from_db()
    return successor


def _fresh(actor):
    return actor_for(actor.account, actor.organisation)


def _read(actor, designation):
    return decide(_fresh(actor), VAULT_READ, designation)


# --- expired or cancelled: every other condition still applies ---------------------------------------

def test_valid_handler_reads_cancelled_material(designation, people):
    actor = make_cleared_handler(designation)
    _cancel(designation, people)
    decision = _read(actor, designation)
    assert (decision.allowed, decision.code) == (True, "former_handler")
    assert decide(_fresh(actor), ENDED_READ, designation).allowed


def test_valid_handler_still_reads_after_the_lapse_job_closed_the_entry_for_the_designation_end(designation,
                                                                                                 people):
    from hozen.core.actor import Actor

    actor = make_cleared_handler(designation)
    _cancel(designation, people)
    services.lapse_and_review(actor=Actor.job("handling.lapse_and_review"))
    assert HandlerEntry.objects.get(account=actor.account).end_reason == "designation_ended"
    assert _read(actor, designation).allowed


def _remove(actor, designation, people):
    entry = HandlerEntry.objects.get(account=actor.account, designation=designation, ended_at__isnull=True)
    services.remove_handler(actor=keeper_for(entry.organisation), entry=entry, reason="不適切な取扱いのため")


def _entry_end_date_passed(actor, designation, people):
    HandlerEntry.objects.filter(account=actor.account).update(ends_on=dt.date(2026, 5, 31))


def _left_the_employer(actor, designation, people):
    from hozen.assessment import services as assessment

    clearance = Clearance.objects.get(person=actor.account.person)
    assessment.report_event(actor=actor_for(people["security_officer"]), clearance=clearance,
                            kind="left", occurred_on=dt.date(2026, 6, 1))


def _role_revoked(actor, designation, people):
    actor.account.role_assignments.update(revoked_at=timezone.now())


def _clearance_expired(actor, designation, people):
    Clearance.objects.filter(person=actor.account.person).update(valid_until=dt.date(2026, 5, 31))


def _clearance_suspended(actor, designation, people):
    Clearance.objects.filter(person=actor.account.person).update(suspended_at=timezone.now())


def _clearance_unfavourable(actor, designation, people):
    Clearance.objects.filter(person=actor.account.person).update(favourable=False, valid_until=None)


def _never_briefed(actor, designation, people):
    actor.account.briefing_acknowledgements.all().delete()


REFUSALS = {
    "removed_from_the_list": (_remove, "not_on_handler_list"),
    "entry_end_date_passed": (_entry_end_date_passed, "not_on_handler_list"),
    "left_the_employer": (_left_the_employer, "not_on_handler_list"),
    "role_revoked": (_role_revoked, "not_on_handler_list"),
    "clearance_expired": (_clearance_expired, "no_valid_assessment"),
    "clearance_suspended": (_clearance_suspended, "no_valid_assessment"),
    "clearance_unfavourable": (_clearance_unfavourable, "no_valid_assessment"),
    "never_briefed": (_never_briefed, "briefing_not_acknowledged"),
}


@pytest.mark.parametrize("case", sorted(REFUSALS))
@pytest.mark.parametrize("end", ["cancelled", "expired"])
def test_former_handler_who_is_no_longer_valid_is_refused_on_ended_material(designation, people, _frozen_today,
                                                                           case, end):
    actor = make_cleared_handler(designation)
    flip, code = REFUSALS[case]
    flip(actor, designation, people)
    if end == "cancelled":
        _cancel(designation, people)
    else:  # the designation's state says expired (the expiry job), its term having ended
        from hozen.designation.models import Designation

        Designation.objects.filter(pk=designation.pk).update(state="expired")
        designation.refresh_from_db()
    decision = _read(actor, designation)
    assert (decision.allowed, decision.code) == (False, code)
    assert decide(_fresh(actor), ENDED_READ, designation).code == code


def test_never_listed_colleague_is_refused_on_cancelled_material_as_if_it_did_not_exist(designation, people, orgs):
    make_cleared_handler(designation)
    colleague = make_cleared_handler(designation, factories.account(role="subject", organisation=orgs["METI"]))
    _remove(colleague, designation, people)
    stranger = actor_for(factories.account(role="subject", organisation=orgs["METI"]))
    _cancel(designation, people)
    assert _read(stranger, designation).code == "not_on_handler_list"


def test_holding_organ_keeper_reads_cancelled_material_to_re_mark_or_destroy_it(designation, people):
    _cancel(designation, people)
    decision = _read(actor_for(people["esi_manager"]), designation)
    assert (decision.allowed, decision.code) == (True, "holding_organ_keeper")


def test_keeper_of_in_force_material_without_need_to_know_is_refused(designation, people):
    assert _read(actor_for(people["esi_manager"]), designation).code == "not_on_handler_list"


def test_designation_past_its_term_before_the_expiry_job_follows_the_same_rule(designation, _frozen_today):
    actor = make_cleared_handler(designation)
    _frozen_today.move_to(dt.datetime(2031, 6, 2, 3, 0, tzinfo=dt.UTC))
    assert _read(actor, designation).code == "briefing_not_acknowledged"  # twelve months have passed
    services.acknowledge_briefing(actor=_fresh(actor))
    assert _read(actor, designation).code == "former_handler"


# --- moved to SDS: access follows the SDS successor ------------------------------------------------

@pytest.fixture
def moved(designation, people):
    """(ESI designation moved to SDS, its SDS successor, an ESI handler of the ESI designation)."""
    esi_handler = make_cleared_handler(designation)
    successor = _move_to_sds(designation, people)
    return designation, successor, esi_handler


def test_esi_only_handler_cannot_read_material_moved_to_sds(moved):
    designation, _, esi_handler = moved
    decision = _read(esi_handler, designation)
    assert (decision.allowed, decision.code) == (False, "moved_to_sds")
    assert "SDS" in decision.reason("en") and "特定秘密" in decision.reason("ja")


def test_sds_handler_of_the_successor_reads_material_moved_to_sds(moved, orgs):
    designation, successor, _ = moved
    sds_handler = make_cleared_handler(successor, factories.account(role="subject", organisation=orgs["METI"]))
    decision = _read(sds_handler, designation)
    assert (decision.allowed, decision.code) == (True, "sds_handler")


def test_esi_handler_added_to_the_sds_list_needs_an_sds_clearance(moved):
    from tests.handling_factories import make_clearance

    designation, successor, esi_handler = moved
    # On the SDS list (an SDS clearance to be added), whose SDS clearance then expires.
    make_clearance(esi_handler.account, organ=designation.organisation, tier="sds")
    services.acknowledge_briefing(actor=_fresh(esi_handler), tier="sds")
    services.add_handler(actor=keeper_for(designation.organisation), designation=successor,
                         account=esi_handler.account)
    assert _read(esi_handler, designation).code == "sds_handler"
    Clearance.objects.filter(person=esi_handler.account.person, tier="sds").update(valid_until=dt.date(2026, 5, 31))
    assert _read(esi_handler, designation).code == "no_valid_assessment"


def test_keeper_gets_no_exception_on_material_moved_to_sds(moved, people):
    designation, _, _ = moved
    decision = _read(actor_for(people["esi_manager"]), designation)
    assert not decision.allowed and decision.code in ("not_on_handler_list", "moved_to_sds")


def test_stranger_hears_not_listed_for_material_moved_to_sds(moved, orgs):
    designation, _, _ = moved
    stranger = actor_for(factories.account(role="subject", organisation=orgs["METI"]))
    assert _read(stranger, designation).code == "not_on_handler_list"


# --- the explanation says what the vault applies ----------------------------------------------------

def test_explain_of_cancelled_material_tells_a_valid_handler_they_may_open_it(designation, people):
    from hozen.handling import queries

    actor = make_cleared_handler(designation)
    _cancel(designation, people)
    x = queries.explain(_fresh(actor), designation.pk)
    assert (x.allowed, x.code) == (True, "former_handler")
    assert {c.name: c.passed for c in x.conditions}["designation"] is False  # shown as it is


def test_explain_of_material_moved_to_sds_gives_an_esi_only_handler_the_reason(moved):
    from hozen.handling import queries

    designation, _, esi_handler = moved
    x = queries.explain(_fresh(esi_handler), designation.pk)
    assert (x.allowed, x.code) == (False, "moved_to_sds")
