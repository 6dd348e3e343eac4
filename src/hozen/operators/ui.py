"""The certified business's side of the dashboards (hozen.core.extensions): its certifications and
contracts, as the policy's scope allows (`certification.view`)."""

from __future__ import annotations

from hozen.core.roles import Role

from . import queries


def dashboard_context(actor, role: str) -> dict:
    if actor is None or actor.role != role or role != Role.BUSINESS_OFFICER:
        return {}
    return {"certifications": list(queries.certifications_for(actor)[:10]),
            "contracts": queries.contract_rows(actor)}
