"""Replaying certifications and contracts from the audit log (ARCHITECTURE rule 10;
`hozen.audit.reconcile`).

Certifications (`operators.certification`, from `certification.recorded`): the organ and the
business (codes), the certification date, and the suspension and revocation dates. Contracts
(`operators.contract`, from `contract.recorded`): reference, form, certification, organ and
business, the departments allowed to handle ESI, the validity dates and the termination date.
Until the business-certification issue brings services for suspending, revoking and terminating,
those dates are recorded only as empty at recording time: a date set behind the services' back is
a disagreement. Entries written before a detail was recorded leave that field out.
"""

from __future__ import annotations

from hozen.audit.reconcile import Replayer, details

from .models import Certification, Contract

CERTIFICATION_FIELDS = ("organ", "business", "certified_on", "suspended_on", "revoked_on")
CONTRACT_FIELDS = ("reference", "form", "certification", "organ", "business", "authorised_departments",
                   "valid_from", "valid_until", "terminated_on")


def _replay(fields):
    def replay(entries: list[dict]) -> dict:
        out: dict = {}
        for entry in entries:
            d = details(entry)
            out.update({name: d[name] for name in fields if name in d})
        return out
    return replay


def stored_certification(row: Certification) -> dict:
    return {"organ": row.organ.code, "business": row.business.code, "certified_on": row.certified_on,
            "suspended_on": row.suspended_on, "revoked_on": row.revoked_on}


def stored_contract(row: Contract) -> dict:
    return {"reference": row.reference, "form": row.form, "certification": row.certification_id,
            "organ": row.organ.code, "business": row.business.code,
            "authorised_departments": list(row.authorised_departments or []), "valid_from": row.valid_from,
            "valid_until": row.valid_until, "terminated_on": row.terminated_on}


CERTIFICATIONS = Replayer(kind="certification", model=Certification, target_type="operators.certification",
                          actions=frozenset({"certification.recorded"}), replay=_replay(CERTIFICATION_FIELDS),
                          stored=stored_certification, fields=CERTIFICATION_FIELDS, related=("organ", "business"))
CONTRACTS = Replayer(kind="contract", model=Contract, target_type="operators.contract",
                     actions=frozenset({"contract.recorded"}), replay=_replay(CONTRACT_FIELDS),
                     stored=stored_contract, fields=CONTRACT_FIELDS, related=("organ", "business"))

REPLAYERS = (CERTIFICATIONS, CONTRACTS)
