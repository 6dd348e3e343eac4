"""Background work of the audit log: integrate new entries and sign checkpoints while it grows."""

from __future__ import annotations

from hozen.access import policy

from . import checkpoints

JOB_NAME = "audit.checkpoint"
#: How often the worker calls the job; the checkpoint interval itself is a setting (see checkpoints).
EVERY_SECONDS = 60


def issue_checkpoint_if_grown(*, actor=None):
    """Integrate pending entries; sign a checkpoint if the log grew and the last one is older than
    HOZEN_AUDIT_CHECKPOINT_INTERVAL_SECONDS (default 300). Returns the new checkpoint or None.

    Idempotent, so two workers or a rerun after a crash do no harm (they serialise on the
    integrator lock, and an unchanged log gets no new checkpoint)."""
    from hozen.core.actor import Actor

    actor = actor or Actor.job(JOB_NAME)
    policy.require(actor, "audit.checkpoint")
    return checkpoints.issue_checkpoint_if_grown()


RECONCILE_JOB = "audit.reconcile"
RECONCILE_EVERY_SECONDS = 24 * 3600


def reconcile_daily(*, actor=None):
    """The daily reconcile check (ARCHITECTURE rule 10): replay the log, compare the rows, keep the
    run for the auditors' dashboard and write `audit.reconciled` (see hozen.audit.reconcile)."""
    from hozen.core.actor import Actor

    from .reconcile import run_and_record

    return run_and_record(actor=actor or Actor.job(RECONCILE_JOB))[1]
