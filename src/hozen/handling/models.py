"""Handler lists (取扱者名簿), briefings (取扱いの義務の説明) and exempt office holders (DOMAIN §5).

A `HandlerEntry` is one need-to-know grant: one account on the handler list of one designation,
kept by the holding organisation (the holding organ, or the recipient business or organ of
provided material). It ends by itself: on its end date, when the person leaves or transfers
(reported through the assessment app's ReportableEvent, or their role in the listing organisation
revoked), when the contract ends, or when the designation ends. The policy checks those facts at every decision, so a lapse takes effect at
once; the daily job then records it on the row (`ended_at`, `end_reason`) and audits it.

A `BriefingAcknowledgement` is the signed record that an account acknowledged the briefing text
of a rules pack version (HMAC over the text's hash, the pack version and the account).
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from hozen.core.models import Account, Organisation


class EndReason(models.TextChoices):
    REMOVED = "removed", _("Removed from the list")
    REVIEW_REMOVED = "review_removed", _("Removed at review")
    END_DATE = "end_date", _("End date reached")
    LEFT = "left", _("Left the employer")
    TRANSFERRED = "transferred", _("Transferred")
    ROLE_REVOKED = "role_revoked", _("Role in the organisation revoked")
    CONTRACT_ENDED = "contract_ended", _("Contract ended")
    DESIGNATION_ENDED = "designation_ended", _("Designation no longer in force")


class HandlerEntry(models.Model):
    """One account on the handler list of one designation (need to know, DOMAIN §5 (2))."""

    designation = models.ForeignKey("designation.Designation", on_delete=models.PROTECT,
                                    related_name="handler_entries", verbose_name=_("designation"))
    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="handler_entries",
                                     verbose_name=_("holding organisation"))
    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="handler_entries",
                                verbose_name=_("handler"))
    department = models.CharField(_("department"), max_length=200, blank=True)
    contract = models.ForeignKey("operators.Contract", on_delete=models.PROTECT, null=True, blank=True,
                                 related_name="handler_entries", verbose_name=_("contract"))
    reason = models.CharField(_("need to know"), max_length=300, blank=True)
    starts_on = models.DateField(_("from"))
    ends_on = models.DateField(_("until"))
    added_at = models.DateTimeField(_("added"), default=timezone.now)
    added_by = models.JSONField(_("added by"))
    last_confirmed_on = models.DateField(_("last confirmed"), null=True, blank=True)
    review_due = models.DateField(_("review due"), db_index=True)
    ended_at = models.DateTimeField(_("ended"), null=True, blank=True)
    ended_by = models.JSONField(_("ended by"), null=True, blank=True)
    end_reason = models.CharField(_("reason for ending"), max_length=24, choices=EndReason.choices, blank=True)

    class Meta:
        verbose_name = _("handler list entry (取扱者名簿)")
        verbose_name_plural = _("handler list entries")
        ordering = ["designation", "added_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["designation", "account"], condition=Q(ended_at__isnull=True),
                                    name="one_open_handler_entry_per_designation"),
        ]
        indexes = [
            models.Index(fields=["account", "designation"], name="handling_entry_account"),
            models.Index(fields=["designation", "organisation"], name="handling_entry_list"),
        ]

    def __str__(self) -> str:
        return f"handler entry {self.pk}"

    @property
    def is_open(self) -> bool:
        return self.ended_at is None


class ReviewCampaign(models.Model):
    """A periodic review of one holder's handler list for one designation: confirm or remove each."""

    designation = models.ForeignKey("designation.Designation", on_delete=models.PROTECT,
                                    related_name="handler_reviews")
    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="handler_reviews")
    opened_on = models.DateField(_("opened"))
    due_on = models.DateField(_("due"))
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)

    class Meta:
        verbose_name = _("handler list review")
        verbose_name_plural = _("handler list reviews")
        ordering = ["-opened_on", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["designation", "organisation"], condition=Q(closed_at__isnull=True),
                                    name="one_open_review_per_list"),
        ]

    def __str__(self) -> str:
        return f"review {self.pk}"


class BriefingAcknowledgement(models.Model):
    """An account's signed acknowledgement of one rules pack version's briefing (DOMAIN §5 (4))."""

    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="briefing_acknowledgements")
    rules_pack = models.ForeignKey("rules.RulesPack", on_delete=models.PROTECT, related_name="+")
    tier = models.CharField(_("tier"), max_length=8)
    briefing_version = models.PositiveIntegerField(_("briefing version"))
    text_sha256 = models.CharField(_("SHA-256 of the briefing text"), max_length=64)
    language = models.CharField(_("language read"), max_length=8)
    signature = models.CharField(_("signature"), max_length=64)
    acknowledged_at = models.DateTimeField(_("acknowledged"), default=timezone.now)

    class Meta:
        verbose_name = _("briefing acknowledgement")
        verbose_name_plural = _("briefing acknowledgements")
        ordering = ["-acknowledged_at", "-id"]
        indexes = [models.Index(fields=["account", "tier", "acknowledged_at"], name="handling_ack_account")]

    def __str__(self) -> str:
        return f"briefing acknowledgement {self.pk}"


class OfficeHolding(models.Model):
    """A person holding one of the rules pack's exempt political offices (DOMAIN §5: exempt from
    the assessment condition only; the other conditions still apply)."""

    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="office_holdings")
    office = models.CharField(_("office"), max_length=64)
    since = models.DateField(_("since"))
    until = models.DateField(_("until"), null=True, blank=True)
    recorded_by = models.JSONField()
    recorded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("exempt office holding")
        verbose_name_plural = _("exempt office holdings")
        ordering = ["-since", "-id"]

    def __str__(self) -> str:
        return f"office holding {self.pk}"
