"""Designations (指定) of ESI through their whole life, the ledger's rows, provisions (提供).

DOMAIN §2, §3. Every figure a rule uses comes from the rules pack the decision applied, and each
decision row stores that pack (Designation.rules_pack for the designation itself, Extension,
Review and Cancellation rows for later decisions).
"""

from __future__ import annotations

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from hozen.core.models import Account, Organisation, RoleAssignment
from hozen.core.rows import Versioned
from hozen.crypto.fields import EncryptedTextField
from hozen.crypto.models import ProtectedSubject


class Tier(models.TextChoices):
    ESI = "esi", _("Important Economic Security Information (重要経済安保情報)")
    SDS = "sds", _("Specially Designated Secret (特定秘密)")


class State(models.TextChoices):
    DRAFT = "draft", _("Draft")
    DESIGNATED = "designated", _("Designated")
    EXPIRED = "expired", _("Expired")
    CANCELLED = "cancelled", _("Cancelled")
    MOVED_TO_SDS = "moved_to_sds", _("Moved to SDS")
    # DOMAIN §2 (to verify for ESI): Cabinet approval beyond the threshold refused, files to the archives.
    TRANSFERRED = "transferred", _("Ended: transferred to the National Archives")


#: The marking documents carry in each state (the vault applies it to files).
MARKINGS = {
    (Tier.ESI, State.DESIGNATED): "重要経済安保情報",
    (Tier.ESI, State.EXPIRED): "重要経済安保情報（指定の有効期間満了）",
    (Tier.ESI, State.CANCELLED): "重要経済安保情報（指定解除）",
    (Tier.ESI, State.MOVED_TO_SDS): "重要経済安保情報（指定解除・特定秘密へ移行）",
    (Tier.ESI, State.TRANSFERRED): "重要経済安保情報（指定終了・国立公文書館へ移管）",
    (Tier.SDS, State.DESIGNATED): "特定秘密",
    (Tier.SDS, State.EXPIRED): "特定秘密（指定の有効期間満了）",
    (Tier.SDS, State.CANCELLED): "特定秘密（指定解除）",
    (Tier.SDS, State.TRANSFERRED): "特定秘密（指定終了・国立公文書館へ移管）",
}


class ProtectiveMeasure(models.TextChoices):
    MARKING = "marking", _("Marking (表示)")
    WRITTEN_NOTICE = "written_notice", _("Written notification (通知)")


def state_q(state: str, on) -> models.Q:
    """The rows in `state` on the date `on`, as dates decide (ARCHITECTURE rule 9): a designation
    whose term has ended is expired from the next day, whether or not the daily job has recorded it."""
    if state == State.DESIGNATED:
        return models.Q(state=State.DESIGNATED, term_end__gte=on)
    if state == State.EXPIRED:
        return models.Q(state=State.EXPIRED) | models.Q(state=State.DESIGNATED, term_end__lt=on)
    return models.Q(state=state)


def state_on(state: str, term_end, on) -> str:
    """`state_q` for one row's values."""
    return State.EXPIRED if state == State.DESIGNATED and term_end < on else state


#: The one wording of a designation's state, Japanese and English, for the screens, the ledger's
#: CSV and its PDF alike (issue 15: the same extended designation read 指定中, 指定中（延長） and 延長).
#: The ledger is an official Japanese document: its files always use the Japanese label; a screen
#: uses the reader's language. `extended` is not a stored state: a designation in force that was
#: extended at least once.
STATE_LABELS: dict[str, tuple[str, str]] = {
    "draft": ("起案中", "Draft"),
    "designated": ("指定中", "Designated"),
    "extended": ("指定中（延長）", "Designated (extended)"),
    "expired": ("満了", "Expired"),
    "cancelled": ("解除", "Cancelled"),
    "moved_to_sds": ("特定秘密へ移行", "Moved to SDS"),
    "transferred": ("国立公文書館へ移管", "Ended: transferred to the National Archives"),
}


def _was_extended(designation) -> bool:
    """Whether the designation has an extension: from prefetched extensions (the ledger), from an
    `extended` annotation (the list), else one query (a single designation's page)."""
    cached = getattr(designation, "_prefetched_objects_cache", {})
    if "extensions" in cached:
        return bool(cached["extensions"])
    annotated = designation.__dict__.get("extended")
    if annotated is not None:
        return bool(annotated)
    return designation.extensions.exists()


def ledger_state(designation, on=None) -> str:
    """The state a designation reads as, as dates decide (`state_on`), with `extended` for a
    designation in force that was extended: a key of STATE_LABELS."""
    state = designation.state_on(on)
    if state == State.DESIGNATED and _was_extended(designation):
        return "extended"
    return state


def state_label(designation, language: str | None = "ja", on=None) -> str:
    """The label of a designation's state: the one function the screens, the CSV and the PDF use."""
    ja, en = STATE_LABELS[ledger_state(designation, on)]
    return en if (language or "ja").startswith("en") else ja


class Designation(Versioned):
    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="designations",
                                     verbose_name=_("holding organ"))
    tier = models.CharField(_("tier"), max_length=8, choices=Tier.choices, default=Tier.ESI)
    reference = models.CharField(_("reference number"), max_length=40, unique=True, null=True, blank=True)
    year = models.PositiveIntegerField(null=True, blank=True, editable=False)
    serial = models.PositiveIntegerField(null=True, blank=True, editable=False)
    title = models.CharField(_("title"), max_length=200)
    summary = models.TextField(_("summary"))
    rules_pack = models.ForeignKey("rules.RulesPack", on_delete=models.PROTECT, related_name="designations")
    category = models.ForeignKey("rules.Category", on_delete=models.PROTECT, related_name="designations",
                                 verbose_name=_("category"))
    sub_item = models.ForeignKey("rules.SubItem", on_delete=models.PROTECT, related_name="designations",
                                 verbose_name=_("sub-item"))
    justification_category = models.TextField(_("requirement 1: falls in the category (justification)"))
    justification_not_public = models.TextField(_("requirement 2: not public (justification)"))
    justification_harm = models.TextField(_("requirement 3: harm to national security if leaked (justification)"))
    in_advance = models.BooleanField(_("designated before the information exists"), default=False)
    advance_reason = models.TextField(_("reason for designating before the information exists"), blank=True)
    designated_on = models.DateField(_("designation date"))
    term_end = models.DateField(_("term end"))
    protective_measure = models.CharField(_("protective measure"), max_length=16, choices=ProtectiveMeasure.choices)
    state = models.CharField(_("state"), max_length=16, choices=State.choices, default=State.DRAFT, db_index=True)
    review_due = models.DateField(_("review due"), null=True, blank=True, db_index=True)
    prepared_by = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="+")
    approved_by = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="+", null=True, blank=True)
    approved_at = models.DateTimeField(null=True, blank=True)
    # Sent back to the preparer (差戻し) and not changed since: the open `DraftReturn` holds who,
    # when and the comment. The draft stays a draft; saving it again clears this (a resubmission).
    returned_at = models.DateTimeField(_("sent back to the preparer at"), null=True, blank=True)
    ended_on = models.DateField(_("ended on"), null=True, blank=True)
    end_reason = models.TextField(_("reason for ending"), blank=True)
    successor = models.OneToOneField("self", on_delete=models.PROTECT, null=True, blank=True,
                                     related_name="predecessor", verbose_name=_("SDS designation"))
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("designation (指定)")
        verbose_name_plural = _("designations")
        ordering = ["-year", "-serial", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["organisation", "tier", "year", "serial"],
                                    name="one_serial_per_organ_tier_and_year"),
        ]
        indexes = [
            models.Index(fields=["organisation", "state", "term_end"]),
            models.Index(fields=["organisation", "-year", "-serial"]),
            # The list's order: without it every page sorts all visible rows (benchmarks: 68 → 5 ms).
            models.Index(fields=["-year", "-serial", "-id"], name="designation_list_order"),
        ]

    def __str__(self) -> str:
        return self.reference or f"draft #{self.pk}"

    def state_on(self, on=None) -> str:
        """The state the dates give on `on` (today by default): `state` as stored, except that a
        designation whose term has ended is expired from the next day (ARCHITECTURE rule 9)."""
        return state_on(self.state, self.term_end, on or timezone.localdate())

    def get_state_on_display(self) -> str:
        """The label of the state for screens, in the active language (`state_label`: a designation
        past its term end reads "Expired", one in force that was extended "Designated (extended)")."""
        from django.utils import translation

        return state_label(self, translation.get_language())

    @property
    def marking(self) -> str:
        return MARKINGS.get((self.tier, self.state_on()), "")

    @property
    def is_in_force(self) -> bool:
        return self.state_on() == State.DESIGNATED

    @property
    def first_designated_on(self):
        """The start of the cumulative period: an SDS successor counts from its own designation."""
        return self.designated_on


class DraftReturn(models.Model):
    """A draft sent back (差戻し) to the ESI manager with a comment, instead of being approved, by
    someone who may approve it (`designation.return`). The draft stays a draft; the return is open
    (`addressed_at` empty, `Designation.returned_at` set) until its preparer saves it again.

    The comment is the organ's own deliberation on its draft, kept like the draft's own texts (in
    the clear, as the justifications and correction requests are); the audit entry names the return,
    never its comment."""

    designation = models.ForeignKey(Designation, on_delete=models.PROTECT, related_name="returns")
    comment = models.TextField(_("comment"))
    returned_by = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="+",
                                    verbose_name=_("sent back by"))
    returned_at = models.DateTimeField(_("sent back at"), default=timezone.now)
    version = models.PositiveIntegerField(_("version sent back"))
    addressed_at = models.DateTimeField(_("changed by the preparer at"), null=True, blank=True)

    class Meta:
        verbose_name = _("draft sent back (差戻し)")
        verbose_name_plural = _("drafts sent back")
        ordering = ["-returned_at", "-id"]

    def __str__(self) -> str:
        return f"return of {self.designation} at version {self.version}"


class Holder(models.Model):
    """An organisation holding the designated information (the organ itself, recipients)."""

    designation = models.ForeignKey(Designation, on_delete=models.CASCADE, related_name="holders")
    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="held_designations")
    since = models.DateField(_("since"))

    class Meta:
        constraints = [models.UniqueConstraint(fields=["designation", "organisation"], name="one_holder_row")]
        # The `designation.view` scope reads an organ's designation ids from here: covering, so
        # the database never visits the table for it (benchmarks: the list's COUNT 6 → 2.5 ms on SQLite).
        indexes = [models.Index(fields=["organisation", "designation"], name="holder_by_organisation")]

    def __str__(self) -> str:
        return f"{self.designation}@{self.organisation.code}"


class Event(models.Model):
    """The designation's history, in the ledger. Actors by value, like the audit log."""

    class Kind(models.TextChoices):
        DRAFTED = "drafted", _("Drafted")
        DESIGNATED = "designated", _("Designated")
        EXTENDED = "extended", _("Extended")
        REVIEWED = "reviewed", _("Reviewed: requirements still met")
        EXPIRED = "expired", _("Expired")
        CANCELLED = "cancelled", _("Cancelled")
        MOVED_TO_SDS = "moved_to_sds", _("Moved to SDS")
        TRANSFERRED = "transferred_to_archives", _("Cabinet approval refused: transferred to the National Archives")
        PROVIDED = "provided", _("Provided")
        CORRECTION_REQUESTED = "correction_requested", _("Correction requested")
        CORRECTION_ANSWERED = "correction_answered", _("Correction answered")

    designation = models.ForeignKey(Designation, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=32, choices=Kind.choices)
    on = models.DateField()
    at = models.DateTimeField(default=timezone.now)
    actor = models.JSONField()
    rules_pack = models.ForeignKey("rules.RulesPack", on_delete=models.PROTECT, null=True, blank=True,
                                   related_name="+")
    details = models.JSONField(default=dict)

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.designation} {self.kind} {self.on}"


class Extension(models.Model):
    designation = models.ForeignKey(Designation, on_delete=models.PROTECT, related_name="extensions")
    previous_end = models.DateField()
    new_end = models.DateField(_("new term end"))
    reason = models.TextField(_("reason"))
    cabinet_approval_ref = models.CharField(_("Cabinet approval reference"), max_length=100, blank=True)
    cap_exemption = models.CharField(_("absolute-cap exemption relied on"), max_length=64, blank=True)
    rules_pack = models.ForeignKey("rules.RulesPack", on_delete=models.PROTECT, related_name="+")
    decided_by = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="+")
    decided_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["decided_at", "id"]

    def __str__(self) -> str:
        return f"{self.designation} → {self.new_end}"


class Review(models.Model):
    class Outcome(models.TextChoices):
        REQUIREMENTS_MET = "requirements_met", _("Requirements still met")
        CANCEL = "cancel", _("Requirements no longer met: cancelled")

    designation = models.ForeignKey(Designation, on_delete=models.PROTECT, related_name="reviews")
    reviewed_on = models.DateField()
    outcome = models.CharField(max_length=24, choices=Outcome.choices)
    note = models.TextField(blank=True)
    next_due = models.DateField(null=True, blank=True)
    rules_pack = models.ForeignKey("rules.RulesPack", on_delete=models.PROTECT, related_name="+")
    reviewed_by = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="+")

    def __str__(self) -> str:
        return f"{self.designation} review {self.reviewed_on}"


class Notification(models.Model):
    """A written notification to a holder or recipient (DOMAIN §2: every holder and recipient is
    notified in writing on extension, expiry or cancellation); also shown in the app.

    A recipient with no organisation in Hozen (a foreign government or international
    organisation, the Diet, its boards or a court: `Provision.recipient` is empty) still gets its
    record: `recipient` is empty, `recipient_name` and `provision` say who, and the holding organ
    sends it in writing; it stays on that organ's list of notices sent until acknowledged.
    """

    class Kind(models.TextChoices):
        EXTENDED = "extended", _("Designation extended")
        EXPIRED = "expired", _("Designation expired")
        CANCELLED = "cancelled", _("Designation cancelled")
        MOVED_TO_SDS = "moved_to_sds", _("Designation moved to SDS")
        TRANSFERRED = "transferred_to_archives", _("Designation ended: files transferred to the National Archives")

    designation = models.ForeignKey(Designation, on_delete=models.PROTECT, related_name="notifications")
    recipient = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="designation_notices",
                                  null=True, blank=True)
    recipient_name = models.CharField(_("recipient name"), max_length=200, blank=True)
    provision = models.ForeignKey("Provision", on_delete=models.PROTECT, null=True, blank=True,
                                  related_name="notifications")
    kind = models.CharField(max_length=24, choices=Kind.choices)
    marking = models.CharField(max_length=100)
    created_at = models.DateTimeField(default=timezone.now)
    acknowledged_at = models.DateTimeField(_("acknowledged at"), null=True, blank=True)
    # Who acknowledged it for the recipient, by value like the audit log (never a cascading key).
    acknowledged_by = models.JSONField(_("acknowledged by"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["recipient", "acknowledged_at"])]

    def __str__(self) -> str:
        return f"{self.kind} {self.designation} → {self.recipient.code if self.recipient_id else self.recipient_name}"

    @property
    def sent_by_holding_organ(self) -> bool:
        """No in-app recipient: the holding organ sends this notice in writing itself."""
        return self.recipient_id is None

    @property
    def is_acknowledged(self) -> bool:
        return self.acknowledged_at is not None


class CorrectionRequest(models.Model):
    """The Independent Public Records Management Supervisor's request (DOMAIN §8) and the organ's answer."""

    class Kind(models.TextChoices):
        CANCEL = "cancel", _("Cancellation demanded")
        AMEND = "amend", _("Correction of the record demanded")

    designation = models.ForeignKey(Designation, on_delete=models.PROTECT, related_name="corrections")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    request = models.TextField(_("request"))
    requested_by = models.JSONField()
    requested_at = models.DateTimeField(default=timezone.now)
    answer = models.TextField(_("answer"), blank=True)
    answered_by = models.JSONField(null=True, blank=True)
    answered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-requested_at"]

    def __str__(self) -> str:
        return f"correction {self.kind} {self.designation}"


class Provision(models.Model):
    """A provision (提供) of designated information to another body (DOMAIN §3)."""

    class RecipientKind(models.TextChoices):
        ORGAN = "organ", _("Another administrative organ")
        BUSINESS = "business", _("Certified business under a contract")
        FOREIGN = "foreign", _("Foreign government or international organisation")
        DIET_OR_COURT = "diet_or_court", _("The Diet, its boards or a court (closed session)")

    designation = models.ForeignKey(Designation, on_delete=models.PROTECT, related_name="provisions")
    recipient_kind = models.CharField(_("recipient kind"), max_length=16, choices=RecipientKind.choices)
    recipient = models.ForeignKey(Organisation, on_delete=models.PROTECT, null=True, blank=True,
                                  related_name="provisions_received")
    recipient_name = models.CharField(_("recipient name"), max_length=200, blank=True)
    contract = models.ForeignKey("operators.Contract", on_delete=models.PROTECT, null=True, blank=True,
                                 related_name="provisions")
    basis = models.TextField(_("legal basis"))
    provided_on = models.DateField(_("provided on"))
    items = models.TextField(_("what was provided"))
    equivalence_finding = models.TextField(_("finding of equivalent protection"), blank=True)
    handler_list = models.JSONField(_("recipient's handler list"), default=list)
    recorded_by = models.JSONField()
    recorded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-provided_on", "-id"]

    def __str__(self) -> str:
        return f"{self.designation} → {self.recipient_name or self.recipient}"


class ReviewReminder(models.Model):
    """An in-app notice to the holding organ's ESI managers that a designation's review is due or
    overdue (DOMAIN §2: review at least yearly). The daily job writes one per designation and due
    date, never twice (the unique constraint makes a rerun, or two workers, harmless)."""

    designation = models.ForeignKey(Designation, on_delete=models.CASCADE, related_name="review_reminders")
    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    due = models.DateField(_("review due"))
    overdue = models.BooleanField(_("overdue when noticed"), default=False)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["due", "id"]
        constraints = [models.UniqueConstraint(fields=["designation", "due"], name="one_reminder_per_due_date")]
        indexes = [models.Index(fields=["organisation", "due"])]

    def __str__(self) -> str:
        return f"review {self.designation} due {self.due}"


class PreparedLedger(ProtectedSubject):
    """A large ledger's file (指定管理簿), built by a task after the request that asked for it
    (issue 13 §2) and kept, encrypted under its own data key, for its requester to download until
    ``expires_at``; then the key is destroyed (``designation.prepared_ledger_expiry``).

    The task builds it with the requester's rights as they stand when it runs (a role revoked
    meanwhile fails it). Downloading is the export: each download is an audit entry
    ``designation.ledger_exported``, as for a ledger exported directly.
    """

    class Status(models.TextChoices):
        QUEUED = "queued", _("Being prepared")
        READY = "ready", _("Ready")
        FAILED = "failed", _("Could not be prepared")
        EXPIRED = "expired", _("Expired")

    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+",
                                     verbose_name=_("organisation"))
    requested_by = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="+",
                                     verbose_name=_("requested by"))
    assignment = models.ForeignKey(RoleAssignment, on_delete=models.PROTECT, related_name="+")
    fmt = models.CharField(_("format"), max_length=8)
    status = models.CharField(_("status"), max_length=8, choices=Status.choices, default=Status.QUEUED)
    rows = models.PositiveIntegerField(_("rows"), null=True)
    failure = models.CharField(max_length=64, blank=True, default="")  # a policy or rule code
    body = EncryptedTextField(_("file"), null=True)  # base64 of the file's bytes
    created_at = models.DateTimeField(_("requested at"), default=timezone.now, editable=False)
    ready_at = models.DateTimeField(_("ready at"), null=True)
    expires_at = models.DateTimeField(_("expires at"))

    crypto_read_action = "designation.prepared_ledger.read"

    class Meta:
        verbose_name = _("prepared ledger")
        verbose_name_plural = _("prepared ledgers")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["requested_by", "organisation", "-created_at"]),
                   models.Index(fields=["status", "expires_at"])]

    def __str__(self) -> str:
        return f"prepared ledger {self.pk} ({self.organisation_id}, {self.fmt})"
