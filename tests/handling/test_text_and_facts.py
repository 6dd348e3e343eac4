"""Issue 12 in handler lists: typed text by the one text policy (§1), typed dates by the date
policy (§2), and a fact recorded once (§5): a confirmation of a handler and an exempt office
holding are facts, and the same one a second time is refused with a clear 422, writing nothing.
Time is frozen at 2026-06-01 (conftest)."""

from __future__ import annotations

import datetime as dt

import pytest

from hozen.audit.models import AuditEntry
from hozen.core.actor import Actor
from hozen.core.errors import RuleViolation
from hozen.handling import services
from hozen.handling.models import HandlerEntry, OfficeHolding
from tests import factories
from tests.handling_factories import make_clearance

from .conftest import audit_entries

pytestmark = pytest.mark.django_db


def _operator() -> Actor:
    return Actor.operator("tests")


def _listable(orgs):
    account = factories.account(role="subject", organisation=orgs["METI"])
    make_clearance(account, organ=orgs["METI"])
    return account


@pytest.mark.parametrize(("field", "value"), [("reason", "業務上必要\x00"), ("reason", "\u202e要必上務業")])
def test_a_need_to_know_reason_with_a_nul_or_an_override_is_refused_naming_the_field(designation, keeper, orgs,
                                                                                     field, value):
    account = _listable(orgs)
    before = AuditEntry.objects.count()
    with pytest.raises(RuleViolation) as info:
        services.add_handler(actor=keeper, designation=designation, account=account, **{field: value})
    assert (info.value.code, info.value.field) == ("invalid_character", field)
    assert not HandlerEntry.objects.filter(account=account).exists() and AuditEntry.objects.count() == before


def test_a_department_with_a_nul_is_refused_naming_the_field(provided, towa_employee, orgs):
    from tests.handling_factories import keeper_for

    make_clearance(towa_employee, organ=orgs["METI"])
    with pytest.raises(RuleViolation) as info:
        services.add_handler(actor=keeper_for(orgs["TOWA"]), designation=provided, account=towa_employee,
                             department="技術\x00部")
    assert (info.value.code, info.value.field) == ("invalid_character", "department")
    # The department as typed in half-width kana matches the contract's once both are normalised.
    entry = services.add_handler(actor=keeper_for(orgs["TOWA"]), designation=provided, account=towa_employee,
                                 department=" 技術部 ", reason="ｾｯｹｲ担当")
    assert (entry.department, HandlerEntry.objects.get(pk=entry.pk).reason) == ("技術部", "セッケイ担当")


def test_a_need_to_know_end_date_that_is_not_a_date_is_refused_naming_the_field(designation, keeper, orgs):
    with pytest.raises(RuleViolation) as info:
        services.add_handler(actor=keeper, designation=designation, account=_listable(orgs), ends_on="2027-01-01")
    assert (info.value.code, info.value.field) == ("invalid_date", "ends_on")


def test_a_handler_confirmed_twice_on_one_day_is_refused_the_second_time(designation, keeper, orgs):
    entry = services.add_handler(actor=keeper, designation=designation, account=_listable(orgs))
    services.confirm_handler(actor=keeper, entry=entry.pk)
    with pytest.raises(RuleViolation) as info:
        services.confirm_handler(actor=keeper, entry=entry.pk)
    assert info.value.code == "already_confirmed_today"
    assert info.value.message_ja and info.value.message_en
    assert len(audit_entries("handling.handler.confirmed")) == 1


def test_a_handler_is_confirmed_again_on_another_day(designation, keeper, orgs, _frozen_today):
    entry = services.add_handler(actor=keeper, designation=designation, account=_listable(orgs))
    services.confirm_handler(actor=keeper, entry=entry.pk)
    _frozen_today.move_to(dt.datetime(2026, 6, 2, 3, 0, tzinfo=dt.UTC))
    services.confirm_handler(actor=keeper, entry=entry.pk)
    assert HandlerEntry.objects.get(pk=entry.pk).last_confirmed_on == dt.date(2026, 6, 2)
    assert len(audit_entries("handling.handler.confirmed")) == 2


def test_the_same_exempt_office_holding_recorded_twice_is_refused(orgs):
    minister = factories.account(role="subject", organisation=orgs["METI"])
    services.record_office_holding(actor=_operator(), account=minister, office="minister_of_state",
                                   since=dt.date(2026, 1, 1))
    with pytest.raises(RuleViolation) as info:
        services.record_office_holding(actor=_operator(), account=minister, office="minister_of_state",
                                       since=dt.date(2026, 1, 1))
    assert (info.value.code, info.value.field) == ("office_holding_already_recorded", "since")
    assert OfficeHolding.objects.filter(account=minister).count() == 1
    assert len(audit_entries("handling.office.recorded")) == 1


def test_an_exempt_office_holding_dated_in_year_one_is_refused(orgs):
    minister = factories.account(role="subject", organisation=orgs["METI"])
    with pytest.raises(RuleViolation) as info:
        services.record_office_holding(actor=_operator(), account=minister, office="minister_of_state",
                                       since=dt.date(1, 1, 1))
    assert (info.value.code, info.value.field) == ("date_out_of_range", "since")
    assert not OfficeHolding.objects.exists()
