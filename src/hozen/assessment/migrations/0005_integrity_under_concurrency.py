"""Integrity under concurrency (issue 11): versions on the records people edit, and uniqueness in
the database, not only in code.

- Findings get a version (an edit names the one it changes); existing findings start at their
  revision. Questionnaire sections already counted versions; the field now belongs to
  ``core.rows.Versioned``.
- One notice per case and one consent decision (consent or refusal) per notice; one pending
  exemption per person, organ and tier; one current (not ended) result per person, organ and tier.

Before each constraint is added, the existing rows are checked: if any break it, the migration
stops with a message naming them (nothing is changed), so an operator can see and settle them
through the services instead of a constraint failing with a bare database error.
"""

from django.conf import settings
from django.db import migrations, models
from django.db.models import Count, F


class DataBreaksConstraint(Exception):
    """Existing rows break a constraint this migration adds: named, so they can be settled first."""


def _duplicates(model, fields, where, label):
    groups = (model.objects.filter(**where).values(*fields).annotate(n=Count("id")).filter(n__gt=1)
              .order_by(*fields))
    problems = []
    for group in groups:
        ids = sorted(model.objects.filter(**where, **{f: group[f] for f in fields}).values_list("id", flat=True))
        key = ", ".join(f"{f}={group[f]}" for f in fields)
        problems.append(f"{label} {ids} share {key}")
    return problems


def check_existing_rows(apps, schema_editor):
    CaseEvent = apps.get_model("assessment", "CaseEvent")
    Exemption = apps.get_model("assessment", "Exemption")
    Clearance = apps.get_model("assessment", "Clearance")
    problems = []
    problems += [f"one_notice_per_case: {p}" for p in _duplicates(
        CaseEvent, ["case_id"], {"kind": "notice_given"}, "notice events")]
    problems += [f"one_consent_decision_per_notice: {p}" for p in _duplicates(
        CaseEvent, ["case_id"], {"kind__in": ["consented", "refused"]}, "consent/refusal events")]
    problems += [f"one_pending_exemption_per_person_organ_tier: {p}" for p in _duplicates(
        Exemption, ["person_id", "organ_id", "tier"], {"state": "pending"}, "pending exemptions")]
    problems += [f"one_current_clearance_per_person_organ_tier: {p}" for p in _duplicates(
        Clearance, ["person_id", "organ_id", "tier"], {"ended_on__isnull": True}, "clearances not ended")]
    if problems:
        raise DataBreaksConstraint(
            "Existing assessment rows break the uniqueness this migration adds; nothing was changed. Settle "
            "each through the services (e.g. end the older result), then migrate again:\n  " + "\n  ".join(problems))


def findings_start_at_their_revision(apps, schema_editor):
    apps.get_model("assessment", "Finding").objects.update(version=F("revision"))


class Migration(migrations.Migration):

    dependencies = [
        ('assessment', '0004_case_summary_and_kept_papers'),
        ('core', '0001_initial'),
        ('operators', '0001_initial'),
        ('rules', '0002_shipped_packs'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RunPython(check_existing_rows, migrations.RunPython.noop),
        migrations.AddField(
            model_name='finding',
            name='version',
            field=models.PositiveIntegerField(default=1, editable=False, verbose_name='version'),
        ),
        migrations.RunPython(findings_start_at_their_revision, migrations.RunPython.noop),
        migrations.AlterField(
            model_name='questionnairesection',
            name='version',
            field=models.PositiveIntegerField(default=1, editable=False, verbose_name='version'),
        ),
        migrations.AddConstraint(
            model_name='caseevent',
            constraint=models.UniqueConstraint(condition=models.Q(('kind', 'notice_given')), fields=('case',), name='one_notice_per_case'),
        ),
        migrations.AddConstraint(
            model_name='caseevent',
            constraint=models.UniqueConstraint(condition=models.Q(('kind__in', ['consented', 'refused'])), fields=('case',), name='one_consent_decision_per_notice'),
        ),
        migrations.AddConstraint(
            model_name='clearance',
            constraint=models.UniqueConstraint(condition=models.Q(('ended_on__isnull', True)), fields=('person', 'organ', 'tier'), name='one_current_clearance_per_person_organ_tier'),
        ),
        migrations.AddConstraint(
            model_name='exemption',
            constraint=models.UniqueConstraint(condition=models.Q(('state', 'pending')), fields=('person', 'organ', 'tier'), name='one_pending_exemption_per_person_organ_tier'),
        ),
    ]
