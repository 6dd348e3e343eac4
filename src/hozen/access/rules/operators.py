"""Rules for the organ's measures on a certified business (DOMAIN §4): suspending, restoring and
revoking a certification, amending and terminating a contract.

The certifying organ decides: its head, as for recording a certification (`certification.record`),
or the server's operator at the shell. `target` is the certification or the contract; another
organ's head is refused (`other_organisation`), as is every other role (`wrong_role`).
"""

from __future__ import annotations

from hozen.core.roles import Role

from ..policy import allow, deny, rule
from .core import _is_operator, _only

CERTIFICATION_MEASURES = ("certification.suspend", "certification.restore", "certification.revoke")
CONTRACT_MEASURES = ("contract.amend", "contract.terminate")

_OTHER_ORGAN = ("other_organisation", "他の行政機関の認定又は契約は扱えません。",
                "This certification or contract belongs to another organ.")


def certifying_organ_head(actor, target):
    """The head of the organ that granted the certification (or made the contract)."""
    if _is_operator(actor):
        return allow("server_operator")
    decision = _only(actor, Role.ORGAN_HEAD, code="wrong_role")
    if not decision.allowed:
        return decision
    if actor.organisation is None or actor.organisation.pk != target.organ_id:
        return deny(*_OTHER_ORGAN)
    return allow("certifying_organ")


for _action in CERTIFICATION_MEASURES + CONTRACT_MEASURES:
    rule(_action)(certifying_organ_head)
