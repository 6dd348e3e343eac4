"""Documents of a designation, their encrypted versions, the copies handed out, and custody.

DOMAIN §5: every read, copy, transfer, return and destruction of ESI material is recorded.

- ``Document`` (文書): a document filed under one designation; it has one or more versions.
- ``DocumentVersion`` (版): one uploaded file, stored encrypted under **its own data key**
  (a ``ProtectedSubject``), with its size and SHA-256. Shredding a version's key
  (``hozen.crypto.shred``) makes that version unreadable everywhere, backups included.
- ``Copy`` (複製): one rendering handed to one person (a view or a download, each with its own
  copy number and an invisible identifier), or one physical medium (a printout, a disc).
- ``CustodyEvent`` (管理記録): received, viewed, downloaded, copied, transferred, returned,
  destroyed; actors by value, like the audit log, so history survives account changes.
"""

from __future__ import annotations

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from hozen.core.models import Account, Organisation
from hozen.crypto.models import ProtectedSubject
from hozen.designation.models import Designation


class Document(models.Model):
    designation = models.ForeignKey(Designation, on_delete=models.PROTECT, related_name="vault_documents",
                                    verbose_name=_("designation"))
    title = models.CharField(_("title"), max_length=200)
    created_by = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    copies_issued = models.PositiveIntegerField(default=0, editable=False)  # the last copy number given

    class Meta:
        verbose_name = _("document (文書)")
        verbose_name_plural = _("documents")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"document #{self.pk}"  # never the title: it may itself be protected


class DocumentVersion(ProtectedSubject):
    """One uploaded file. Its bytes live in the vault storage as an encrypted stream only."""

    document = models.ForeignKey(Document, on_delete=models.PROTECT, related_name="versions")
    number = models.PositiveIntegerField(_("version"))
    filename = models.CharField(_("file name"), max_length=255)
    content_type = models.CharField(_("content type"), max_length=120)
    is_pdf = models.BooleanField(default=False)
    pages = models.PositiveIntegerField(null=True, blank=True)
    size = models.PositiveBigIntegerField(_("size (bytes)"))
    sha256 = models.CharField(_("SHA-256"), max_length=64)
    stored_name = models.CharField(max_length=255, unique=True, editable=False)
    stored_size = models.PositiveBigIntegerField(editable=False)
    uploaded_by = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="+")
    uploaded_at = models.DateTimeField(default=timezone.now, editable=False)

    crypto_read_action = "vault.document.read"
    crypto_shred_action = "vault.version.shred"

    class Meta:
        verbose_name = _("document version (版)")
        verbose_name_plural = _("document versions")
        ordering = ["document", "-number"]
        constraints = [models.UniqueConstraint(fields=["document", "number"], name="vault_one_number_per_version")]

    def __str__(self) -> str:
        return f"document #{self.document_id} v{self.number}"


class Copy(models.Model):
    """A copy someone holds: an electronic rendering (view, download) or a physical medium."""

    class Kind(models.TextChoices):
        VIEW = "view", _("Viewed on screen")
        DOWNLOAD = "download", _("Downloaded file")
        MEDIUM = "medium", _("Physical medium")

    class State(models.TextChoices):
        OUT = "out", _("Held")
        RETURNED = "returned", _("Returned")
        DESTROYED = "destroyed", _("Destroyed")

    version = models.ForeignKey(DocumentVersion, on_delete=models.PROTECT, related_name="copies")
    #: The version's document, kept on the copy so the database itself holds copy numbers unique
    #: per document (they run across versions and media: ``Document.copies_issued``).
    document = models.ForeignKey(Document, on_delete=models.PROTECT, related_name="copies", editable=False)
    number = models.PositiveIntegerField(_("copy number"))
    kind = models.CharField(_("kind"), max_length=12, choices=Kind.choices)
    token = models.CharField(max_length=24, unique=True, editable=False)
    medium = models.CharField(_("medium"), max_length=120, blank=True)
    parent = models.ForeignKey("self", on_delete=models.PROTECT, null=True, blank=True, related_name="children",
                               verbose_name=_("copied from"))
    recipient = models.ForeignKey(Account, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    recipient_name = models.CharField(_("recipient"), max_length=200)
    recipient_organisation = models.CharField(_("recipient's organisation"), max_length=200)
    holder = models.ForeignKey(Account, on_delete=models.PROTECT, null=True, blank=True, related_name="+",
                               verbose_name=_("current custodian"))
    holder_name = models.CharField(_("current custodian"), max_length=200)
    holder_organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, null=True, blank=True,
                                            related_name="+")
    marking = models.CharField(_("marking applied"), max_length=100, blank=True)
    delivered_sha256 = models.CharField(max_length=64, blank=True, db_index=True)
    state = models.CharField(_("state"), max_length=12, choices=State.choices, default=State.OUT, db_index=True)
    issued_at = models.DateTimeField(_("issued"), default=timezone.now)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("copy (複製)")
        verbose_name_plural = _("copies")
        ordering = ["-issued_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["document", "number"], name="vault_one_copy_number_per_document")]
        indexes = [models.Index(fields=["state", "kind"], name="vault_copy_open_items")]

    def __str__(self) -> str:
        return f"copy {self.number} of document #{self.document_id}"

    @property
    def is_open(self) -> bool:
        return self.state == self.State.OUT and self.kind != self.Kind.VIEW


class CustodyEvent(models.Model):
    class Kind(models.TextChoices):
        RECEIVED = "received", _("Received")
        VIEWED = "viewed", _("Viewed")
        DOWNLOADED = "downloaded", _("Downloaded")
        COPIED = "copied", _("Copied")
        TRANSFERRED = "transferred", _("Transferred")
        RETURNED = "returned", _("Returned")
        DESTROYED = "destroyed", _("Destroyed")

    copy = models.ForeignKey(Copy, on_delete=models.PROTECT, related_name="events")
    kind = models.CharField(_("event"), max_length=12, choices=Kind.choices)
    at = models.DateTimeField(default=timezone.now)
    actor = models.JSONField()  # by value, like the audit log
    actor_name = models.CharField(max_length=200)
    counterpart = models.ForeignKey(Account, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    counterpart_name = models.CharField(_("to / from"), max_length=200, blank=True)
    witness = models.ForeignKey(Account, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    witness_name = models.CharField(_("witness"), max_length=200, blank=True)
    method = models.CharField(_("method"), max_length=120, blank=True)

    class Meta:
        verbose_name = _("custody event (管理記録)")
        verbose_name_plural = _("custody events")
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.kind} copy #{self.copy_id}"
