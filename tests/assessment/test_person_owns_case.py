"""The person, not the role, owns their case (issue 14 §1): an official nominated by their own organ
reaches their assessment from their account whatever role is active, through a way in on the
dashboard and in the navigation that switches to the assessed-person role (so none of their official
work is shown there, and what they do is recorded as the assessed person)."""

from __future__ import annotations

import json

import pytest

from hozen.assessment import services
from hozen.audit.models import AuditEntry
from hozen.core.models import RoleAssignment
from tests import factories

from .conftest import actor_of, to_notified

pytestmark = pytest.mark.django_db


def _nominate_official(world, account):
    return services.nominate(actor=world["security"], person=account.person, department="情報管理課",
                             post="課長補佐", listing_agreed_on=world["security"].assignment.created_at.date()).case


def test_a_nominated_official_gets_the_assessed_person_role_by_the_nomination_audited(world):
    official = world.people["esi_manager"]
    assert not official.active_assignments().filter(role="subject").exists()
    case = _nominate_official(world, official)
    subject = official.active_assignments().get(role="subject")
    assert subject.organisation == case.nominating_organisation
    entry = [json.loads(e.data) for e in AuditEntry.objects.filter(action="role.assigned").order_by("id")][-1]
    assert entry["details"] == {"role": "subject", "organisation": "METI", "assignment": subject.pk,
                                "reason": "nominated", "case": case.pk}
    assert entry["actor"]["role"] == "security_officer"  # granted by the nomination, not by the person


def test_a_person_who_already_is_an_assessed_person_gets_no_second_role(world):
    staff = world.people["meti_staff"]
    before = RoleAssignment.objects.count()
    _nominate_official(world, staff)
    assert RoleAssignment.objects.count() == before


def test_the_official_reaches_their_case_from_their_official_role_and_sees_no_official_work_there(world):
    official = world.people["esi_manager"]
    case = _nominate_official(world, official)
    services.give_notice(actor=world["security"], case=case)
    client = factories.signed_in_client(official, official.active_assignments().get(role="esi_manager"))
    dashboard = client.get("/dashboard/").content.decode()
    assert 'id="panel-own-assessment"' in dashboard and 'id="nav-own-assessment"' in dashboard
    subject = official.active_assignments().get(role="subject")
    switched = client.post("/role/", {"assignment": subject.pk, "next": "/assessment/portal/"})
    assert switched["Location"] == "/assessment/portal/"
    portal = client.get(f"/assessment/portal/{case.pk}/").content.decode()
    assert client.get(f"/assessment/portal/{case.pk}/notice/").status_code == 200
    # Acting as the assessed person: the navigation is the portal's, not the ESI manager's.
    assert "/designations/new/" not in portal and 'id="nav-own-assessment"' not in portal
    switch = [json.loads(e.data) for e in AuditEntry.objects.filter(action="role.switched").order_by("id")][-1]
    assert switch["actor"]["account"] == official.username


def test_no_way_in_once_the_case_is_closed_or_for_someone_without_a_case(world, people):
    client = factories.signed_in_client(people["esi_manager"])
    assert 'id="panel-own-assessment"' not in client.get("/dashboard/").content.decode()
    case = to_notified(world, _nominate_official(world, world.people["esi_manager"]))
    assert case.state == "notified"
    page = client.get("/dashboard/").content.decode()
    assert 'id="panel-own-assessment"' not in page  # closed: the result is on the portal, reached by the switcher


def test_bulk_nomination_gives_the_role_too(world, orgs):
    from hozen.assessment.services.bulk import nominate_many

    officials = [factories.account(role="esi_manager", organisation=orgs["METI"]) for _ in range(2)]
    day = world["security"].assignment.created_at.date()
    nominate_many(actor=world["security"], rows=[
        {"username": a.username, "department": "総務課", "post": "係長", "listing_agreed_on": day}
        for a in officials])
    for account in officials:
        assert account.active_assignments().filter(role="subject", organisation=orgs["METI"]).exists()
    assert actor_of(officials[0], "subject").role == "subject"
