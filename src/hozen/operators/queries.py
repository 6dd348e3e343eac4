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
