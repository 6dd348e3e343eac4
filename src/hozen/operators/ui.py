"""The certification side of the dashboards (hozen.core.extensions): its certifications and
contracts, as the policy's scope allows (`certification.view`)."""

from __future__ import annotations

from hozen.core.roles import Role

from . import queries


def dashboard_context(actor, role: str) -> dict:
    if actor is None or actor.role != role:
        return {}
    if role == Role.BUSINESS_OFFICER:
        return {"certifications": list(queries.certifications_for(actor)[:10]),
                "contracts": queries.contract_rows(actor)}
    if role == Role.ORGAN_HEAD:  # the businesses it certified, and their contracts ending soon
        return {"granted": {"certifications": list(queries.certifications_for(actor)[:20]),
                            "contracts": [r for r in queries.contract_rows(actor) if r["ending_soon"]]}}
    return {}
