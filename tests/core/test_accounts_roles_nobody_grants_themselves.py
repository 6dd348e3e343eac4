"""Nobody grants themselves (issue 14 §5): no account assigns a role to itself (the rule compares
persons, so a person's other account would be refused alike)."""

from __future__ import annotations

import pytest

from hozen.access.policy import PolicyDenied
from hozen.audit.models import AuditEntry
from hozen.core import services
from hozen.core.actor import Actor
from hozen.core.models import RoleAssignment
from tests import factories


def _as(account) -> Actor:
    return Actor.for_account(account, account.active_assignments().first(), channel="web",
                             second_factor_verified=True)


@pytest.mark.django_db
def test_nobody_assigns_a_role_to_themselves(people, orgs):
    admin = people["sysadmin"]
    before = RoleAssignment.objects.count()
    with pytest.raises(PolicyDenied) as denied:
        services.assign_role(actor=_as(admin), account=admin, role="auditor", organisation=orgs["CAO"])
    assert denied.value.decision.code == "not_for_yourself"
    assert RoleAssignment.objects.count() == before
    # Another administrator may.
    other = factories.account(role="sysadmin", organisation=orgs["CAO"])
    services.assign_role(actor=_as(other), account=admin, role="auditor", organisation=orgs["CAO"])
    assert AuditEntry.objects.filter(action="role.assigned").exists()


@pytest.mark.django_db
def test_the_wrong_role_assigns_no_role(people, orgs):
    with pytest.raises(PolicyDenied) as denied:
        services.assign_role(actor=_as(people["security_officer"]), account=people["subject"], role="auditor",
                             organisation=orgs["CAO"])
    assert denied.value.decision.code == "not_sysadmin"
