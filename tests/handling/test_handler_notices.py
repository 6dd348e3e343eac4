"""E-mail notices of the handler lists (issue 14 §6): a person added to a list who has not
acknowledged the current briefing is told a briefing is due; a person whose entry lapses is told
their place ended. Neither names the designation."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from hozen.core import tasks
from hozen.core.actor import Actor
from hozen.core.models import Account
from hozen.handling import services
from tests import factories
from tests.handling_factories import actor_for, make_clearance, make_cleared_handler

pytestmark = pytest.mark.django_db


def _verified(account, address: str) -> Account:
    Account.objects.filter(pk=account.pk).update(email=address, email_verified_at=timezone.now())
    return Account.objects.get(pk=account.pk)


def test_a_person_added_without_the_current_briefing_is_told_a_briefing_is_due(designation, keeper, orgs,
                                                                               mailoutbox):
    unbriefed = _verified(factories.account(role="subject", organisation=orgs["METI"]), "new@example.go.jp")
    make_clearance(unbriefed, organ=orgs["METI"])
    services.add_handler(actor=keeper, designation=designation, account=unbriefed)
    briefed = _verified(factories.account(role="subject", organisation=orgs["METI"]), "briefed@example.go.jp")
    make_clearance(briefed, organ=orgs["METI"])
    services.acknowledge_briefing(actor=actor_for(briefed))
    services.add_handler(actor=keeper, designation=designation, account=briefed)
    assert tasks.run_ready() == 1
    [message] = mailoutbox
    assert message.to == ["new@example.go.jp"]
    assert designation.title not in message.body + message.subject
    assert designation.reference not in message.body


def test_a_person_whose_entry_lapses_is_told_their_place_ended(designation, mailoutbox, _frozen_today):
    handler = make_cleared_handler(designation)
    _verified(handler.account, "handler@example.go.jp")
    _frozen_today.move_to(dt.datetime(2031, 6, 1, 3, 0, tzinfo=dt.UTC))
    assert services.lapse_and_review(actor=Actor.job("handling.lapse_and_review"))["lapsed"] == 1
    tasks.run_ready()
    assert [m.to for m in mailoutbox] == [["handler@example.go.jp"]]
    assert designation.title not in mailoutbox[0].body
