"""ARCHITECTURE rule 10 for handler lists, review campaigns, certifications and contracts: their rows
replay from their audit entries, and a change made behind the services' back is named with the
record, the field, the value the log implies and the value stored."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection

from hozen import audit
from hozen.audit.reconcile import reconcile
from hozen.core.actor import Actor
from hozen.handling import services
from hozen.handling.models import HandlerEntry, ReviewCampaign
from hozen.operators.models import Certification, Contract
from tests import factories
from tests.handling_factories import keeper_for, make_clearance, make_cleared_handler

KINDS = ["handler_entry", "handler_review", "certification", "contract"]


def raw(sql: str, *params) -> None:
    """A change behind the services' back: no service, no audit entry."""
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def found(report) -> dict:
    return {(d.kind, d.record_id, d.field): (d.logged, d.stored) for d in report.disagreements}


def _job():
    return Actor.job("handling.lapse_and_review")


def test_handler_lists_replay_to_the_stored_rows(provided, towa_employee, orgs, _frozen_today):
    removed = make_cleared_handler(provided)
    confirmed = make_cleared_handler(provided)
    at_review = make_cleared_handler(provided)
    business = make_cleared_handler(provided, towa_employee)  # a business's list, under its contract
    keeper = keeper_for(orgs["METI"])
    services.remove_handler(actor=keeper, entry=HandlerEntry.objects.get(account=removed.account))
    _frozen_today.move_to(dt.datetime(2027, 5, 15, 3, 0, tzinfo=dt.UTC))  # reviews due within the window
    assert services.lapse_and_review(actor=_job())["reviews_opened"] == 2
    services.confirm_handler(actor=keeper, entry=HandlerEntry.objects.get(account=confirmed.account).pk)
    services.remove_at_review(actor=keeper, entry=HandlerEntry.objects.get(account=at_review.account))
    # The business's employee leaves: first seen as their role revoked; the job records the lapse.
    business.account.role_assignments.update(revoked_at=dt.datetime(2027, 5, 15, 1, 0, tzinfo=dt.UTC))
    assert services.lapse_and_review(actor=_job())["lapsed"] == 1
    report = reconcile(kinds=KINDS)
    assert report.ok, [d.line() for d in report.disagreements]
    assert report.checked == {"handler_entry": 4, "handler_review": 2, "certification": 1, "contract": 1}
    assert set(HandlerEntry.objects.values_list("end_reason", flat=True)) == {"removed", "review_removed", "role_revoked", ""}
    assert ReviewCampaign.objects.get(organisation=orgs["METI"]).closed_at is not None


def test_an_ended_entry_reopened_with_raw_sql_is_named(designation, keeper):
    actor = make_cleared_handler(designation)
    entry = services.remove_handler(actor=keeper, entry=HandlerEntry.objects.get(account=actor.account))
    ended_at = entry.ended_at
    raw("UPDATE handling_handlerentry SET ended_at = NULL, ended_by = NULL, end_reason = '' WHERE id = %s", entry.pk)
    report = reconcile(kinds=["handler_entry"])
    key = str(entry.pk)
    assert found(report) == {
        ("handler_entry", key, "state"): ("ended", "open"),
        ("handler_entry", key, "end_reason"): ("removed", ""),
        ("handler_entry", key, "ended_at"): (ended_at.isoformat().replace("+00:00", "Z"), None),
    }


def test_an_end_date_moved_behind_the_services_back_is_named(designation):
    actor = make_cleared_handler(designation)
    entry = HandlerEntry.objects.get(account=actor.account)
    raw("UPDATE handling_handlerentry SET ends_on = %s WHERE id = %s", "2040-01-01", entry.pk)
    lines = [d.line() for d in reconcile(kinds=["handler_entry"]).disagreements]
    assert lines == [f'handler_entry {entry.pk}: ends_on: the log says "2031-05-31", the row holds "2040-01-01"']


def test_an_entry_moved_to_another_person_is_named(designation, orgs):
    actor = make_cleared_handler(designation)
    entry = HandlerEntry.objects.get(account=actor.account)
    other = factories.account(role="subject", organisation=orgs["METI"])
    raw("UPDATE handling_handlerentry SET account_id = %s WHERE id = %s", other.pk, entry.pk)
    assert found(reconcile(kinds=["handler_entry"])) == {
        ("handler_entry", str(entry.pk), "account"): (actor.account.pk, other.pk)}


def test_a_closed_review_reopened_with_raw_sql_is_named(designation, keeper, _frozen_today):
    actor = make_cleared_handler(designation)
    _frozen_today.move_to(dt.datetime(2027, 5, 15, 3, 0, tzinfo=dt.UTC))
    services.lapse_and_review(actor=_job())
    services.confirm_handler(actor=keeper, entry=HandlerEntry.objects.get(account=actor.account))
    campaign = ReviewCampaign.objects.get()
    assert campaign.closed_at is not None and reconcile(kinds=["handler_review"]).ok
    raw("UPDATE handling_reviewcampaign SET closed_at = NULL WHERE id = %s", campaign.pk)
    assert found(reconcile(kinds=["handler_review"])) == {
        ("handler_review", str(campaign.pk), "state"): ("closed", "open")}


def test_a_contract_extended_or_a_certification_revoked_behind_the_services_back_is_named(provided):
    contract = Contract.objects.get()
    cert = Certification.objects.get()
    raw("UPDATE operators_contract SET valid_until = %s WHERE id = %s", "2060-12-31", contract.pk)
    raw("UPDATE operators_certification SET revoked_on = %s WHERE id = %s", "2026-06-01", cert.pk)
    assert found(reconcile(kinds=["certification", "contract"])) == {
        ("contract", str(contract.pk), "valid_until"): ("2050-12-31", dt.date(2060, 12, 31)),
        ("certification", str(cert.pk), "revoked_on"): (None, dt.date(2026, 6, 1)),
    }


def test_entries_written_before_a_detail_was_recorded_leave_that_field_out(designation, keeper, orgs):
    """An old entry names no review date and no confirmation date: those fields are not compared
    (never guessed); what it does name still is."""
    account = factories.account(role="subject", organisation=orgs["METI"])
    make_clearance(account, organ=orgs["METI"])
    entry = HandlerEntry.objects.create(
        designation=designation, organisation=orgs["METI"], account=account, starts_on=dt.date(2026, 6, 1),
        ends_on=dt.date(2031, 5, 31), added_by=keeper.describe(), review_due=dt.date(2027, 6, 1),
        last_confirmed_on=dt.date(2026, 6, 1))
    # The details the services wrote before issue 11, with no state, review date or end time.
    audit.record(keeper, "handling.handler.added", entry, details={
        "designation": designation, "account_id": account.pk, "organisation": "METI", "contract": None,
        "ends_on": entry.ends_on})
    audit.record(keeper, "handling.handler.confirmed", entry, details={
        "designation": designation, "account_id": account.pk, "next_review": entry.review_due})
    assert reconcile(kinds=["handler_entry"]).ok
    raw("UPDATE handling_handlerentry SET ends_on = %s WHERE id = %s", "2031-01-31", entry.pk)
    assert [d.field for d in reconcile(kinds=["handler_entry"]).disagreements] == ["ends_on"]


def test_a_handler_entry_with_no_lifecycle_entry_is_named(designation, orgs, keeper):
    account = factories.account(role="subject", organisation=orgs["METI"])
    entry = HandlerEntry.objects.create(
        designation=designation, organisation=orgs["METI"], account=account, starts_on=dt.date(2026, 6, 1),
        ends_on=dt.date(2031, 5, 31), added_by=keeper.describe(), review_due=dt.date(2027, 6, 1))
    assert [(d.record_id, d.field, d.logged) for d in reconcile(kinds=["handler_entry"]).disagreements] == [
        (str(entry.pk), "*", "(no lifecycle entry)")]


def test_the_replayers_are_registered():
    from hozen.audit.reconcile import registered

    assert {"handler_entry", "handler_review", "certification", "contract"} <= {r.kind for r in registered()}


pytestmark = pytest.mark.django_db
