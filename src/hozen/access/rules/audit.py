"""Rules for the audit log: who may read entries, proofs and checkpoints, and who runs its upkeep.

The auditor and oversight roles see audit entries only, never content (entries carry none:
`hozen.audit.service.record` keeps identifiers and codes). The server's operator at the shell
and the background jobs keep the log integrated and signed.

Browsing the log by who, what and when (and exporting it) is the auditor's alone: DOMAIN §1 gives
oversight statistics, not who did what. Every signed-in person sees the reads of their own
personal data (ARCHITECTURE rule 4), whatever their active role, or with none, refused attempts
included (without by whom, unless it was their own attempt: `audit.view_refused_reader`).
"""

from __future__ import annotations

from django.db.models import Q

from hozen.core.roles import Role

from ..policy import allow, deny, rule, scope_rule
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


@rule("audit.reconcile")
def audit_reconcile(actor, target):
    """Replay the log's lifecycle entries and compare them with the rows (`hozen audit reconcile`,
    the daily job): the operator, the job, or an auditor. Reports name records by id and fields by
    name, never content."""
    if _is_operator(actor) or _is_job(actor):
        return allow("server_operator" if _is_operator(actor) else "background_job")
    return _only(actor, Role.AUDITOR, code="not_auditor")


PERSONAL_DATA_READ = "personal_data.read"  # written by hozen.crypto.reveal
#: The entries on a person's "who has read my data" (issue 12 §7): decrypted reads of their data
#: (`personal_data.read`) and reads that showed facts about them, or were refused (`assessment.read`,
#: written by hozen.assessment.reads).
OWN_READ_ACTIONS = (PERSONAL_DATA_READ, "assessment.read")


@rule("audit.browse")
def audit_browse(actor, target):
    """The log viewer: entries filtered by actor, organisation, action, object, outcome and time."""
    return _only(actor, Role.AUDITOR, code="not_auditor")


@scope_rule("audit.browse", "audit.auditentry")
def audit_browse_scope(actor):
    return Q() if audit_browse(actor, None).allowed else Q(pk__in=[])


@rule("audit.export")
def audit_export(actor, target):
    """A CSV of the viewer's current filter (itself audited as `audit.exported`)."""
    return audit_browse(actor, target)


NOT_YOUR_DATA = ("not_your_data", "ご自身の個人情報の閲覧記録のみ表示できます。", "You can see only the reads of your own data.")


def _own_person_id(actor):
    return actor.account.person_id if actor.account is not None else None


@rule("audit.view_own_reads")
def audit_view_own_reads(actor, target):
    """`target` is a Person (the page) or an AuditEntry (one row of it): only one's own."""
    from hozen.audit.models import AuditEntry
    from hozen.core.models import Person

    person_id = _own_person_id(actor)
    if person_id is None:
        return deny("not_signed_in", "サインインが必要です。", "You need to sign in.")
    if isinstance(target, AuditEntry):
        if target.action in OWN_READ_ACTIONS and target.subject_person_id == person_id:
            return allow()
        return deny(*NOT_YOUR_DATA)
    if isinstance(target, Person) and target.pk == person_id:
        return allow()
    return deny(*NOT_YOUR_DATA)


@scope_rule("audit.view_own_reads", "audit.auditentry")
def audit_view_own_reads_scope(actor):
    person_id = _own_person_id(actor)
    if person_id is None:
        return Q(pk__in=[])
    return Q(action__in=OWN_READ_ACTIONS, subject_person_id=person_id)


@rule("audit.view_refused_reader")
def audit_view_refused_reader(actor, target):
    """Whether the person sees who made a refused attempt to read their data (`target`: the denied
    entry on their own list). The attempt itself is always shown; the reader's role and organisation
    only when it was the person's own attempt. Anyone else's refused attempt is the auditors' to
    investigate (they see every entry): shown to the person as refused, without by whom."""
    own = audit_view_own_reads(actor, target)
    if not own.allowed:
        return own
    if target.outcome != "denied":
        return allow("not_refused")
    if actor.account is not None and target.actor_name == actor.account.username:
        return allow("own_attempt")
    return deny("refused_reader_withheld", "閲覧を拒否された試みについて、試みた者は表示されません（監査担当が確認します）。",
                "For a refused attempt, who made it is not shown (the auditors look into it).")
