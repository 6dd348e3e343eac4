"""ARCHITECTURE rules 8 and 9 for handler lists and contracts: every write decides on the rows as they
are in its own transaction (never on the caller's copy), and whether a designation or an entry is in
force follows from its dates on the day, before any daily job has recorded it. Every refusal writes
nothing."""

from __future__ import annotations

import datetime as dt

import pytest

from hozen.audit.models import AuditEntry
from hozen.core.errors import RuleViolation
from hozen.designation.models import Designation
from hozen.handling import queries, services
from hozen.handling.models import HandlerEntry
from hozen.operators.models import Contract
from tests import factories
from tests.handling_factories import actor_for, keeper_for, make_clearance, make_cleared_handler, unseen

pytestmark = pytest.mark.django_db

@pytest.fixture
def staff(orgs):
    account = factories.account(role="subject", organisation=orgs["METI"])
    make_clearance(account, organ=orgs["METI"])
    return account


def _audit(action: str) -> int:
    return AuditEntry.objects.filter(action=action, outcome="success").count()


def test_no_one_is_added_to_a_designation_past_its_term_end_even_before_the_expiry_job(
        designation, keeper, orgs, _frozen_today):
    _frozen_today.move_to(dt.datetime(2031, 6, 1, 3, 0, tzinfo=dt.UTC))  # term end 2031-05-31, no job run
    account = factories.account(role="subject", organisation=orgs["METI"])
    make_clearance(account, organ=orgs["METI"])  # valid on that day: only the dates refuse
    assert Designation.objects.get(pk=designation.pk).state == "designated"
    with pytest.raises(RuleViolation) as e:
        services.add_handler(actor=keeper, designation=designation, account=account)
    assert e.value.code == "cannot_add_handler" and "Designation in force" in e.value.message_en
    assert not HandlerEntry.objects.exists() and _audit("handling.handler.added") == 0


def test_an_addition_decides_on_the_designation_as_locked_not_as_the_caller_loaded_it(
        designation, keeper, staff, monkeypatch):
    """A cancellation that commits just before the addition takes its lock (another request, another
    process): the addition sees the designation ended and is refused, although the instance the
    caller passed still says "designated"."""
    from hozen.handling import locking

    real_lock = locking.lock_designation

    def cancelled_first(target, **kwargs):
        # What the cancellation's transaction wrote, committed by another process just before
        # this lock was granted.
        unseen(lambda: Designation.objects.filter(pk=designation.pk).update(state="cancelled",
                                                                            ended_on=dt.date(2026, 6, 1)))
        return real_lock(target, **kwargs)

    monkeypatch.setattr(services, "lock_designation", cancelled_first)
    assert designation.state == "designated"  # the caller's copy
    with pytest.raises(RuleViolation) as e:
        services.add_handler(actor=keeper, designation=designation, account=staff)
    assert e.value.code == "cannot_add_handler" and "Designation in force" in e.value.message_en
    assert not HandlerEntry.objects.exists() and _audit("handling.handler.added") == 0


def test_a_removal_decides_on_the_entry_as_it_is_not_as_the_caller_loaded_it(designation, keeper):
    actor = make_cleared_handler(designation)
    stale = HandlerEntry.objects.get(account=actor.account)
    services.remove_handler(actor=keeper, entry=stale.pk)
    assert stale.ended_at is None  # the caller's copy still says open
    for again in (services.remove_handler, services.confirm_handler, services.remove_at_review):
        with pytest.raises(RuleViolation) as e:
            again(actor=keeper, entry=stale)
        assert e.value.code == "already_ended"
    entry = HandlerEntry.objects.get(pk=stale.pk)
    assert entry.end_reason == "removed" and entry.last_confirmed_on is None
    assert _audit("handling.handler.removed") == 1 and _audit("handling.handler.confirmed") == 0


def test_an_entry_past_its_end_date_is_not_confirmed_even_before_the_lapse_job(
        designation, keeper, staff, _frozen_today):
    entry = services.add_handler(actor=keeper, designation=designation, account=staff, ends_on=dt.date(2026, 8, 31))
    _frozen_today.move_to(dt.datetime(2026, 9, 1, 3, 0, tzinfo=dt.UTC))
    with pytest.raises(RuleViolation) as e:
        services.confirm_handler(actor=keeper, entry=entry)
    assert e.value.code == "entry_lapsed"
    assert "end date has passed" in e.value.message_en and "終了日を過ぎています" in e.value.message_ja
    entry.refresh_from_db()
    assert entry.last_confirmed_on is None and entry.ended_at is None and _audit("handling.handler.confirmed") == 0
    # The keeper's list already shows the lapse the job has not recorded yet.
    [row] = queries.handler_list(keeper, designation)
    assert (row.status, row.detail) == ("lapsed", "end_date")


def test_the_lapse_job_records_a_designation_past_its_term_that_no_job_has_expired(designation, _frozen_today):
    from hozen.core.actor import Actor

    actor = make_cleared_handler(designation)
    _frozen_today.move_to(dt.datetime(2031, 6, 1, 3, 0, tzinfo=dt.UTC))
    assert Designation.objects.get(pk=designation.pk).state == "designated"  # the expiry job has not run
    assert services.lapse_and_review(actor=Actor.job("handling.lapse_and_review"))["lapsed"] == 1
    entry = HandlerEntry.objects.get(account=actor.account)
    assert entry.end_reason == "designation_ended"
    [logged] = AuditEntry.objects.filter(action="handling.handler.lapsed")
    assert '"state":"ended"' in logged.data and '"end_reason":"designation_ended"' in logged.data


def test_lists_kept_show_designations_in_force_by_their_dates(designation, keeper, signed_in, people, _frozen_today):
    _frozen_today.move_to(dt.datetime(2031, 5, 31, 3, 0, tzinfo=dt.UTC))
    assert list(queries.kept_designations(keeper)) == [designation]
    _frozen_today.move_to(dt.datetime(2031, 6, 1, 3, 0, tzinfo=dt.UTC))
    assert list(queries.kept_designations(keeper)) == []
    html = signed_in(people["esi_manager"]).get(f"/handling/designations/{designation.pk}/").content.decode()
    assert f"/handling/designations/{designation.pk}/add/" not in html  # no "Add a handler" any more


def test_two_keepers_adding_the_same_person_the_second_is_told_clearly(designation, people, staff):
    services.add_handler(actor=keeper_for(designation.organisation), designation=designation, account=staff.pk)
    with pytest.raises(RuleViolation) as e:
        services.add_handler(actor=actor_for(people["security_officer"]), designation=designation.pk, account=staff)
    assert (e.value.code, e.value.field) == ("already_listed", "account")
    assert HandlerEntry.objects.count() == 1 and _audit("handling.handler.added") == 1


# --- contracts -------------------------------------------------------------------------------------

def _head(orgs):
    return actor_for(factories.account(role="organ_head", organisation=orgs["METI"]))


def test_a_contract_reference_is_recorded_once_per_organ(orgs):
    from hozen.operators import services as operators

    head = _head(orgs)
    cert = operators.record_certification(actor=head, organ=orgs["METI"], business=orgs["TOWA"],
                                          certified_on=dt.date(2026, 1, 10))
    terms = {"reference": "METI-C-1", "form": "receives", "authorised_departments": ["技術部"],
             "valid_from": dt.date(2026, 1, 10), "valid_until": dt.date(2028, 3, 31)}
    operators.record_contract(actor=head, certification=cert, **terms)
    with pytest.raises(RuleViolation) as e:
        operators.record_contract(actor=head, certification=cert.pk, **terms)
    assert (e.value.code, e.value.field) == ("duplicate_reference", "reference")
    assert Contract.objects.count() == 1 and _audit("contract.recorded") == 1


@pytest.mark.parametrize("field", ["suspended_on", "revoked_on"])
def test_no_contract_is_recorded_under_a_certification_suspended_or_revoked_by_its_dates(orgs, field,
                                                                                        _frozen_today):
    from hozen.operators import services as operators
    from hozen.operators.models import Certification

    head = _head(orgs)
    cert = operators.record_certification(actor=head, organ=orgs["METI"], business=orgs["TOWA"],
                                          certified_on=dt.date(2026, 1, 10))
    # No service suspends or revokes yet (the certification issue brings them): the date, as it will.
    Certification.objects.filter(pk=cert.pk).update(**{field: dt.date(2026, 6, 2)})
    terms = {"reference": "METI-C-1", "form": "receives", "authorised_departments": ["技術部"],
             "valid_from": dt.date(2026, 1, 10), "valid_until": dt.date(2028, 3, 31)}
    operators.record_contract(actor=head, certification=cert, **terms)  # the day before: still active
    _frozen_today.move_to(dt.datetime(2026, 6, 2, 3, 0, tzinfo=dt.UTC))
    with pytest.raises(RuleViolation) as e:
        operators.record_contract(actor=head, certification=cert, **{**terms, "reference": "METI-C-2"})
    assert (e.value.code, e.value.field) == ("certification_not_active", "certification")
    assert Contract.objects.count() == 1 and _audit("contract.recorded") == 1


def test_a_contract_cannot_start_before_its_certification(orgs):
    from hozen.operators import services as operators

    head = _head(orgs)
    cert = operators.record_certification(actor=head, organ=orgs["METI"], business=orgs["TOWA"],
                                          certified_on=dt.date(2026, 4, 1))
    with pytest.raises(RuleViolation) as e:
        operators.record_contract(actor=head, certification=cert, reference="METI-C-1", form="receives",
                                  authorised_departments=["技術部"], valid_from=dt.date(2026, 3, 31),
                                  valid_until=dt.date(2028, 3, 31))
    assert (e.value.code, e.value.field) == ("contract_before_certification", "valid_from")
    assert e.value.message_ja and "2026-04-01" in e.value.message_en
    assert Contract.objects.count() == 0 and _audit("contract.recorded") == 0
