"""Test helpers for anything gated by the material-access policy (handler lists, the vault).

`make_cleared_handler(designation)` returns an Actor for whom
`decide(actor, "designation.material.read", designation)` is allowed: it creates a favourable,
notified clearance of the designation's tier, puts the account on the designation's handler list
through `hozen.handling.services.add_handler` (as the list keeper would) and acknowledges the
current briefing through `acknowledge_briefing`. Each piece can then be taken away by a test.

The signature is stable (other apps' tests import it).
"""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from hozen.core.actor import Actor
from hozen.core.models import Account, Organisation
from hozen.core.roles import OrganisationKind
from tests import factories

DEPARTMENT = "技術部"


def actor_for(account: Account, organisation: Organisation | None = None, *, role: str | None = None,
              channel: str = "web") -> Actor:
    assignments = account.active_assignments()
    if organisation is not None:
        assignments = assignments.filter(organisation=organisation)
    if role is not None:
        assignments = assignments.filter(role=role)
    return Actor.for_account(account, assignments.first(), channel=channel, second_factor_verified=True)


def _one_of(role: str, organisation: Organisation) -> Actor:
    from hozen.core.models import RoleAssignment

    row = (RoleAssignment.objects.filter(role=role, organisation=organisation, revoked_at__isnull=True)
           .select_related("account").first())
    account = row.account if row else factories.account(role=role, organisation=organisation)
    return actor_for(account, organisation, role=role)


def keeper_for(organisation: Organisation) -> Actor:
    """The person who keeps `organisation`'s handler lists (made if there is none)."""
    role = "business_officer" if organisation.kind == OrganisationKind.BUSINESS else "esi_manager"
    return _one_of(role, organisation)


def make_clearance(account: Account, *, organ: Organisation, tier: str = "esi",
                   valid_until: dt.date | None = None, favourable: bool = True, notified_on: dt.date | None = None):
    """A notified assessment result (test data only: the assessment workflow's own tests walk a case).

    It supersedes the person's current result of the same organ and tier (ended today), as a new
    result does: the database holds one current clearance per person, organ and tier."""
    from hozen.assessment.models import AssessmentCase, Clearance
    from hozen.rules.queries import current_pack

    on = notified_on or timezone.localdate()
    Clearance.objects.filter(person=account.person, organ=organ, tier=tier, ended_on__isnull=True).update(
        ended_on=timezone.localdate(), end_reason="superseded")
    pack = current_pack(tier, on)
    years = 10 if tier == "esi" else 5
    until = valid_until or on.replace(year=on.year + years)
    case = AssessmentCase.objects.create(
        person=account.person, tier=tier, organ=organ, nominating_organisation=organ, nominated_by=account,
        trigger="new", department=DEPARTMENT, post="主任", state="notified", rules_pack=pack,
        notified_at=timezone.now())
    return Clearance.objects.create(person=account.person, organ=organ, tier=tier, favourable=favourable,
                                    notified_on=on, valid_until=until if favourable else None, case=case,
                                    rules_pack=pack)


def make_contract(organ: Organisation, business: Organisation, *, departments=(DEPARTMENT,),
                  valid_until: dt.date = dt.date(2050, 12, 31)):
    """An active certification and contract of `organ` with `business` (through the services)."""
    from hozen.operators import services as operators
    from hozen.operators.models import Contract

    existing = Contract.objects.filter(organ=organ, business=business, terminated_on__isnull=True).first()
    if existing is not None and set(departments) <= set(existing.authorised_departments):
        return existing
    head = _one_of("organ_head", organ)
    cert = operators.record_certification(actor=head, organ=organ, business=business,
                                          certified_on=dt.date(2025, 6, 1))
    n = Contract.objects.count() + 1
    return operators.record_contract(actor=head, certification=cert, reference=f"TEST-C-{n}", form="receives",
                                     authorised_departments=list(departments), valid_from=dt.date(2025, 6, 1),
                                     valid_until=valid_until)


def make_cleared_handler(designation, account: Account | None = None, *, tier: str | None = None,
                         valid_until: dt.date | None = None, briefed: bool = True,
                         department: str = DEPARTMENT) -> Actor:
    """An actor allowed `designation.material.read` on `designation` (see the module docstring).

    `account`: default a new staff member (role ``subject``) of the holding organ. An account of a
    business that holds the designation (provided material) is listed by the business with
    `department` under an active contract of the holding organ (made if missing).
    `tier`: of the clearance (default the designation's: pass the other tier to test a mismatch).
    `valid_until`: the clearance's last valid day (default ten years on, five for SDS).
    """
    from hozen.handling import services

    holding_organ = designation.organisation
    if account is None:
        account = factories.account(role="subject", organisation=holding_organ)
    assignment = account.active_assignments().first()
    organisation = assignment.organisation if assignment else holding_organ
    if organisation.kind == OrganisationKind.BUSINESS:
        make_contract(holding_organ, organisation, departments=(department,))
    organ = holding_organ if organisation.kind == OrganisationKind.BUSINESS else organisation
    tier = tier or designation.tier
    today = timezone.localdate()
    temporary = None
    if tier != designation.tier or (valid_until is not None and valid_until < today):
        # The keeper cannot list someone without a valid clearance of the tier: list them on a
        # temporary one, then leave only the clearance the test asked for.
        temporary = make_clearance(account, organ=organ, tier=designation.tier)
    else:
        make_clearance(account, organ=organ, tier=tier, valid_until=valid_until)
    keeper = keeper_for(organisation)
    services.add_handler(actor=keeper, designation=designation, account=account,
                         department=department if organisation.kind == OrganisationKind.BUSINESS else "",
                         reason="test: need to know")
    if temporary is not None:
        type(temporary).objects.filter(pk=temporary.pk).update(ended_on=today, end_reason="superseded")
        make_clearance(account, organ=organ, tier=tier, valid_until=valid_until)
    actor = actor_for(account, organisation)
    if briefed:
        services.acknowledge_briefing(actor=actor, tier=designation.tier)
    return actor


def unseen(change) -> None:
    """Run `change` as another process would commit it: this process's write watcher never sees it,
    so no cached access fact is dropped (`hozen.handling.facts`).
    Tests of a service that decides again on the rows it locked use it for the competing change."""
    from django.db import connection

    from hozen.handling import facts

    connection.ensure_connection()
    wrappers = connection.execute_wrappers
    watched = facts._watch in wrappers
    if watched:
        wrappers.remove(facts._watch)
    try:
        change()
    finally:
        if watched:
            wrappers.append(facts._watch)
