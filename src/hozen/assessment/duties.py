"""A proposed duty on a case, as the policy's target when someone assigns it to someone else.

``policy.decide(actor, "assessment.assign_investigator", DutyProposal(case, kind, account))`` asks
two things at once: may this actor assign, and may that person take this duty on this case
(separation of duties, ARCHITECTURE rule 5). The audit log references a proposal as its case:
it is a ``{"type", "id"}`` mapping, which ``audit.target_ref`` accepts as it is.
"""

from __future__ import annotations


class DutyProposal(dict):
    def __init__(self, case, kind: str, account):
        super().__init__(type=case._meta.label_lower, id=str(case.pk))
        self.case = case
        self.kind = kind
        self.account = account
