"""Reads shaped for screens and the API. Lists are filtered by policy.scope; single reads 404 alike
for missing and forbidden rows (STYLE: reads)."""

from __future__ import annotations

from django.db.models import Prefetch

from hozen.access import policy

from .errors import NotFound
from .models import Account, Organisation, RoleAssignment


def organisations_for(actor):
    return Organisation.objects.filter(policy.scope(actor, "organisation.view", Organisation)).order_by("code")


def accounts_for(actor):
    active = RoleAssignment.objects.filter(revoked_at__isnull=True).select_related("organisation")
    return (
        Account.objects.filter(policy.scope(actor, "account.view", Account))
        .select_related("person")
        .prefetch_related(Prefetch("role_assignments", queryset=active, to_attr="active_roles"))
        .order_by("username")
    )


def account_for(actor, pk) -> Account:
    try:
        return accounts_for(actor).get(pk=pk)
    except (Account.DoesNotExist, ValueError, TypeError):
        raise NotFound from None


def profile_for(actor) -> dict:
    account = actor.account
    return {
        "account": account,
        "person": account.person,
        "assignments": list(account.active_assignments()),
        "has_totp": account.totpdevice_set.filter(confirmed=True).exists(),
        "recovery_codes_left": sum(d.token_set.count() for d in account.staticdevice_set.all()),
        "needs_second_factor": account.needs_second_factor,
    }
