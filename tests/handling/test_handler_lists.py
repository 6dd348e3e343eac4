"""DOMAIN §5 (2): the handler list of each designation, kept by the holder; need-to-know grants
that lapse by themselves; periodic review."""

from __future__ import annotations

import datetime as dt

import pytest

from hozen.access.policy import PolicyDenied, decide
from hozen.assessment.models import Clearance
from hozen.core.errors import RuleViolation
from hozen.handling import services
from hozen.handling.models import HandlerEntry, ReviewCampaign
from hozen.operators.models import Contract
from tests import factories
from tests.handling.conftest import audit_entries
from tests.handling_factories import actor_for, keeper_for, make_clearance, make_cleared_handler

READ = "designation.material.read"


def _job():
    from hozen.core.actor import Actor

    return Actor.job("handling.lapse_and_review")


@pytest.fixture
def staff(orgs):
    account = factories.account(role="subject", organisation=orgs["METI"])
    make_clearance(account, organ=orgs["METI"])
    return account


def test_keeper_adds_a_cleared_colleague_and_the_addition_is_audited(designation, keeper, staff):
    entry = services.add_handler(actor=keeper, designation=designation, account=staff, reason="設計審査の担当")
    assert entry.ends_on == designation.term_end
    assert entry.organisation.code == "METI" and entry.contract is None
    assert entry.review_due == dt.date(2027, 6, 1)
    [logged] = audit_entries("handling.handler.added")
    assert logged["details"]["account_id"] == staff.pk
    assert "設計審査" not in str(logged)  # free text stays out of the log


def test_person_without_valid_assessment_cannot_be_added_and_the_form_says_why(designation, keeper, orgs):
    nobody = factories.account(role="subject", organisation=orgs["METI"])
    with pytest.raises(RuleViolation) as e:
        services.add_handler(actor=keeper, designation=designation, account=nobody)
    assert e.value.code == "cannot_add_handler" and e.value.field == "account"
    assert "Valid aptitude assessment" in e.value.message_en and "有効な適性評価" in e.value.message_ja
    assert not HandlerEntry.objects.exists()


def test_suspended_assessment_is_not_revealed_as_such_to_the_keeper(designation, keeper, staff):
    Clearance.objects.filter(person=staff.person).update(suspended_at=dt.datetime(2026, 5, 1, tzinfo=dt.UTC))
    with pytest.raises(RuleViolation) as e:
        services.add_handler(actor=keeper, designation=designation, account=staff)
    assert "uspend" not in e.value.message_en and "停止" not in e.value.message_ja


def test_only_own_organisations_staff_can_be_listed(designation, keeper, orgs):
    other = factories.account(role="subject", organisation=orgs["MIC"])
    make_clearance(other, organ=orgs["MIC"])
    with pytest.raises(RuleViolation) as e:
        services.add_handler(actor=keeper, designation=designation, account=other)
    assert e.value.code == "not_staff"


def test_a_person_is_listed_once(designation, keeper, staff):
    services.add_handler(actor=keeper, designation=designation, account=staff)
    with pytest.raises(RuleViolation) as e:
        services.add_handler(actor=keeper, designation=designation, account=staff)
    assert e.value.code == "already_listed"


@pytest.mark.parametrize("ends_on, code", [(dt.date(2026, 5, 31), "ends_in_past"),
                                           (dt.date(2031, 6, 1), "ends_after_designation")])
def test_end_date_within_today_and_the_designations_term(designation, keeper, staff, ends_on, code):
    with pytest.raises(RuleViolation) as e:
        services.add_handler(actor=keeper, designation=designation, account=staff, ends_on=ends_on)
    assert (e.value.code, e.value.field) == (code, "ends_on")
    assert not HandlerEntry.objects.exists()


def test_cannot_add_to_a_designation_no_longer_in_force(designation, keeper, staff, people):
    from hozen.designation import services as designations

    designations.cancel(actor=actor_for(people["organ_head"]), designation=designation, reason="非公知性の要件を欠くに至ったため解除する。")
    designation.refresh_from_db()
    with pytest.raises(RuleViolation) as e:
        services.add_handler(actor=keeper, designation=designation, account=staff)
    assert "Designation in force" in e.value.message_en


@pytest.mark.parametrize("role", ["organ_head", "adjudicator", "subject"])
def test_only_list_keepers_add(designation, staff, orgs, role):
    actor = actor_for(factories.account(role=role, organisation=orgs["METI"]))
    with pytest.raises(PolicyDenied) as e:
        services.add_handler(actor=actor, designation=designation, account=staff)
    assert e.value.decision.code == "not_list_keeper"


def test_security_officer_keeps_the_list_too(designation, people, staff):
    entry = services.add_handler(actor=actor_for(people["security_officer"]), designation=designation, account=staff)
    assert entry.pk


def test_another_organ_that_does_not_hold_the_designation_keeps_no_list(designation, orgs):
    mic_manager = actor_for(factories.account(role="esi_manager", organisation=orgs["MIC"]))
    assert decide(mic_manager, "handling.list.view", designation).code == "not_a_holder"


# --- provided material: the business keeps its own list -------------------------------------------

def test_business_keeps_the_list_for_provided_material(provided, towa_employee, orgs):
    make_clearance(towa_employee, organ=orgs["METI"])
    officer = keeper_for(orgs["TOWA"])
    entry = services.add_handler(actor=officer, designation=provided, account=towa_employee, department="技術部")
    assert entry.contract is not None and entry.contract.organ.code == "METI"
    assert entry.ends_on == provided.term_end  # the contract runs longer


def test_business_staff_need_a_department_the_contract_allows(provided, towa_employee, orgs):
    make_clearance(towa_employee, organ=orgs["METI"])
    officer = keeper_for(orgs["TOWA"])
    with pytest.raises(RuleViolation) as e:
        services.add_handler(actor=officer, designation=provided, account=towa_employee, department="営業部")
    assert e.value.code == "cannot_add_handler"
    assert "contract" in e.value.message_en
    with pytest.raises(RuleViolation) as e:
        services.add_handler(actor=officer, designation=provided, account=towa_employee)
    assert e.value.code == "department_required"


def test_business_cannot_keep_a_list_of_material_not_provided_to_it(designation, orgs):
    assert decide(keeper_for(orgs["TOWA"]), "handling.list.view", designation).code == "not_a_holder"


def test_keeper_removes_only_their_own_organisations_entries(provided, towa_employee, orgs):
    actor = make_cleared_handler(provided, towa_employee)
    entry = HandlerEntry.objects.get(account=actor.account)
    with pytest.raises(PolicyDenied) as e:
        services.remove_handler(actor=keeper_for(orgs["METI"]), entry=entry)
    assert e.value.decision.code == "other_organisation"


# --- removal and lapse ------------------------------------------------------------------------------

def test_removal_ends_access_and_is_audited(designation, orgs):
    actor = make_cleared_handler(designation)
    entry = HandlerEntry.objects.get(account=actor.account)
    services.remove_handler(actor=keeper_for(orgs["METI"]), entry=entry, reason="担当替え")
    entry.refresh_from_db()
    assert entry.end_reason == "removed" and entry.ended_at is not None
    assert decide(actor_for(actor.account), READ, designation).code == "not_on_handler_list"
    assert audit_entries("handling.handler.removed")[0]["details"]["account_id"] == actor.account.pk
    with pytest.raises(RuleViolation):
        services.remove_handler(actor=keeper_for(orgs["METI"]), entry=entry)


def test_need_to_know_lapses_when_the_person_leaves(designation, people):
    from hozen.assessment import services as assessment

    actor = make_cleared_handler(designation)
    clearance = Clearance.objects.get(person=actor.account.person)
    assessment.report_event(actor=actor_for(people["security_officer"]), clearance=clearance, kind="left",
                            occurred_on=dt.date(2026, 6, 1))
    assert decide(actor_for(actor.account), READ, designation).code == "not_on_handler_list"
    assert services.lapse_and_review(actor=_job())["lapsed"] == 1
    entry = HandlerEntry.objects.get(account=actor.account)
    assert entry.end_reason == "left"
    assert audit_entries("handling.handler.lapsed")[0]["details"]["reason"] == "left"


def test_need_to_know_lapses_when_the_role_in_the_organisation_is_revoked(designation):
    """Leaving or transferring is first seen as the person's role in the listing organisation being
    revoked: access ends at once, the keeper's list shows the lapse, the job records it."""
    from django.utils import timezone

    from hozen.handling import queries

    actor = make_cleared_handler(designation)
    actor.account.role_assignments.update(revoked_at=timezone.now())
    assert decide(actor_for(actor.account), READ, designation).code == "not_on_handler_list"
    keeper = keeper_for(designation.organisation)
    row = next(r for r in queries.handler_list(keeper, designation) if r.entry.account_id == actor.account.pk)
    assert (row.status, row.detail) == ("lapsed", "role_revoked")
    assert services.lapse_and_review(actor=_job())["lapsed"] == 1
    assert HandlerEntry.objects.get(account=actor.account).end_reason == "role_revoked"
    assert audit_entries("handling.handler.lapsed")[0]["details"]["reason"] == "role_revoked"


def test_need_to_know_lapses_when_the_contract_ends(provided, towa_employee):
    actor = make_cleared_handler(provided, towa_employee)
    Contract.objects.update(terminated_on=dt.date(2026, 6, 1))
    services.lapse_and_review(actor=_job())
    assert HandlerEntry.objects.get(account=actor.account).end_reason == "contract_ended"


def test_need_to_know_lapses_when_the_designation_ends(designation, people):
    from hozen.designation import services as designations

    actor = make_cleared_handler(designation)
    designations.cancel(actor=actor_for(people["organ_head"]), designation=designation, reason="非公知性の要件を欠くに至ったため解除する。")
    services.lapse_and_review(actor=_job())
    assert HandlerEntry.objects.get(account=actor.account).end_reason == "designation_ended"
    # A former handler hears the real reason (they knew the designation).
    assert decide(actor_for(actor.account), READ, designation).code == "designation_not_in_force"


def test_need_to_know_lapses_at_its_end_date(designation, orgs, staff, keeper, _frozen_today):
    services.add_handler(actor=keeper, designation=designation, account=staff, ends_on=dt.date(2026, 8, 31))
    _frozen_today.move_to(dt.datetime(2026, 9, 1, 3, 0, tzinfo=dt.UTC))
    services.lapse_and_review(actor=_job())
    assert HandlerEntry.objects.get(account=staff).end_reason == "end_date"


def test_lapse_job_is_idempotent(designation, people):
    from hozen.designation import services as designations

    make_cleared_handler(designation)
    designations.cancel(actor=actor_for(people["organ_head"]), designation=designation, reason="非公知性の要件を欠くに至ったため解除する。")
    assert services.lapse_and_review(actor=_job())["lapsed"] == 1
    assert services.lapse_and_review(actor=_job())["lapsed"] == 0


def test_lapse_job_is_for_the_system_only(designation, keeper):
    with pytest.raises(PolicyDenied):
        services.lapse_and_review(actor=keeper)


def test_lapse_job_is_registered_with_the_job_runner():
    from hozen.core import jobs

    assert "handling.lapse_and_review" in [j.name for j in jobs.registered()]


# --- periodic review -----------------------------------------------------------------------------

def test_review_campaign_asks_the_keeper_to_confirm_or_remove_each_handler(designation, orgs, _frozen_today):
    first = make_cleared_handler(designation)
    second = make_cleared_handler(designation)
    _frozen_today.move_to(dt.datetime(2027, 5, 15, 3, 0, tzinfo=dt.UTC))  # within 30 days of the due date
    assert services.lapse_and_review(actor=_job())["reviews_opened"] == 1
    assert services.lapse_and_review(actor=_job())["reviews_opened"] == 0  # one open campaign per list
    keeper = keeper_for(orgs["METI"])
    from hozen.handling import queries

    assert [c.designation_id for c in queries.reviews_for(keeper)] == [designation.pk]
    e1 = HandlerEntry.objects.get(account=first.account)
    e2 = HandlerEntry.objects.get(account=second.account)
    services.confirm_handler(actor=keeper, entry=e1)
    e1.refresh_from_db()
    assert e1.last_confirmed_on == dt.date(2027, 5, 15) and e1.review_due == dt.date(2028, 5, 14)
    assert ReviewCampaign.objects.get().closed_at is None
    services.remove_at_review(actor=keeper, entry=e2)
    assert ReviewCampaign.objects.get().closed_at is not None
    assert HandlerEntry.objects.get(pk=e2.pk).end_reason == "review_removed"


def test_handler_cannot_confirm_their_own_need_to_know(designation):
    actor = make_cleared_handler(designation)
    with pytest.raises(PolicyDenied):
        services.confirm_handler(actor=actor, entry=HandlerEntry.objects.get(account=actor.account))


# --- scope agrees with decide ----------------------------------------------------------------------

def test_entry_scope_agrees_with_decide(provided, towa_employee, people, orgs):
    from hozen.access import policy

    make_cleared_handler(provided)
    make_cleared_handler(provided, towa_employee)
    actors = [keeper_for(orgs["METI"]), keeper_for(orgs["TOWA"]), actor_for(towa_employee),
              actor_for(people["auditor"]), actor_for(people["organ_head"])]
    for actor in actors:
        visible = set(HandlerEntry.objects.filter(policy.scope(actor, "handling.handler.view", HandlerEntry))
                      .values_list("pk", flat=True))
        for entry in HandlerEntry.objects.all():
            assert (entry.pk in visible) == decide(actor, "handling.handler.view", entry).allowed


def test_a_denied_or_missing_handler_entry_is_audited_and_both_look_missing(designation, orgs):
    from hozen.audit.models import AuditEntry
    from hozen.core.errors import NotFound
    from hozen.handling import queries

    actor = make_cleared_handler(designation)
    entry = HandlerEntry.objects.get(account=actor.account)
    outsider = actor_for(factories.account(role="subject", organisation=orgs["METI"]))
    with pytest.raises(NotFound):
        queries.entry_for(outsider, entry.pk)
    with pytest.raises(NotFound):
        queries.entry_for(outsider, entry.pk + 1000)
    with pytest.raises(NotFound):
        queries.entry_for(outsider, "not-a-number")
    denied = list(AuditEntry.objects.filter(action="handling.handler.view", outcome="denied").order_by("time", "pk"))
    assert len(denied) == 3 and denied[0].target_id == str(entry.pk)
    assert queries.entry_for(actor, entry.pk) == entry


def test_a_review_closes_when_the_last_entry_due_in_it_lapses(designation, orgs, _frozen_today):
    """The review campaign waits for nobody whose need to know has ended: when the daily job
    records the last due entry's lapse, the campaign closes (audited)."""
    first = make_cleared_handler(designation)
    second = make_cleared_handler(designation)
    _frozen_today.move_to(dt.datetime(2027, 5, 15, 3, 0, tzinfo=dt.UTC))
    services.lapse_and_review(actor=_job())
    services.confirm_handler(actor=keeper_for(orgs["METI"]), entry=HandlerEntry.objects.get(account=first.account))
    assert ReviewCampaign.objects.get().closed_at is None
    second.account.role_assignments.update(revoked_at=dt.datetime(2027, 5, 15, 1, 0, tzinfo=dt.UTC))
    assert services.lapse_and_review(actor=_job())["lapsed"] == 1
    assert ReviewCampaign.objects.get().closed_at is not None
    assert [e["details"]["state"] for e in audit_entries("handling.review.closed")] == ["closed"]
