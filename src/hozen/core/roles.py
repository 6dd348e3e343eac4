"""The roles of DOMAIN.md §1, with the stable codes used by the CLI, the API and the policy."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    ORGAN_HEAD = "organ_head", _("Organ head (行政機関の長) delegate")
    ESI_MANAGER = "esi_manager", _("ESI manager")
    SECURITY_OFFICER = "security_officer", _("Agency security officer")
    INVESTIGATOR = "investigator", _("Cabinet Office investigator")
    ADJUDICATOR = "adjudicator", _("Adjudicator")
    COMPLAINT_HANDLER = "complaint_handler", _("Complaint handler")
    BUSINESS_OFFICER = "business_officer", _("Business protection officer")
    SUBJECT = "subject", _("Assessed person")
    OVERSIGHT = "oversight", _("Oversight inspector")
    AUDITOR = "auditor", _("Auditor")
    SYSADMIN = "sysadmin", _("System administrator")


#: Every role but the assessed person must sign in with a second factor (issue 3 §5).
SECOND_FACTOR_OPTIONAL = frozenset({Role.SUBJECT})


class OrganisationKind(models.TextChoices):
    ADMINISTRATIVE_ORGAN = "administrative_organ", _("Administrative organ")
    CABINET_OFFICE = "cabinet_office", _("Cabinet Office")
    BUSINESS = "business", _("Certified-business candidate")
    OVERSIGHT_BODY = "oversight_body", _("Oversight body")


#: Which kinds of organisation a role can be held in. Keeps "investigator at a company" out of the data.
ROLE_ORGANISATION_KINDS: dict[str, frozenset[str]] = {
    Role.ORGAN_HEAD: frozenset({OrganisationKind.ADMINISTRATIVE_ORGAN, OrganisationKind.CABINET_OFFICE}),
    Role.ESI_MANAGER: frozenset({OrganisationKind.ADMINISTRATIVE_ORGAN, OrganisationKind.CABINET_OFFICE}),
    Role.SECURITY_OFFICER: frozenset({OrganisationKind.ADMINISTRATIVE_ORGAN, OrganisationKind.CABINET_OFFICE}),
    Role.INVESTIGATOR: frozenset({OrganisationKind.CABINET_OFFICE}),
    Role.ADJUDICATOR: frozenset({OrganisationKind.ADMINISTRATIVE_ORGAN, OrganisationKind.CABINET_OFFICE}),
    Role.COMPLAINT_HANDLER: frozenset({OrganisationKind.ADMINISTRATIVE_ORGAN, OrganisationKind.CABINET_OFFICE}),
    Role.BUSINESS_OFFICER: frozenset({OrganisationKind.BUSINESS}),
    Role.SUBJECT: frozenset(OrganisationKind.values),
    Role.OVERSIGHT: frozenset({OrganisationKind.OVERSIGHT_BODY}),
    Role.AUDITOR: frozenset(OrganisationKind.values),
    Role.SYSADMIN: frozenset(OrganisationKind.values),
}
