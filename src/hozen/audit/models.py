"""Audit entries: append-only rows of canonical JSON (issue 3 §7; the Merkle log is built on these bytes)."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class AuditEntry(models.Model):
    """One event. `data` holds the canonical JSON bytes (as text) and is never updated or deleted.

    The columns beside `data` are copies for filtering; the canonical bytes are the record.
    """

    data = models.TextField(editable=False)
    time = models.DateTimeField(db_index=True, editable=False)
    action = models.CharField(max_length=64, db_index=True, editable=False)
    actor_name = models.CharField(max_length=150, db_index=True, editable=False)
    organisation = models.CharField(max_length=32, blank=True, db_index=True, editable=False)
    target_type = models.CharField(max_length=64, blank=True, editable=False)
    target_id = models.CharField(max_length=64, blank=True, editable=False)
    outcome = models.CharField(max_length=16, editable=False)

    class Meta:
        verbose_name = _("audit entry (監査記録)")
        verbose_name_plural = _("audit entries")
        ordering = ["id"]
        indexes = [models.Index(fields=["target_type", "target_id"])]

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise RuntimeError("audit entries are append-only")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise RuntimeError("audit entries are append-only")
