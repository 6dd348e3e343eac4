"""Reads of certifications and contracts, filtered by the policy's scope (`certification.view`)."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from hozen.access import policy

from .models import Certification, Contract

#: A contract ending within this many days is flagged on the dashboards.
ENDING_SOON_DAYS = 90


def certifications_for(actor):
    """Certifications the actor may see (the certifying organ's, the business's own, oversight all),
    newest first, with both organisations joined."""
    return (Certification.objects.filter(policy.scope(actor, "certification.view", Certification))
            .select_related("organ", "business").order_by("-certified_on", "-id"))


def contract_rows(actor, *, on: dt.date | None = None) -> list[dict]:
    """Contracts the actor may see that are not over (dates decide), soonest end first, each with
    whether it is in force today and whether it ends within ENDING_SOON_DAYS."""
    on = on or timezone.localdate()
    contracts = (Contract.objects.filter(policy.scope(actor, "certification.view", Contract))
                 .filter(valid_until__gte=on).exclude(terminated_on__lte=on)
                 .select_related("organ", "business", "certification").order_by("valid_until", "id"))
    return [{"contract": c, "in_force": c.valid_from <= on,
             "ending_soon": (c.valid_until - on).days <= ENDING_SOON_DAYS} for c in contracts]


def certification_for(actor, pk) -> Certification:
    """One certification the actor may see (missing and forbidden look the same: NotFound)."""
    from hozen.core.errors import NotFound

    try:
        return certifications_for(actor).get(pk=int(pk))
    except (Certification.DoesNotExist, ValueError, TypeError, OverflowError):
        raise NotFound from None


def contract_for(actor, pk) -> Contract:
    """One contract the actor may see (missing and forbidden look the same: NotFound)."""
    from hozen.core.errors import NotFound

    try:
        return (Contract.objects.filter(policy.scope(actor, "certification.view", Contract))
                .select_related("organ", "business", "certification").get(pk=int(pk)))
    except (Contract.DoesNotExist, ValueError, TypeError, OverflowError):
        raise NotFound from None


def certification_page(actor, pk) -> dict:
    """A certification with its contracts and the organ's measures, newest first (the detail page)."""
    cert = certification_for(actor, pk)
    today = timezone.localdate()
    contracts = list(cert.contracts.order_by("valid_until", "id"))
    return {"certification": cert, "active": cert.is_active(today), "today": today,
            "contracts": [{"contract": c, "active": c.is_active(today)} for c in contracts],
            "changes": list(cert.changes.select_related("contract")[:50])}
