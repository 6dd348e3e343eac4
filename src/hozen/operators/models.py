"""Certified businesses (適合事業者): the minimal, real core the designation registry needs.

The business-certification issue grows this into the full lifecycle (pre-proposal, application,
review, changes, suspension); until then a certification and a contract are recorded as decided.
"""

from __future__ import annotations

import datetime as dt

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from hozen.core.models import Organisation


class Certification(models.Model):
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


class Contract(models.Model):
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
