"""Renewal reminders before a favourable result expires (issue 6; DOMAIN §6 step 8: valid 10 years
from notification, then a new assessment is needed while the person still handles ESI).

The daily job reminds the person, the nominating side and the deciding organ when a result reaches
one of ``rules.RENEWAL_REMINDER_DAYS`` before its ``valid_until``. One reminder per clearance,
recipient and threshold (a database constraint), so a rerun sends nothing twice. A result whose
renewal is already under way (an open assessment of the person by the same organ and tier), a
suspended, ended or unfavourable one, is not reminded.
"""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.db.models import Exists, OuterRef

from hozen import audit
from hozen.access import policy
from hozen.core import notices, rows

from .. import rules
from ..models import AssessmentCase, Clearance, QuestionnaireReminder, RenewalReminder
from ..states import OPEN, State
from ._common import today


def _due(on: dt.date):
    horizon = on + dt.timedelta(days=max(rules.RENEWAL_REMINDER_DAYS))
    renewal_open = AssessmentCase.objects.filter(person_id=OuterRef("person_id"), organ_id=OuterRef("organ_id"),
                                                 tier=OuterRef("tier"), state__in=sorted(OPEN))
    # In force on the day the job runs (dates decide: ARCHITECTURE rule 9), ending within the horizon.
    return (Clearance.objects.filter(Clearance.in_force_q(on), valid_until__lte=horizon)
            .exclude(Exists(renewal_open)).select_related("case").order_by("valid_until", "id"))


def send_renewal_reminders(*, actor, on: dt.date | None = None) -> int:
    """Write the reminders due on ``on`` (default today); returns how many were written. Run daily
    by the job ``assessment.renewal_reminders``; the operator may run it at the shell.

    Each clearance is reminded in its own short transaction, with its row locked and its dates
    asked again (ARCHITECTURE rule 8): two runs at once (a worker and the operator) remind once,
    with one audit entry, and a result suspended or ended meanwhile is not reminded. Clearances are
    taken in id order, the order every service locks them in."""
    policy.require(actor, "assessment.send_renewal_reminders")
    on = on or today()
    sent = 0
    for pk in list(_due(on).order_by("pk").values_list("pk", flat=True)):
        sent += _remind(actor, pk, on)
    return sent


@transaction.atomic(durable=True)
def _remind(actor, pk: int, on: dt.date) -> int:
    clearance = rows.lock(Clearance, pk, related=("case",))
    if not _due(on).filter(pk=pk).exists():  # suspended, ended or renewed since the list was read
        return 0
    days = rules.renewal_threshold(clearance.valid_until, on)
    if days is None:
        return 0
    recipients = [(RenewalReminder.Recipient.PERSON, None),
                  (RenewalReminder.Recipient.NOMINATOR, clearance.case.nominating_organisation_id)]
    if clearance.organ_id != clearance.case.nominating_organisation_id:
        recipients.append((RenewalReminder.Recipient.ORGAN, clearance.organ_id))
    have = set(RenewalReminder.objects.filter(clearance=clearance, days_before=days)
               .values_list("recipient_kind", flat=True))
    new = [RenewalReminder(clearance=clearance, recipient_kind=kind, recipient_organisation_id=org,
                           person_id=clearance.person_id, days_before=days, valid_until=clearance.valid_until)
           for kind, org in recipients if kind not in have]
    if not new:
        return 0
    RenewalReminder.objects.bulk_create(new)
    audit.record(actor, "assessment.remind_renewal", clearance, details={
        "subject_person_id": clearance.person_id, "days_before": days, "valid_until": clearance.valid_until,
        "recipients": [kind for kind, _org in recipients if kind not in have]})
    return len(new)


# --- questionnaire reminders (issue 14 §6) ----------------------------------------------------------

def _questionnaire_due(on: dt.date):
    horizon = on + dt.timedelta(days=max(rules.QUESTIONNAIRE_REMINDER_DAYS))
    return AssessmentCase.objects.filter(state=State.CONSENTED, stage_due_on__isnull=False,
                                         stage_due_on__lte=horizon, shredded_at__isnull=True)


def send_questionnaire_reminders(*, actor, on: dt.date | None = None) -> int:
    """Remind each person whose questionnaire is still to be submitted as its target date nears
    (``rules.QUESTIONNAIRE_REMINDER_DAYS`` before it) and once after it has passed; returns how
    many were sent. Run daily by the job ``assessment.questionnaire_reminders``.

    Each case in its own short transaction, its row locked and its state asked again (ARCHITECTURE
    rule 8): a questionnaire submitted meanwhile is not reminded, and two runs at once remind once
    (one row per case, target date and threshold). The e-mail (``notices``) commits with the row."""
    policy.require(actor, "assessment.send_questionnaire_reminders")
    on = on or today()
    sent = 0
    for pk in list(_questionnaire_due(on).order_by("pk").values_list("pk", flat=True)):
        sent += _remind_questionnaire(actor, pk, on)
    return sent


@transaction.atomic(durable=True)
def _remind_questionnaire(actor, pk: int, on: dt.date) -> int:
    case = rows.lock(AssessmentCase, pk)
    if not _questionnaire_due(on).filter(pk=pk).exists():  # submitted, withdrawn or ended since
        return 0
    days = rules.questionnaire_threshold(case.stage_due_on, on)
    if days is None or QuestionnaireReminder.objects.filter(case=case, due_on=case.stage_due_on,
                                                            days_before=days).exists():
        return 0
    QuestionnaireReminder.objects.create(case=case, due_on=case.stage_due_on, days_before=days)
    audit.record(actor, "assessment.remind_questionnaire", case, details={
        "subject_person_id": case.person_id, "days_before": days, "due_on": case.stage_due_on})
    notices.queue_for_person(case.person_id, "questionnaire_reminder", "portal")
    return 1
