"""Protected models shaped like the assessment app's will be: a case-like subject and its records."""

from django.db import models

from hozen.crypto.fields import EncryptedJSONField, EncryptedTextField
from hozen.crypto.models import ProtectedRecord, ProtectedSubject


class Dossier(ProtectedSubject):
    """Like an assessment case: owns the data key; notes and family details are personal data."""

    person = models.ForeignKey("core.Person", on_delete=models.PROTECT, null=True, related_name="+")
    title = models.CharField(max_length=100, default="")
    notes = EncryptedTextField()
    family = EncryptedJSONField()

    crypto_read_action = "dossier.read_personal"
    crypto_shred_action = "dossier.destroy"

    def __str__(self) -> str:
        return f"dossier {self.pk}"

    @property
    def crypto_subject_person_id(self):
        return self.person_id


class DossierEntry(ProtectedRecord):
    """Like a questionnaire answer: its own row, encrypted under its dossier's data key."""

    dossier = models.ForeignKey(Dossier, on_delete=models.CASCADE, related_name="entries")
    body = EncryptedTextField()

    crypto_read_action = "dossier.read_personal"

    def __str__(self) -> str:
        return f"entry {self.pk}"

    @property
    def crypto_subject(self):
        return self.dossier

    @property
    def crypto_subject_person_id(self):
        return self.dossier.person_id


class JobMark(models.Model):
    """One run of the multi-node test's slow job (tests/concurrency/test_multi_node.py): which worker
    process ran it, and when it started and finished."""

    worker = models.PositiveIntegerField()
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True)

    def __str__(self) -> str:
        return f"run by {self.worker} at {self.started_at}"


class TaskMark(models.Model):
    """The effect of one run of the multi-node test's slow task: one row per token, written in the
    task's transaction, so a task that ran to its end more than once would show as a second row
    attempt refused by the unique token."""

    token = models.CharField(max_length=64, unique=True)
    worker = models.CharField(max_length=64)
    runs = models.PositiveIntegerField(default=1)

    def __str__(self) -> str:
        return self.token
