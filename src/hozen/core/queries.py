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
        "tokens": tokens_for(actor, account),
        "email_pending": account.email_verifications.filter(verified_at__isnull=True, withdrawn_at__isnull=True)
        .order_by("-created_at").first(),
        "notice_kinds": _notice_kinds(account),
        "passkeys": passkeys_for(actor, account),
    }


def _notice_kinds(account) -> list[dict]:
    from .notices import KINDS, wants

    return [{"code": k.code, "label": k.label, "on": wants(account, k.code)} for k in KINDS.values()]


def passkeys_for(actor, account):
    """An account's passkeys, oldest first: name, when added and last used (never a key)."""
    from django_otp_webauthn.models import WebAuthnCredential

    policy.require(actor, "profile.view", account)
    return list(WebAuthnCredential.objects.filter(user=account).only("pk", "name", "created_at", "last_used_at")
                .order_by("created_at", "pk"))


def tokens_for(actor, account):
    """An account's API tokens, newest first (never their secrets: only a hash is stored)."""
    from .models import ApiToken

    policy.require(actor, "token.list", account)
    return list(ApiToken.objects.filter(account=account).select_related("assignment__organisation")
                .order_by("-created_at", "-pk"))


def own_token_for(actor, pk: int):
    """One of the caller's own API tokens; NotFound for anyone else's."""
    from .models import ApiToken

    token = ApiToken.objects.filter(pk=pk, account_id=actor.account.pk).first() if actor.account else None
    if token is None:
        raise NotFound
    return token


def security_officers_for(actor) -> list[str]:
    """Whom a refused or puzzled person asks: the names of the active security officers of their
    active role's organisation (in a certified business, its protection officers, who keep its
    handler lists). Names only: no user names or contact data. None for an anonymous visitor or an
    account without a role, and never the person themselves."""
    from .roles import OrganisationKind, Role

    if actor is None or actor.account is None or actor.assignment is None:
        return []
    organisation = actor.organisation
    role = Role.BUSINESS_OFFICER if organisation.kind == OrganisationKind.BUSINESS else Role.SECURITY_OFFICER
    rows = (RoleAssignment.objects.filter(organisation_id=organisation.pk, role=role, revoked_at__isnull=True,
                                          account__is_active=True)
            .exclude(account_id=actor.account.pk)
            .order_by("account__person__family_name_kana", "account__person__given_name_kana", "account_id")
            .values_list("account__person__family_name", "account__person__given_name"))
    return [f"{family} {given}".strip() for family, given in rows]


def system_health() -> dict:
    """What a system administrator's dashboard shows of the background work (the same facts as
    `hozen jobs list` and `hozen tasks status`): each periodic job's last start and outcome, late
    when it has not started within twice its interval (no worker running, or a failing one), and
    the task queue's counts and live workers. Nothing personal, nothing of any case."""
    import datetime as dt

    from django.utils import timezone

    from . import jobs, tasks
    from .models import JobLease

    now = timezone.now()
    leases = {lease.name: lease for lease in JobLease.objects.filter(name__in=[j.name for j in jobs.registered()])}
    rows = []
    for job in jobs.registered():
        lease = leases.get(job.name)
        started = lease.last_started_at if lease else None
        rows.append({"name": job.name, "every_seconds": job.every_seconds, "last_started_at": started,
                     "last_outcome": (lease.last_outcome if lease else "") or "",
                     "running": bool(lease and lease.leased_until and lease.leased_until >= now),
                     "late": started is None or started < now - dt.timedelta(seconds=2 * job.every_seconds)})
    return {"jobs": rows, "late": sum(1 for r in rows if r["late"] or r["last_outcome"] == "failed"),
            "tasks": tasks.queue_summary()}
