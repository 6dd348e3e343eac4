"""Replaying certifications and contracts from the audit log (ARCHITECTURE rule 10;
`hozen.audit.reconcile`).

Certifications (`operators.certification`, from `certification.recorded`, `.suspended`,
`.restored` and `.revoked`): the organ and the business (codes), the certification date, the
suspension and revocation dates, and the version. Contracts (`operators.contract`, from
`contract.recorded`, `.amended` and `.terminated`): reference, form, certification, organ and
business, the departments allowed to handle ESI, the validity dates, the termination date and the
version. Each entry carries the values it set, so the last entry naming a field is the field's
value: a date or a department changed behind the services' back is a disagreement. Entries written
before a detail was recorded (the version, before the measures existed) leave that field out.
"""

from __future__ import annotations

from hozen.audit.reconcile import Replayer, details

from .models import Certification, Contract

CERTIFICATION_FIELDS = ("organ", "business", "certified_on", "suspended_on", "revoked_on", "version")
CONTRACT_FIELDS = ("reference", "form", "certification", "organ", "business", "authorised_departments",
                   "valid_from", "valid_until", "terminated_on", "version")
CERTIFICATION_ACTIONS = frozenset({"certification.recorded", "certification.suspended", "certification.restored",
                                   "certification.revoked"})
CONTRACT_ACTIONS = frozenset({"contract.recorded", "contract.amended", "contract.terminated"})


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
            "suspended_on": row.suspended_on, "revoked_on": row.revoked_on, "version": row.version}


def stored_contract(row: Contract) -> dict:
    return {"reference": row.reference, "form": row.form, "certification": row.certification_id,
            "organ": row.organ.code, "business": row.business.code,
            "authorised_departments": list(row.authorised_departments or []), "valid_from": row.valid_from,
            "valid_until": row.valid_until, "terminated_on": row.terminated_on, "version": row.version}


CERTIFICATIONS = Replayer(kind="certification", model=Certification, target_type="operators.certification",
                          actions=CERTIFICATION_ACTIONS, replay=_replay(CERTIFICATION_FIELDS),
                          stored=stored_certification, fields=CERTIFICATION_FIELDS, related=("organ", "business"))
CONTRACTS = Replayer(kind="contract", model=Contract, target_type="operators.contract",
                     actions=CONTRACT_ACTIONS, replay=_replay(CONTRACT_FIELDS),
                     stored=stored_contract, fields=CONTRACT_FIELDS, related=("organ", "business"))

REPLAYERS = (CERTIFICATIONS, CONTRACTS)
