"""DOMAIN §5: who may read or handle designated material. Every condition is needed: with all of
them the decision allows, and taking any one away denies with that condition's reason code."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from hozen.access.policy import PolicyDenied, audit_unrecorded_denial, decide, require
from hozen.assessment.models import Clearance
from hozen.handling import services
from hozen.handling.models import HandlerEntry
from hozen.operators.models import Certification, Contract
from tests.handling_factories import actor_for, keeper_for, make_cleared_handler

READ = "designation.material.read"


def fresh_actor(actor):
    """The same person in a new request (nothing cached from the previous one)."""
    return actor_for(actor.account, actor.organisation)


def _entry(actor, designation):
    return HandlerEntry.objects.get(account=actor.account, designation=designation, ended_at__isnull=True)


# --- each condition, taken away ------------------------------------------------------------------

def _remove_from_list(ctx):
    services.remove_handler(actor=keeper_for(ctx["entry"].organisation), entry=ctx["entry"])


def _cancel_designation(ctx):
    from hozen.designation import services as designations

    designations.cancel(actor=actor_for(ctx["people"]["organ_head"]), designation=ctx["designation"],
                        reason="要件を欠くに至ったため")


def _suspend_clearance(ctx):
    # What the assessment app does on a reported concern (a bulk update, as a job might).
    Clearance.objects.filter(person=ctx["actor"].account.person).update(suspended_at=timezone.now())


def _end_clearance(ctx):
    Clearance.objects.filter(person=ctx["actor"].account.person).update(
        ended_on=dt.date(2026, 6, 1), end_reason="reassessment_unfavourable")


def _terminate_contract(ctx):
    Contract.objects.filter(business=ctx["orgs"]["TOWA"]).update(terminated_on=dt.date(2026, 6, 1))


def _revoke_certification(ctx):
    for cert in Certification.objects.filter(business=ctx["orgs"]["TOWA"]):
        cert.revoked_on = dt.date(2026, 6, 1)
        cert.save()


def _department_dropped(ctx):
    for contract in Contract.objects.filter(business=ctx["orgs"]["TOWA"]):
        contract.authorised_departments = ["営業部"]
        contract.save()


def _forget_briefing(ctx):
    ctx["actor"].account.briefing_acknowledgements.all().delete()


FLIPS = {
    "not_on_handler_list": _remove_from_list,
    "designation_not_in_force": _cancel_designation,
    "no_valid_assessment": _suspend_clearance,
    "briefing_not_acknowledged": _forget_briefing,
}
BUSINESS_FLIPS = {
    **FLIPS,
    "no_active_contract": _terminate_contract,
}


@pytest.fixture
def ctx(designation, people, orgs):
    actor = make_cleared_handler(designation)
    return {"actor": actor, "designation": designation, "people": people, "orgs": orgs,
            "entry": _entry(actor, designation)}


@pytest.fixture
def business_ctx(provided, towa_employee, people, orgs):
    actor = make_cleared_handler(provided, towa_employee)
    return {"actor": actor, "designation": provided, "people": people, "orgs": orgs,
            "entry": _entry(actor, provided)}


def test_handler_meeting_every_condition_may_read(ctx):
    decision = decide(ctx["actor"], READ, ctx["designation"])
    assert decision.allowed and decision.code == "handler"
    assert decide(ctx["actor"], "designation.material.handle", ctx["designation"]).allowed


def test_business_handler_meeting_every_condition_may_read(business_ctx):
    assert decide(business_ctx["actor"], READ, business_ctx["designation"]).allowed


@pytest.mark.parametrize("code", sorted(FLIPS))
def test_each_condition_is_required_for_organ_staff(ctx, code):
    assert decide(ctx["actor"], READ, ctx["designation"]).allowed
    FLIPS[code](ctx)
    for actor in (ctx["actor"], fresh_actor(ctx["actor"])):  # cached request, and a new one
        decision = decide(actor, READ, ctx["designation"])
        assert not decision.allowed
        assert decision.code == code
        assert decision.reason("en") and decision.reason("ja")


@pytest.mark.parametrize("code", sorted(BUSINESS_FLIPS))
def test_each_condition_is_required_for_business_staff(business_ctx, code):
    assert decide(business_ctx["actor"], READ, business_ctx["designation"]).allowed
    BUSINESS_FLIPS[code](business_ctx)
    for actor in (business_ctx["actor"], fresh_actor(business_ctx["actor"])):
        decision = decide(actor, READ, business_ctx["designation"])
        assert (decision.allowed, decision.code) == (False, code)


@pytest.mark.parametrize("flip", [_revoke_certification, _department_dropped])
def test_business_staff_need_an_active_certification_and_their_department_covered(business_ctx, flip):
    flip(business_ctx)
    decision = decide(business_ctx["actor"], READ, business_ctx["designation"])
    assert (decision.allowed, decision.code) == (False, "no_active_contract")


def test_contract_condition_does_not_apply_to_organ_staff(ctx):
    Contract.objects.update(terminated_on=dt.date(2026, 6, 1))
    assert decide(ctx["actor"], READ, ctx["designation"]).allowed


# --- the assessment condition in detail -----------------------------------------------------------

def test_expired_assessment_denies(designation, _frozen_today):
    actor = make_cleared_handler(designation, valid_until=dt.date(2026, 12, 31))
    assert decide(actor, READ, designation).allowed
    _frozen_today.move_to(dt.datetime(2027, 1, 1, 3, 0, tzinfo=dt.UTC))
    decision = decide(actor, READ, designation)
    assert (decision.allowed, decision.code) == (False, "no_valid_assessment")


def test_assessment_of_the_other_tier_does_not_count(designation):
    actor = make_cleared_handler(designation, tier="sds")
    assert decide(actor, READ, designation).code == "no_valid_assessment"


def test_esi_assessment_does_not_open_sds_material(make_designation):
    sds = make_designation(tier="sds")
    actor = make_cleared_handler(sds, tier="esi")
    assert decide(actor, READ, sds).code == "no_valid_assessment"
    assert decide(make_cleared_handler(sds), READ, sds).allowed


def test_ended_assessment_denies(ctx):
    _end_clearance(ctx)
    assert decide(ctx["actor"], READ, ctx["designation"]).code == "no_valid_assessment"


# --- the designation condition --------------------------------------------------------------------

def test_designation_past_its_term_denies_even_before_the_expiry_job(designation, _frozen_today):
    actor = make_cleared_handler(designation)
    _frozen_today.move_to(dt.datetime(2031, 6, 2, 3, 0, tzinfo=dt.UTC))
    # Keep the other conditions true on that day: a fresh clearance and briefing.
    from tests.handling_factories import make_clearance

    make_clearance(actor.account, organ=designation.organisation)
    services.acknowledge_briefing(actor=actor)
    decision = decide(actor, READ, designation)
    assert (decision.allowed, decision.code) == (False, "designation_not_in_force")


def test_handler_entry_past_its_end_date_denies(ctx, _frozen_today):
    HandlerEntry.objects.filter(pk=ctx["entry"].pk).update(ends_on=dt.date(2026, 6, 30))
    assert decide(ctx["actor"], READ, ctx["designation"]).allowed
    _frozen_today.move_to(dt.datetime(2026, 7, 1, 3, 0, tzinfo=dt.UTC))
    assert decide(ctx["actor"], READ, ctx["designation"]).code == "not_on_handler_list"


# --- the briefing condition ----------------------------------------------------------------------

def test_briefing_older_than_the_maximum_age_must_be_acknowledged_again(ctx, _frozen_today, settings):
    settings.HOZEN_BRIEFING_MAX_AGE_DAYS = 30
    _frozen_today.move_to(dt.datetime(2026, 7, 2, 3, 0, tzinfo=dt.UTC))
    assert decide(ctx["actor"], READ, ctx["designation"]).code == "briefing_not_acknowledged"
    services.acknowledge_briefing(actor=ctx["actor"])
    assert decide(ctx["actor"], READ, ctx["designation"]).allowed


def test_briefing_default_maximum_age_is_twelve_months(ctx, _frozen_today):
    _frozen_today.move_to(dt.datetime(2027, 5, 31, 3, 0, tzinfo=dt.UTC))
    assert decide(ctx["actor"], READ, ctx["designation"]).allowed
    _frozen_today.move_to(dt.datetime(2027, 6, 2, 3, 0, tzinfo=dt.UTC))
    assert decide(ctx["actor"], READ, ctx["designation"]).code == "briefing_not_acknowledged"


def test_rules_pack_change_requires_a_new_briefing_acknowledgement(ctx, _frozen_today):
    from hozen.rules import services as rules_services
    from hozen.rules.queries import current_pack

    pack = current_pack("esi", dt.date(2026, 6, 1))
    text = pack.source_text.replace("version: 1\n", "version: 2\n", 1).replace(
        "effective_from: 2025-05-16", "effective_from: 2026-06-01", 1)
    from tests.handling_factories import _one_of  # the server operator publishes packs

    rules_services.publish_pack(actor=_operator(), source_text=text, filename="jp-esi-2025-v2.yaml")
    assert current_pack("esi", dt.date(2026, 6, 1)).version == 2
    assert decide(ctx["actor"], READ, ctx["designation"]).code == "briefing_not_acknowledged"
    services.acknowledge_briefing(actor=ctx["actor"])
    assert decide(ctx["actor"], READ, ctx["designation"]).allowed
    assert _one_of  # imported helper exists


def _operator():
    from hozen.core.actor import Actor

    return Actor.operator("tests")


# --- exempt office holders ------------------------------------------------------------------------

def test_exempt_office_holder_passes_the_assessment_condition_only(designation, people, orgs):
    from tests import factories

    minister = factories.account(role="subject", organisation=orgs["METI"])
    services.record_office_holding(actor=_operator(), account=minister, office="minister_of_state",
                                   since=dt.date(2026, 1, 1))
    actor = actor_for(minister)
    # Exempt from the assessment: the keeper can list them...
    services.add_handler(actor=keeper_for(orgs["METI"]), designation=designation, account=minister)
    # ...but the briefing is still needed,
    assert decide(actor, READ, designation).code == "briefing_not_acknowledged"
    services.acknowledge_briefing(actor=actor)
    assert decide(actor, READ, designation).allowed
    # and the handler list too.
    services.remove_handler(actor=keeper_for(orgs["METI"]),
                            entry=HandlerEntry.objects.get(account=minister, ended_at__isnull=True))
    assert decide(actor, READ, designation).code == "not_on_handler_list"


def test_office_not_in_the_rules_pack_is_refused(people):
    from hozen.core.errors import RuleViolation

    with pytest.raises(RuleViolation) as e:
        services.record_office_holding(actor=_operator(), account=people["subject"], office="mayor",
                                       since=dt.date(2026, 1, 1))
    assert e.value.code == "unknown_office"


def test_office_holding_that_ended_no_longer_exempts(designation, orgs, _frozen_today):
    from tests import factories

    minister = factories.account(role="subject", organisation=orgs["METI"])
    services.record_office_holding(actor=_operator(), account=minister, office="minister_of_state",
                                   since=dt.date(2026, 1, 1), until=dt.date(2026, 6, 30))
    services.add_handler(actor=keeper_for(orgs["METI"]), designation=designation, account=minister)
    actor = actor_for(minister)
    services.acknowledge_briefing(actor=actor)
    assert decide(actor, READ, designation).allowed
    _frozen_today.move_to(dt.datetime(2026, 7, 1, 3, 0, tzinfo=dt.UTC))
    assert decide(actor, READ, designation).code == "no_valid_assessment"


# --- who else is refused ---------------------------------------------------------------------------

def test_colleague_without_need_to_know_is_refused_without_learning_the_designation_state(ctx, orgs):
    from tests import factories
    from tests.handling_factories import make_clearance

    colleague = factories.account(role="subject", organisation=orgs["METI"])
    make_clearance(colleague, organ=orgs["METI"])
    actor = actor_for(colleague)
    services.acknowledge_briefing(actor=actor)
    _cancel_designation(ctx)
    decision = decide(actor, READ, ctx["designation"])
    assert (decision.allowed, decision.code) == (False, "not_on_handler_list")


def test_system_actor_is_refused(designation):
    from hozen.core.actor import Actor

    assert decide(Actor.job("x"), READ, designation).code == "not_signed_in"


def test_missing_designation_looks_like_no_need_to_know(ctx):
    assert decide(ctx["actor"], READ, 10**9).code == "not_on_handler_list"


def test_require_audits_a_denied_read(designation, orgs):
    from hozen.audit.models import AuditEntry
    from tests import factories

    actor = actor_for(factories.account(role="subject", organisation=orgs["METI"]))
    with pytest.raises(PolicyDenied) as e:
        require(actor, READ, designation)
    assert e.value.decision.code == "not_on_handler_list"
    audit_unrecorded_denial(actor, e.value)  # what the web, API and CLI error handlers do
    entry = AuditEntry.objects.filter(action=READ).last()
    assert entry is not None and entry.outcome == "denied" and "not_on_handler_list" in entry.data


# --- scope agrees with decide ------------------------------------------------------------------------

def test_material_scope_agrees_with_decide_on_every_designation(make_designation, provided, towa_employee, orgs,
                                                                people):
    from hozen.access import policy
    from hozen.designation.models import Designation
    from tests import factories

    other = make_designation()
    sds = make_designation(tier="sds")
    handler = make_cleared_handler(provided)
    make_cleared_handler(other, handler.account)
    make_cleared_handler(sds, handler.account, tier="esi")  # listed, wrong tier: refused
    business = make_cleared_handler(provided, towa_employee)
    unbriefed = make_cleared_handler(other, briefed=False)
    colleague = actor_for(factories.account(role="subject", organisation=orgs["METI"]))
    for actor in (handler, business, unbriefed, colleague, actor_for(people["esi_manager"])):
        for fresh in (actor, fresh_actor(actor)):
            visible = set(Designation.objects.filter(policy.scope(fresh, READ, Designation))
                          .values_list("pk", flat=True))
            for d in Designation.objects.all():
                assert (d.pk in visible) == decide(fresh, READ, d).allowed, (actor, d)
    assert set(Designation.objects.filter(policy.scope(handler, READ, Designation))) == {provided, other}


# --- every sub-condition, taken away (each test fails if its check is dropped from conditions.py) ----

def _explained(actor, designation, name):
    from hozen.handling import conditions

    return {c.name: c for c in conditions.evaluate(account_id=actor.account.pk, designation=designation)}[name]


def _contract_with_another_organ(ctx):
    Contract.objects.filter(business=ctx["orgs"]["TOWA"]).update(organ=ctx["orgs"]["MIC"])


def _contract_with_another_business(ctx):
    from hozen.core import services as core
    from hozen.core.roles import OrganisationKind

    other = core.create_organisation(actor=_operator(), code="NIPPO", kind=OrganisationKind.BUSINESS,
                                     name_ja="日邦工業株式会社", name_en="Nippo Industries")
    Contract.objects.filter(business=ctx["orgs"]["TOWA"]).update(business=other)


def _operator():
    from tests import factories

    return factories.operator()


def _certification_suspended(ctx):
    Certification.objects.filter(business=ctx["orgs"]["TOWA"]).update(suspended_on=dt.date(2026, 6, 1))


def _certification_not_yet_granted(ctx):
    Certification.objects.filter(business=ctx["orgs"]["TOWA"]).update(certified_on=dt.date(2026, 6, 2))


def _contract_past_valid_until(ctx):
    Contract.objects.filter(business=ctx["orgs"]["TOWA"]).update(valid_until=dt.date(2026, 5, 31))


def _contract_before_valid_from(ctx):
    Contract.objects.filter(business=ctx["orgs"]["TOWA"]).update(valid_from=dt.date(2026, 6, 2))


def _no_contract(ctx):
    HandlerEntry.objects.filter(pk=ctx["entry"].pk).update(contract=None)


CONTRACT_FLIPS = {
    "wrong_organ": _contract_with_another_organ,
    "wrong_business": _contract_with_another_business,
    "certification_suspended": _certification_suspended,
    "certification_not_yet_granted": _certification_not_yet_granted,
    "contract_past_valid_until": _contract_past_valid_until,
    "contract_before_valid_from": _contract_before_valid_from,
    "no_contract": _no_contract,
}
CONTRACT_DETAILS = {"wrong_organ": "wrong_organ", "wrong_business": "wrong_organ",
                    "no_contract": "no_contract", "certification_suspended": "certification_suspended"}


@pytest.mark.parametrize("case", sorted(CONTRACT_FLIPS))
def test_business_staff_contract_condition_in_every_part(business_ctx, case):
    """Contract of the holding organ with the listing business, active on the day (from/until, not
    terminated), certification granted and neither suspended nor revoked."""
    actor, designation = business_ctx["actor"], business_ctx["designation"]
    assert decide(actor, READ, designation).allowed
    CONTRACT_FLIPS[case](business_ctx)
    for a in (actor, fresh_actor(actor)):
        decision = decide(a, READ, designation)
        assert (decision.allowed, decision.code) == (False, "no_active_contract")
    assert _explained(actor, designation, "contract").detail == CONTRACT_DETAILS.get(case, "contract_inactive")


def test_unfavourable_assessment_denies(ctx):
    Clearance.objects.filter(person=ctx["actor"].account.person).update(favourable=False, valid_until=None)
    for a in (ctx["actor"], fresh_actor(ctx["actor"])):
        assert decide(a, READ, ctx["designation"]).code == "no_valid_assessment"
    assert _explained(ctx["actor"], ctx["designation"], "assessment").detail == "unfavourable"


def test_suspended_assessment_is_explained_as_suspended(ctx):
    _suspend_clearance(ctx)
    assert _explained(ctx["actor"], ctx["designation"], "assessment").detail == "suspended"


def test_handler_entry_not_started_yet_denies(ctx):
    HandlerEntry.objects.filter(pk=ctx["entry"].pk).update(starts_on=dt.date(2026, 6, 2))
    for a in (ctx["actor"], fresh_actor(ctx["actor"])):
        decision = decide(a, READ, ctx["designation"])
        assert (decision.allowed, decision.code) == (False, "not_on_handler_list")
    assert _explained(ctx["actor"], ctx["designation"], "handler_list").detail == "not_started"


def test_handler_entry_ended_denies(ctx):
    HandlerEntry.objects.filter(pk=ctx["entry"].pk).update(ended_at=timezone.now(), end_reason="removed")
    assert decide(fresh_actor(ctx["actor"]), READ, ctx["designation"]).code == "not_on_handler_list"
    assert _explained(ctx["actor"], ctx["designation"], "handler_list").detail == "entry_ended"


@pytest.mark.parametrize("business", [False, True])
def test_revoked_role_in_the_listing_organisation_lapses_the_entry(request, business):
    """Leaving or transferring shows first as the role assignment in the organisation being revoked
    (before any clearance event is reported): the entry lapses at once."""
    c = request.getfixturevalue("business_ctx" if business else "ctx")
    actor = c["actor"]
    assert decide(actor, READ, c["designation"]).allowed
    actor.account.role_assignments.filter(organisation=c["entry"].organisation).update(revoked_at=timezone.now())
    for a in (actor, fresh_actor(actor)):  # the same request sees it (watched table), and a new one
        assert decide(a, READ, c["designation"]).code == "not_on_handler_list"
    assert _explained(actor, c["designation"], "handler_list").detail == "role_revoked"


def test_a_role_in_another_organisation_does_not_keep_the_entry(ctx, orgs):
    from hozen.core.models import RoleAssignment

    account = ctx["actor"].account
    RoleAssignment.objects.create(account=account, role="subject", organisation=orgs["MIC"])  # moved to MIC
    account.role_assignments.filter(organisation=orgs["METI"]).update(revoked_at=timezone.now())
    assert decide(actor_for(account, orgs["MIC"]), READ, ctx["designation"]).code == "not_on_handler_list"


# --- exempt office holders: recorded by someone other than the person who benefits (issue 14 §5) -------

def test_nobody_records_an_exempt_office_for_themselves(people, orgs):
    """An organ head's delegate cannot record their own exempt office (not even acting in another role
    of theirs), and neither can the Cabinet Office's administrator; the organ's security officer
    records it for the head."""
    from hozen.core import services as core_services
    from hozen.handling.models import OfficeHolding
    from tests import factories

    head = people["organ_head"]
    core_services.assign_role(actor=factories.operator(), account=head, role="security_officer",
                              organisation=orgs["METI"])
    for actor in (actor_for(head, role="organ_head"), actor_for(head, role="security_officer")):
        with pytest.raises(PolicyDenied) as denied:
            services.record_office_holding(actor=actor, account=head, office="minister_of_state",
                                           since=dt.date(2026, 1, 1))
        assert denied.value.decision.code in ("not_office_recorder", "not_for_yourself")
    admin = people["sysadmin"]  # the Cabinet Office's
    with pytest.raises(PolicyDenied) as denied:
        services.record_office_holding(actor=actor_for(admin), account=admin, office="minister_of_state",
                                       since=dt.date(2026, 1, 1))
    assert denied.value.decision.code == "not_for_yourself"
    assert not OfficeHolding.objects.exists()
    services.record_office_holding(actor=actor_for(people["security_officer"]), account=head,
                                   office="minister_of_state", since=dt.date(2026, 1, 1))
    services.record_office_holding(actor=actor_for(admin), account=people["esi_manager"],
                                   office="minister_of_state", since=dt.date(2026, 1, 1))
    assert OfficeHolding.objects.count() == 2


def test_a_security_officer_records_an_exempt_office_only_for_their_own_organs_head(people, orgs):
    from hozen.handling.models import OfficeHolding
    from tests import factories

    officer = actor_for(people["security_officer"])  # METI's
    for account, code in ((people["esi_manager"], "not_own_organ_head"),  # METI staff, not its head
                          (factories.account(role="organ_head", organisation=orgs["MIC"]), "not_own_organ_head")):
        with pytest.raises(PolicyDenied) as denied:
            services.record_office_holding(actor=officer, account=account, office="minister_of_state",
                                           since=dt.date(2026, 1, 1))
        assert denied.value.decision.code == code
    with pytest.raises(PolicyDenied) as denied:
        services.record_office_holding(actor=actor_for(people["esi_manager"]), account=people["organ_head"],
                                       office="minister_of_state", since=dt.date(2026, 1, 1))
    assert denied.value.decision.code == "not_office_recorder"
    assert not OfficeHolding.objects.exists()
