"""Data keys, rotation runs, and the abstract bases for models that hold encrypted personal data.

A *protected subject* (an assessment case, a document) owns exactly one data key: a random
AES-256 key stored only wrapped by the key-encryption key (KEK). Its rows, and the rows of
*protected records* that belong to it (answers, notes, family details), hold personal data in
encrypted fields (``hozen.crypto.fields``) under that key. Destroying the data key
(``hozen.crypto.shred``) makes all of the subject's ciphertext unreadable at once.

Every protected row has ``crypto_id``, a UUID fixed at construction, so its identity is known
before the row is inserted (an autoincrement pk is not). Each ciphertext's associated data names
that UUID and the field, so a ciphertext copied into another row or field fails to decrypt.
"""

from __future__ import annotations

import uuid
from typing import ClassVar

from django.db import models, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class DataKey(models.Model):
    """One subject's data key (データ鍵), wrapped by a KEK version; never stored in the clear.

    ``owner`` is a label for people (``app.model:<uuid>``); ``subject_uuid`` is the owner's
    ``crypto_id`` and, with ``key_id``, the associated data of the wrap, so a wrapped key copied
    to another row does not unwrap. After shredding, ``wrapped`` and ``kek_version`` are empty
    and ``destroyed_at`` is set; the row stays so counts and the audit trail keep their referent.
    """

    key_id = models.UUIDField(_("key id"), default=uuid.uuid4, unique=True, editable=False)
    owner = models.CharField(_("owner"), max_length=200, editable=False)
    subject_uuid = models.UUIDField(_("subject"), unique=True, editable=False)
    kek_version = models.PositiveIntegerField(_("KEK version"), null=True, editable=False)
    wrapped = models.BinaryField(_("wrapped key"), null=True, editable=False)
    created_at = models.DateTimeField(_("created"), default=timezone.now, editable=False)
    rewrapped_at = models.DateTimeField(_("re-wrapped"), null=True, editable=False)
    destroyed_at = models.DateTimeField(_("destroyed"), null=True, editable=False, db_index=True)

    class Meta:
        verbose_name = _("data key (データ鍵)")
        verbose_name_plural = _("data keys")
        ordering = ["id"]
        indexes = [models.Index(fields=["kek_version", "id"], name="crypto_datakey_version_id")]

    def __str__(self) -> str:  # never the wrapped bytes
        state = f"destroyed {self.destroyed_at:%Y-%m-%d}" if self.destroyed_at else f"KEK v{self.kek_version}"
        return f"{self.owner} ({state})"

    @property
    def is_destroyed(self) -> bool:
        return self.destroyed_at is not None


class RotationRun(models.Model):
    """One `hozen keys rotate` run: which KEK version it re-wraps to, and whether it finished.

    An unfinished run is resumed by the next `hozen keys rotate` instead of adding yet another
    KEK version. ``started_at`` is recorded before the target version is added to the keyring,
    which is what lets `hozen keys status` tell which shredded keys a finished ``--retire-old``
    run has put beyond the reach of older backups (those destroyed before it started).
    """

    target_version = models.PositiveIntegerField(_("target KEK version"), editable=False)
    retire_old = models.BooleanField(_("retire old versions"), default=False, editable=False)
    started_at = models.DateTimeField(_("started"), default=timezone.now, editable=False)
    finished_at = models.DateTimeField(_("finished"), null=True, editable=False)
    rewrapped = models.PositiveIntegerField(_("keys re-wrapped"), default=0, editable=False)
    retired_versions = models.JSONField(_("retired versions"), default=list, editable=False)

    class Meta:
        verbose_name = _("key rotation (鍵の更新)")
        verbose_name_plural = _("key rotations")
        ordering = ["id"]
        # Two `hozen keys rotate` started at once must not both add a KEK version: one unfinished run.
        constraints = [models.UniqueConstraint(models.Value(1, output_field=models.IntegerField()),
                                               condition=models.Q(finished_at__isnull=True),
                                               name="one_unfinished_rotation")]

    def __str__(self) -> str:
        return f"rotation to KEK v{self.target_version} ({'finished' if self.finished_at else 'unfinished'})"


class ProtectedRecord(models.Model):
    """Abstract base of a model with encrypted fields whose data key belongs to a subject.

    Subclasses declare:

    - ``crypto_read_action``: the policy action ``hozen.crypto.reveal`` requires, e.g.
      ``"assessment.read_personal"``; its rule lives with the app's other rules;
    - ``crypto_subject``: the ``ProtectedSubject`` whose data key encrypts this row (override);
    - optionally ``crypto_subject_person_id``: the id of the person the data is about, so the
      audit log can list reads on that person's "who has read my data" page.
    """

    crypto_id = models.UUIDField(_("crypto id"), default=uuid.uuid4, unique=True, editable=False)

    crypto_read_action: ClassVar[str] = ""

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        # Encrypted fields encrypt in pre_save, unwrapping the data key once per save, and leave
        # the sealed values here; the instance trades its plaintext for them only once the row is
        # stored, so a failed save can be retried with the plaintext still in place.
        self._crypto_save = {"key": None, "sealed": {}}
        try:
            super().save(*args, **kwargs)
            for attname, sealed in self._crypto_save["sealed"].items():
                setattr(self, attname, sealed)
        finally:
            del self._crypto_save

    @property
    def crypto_subject(self) -> ProtectedSubject:
        raise NotImplementedError(f"{type(self).__name__} must define crypto_subject")

    @property
    def crypto_subject_person_id(self) -> int | None:
        return None


class ProtectedSubject(ProtectedRecord):
    """Abstract base of a subject that owns a data key (an assessment case, a document).

    The data key is created, wrapped under the current KEK version, in the same transaction as
    the subject's first save. ``data_key`` exposes the key's row (wrapped bytes only); the key
    itself is never an attribute of anything.

    Subclasses may set ``crypto_shred_action``: the policy action that lets a role holder
    shred this subject's key (the operator and background jobs may always; see
    ``hozen.access.rules.crypto``).
    """

    data_key = models.OneToOneField(
        DataKey, on_delete=models.PROTECT, null=True, editable=False, related_name="+",
        verbose_name=_("data key"),
    )

    crypto_shred_action: ClassVar[str] = ""

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        if self.data_key_id is not None:
            return super().save(*args, **kwargs)
        from .keys import create_data_key

        try:
            with transaction.atomic():
                self.data_key = create_data_key(self)
                super().save(*args, **kwargs)
        except BaseException:
            self.data_key = None  # rolled back with the row: a retry makes a new key
            raise

    def delete(self, *args, **kwargs):
        """Refused while the data key is live: backups would still hold readable data.

        Shred first (``hozen.crypto.shred``), then delete if the row itself must go. Statistics
        usually want the row kept. QuerySet.delete() and cascades bypass this check.
        """
        if self.data_key_id is not None and not DataKey.objects.filter(
            pk=self.data_key_id, destroyed_at__isnull=False
        ).exists():
            from .envelope import CryptoError

            raise CryptoError(
                f"refusing to delete {self._meta.label_lower} {self.pk} while its data key is live: "
                "shred it first (hozen.crypto.shred) so that backups cannot reveal the data"
            )
        return super().delete(*args, **kwargs)

    @property
    def crypto_subject(self) -> ProtectedSubject:
        return self
