"""Certified businesses (適合事業者): certifications, contracts and the organ's measures on them.

A certification and a contract are recorded as decided (the application and review of issue 16 come
later); the organ can then suspend, restore and revoke a certification, and amend or terminate a
contract (`services`). Each such measure is a `CertificationChange` row carrying the reason the organ
gave, which the audit log leaves out (free text never goes into the log); the dates on the
certification and the contract are what the access gate reads (dates decide, ARCHITECTURE rule 9).
"""

from __future__ import annotations

import datetime as dt

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from hozen.core.models import Organisation
from hozen.core.rows import Versioned


class Certification(Versioned):
    """An organ's certification of a business (per organ: there is no national facility clearance)."""

    organ = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="certifications_granted")
    business = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="certifications")
    certified_on = models.DateField(_("certified on"))
    suspended_on = models.DateField(_("suspended on"), null=True, blank=True)
    revoked_on = models.DateField(_("revoked on"), null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("certification (適合事業者の認定)")
        verbose_name_plural = _("certifications")

    def __str__(self) -> str:
        return f"{self.organ.code}→{self.business.code}"

    def is_active(self, on: dt.date) -> bool:
        if self.certified_on > on:
            return False
        if self.revoked_on and self.revoked_on <= on:
            return False
        return not (self.suspended_on and self.suspended_on <= on)


class Contract(Versioned):
    """A contract under which an organ provides ESI to a certified business (DOMAIN §4)."""

    class Form(models.TextChoices):
        RECEIVES = "receives", _("Receives ESI from the organ")
        PRODUCES = "produces", _("Holds ESI it produces")

    organ = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="contracts_granted")
    business = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="contracts")
    certification = models.ForeignKey(Certification, on_delete=models.PROTECT, related_name="contracts")
    reference = models.CharField(_("contract reference"), max_length=64)
    form = models.CharField(_("form"), max_length=16, choices=Form.choices)
    authorised_departments = models.JSONField(_("departments allowed to handle ESI"), default=list)
    valid_from = models.DateField(_("valid from"))
    valid_until = models.DateField(_("valid until"))
    terminated_on = models.DateField(_("terminated on"), null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("contract (契約)")
        verbose_name_plural = _("contracts")
        constraints = [models.UniqueConstraint(fields=["organ", "reference"], name="contract_reference_per_organ")]

    def __str__(self) -> str:
        return f"{self.organ.code}/{self.reference}"

    def is_active(self, on: dt.date) -> bool:
        if not (self.valid_from <= on <= self.valid_until):
            return False
        if self.terminated_on and self.terminated_on <= on:
            return False
        return self.certification.is_active(on)


class CertificationChange(models.Model):
    """One measure the organ took on a certification or one of its contracts, with its reason
    (DOMAIN §4: suspension, restoration, revocation, amendment, termination). Written by the
    services only, in the same transaction as the change and its audit entry; never edited."""

    class Kind(models.TextChoices):
        SUSPENDED = "suspended", _("Certification suspended")
        RESTORED = "restored", _("Certification restored")
        REVOKED = "revoked", _("Certification revoked")
        AMENDED = "amended", _("Contract amended")
        TERMINATED = "terminated", _("Contract terminated")

    certification = models.ForeignKey(Certification, on_delete=models.PROTECT, related_name="changes")
    contract = models.ForeignKey(Contract, on_delete=models.PROTECT, related_name="changes", null=True, blank=True)
    kind = models.CharField(_("measure"), max_length=16, choices=Kind.choices)
    effective_on = models.DateField(_("takes effect on"))
    reason = models.TextField(_("reason"))
    departments_added = models.JSONField(_("departments added"), default=list, blank=True)
    departments_removed = models.JSONField(_("departments removed"), default=list, blank=True)
    decided_by = models.CharField(_("decided by"), max_length=200)  # by value: the actor's name
    decided_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("certification or contract measure (認定・契約に係る措置)")
        verbose_name_plural = _("certification and contract measures")
        ordering = ["-decided_at", "-id"]

    def __str__(self) -> str:
        return f"{self.kind} {self.effective_on:%Y-%m-%d}"
