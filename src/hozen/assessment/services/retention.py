"""Retention (DOMAIN §6, purpose limitation): files past their period are destroyed for good.

A case's personal data is crypto-shredded (``hozen.crypto.shred`` destroys its data key, so every
answer, inquiry, finding, reason, complaint and report of the case becomes unreadable at once);
the case rows, states, dates and outcomes stay, so oversight's counts survive (ARCHITECTURE rule
3). Notices to the nominating side lose their three facts on their own, shorter timer. Each case
is shredded in its own transaction, so a long run that stops halfway keeps what it did and the
next run carries on (the job is idempotent).
"""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils import timezone

from hozen import audit
from hozen.access import policy
from hozen.core.errors import RuleViolation
from hozen.crypto import shred

from ..models import (
    AdverseTreatmentReport,
    AssessmentCase,
    BusinessNotice,
    Complaint,
    Inquiry,
    QuestionnaireSection,
    RetentionRun,
)
from ..states import TERMINAL, ComplaintState, State
from ._common import event, today

#: A file is destroyed only once its case has ended: never during a re-examination or an open complaint.
ENDED = sorted(TERMINAL | {State.NOTIFIED})


def _due_cases(on: dt.date):
    open_complaints = Complaint.objects.exclude(state=ComplaintState.DECIDED).values("case_id")
    return (AssessmentCase.objects.filter(retain_until__lt=on, shredded_at__isnull=True, state__in=ENDED)
            .exclude(pk__in=open_complaints))


@transaction.atomic(durable=True)
def _shred_case(actor, pk: int, on: dt.date) -> bool:
    """Shred one case if it is still due once locked. The conditions are asked again after the lock
    (a statement of its own), not only in the locking query: on PostgreSQL a complaint filed while
    this run waited for the case's lock is committed, but the locking query's own view of the
    complaints would not show it."""
    case = AssessmentCase.objects.select_for_update(no_key=True).filter(pk=pk).first()
    if case is None or not _due_cases(on).filter(pk=pk).exists():  # another run did it, or a complaint arrived
        return False
    shred(actor, case, "retention_expired")
    QuestionnaireSection.objects.filter(case=case).update(content_digest="")
    Inquiry.objects.filter(case=case).update(content_digest="")
    Complaint.objects.filter(case=case).update(text_digest="")
    AdverseTreatmentReport.objects.filter(case=case).update(text_digest="")
    case.shredded_at = timezone.now()
    case.save(update_fields=["shredded_at"])
    event(actor, case, "shredded", retained_until=case.retain_until.isoformat())
    return True


def retention_run(*, actor, on: dt.date | None = None, progress=None) -> RetentionRun:
    """Shred every case past its retention date and expire every nominator notice past its own;
    record the counts. Run daily by the background job (``hozen.assessment.jobs``).
    ``progress(done, total)`` is called after each case looked at (for the CLI's bar)."""
    policy.require(actor, "assessment.retention_run")
    if on is not None and on > today():
        # A date ahead would destroy files before the end of their period, irrecoverably.
        raise RuleViolation("retention_date_in_future", "将来の日付では実行できません（保存期間の満了前に廃棄することになります）。",
                            "The retention run cannot be dated in the future: files would be destroyed before "
                            "their period ends.", field="on")
    on = on or today()
    due = list(_due_cases(on).values_list("pk", flat=True))
    shredded = 0
    for n, pk in enumerate(due, 1):
        shredded += _shred_case(actor, pk, on)
        if progress is not None:
            progress(n, len(due))
    with transaction.atomic(durable=True):
        expired = BusinessNotice.objects.filter(retain_until__lt=on, expired_at__isnull=True).update(
            consented=None, favourable=None, valid_until=None, expired_at=timezone.now())
        run = RetentionRun.objects.create(actor=actor.describe(), on=on, cases_shredded=shredded,
                                          notices_expired=expired)
        audit.record(actor, "assessment.retention_run", run, details={
            "on": on, "cases_shredded": shredded, "notices_expired": expired})
    return run
