"""Audit log storage: entries, their place in the Merkle tree, stored tree hashes, checkpoints.

Entries (``AuditEntry``) are written by services inside their own transactions, lock-free. The
Merkle tree over them (RFC 9162 §2.1) is kept in separate append-only tables filled by one
integrator at a time (``hozen.audit.integrator``), so writers never wait for each other:

- ``AuditLeaf``       leaf index -> entry: the order of the log (never the entry id order alone,
                      because a straggling transaction can commit a lower id later).
- ``AuditTreeHash``   every completed subtree hash, at Go tlog's dense storage index
                      (``merkle.stored_hash_index``): any root or proof is O(log n) reads.
- ``AuditSigningKey`` the Ed25519 checkpoint key; its seed only wrapped by the KEK provider.
- ``AuditCheckpoint`` every signed checkpoint (C2SP tlog-checkpoint in a signed note).
- ``AuditIntegrator`` the integrator's bookkeeping (watermark); not part of the record.
"""

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class _AppendOnly(models.Model):
    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise RuntimeError(f"{self._meta.verbose_name} rows are append-only")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise RuntimeError(f"{self._meta.verbose_name} rows are append-only")


class AuditEntry(models.Model):
    """One event. `data` holds the canonical JSON bytes (as text) and is never updated or deleted.

    The columns beside `data` are copies for filtering; the canonical bytes are the record.
    `subject_person_id` copies `details.subject_person_id` (whose personal data the event touched),
    so the assessed person's "who has read my data" page is one index range (ARCHITECTURE rule 4).
    Every filter of the auditor's log viewer has an index; the list is ordered by id.
    """

    data = models.TextField(editable=False)
    time = models.DateTimeField(db_index=True, editable=False)
    action = models.CharField(max_length=64, db_index=True, editable=False)
    actor_name = models.CharField(max_length=150, db_index=True, editable=False)
    organisation = models.CharField(max_length=32, blank=True, db_index=True, editable=False)
    target_type = models.CharField(max_length=64, blank=True, editable=False)
    target_id = models.CharField(max_length=64, blank=True, editable=False)
    outcome = models.CharField(max_length=16, editable=False)
    subject_person_id = models.BigIntegerField(null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("audit entry (監査記録)")
        verbose_name_plural = _("audit entries")
        ordering = ["id"]
        indexes = [
            models.Index(fields=["target_type", "target_id"]),
            # Partial indexes: most entries name no person and most succeed, so both stay small.
            models.Index(fields=["subject_person_id", "id"], condition=Q(subject_person_id__isnull=False),
                         name="audit_entry_subject_person"),
            models.Index(fields=["outcome", "time", "id"], condition=Q(outcome__in=["denied", "failure"]),
                         name="audit_entry_not_success"),
        ]

    def __str__(self) -> str:
        return f"audit entry {self.pk} ({self.action})"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise RuntimeError("audit entries are append-only")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise RuntimeError("audit entries are append-only")


class AuditLeaf(_AppendOnly):
    """Leaf `index` of the Merkle tree is `entry`. Written only by the integrator, in index order."""

    index = models.BigIntegerField(primary_key=True)
    entry = models.OneToOneField(AuditEntry, on_delete=models.PROTECT, related_name="leaf")

    class Meta:
        verbose_name = _("audit log leaf (監査ログ葉)")
        verbose_name_plural = _("audit log leaves")
        ordering = ["index"]

    def __str__(self) -> str:
        return f"leaf {self.index}"


class AuditTreeHash(_AppendOnly):
    """One stored hash of the tree at Go tlog's storage index (`merkle.stored_hash_index`)."""

    index = models.BigIntegerField(primary_key=True)
    hash = models.BinaryField(max_length=32)

    class Meta:
        verbose_name = _("audit tree hash (監査ログハッシュ)")
        verbose_name_plural = _("audit tree hashes")
        ordering = ["index"]

    def __str__(self) -> str:
        return f"tree hash {self.index}"


class AuditSigningKey(models.Model):
    """The checkpoint signing key of one log origin (key name = origin).

    The 32-byte Ed25519 seed is stored only wrapped by the key-encryption key provider
    (`hozen.crypto.provider`), with the KEK version needed to unwrap it. After a KEK rotation
    the seed is re-wrapped under the current version (`checkpoints.rewrap_signing_keys`): only
    `kek_version` and `wrapped_seed` may ever change; the key itself (name, public key) never does.
    """

    REWRAP_FIELDS = frozenset({"kek_version", "wrapped_seed"})

    name = models.CharField(max_length=200, unique=True)
    public_key = models.BinaryField(max_length=32)
    kek_version = models.PositiveIntegerField()
    wrapped_seed = models.BinaryField()
    created = models.DateTimeField()

    class Meta:
        verbose_name = _("audit signing key (監査ログ署名鍵)")
        verbose_name_plural = _("audit signing keys")

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs):
        fields = set(kwargs.get("update_fields") or ())
        if not self._state.adding and not (fields and fields <= self.REWRAP_FIELDS):
            raise RuntimeError("an audit signing key is never changed, only re-wrapped")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise RuntimeError("an audit signing key is never deleted: old checkpoints need it")


class AuditCheckpoint(_AppendOnly):
    """A signed checkpoint as issued: `note` is the exact signed-note text given to clients."""

    size = models.BigIntegerField(db_index=True)
    root_hash = models.BinaryField(max_length=32)
    note = models.TextField()
    key = models.ForeignKey(AuditSigningKey, on_delete=models.PROTECT, related_name="checkpoints")
    created = models.DateTimeField(db_index=True)

    class Meta:
        verbose_name = _("audit checkpoint (監査ログチェックポイント)")
        verbose_name_plural = _("audit checkpoints")
        ordering = ["id"]

    def __str__(self) -> str:
        return f"checkpoint #{self.pk} at size {self.size}"


class AuditIntegrator(models.Model):
    """The integrator's one bookkeeping row (pk=1). Mutable, and not part of the audit record.

    `watermark`: every entry with id <= watermark that will ever commit is already a leaf.
    `candidate_*`: the next watermark, waiting until no transaction could still commit an id
    below it (see `hozen.audit.integrator` for the reasoning).
    """

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    watermark = models.BigIntegerField(default=0)
    candidate_id = models.BigIntegerField(null=True)
    candidate_at = models.DateTimeField(null=True)
    candidate_xmax = models.BigIntegerField(null=True)
    updated = models.DateTimeField(null=True)

    class Meta:
        verbose_name = _("audit integrator state")
        verbose_name_plural = _("audit integrator state")

    def __str__(self) -> str:
        return f"integrator at watermark {self.watermark}"


class AuditSignatureMemo(models.Model):
    """What `hozen audit verify` has already checked, so each checkpoint signature is checked once.

    One row per signing key: every checkpoint of that key with id <= `checkpoint_id` had a valid
    signature and columns equal to its signed note when a verify passed. `digest` chains those
    checkpoints (id, size, root, SHA-256 of the note) in id order; `tag` is an HMAC over the
    key's name, `checkpoint_id` and `digest`, keyed from the signing key's seed (which only the
    KEK unwraps). The next verify recomputes the digest, a few microseconds per checkpoint,
    instead of an Ed25519 verification: a changed, added or removed checkpoint changes the digest,
    and a forged row has no valid tag, so either way every signature is checked again. Mutable
    bookkeeping, not part of the record.
    """

    key = models.OneToOneField(AuditSigningKey, on_delete=models.CASCADE, related_name="memo")
    checkpoint_id = models.BigIntegerField()
    digest = models.BinaryField(max_length=32)
    tag = models.BinaryField(max_length=32)
    updated = models.DateTimeField()

    class Meta:
        verbose_name = _("audit signature memo")
        verbose_name_plural = _("audit signature memos")

    def __str__(self) -> str:
        return f"signatures checked up to checkpoint #{self.checkpoint_id}"


class ReconcileRun(models.Model):
    """One run of the reconcile check (`hozen.audit.reconcile`): how many records of each kind were
    replayed and compared, and what disagreed (the first REPORT_LIMIT in full). The latest run is
    on the auditors' dashboard; each run is also an audit entry `audit.reconciled`."""

    started_at = models.DateTimeField(_("started"))
    finished_at = models.DateTimeField(_("finished"))
    checked = models.JSONField(_("records checked, by kind"), default=dict)
    disagreements = models.PositiveIntegerField(_("disagreements"), default=0)
    details = models.JSONField(_("disagreements found"), default=list)
    run_by = models.JSONField(_("run by"))

    class Meta:
        verbose_name = _("reconcile run")
        verbose_name_plural = _("reconcile runs")
        ordering = ["-finished_at", "-id"]

    def __str__(self) -> str:
        return f"reconcile run {self.pk}"
