"""Rules for the audit log: who may read entries, proofs and checkpoints, and who runs its upkeep.

The auditor and oversight roles see audit entries only, never content (entries carry none:
`hozen.audit.service.record` keeps identifiers and codes). The server's operator at the shell
and the background jobs keep the log integrated and signed.
"""

from __future__ import annotations

from hozen.core.roles import Role

from ..policy import allow, deny, rule
from .core import _only

READERS = (Role.AUDITOR, Role.OVERSIGHT)


def _is_operator(actor) -> bool:
    return actor.is_system and actor.channel == "cli"


def _is_job(actor) -> bool:
    return actor.is_system and actor.channel == "job"


@rule("audit.read")
def audit_read(actor, target):
    """Entries, inclusion and consistency proofs, checkpoints and the verifier key."""
    if _is_operator(actor):
        return allow("server_operator")
    return _only(actor, *READERS, code="not_audit_reader")


@rule("audit.verify")
def audit_verify(actor, target):
    """Recompute the whole log and check every checkpoint (`hozen audit verify`)."""
    return audit_read(actor, target)


@rule("audit.checkpoint")
def audit_checkpoint(actor, target):
    """Integrate pending entries and sign a checkpoint: the background job, the operator, or a
    reader asking the log to commit to its current state."""
    if _is_job(actor):
        return allow("background_job")
    return audit_read(actor, target)


@rule("audit.integrate")
def audit_integrate(actor, target):
    """Run the integrator by hand (`hozen audit integrate`), e.g. a sweep after a fault."""
    if _is_operator(actor) or _is_job(actor):
        return allow("server_operator" if _is_operator(actor) else "background_job")
    return deny("server_operator_only", "サーバーの操作者のみが実行できます。", "Only the server's operator may do this.")
