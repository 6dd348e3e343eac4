"""Aptitude assessment (適性評価) cases and everything that hangs off them (DOMAIN §6).

Personal data — questionnaire answers, inquiries and their answers, findings, reasons,
complaints, adverse-treatment reports, the description of a concerning event — is ciphertext at
rest under the case's own data key (``AssessmentCase`` is a ``ProtectedSubject``; the others are
``ProtectedRecord`` rows of it), so shredding the case's key destroys all of it at once while
the case rows, states and dates stay for the statistics oversight needs (ARCHITECTURE rule 3).
Plaintext comes only from ``hozen.crypto.reveal``, which asks the policy with the model's
``crypto_read_action`` and audits the read (rule 1, 2, 4).

What stays in clear is what the workflow, the queues and the nominator's three facts need:
states, dates, assignments, outcomes, the subject's advance waiver of reasons (the policy and
the notification act on it), and the kind and organisation of each inquiry (shown to the
subject after notification).
"""

from __future__ import annotations

import datetime as dt

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from hozen.core.models import Account, Organisation, Person
from hozen.core.rows import Versioned
from hozen.crypto.fields import EncryptedJSONField, EncryptedTextField
from hozen.crypto.models import ProtectedRecord, ProtectedSubject
from hozen.rules.models import Tier

from .items import ITEMS
from .questionnaire import SECTIONS
from .states import OPEN, ComplaintState, ExemptionState, State

ITEM_CHOICES = [(i.code, f"({i.number}) {i.label_ja}") for i in ITEMS]
SECTION_CHOICES = [(s.code, s.title_ja) for s in SECTIONS]


class Trigger(models.TextChoices):
    NEW = "new", _("Newly expected to handle ESI")
    TEN_YEAR_RENEWAL = "ten_year_renewal", _("Renewal: ten years since the last favourable result")
    CONCERN = "concern", _("Re-assessment: circumstances suggest a risk")


class Outcome(models.TextChoices):
    FAVOURABLE = "favourable", _("Favourable")
    UNFAVOURABLE = "unfavourable", _("Unfavourable")


class AssessmentCase(ProtectedSubject):
    """One aptitude assessment of one person for one organ head (DOMAIN §6 steps 1–9)."""

    person = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="assessment_cases",
                               verbose_name=_("assessed person"))
    tier = models.CharField(_("tier"), max_length=8, choices=Tier.choices, default=Tier.ESI)
    organ = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="assessments_decided",
                              verbose_name=_("deciding organ"))
    nominating_organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT,
                                                related_name="assessments_nominated",
                                                verbose_name=_("nominating organisation"))
    contract = models.ForeignKey("operators.Contract", on_delete=models.PROTECT, null=True, blank=True,
                                 related_name="assessment_cases", verbose_name=_("contract"))
    nominated_by = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="+",
                                     verbose_name=_("nominated by"))
    trigger = models.CharField(_("trigger"), max_length=24, choices=Trigger.choices)
    reassessment_of = models.ForeignKey("Clearance", on_delete=models.PROTECT, null=True, blank=True,
                                        related_name="reassessments", verbose_name=_("re-assessment of"))
    department = models.CharField(_("department"), max_length=200)
    post = models.CharField(_("post"), max_length=200)
    # DOMAIN §6 step 1: the candidate first agrees to be listed (not asked for a re-assessment
    # opened by a reported concern: its notice and consent follow as for any case).
    listing_agreed_on = models.DateField(_("candidate agreed to be listed on"), null=True, blank=True)
    dispatched_worker = models.BooleanField(_("dispatched worker"), default=False)
    employing_agency = models.CharField(_("employing agency"), max_length=200, blank=True)
    state = models.CharField(_("state"), max_length=48, choices=State.choices, default=State.NOMINATED)
    rules_pack = models.ForeignKey("rules.RulesPack", on_delete=models.PROTECT, related_name="+",
                                   verbose_name=_("rules pack applied"))
    stage_entered_at = models.DateTimeField(_("current stage entered"), default=timezone.now)
    stage_due_on = models.DateField(_("current stage target date"), null=True, blank=True)
    nominated_at = models.DateTimeField(_("nominated"), default=timezone.now)
    notice_given_at = models.DateTimeField(_("notice given"), null=True, blank=True)
    consent_decided_at = models.DateTimeField(_("consent or refusal given"), null=True, blank=True)
    questionnaire_submitted_at = models.DateTimeField(_("questionnaire submitted"), null=True, blank=True)
    questionnaire_sha256 = models.CharField(_("SHA-256 of the submitted questionnaire"), max_length=64, blank=True)
    investigation_started_at = models.DateTimeField(_("investigation started"), null=True, blank=True)
    interview_at = models.DateTimeField(_("interview"), null=True, blank=True)
    investigation_completed_at = models.DateTimeField(_("investigation completed"), null=True, blank=True)
    adjudicated_at = models.DateTimeField(_("adjudicated"), null=True, blank=True)
    notified_at = models.DateTimeField(_("result notified"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)
    reasons_waived = models.BooleanField(_("subject asked in advance not to receive reasons"), default=False)
    reasons_waiver_recorded_at = models.DateTimeField(_("waiver of reasons recorded"), null=True, blank=True)
    retain_until = models.DateField(_("file kept until"), null=True, blank=True)
    shredded_at = models.DateTimeField(_("personal data destroyed"), null=True, blank=True)

    # The case row itself holds no encrypted field; its records declare their own read actions.
    crypto_read_action = "assessment.read_answers"

    class Meta:
        verbose_name = _("aptitude assessment (適性評価)")
        verbose_name_plural = _("aptitude assessments")
        ordering = ["-nominated_at", "-id"]
        constraints = [
            # One assessment in progress per person, organ and tier (a race between two nominations
            # cannot open a second one: the check in rules.py is the friendly message, this the guarantee).
            models.UniqueConstraint(fields=["person", "organ", "tier"], condition=Q(state__in=sorted(OPEN)),
                                    name="one_open_assessment_per_person_organ_tier"),
        ]
        indexes = [
            models.Index(fields=["state", "stage_due_on"], name="assessment_case_queue"),
            models.Index(fields=["organ", "state"], name="assessment_case_organ"),
            models.Index(fields=["nominating_organisation", "state"], name="assessment_case_nominator"),
            # The nominator's list, newest first (its page is read in this order, without a sort).
            models.Index(fields=["nominating_organisation", "-nominated_at", "-id"], name="assessment_case_nominated"),
            models.Index(fields=["person", "tier", "organ"], name="assessment_case_person"),
            models.Index(fields=["retain_until"], condition=Q(shredded_at__isnull=True),
                         name="assessment_case_retention"),
        ]

    def __str__(self) -> str:
        return f"assessment {self.pk}"

    @property
    def crypto_subject_person_id(self) -> int:
        return self.person_id

    @property
    def is_business_nomination(self) -> bool:
        return self.contract_id is not None

    def current_adjudication(self) -> Adjudication | None:
        return self.adjudications.order_by("-round").first()


class CaseDuty(models.Model):
    """Who works a case, and as what. One row per person per case: the database itself keeps one
    person from holding two duties on one case (separation of duties, ARCHITECTURE rule 5). Ended
    duties stay, so a former investigator is still someone who "worked the case"."""

    class Kind(models.TextChoices):
        INVESTIGATOR = "investigator", _("Investigator")
        ADJUDICATOR = "adjudicator", _("Adjudicator")
        CONCURRING_ADJUDICATOR = "concurring_adjudicator", _("Concurring adjudicator")
        COMPLAINT_HANDLER = "complaint_handler", _("Complaint handler")

    case = models.ForeignKey(AssessmentCase, on_delete=models.PROTECT, related_name="duties")
    kind = models.CharField(_("duty"), max_length=32, choices=Kind.choices)
    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="assessment_duties")
    assigned_at = models.DateTimeField(_("assigned"), default=timezone.now)
    assigned_by = models.JSONField(_("assigned by"))
    ended_at = models.DateTimeField(_("ended"), null=True, blank=True)

    class Meta:
        verbose_name = _("duty on an assessment")
        verbose_name_plural = _("duties on assessments")
        ordering = ["assigned_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["case", "account"], name="one_duty_per_person_per_case"),
            models.UniqueConstraint(fields=["case", "kind"], condition=Q(ended_at__isnull=True) & ~Q(
                kind="complaint_handler"), name="one_active_holder_per_case_duty"),
        ]
        indexes = [models.Index(fields=["account", "kind", "ended_at"], name="assessment_duty_queue")]

    def __str__(self) -> str:
        return f"{self.kind} of assessment {self.case_id}"


class CaseEvent(models.Model):
    """Every step of a case (DOMAIN §6: every step an event with actor and timestamp). The actor
    is stored by value, like the audit log; details carry codes and ids only, never content."""

    case = models.ForeignKey(AssessmentCase, on_delete=models.PROTECT, related_name="events")
    kind = models.CharField(_("event"), max_length=48)
    at = models.DateTimeField(_("at"), default=timezone.now)
    actor = models.JSONField(_("by"))
    state_from = models.CharField(max_length=48, blank=True)
    state_to = models.CharField(max_length=48, blank=True)
    details = models.JSONField(default=dict)

    class Meta:
        verbose_name = _("assessment event")
        verbose_name_plural = _("assessment events")
        ordering = ["at", "id"]
        constraints = [
            # One notice per case, and one consent decision (consent or refusal) per notice: the
            # state table allows each once; these keep a second one out of the database too.
            models.UniqueConstraint(fields=["case"], condition=Q(kind="notice_given"), name="one_notice_per_case"),
            models.UniqueConstraint(fields=["case"], condition=Q(kind__in=["consented", "refused"]),
                                    name="one_consent_decision_per_notice"),
        ]

    def __str__(self) -> str:
        return f"assessment {self.case_id} {self.kind}"


class Exemption(models.Model):
    """A nomination held because an earlier favourable result may exempt the person (Art. 12(1)(i)).

    No case opens while it is pending; it takes effect only when the organ confirms, with a
    recorded reason, that no concern has arisen (DOMAIN §6). Declining opens the case from the
    nomination kept here. The nominator sees the basis (which earlier result) and the decision.
    """

    person = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="assessment_exemptions")
    tier = models.CharField(_("tier"), max_length=8, choices=Tier.choices)
    organ = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+",
                              verbose_name=_("deciding organ"))
    nominating_organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    contract = models.ForeignKey("operators.Contract", on_delete=models.PROTECT, null=True, blank=True,
                                 related_name="+")
    nominated_by = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="+")
    nominated_at = models.DateTimeField(default=timezone.now)
    nomination = models.JSONField(_("nomination as submitted"))
    basis = models.ForeignKey("Clearance", on_delete=models.PROTECT, related_name="+",
                              verbose_name=_("earlier result relied on"))
    window_years = models.PositiveSmallIntegerField(_("recognition window (years)"))
    rules_pack = models.ForeignKey("rules.RulesPack", on_delete=models.PROTECT, related_name="+")
    state = models.CharField(_("state"), max_length=16, choices=ExemptionState.choices,
                             default=ExemptionState.PENDING)
    decided_by = models.ForeignKey(Account, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    decided_at = models.DateTimeField(null=True, blank=True)
    # The organ's statement that no concern has arisen (or why it declines). Procedural text:
    # the screens say to write no personal details here.
    reason = models.TextField(_("reason"), blank=True)
    case = models.OneToOneField(AssessmentCase, on_delete=models.PROTECT, null=True, blank=True,
                                related_name="declined_exemption")

    class Meta:
        verbose_name = _("exemption from assessment (適性評価の省略)")
        verbose_name_plural = _("exemptions from assessment")
        ordering = ["-nominated_at", "-id"]
        constraints = [
            # One nomination awaiting the organ per person, organ and tier: two nominations at once
            # cannot both be held (the check in rules.py is the friendly message, this the guarantee).
            models.UniqueConstraint(fields=["person", "organ", "tier"], condition=Q(state="pending"),
                                    name="one_pending_exemption_per_person_organ_tier"),
        ]
        indexes = [models.Index(fields=["organ", "state"], name="assessment_exemption_organ"),
                   models.Index(fields=["nominating_organisation", "state"], name="assessment_exemption_nominator")]

    def __str__(self) -> str:
        return f"exemption {self.pk}"


class CaseRecord(ProtectedRecord):
    """A record of one case: encrypted under the case's data key, about the case's person."""

    class Meta:
        abstract = True

    @property
    def crypto_subject(self) -> AssessmentCase:
        return self.case

    @property
    def crypto_subject_person_id(self) -> int:
        return self.case.person_id


class QuestionnaireSection(CaseRecord, Versioned):
    """One section of the subject's questionnaire, as its latest draft (or as submitted).

    ``version`` counts changes (1 for the first save; a section never saved is "version 0"): saving
    the same content again changes nothing, and a save made on an older version than the stored one
    (a second tab, another device) is refused (ARCHITECTURE rule 8). ``content_digest``
    is an HMAC of the content under the server's secret (never a bare hash: short answers could be
    guessed), kept only to recognise a repeated save and wiped when the case is shredded.
    ``is_complete`` and ``error_count`` drive the completeness view without decrypting anything.
    """

    case = models.ForeignKey(AssessmentCase, on_delete=models.PROTECT, related_name="sections")
    section = models.CharField(_("section"), max_length=40, choices=SECTION_CHOICES)
    content = EncryptedJSONField(_("answers"))
    content_digest = models.CharField(max_length=64, blank=True, editable=False)
    is_complete = models.BooleanField(_("complete"), default=False)
    error_count = models.PositiveIntegerField(default=0)
    saved_at = models.DateTimeField(_("saved"), default=timezone.now)
    # A re-assessment starts from the last accepted answers (LESSONS.md): the section is a copy of
    # the earlier case's submitted section until the subject confirms it (saving it, changed or not).
    prefilled_from = models.ForeignKey(AssessmentCase, on_delete=models.PROTECT, null=True, blank=True,
                                       related_name="+", verbose_name=_("prefilled from the earlier assessment"))
    confirmed_at = models.DateTimeField(_("prefilled answers confirmed"), null=True, blank=True)

    crypto_read_action = "assessment.read_answers"

    class Meta:
        verbose_name = _("questionnaire section (質問票)")
        verbose_name_plural = _("questionnaire sections")
        constraints = [models.UniqueConstraint(fields=["case", "section"], name="one_row_per_questionnaire_section")]

    def __str__(self) -> str:
        return f"{self.section} v{self.version} of assessment {self.case_id}"


class Inquiry(CaseRecord):
    """A question or document request to someone about the subject (DOMAIN §6 step 5)."""

    class RecipientKind(models.TextChoices):
        SUPERIOR = "superior", _("Superior")
        COLLEAGUE = "colleague", _("Colleague")
        ACQUAINTANCE = "acquaintance", _("Acquaintance")
        PUBLIC_OFFICE = "public_office", _("Public office")
        ORGANISATION = "organisation", _("Other organisation")

    class Method(models.TextChoices):
        QUESTION = "question", _("Question")
        DOCUMENT_REQUEST = "document_request", _("Request for documents")

    case = models.ForeignKey(AssessmentCase, on_delete=models.PROTECT, related_name="inquiries")
    recipient_kind = models.CharField(_("recipient kind"), max_length=24, choices=RecipientKind.choices)
    # Shown to the subject after notification; a person's name goes in recipient_name (encrypted).
    recipient_organisation = models.CharField(_("recipient organisation"), max_length=200)
    method = models.CharField(_("method"), max_length=24, choices=Method.choices, default=Method.QUESTION)
    recipient_name = EncryptedTextField(_("recipient name"))
    question = EncryptedTextField(_("question"))
    # A keyed digest of the name and question (``services._common.fact_digest``): recognises the same
    # inquiry recorded twice without decrypting anything; wiped when the case is shredded.
    content_digest = models.CharField(max_length=64, blank=True, editable=False)
    response = EncryptedTextField(_("response"))
    sent_on = models.DateField(_("sent on"))
    answered_on = models.DateField(_("answered on"), null=True, blank=True)
    recorded_by = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField(default=timezone.now)

    crypto_read_action = "assessment.read_investigation"

    class Meta:
        verbose_name = _("inquiry (照会)")
        verbose_name_plural = _("inquiries")
        ordering = ["sent_on", "id"]

    def __str__(self) -> str:
        return f"inquiry {self.pk} of assessment {self.case_id}"


class Finding(CaseRecord, Versioned):
    """The investigation's finding on one of the seven items. ``revision`` numbers the texts
    recorded; ``version`` is what an edit names (the form's hidden field, the API's If-Match), so a
    revision made on an older copy (another tab, a colleague) is refused, never written over it."""

    case = models.ForeignKey(AssessmentCase, on_delete=models.PROTECT, related_name="findings")
    item = models.CharField(_("item"), max_length=8, choices=ITEM_CHOICES)
    text = EncryptedTextField(_("finding"))
    revision = models.PositiveIntegerField(default=1)
    recorded_by = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField(default=timezone.now)

    crypto_read_action = "assessment.read_investigation"

    class Meta:
        verbose_name = _("finding (調査結果)")
        verbose_name_plural = _("findings")
        ordering = ["item"]
        constraints = [models.UniqueConstraint(fields=["case", "item"], name="one_finding_per_item")]

    def __str__(self) -> str:
        return f"finding {self.item} of assessment {self.case_id}"


class CaseSummary(CaseRecord):
    """The investigator's summary of the case for the adjudicator (issue 6 §1 "Investigation": a
    case summary for the adjudicator). Written when the investigation is completed, required for
    it; encrypted like the findings and read by the same people."""

    case = models.OneToOneField(AssessmentCase, on_delete=models.PROTECT, related_name="summary")
    text = EncryptedTextField(_("case summary"))
    recorded_by = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField(default=timezone.now)

    crypto_read_action = "assessment.read_investigation"

    class Meta:
        verbose_name = _("case summary (調査の概要)")
        verbose_name_plural = _("case summaries")

    def __str__(self) -> str:
        return f"summary of assessment {self.case_id}"


class InvestigationReturn(CaseRecord):
    """The adjudicator sends a completed investigation back to the investigator with a question
    (差戻し, issue 15 "send back") instead of deciding. The question and the investigator's answer
    are about the person, so both are encrypted under the case's key and read like the findings
    (the case's workers, never the subject or the nominating side). The answer is recorded when the
    investigator completes the investigation again; one open question per case at a time."""

    case = models.ForeignKey(AssessmentCase, on_delete=models.PROTECT, related_name="returns")
    question = EncryptedTextField(_("question to the investigator"))
    asked_by = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="+")
    asked_at = models.DateTimeField(default=timezone.now)
    answer = EncryptedTextField(_("investigator's answer"))
    answered_by = models.ForeignKey(Account, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    answered_at = models.DateTimeField(null=True, blank=True)

    crypto_read_action = "assessment.read_investigation"

    class Meta:
        verbose_name = _("case returned to the investigator (差戻し)")
        verbose_name_plural = _("cases returned to the investigator")
        ordering = ["asked_at", "id"]
        constraints = [models.UniqueConstraint(fields=["case"], condition=Q(answered_at__isnull=True),
                                               name="one_open_return_per_case")]

    def __str__(self) -> str:
        return f"return {self.pk} of assessment {self.case_id}"


class CaseDocument(CaseRecord):
    """A paper kept as it was given (issue 6 §1: "a PDF of the notice and of the consent is kept"):
    rendered once when the notice is given or the subject declares, stored encrypted under the
    case's key (base64 inside the encrypted text) with the SHA-256 of the PDF, which the audit entry
    also carries. Downloads serve these bytes, so a later change of the template or the wording
    never changes a paper already given; shredding the case's key makes them unreadable."""

    class Kind(models.TextChoices):
        NOTICE = "notice", _("Notice (告知書)")
        CONSENT_RECORD = "consent_record", _("Consent record (同意書)")

    case = models.ForeignKey(AssessmentCase, on_delete=models.PROTECT, related_name="documents")
    kind = models.CharField(_("kind"), max_length=24, choices=Kind.choices)
    language = models.CharField(_("language"), max_length=2)
    content = EncryptedTextField(_("PDF (base64)"))
    sha256 = models.CharField(_("SHA-256 of the PDF"), max_length=64)
    created_at = models.DateTimeField(default=timezone.now)

    crypto_read_action = "assessment.read_papers"

    class Meta:
        verbose_name = _("kept paper (告知書・同意書)")
        verbose_name_plural = _("kept papers")
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["case", "kind", "language"], name="assessment_document_case")]

    def __str__(self) -> str:
        return f"{self.kind} ({self.language}) of assessment {self.case_id}"


class Adjudication(CaseRecord):
    """A decision on a case with reasons per item; an unfavourable one needs a concurrence.

    A second round follows when the concurring adjudicator does not agree, or after a complaint
    leads to re-examination; the latest round is the decision in force.
    """

    class Concurrence(models.TextChoices):
        AGREED = "agreed", _("Concurred")
        NOT_AGREED = "not_agreed", _("Did not concur")

    case = models.ForeignKey(AssessmentCase, on_delete=models.PROTECT, related_name="adjudications")
    round = models.PositiveSmallIntegerField(_("round"))
    outcome = models.CharField(_("outcome"), max_length=16, choices=Outcome.choices)
    reasons = EncryptedJSONField(_("reasons per item"))
    reasons_waived = models.BooleanField(_("subject asked in advance not to receive reasons"))
    adjudicator = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="+")
    decided_at = models.DateTimeField(default=timezone.now)
    rules_pack = models.ForeignKey("rules.RulesPack", on_delete=models.PROTECT, related_name="+",
                                   verbose_name=_("rules pack applied"))
    concurrence = models.CharField(_("concurrence"), max_length=16, choices=Concurrence.choices, blank=True)
    concurred_by = models.ForeignKey(Account, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    concurred_at = models.DateTimeField(null=True, blank=True)
    notified_at = models.DateTimeField(_("notified"), null=True, blank=True)

    crypto_read_action = "assessment.read_reasons"

    class Meta:
        verbose_name = _("adjudication (評価)")
        verbose_name_plural = _("adjudications")
        ordering = ["case", "round"]
        constraints = [models.UniqueConstraint(fields=["case", "round"], name="one_adjudication_per_round")]

    def __str__(self) -> str:
        return f"adjudication {self.round} of assessment {self.case_id}"


class Clearance(models.Model):
    """The eligibility record of a notified result (DOMAIN §6 steps 7–8, §5 condition 1).

    ``valid_until`` is the notification date plus the pack's validity (10 years for ESI, 5 for
    SDS), the last valid day: the period is counted from the day after notification (民法 第140条,
    初日不算入), so it ends on the anniversary. Suspended while a re-assessment for a concern runs;
    ended when a later result replaces it or the re-assessment does not end favourably.
    """

    class EndReason(models.TextChoices):
        SUPERSEDED = "superseded", _("Replaced by a later result")
        REASSESSMENT_UNFAVOURABLE = "reassessment_unfavourable", _("Re-assessment unfavourable")
        REASSESSMENT_NOT_COMPLETED = "reassessment_not_completed", _("Re-assessment not consented or not completed")

    person = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="clearances")
    organ = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="clearances_given")
    tier = models.CharField(_("tier"), max_length=8, choices=Tier.choices)
    favourable = models.BooleanField(_("favourable"))
    notified_on = models.DateField(_("notified on"))
    valid_until = models.DateField(_("valid until"), null=True, blank=True)
    case = models.OneToOneField(AssessmentCase, on_delete=models.PROTECT, related_name="clearance")
    rules_pack = models.ForeignKey("rules.RulesPack", on_delete=models.PROTECT, related_name="+",
                                   verbose_name=_("rules pack applied"))
    suspended_at = models.DateTimeField(_("suspended"), null=True, blank=True)
    suspended_by = models.ForeignKey(AssessmentCase, on_delete=models.PROTECT, null=True, blank=True,
                                     related_name="+", verbose_name=_("suspended for the re-assessment"))
    ended_on = models.DateField(_("ended on"), null=True, blank=True)
    end_reason = models.CharField(_("reason for ending"), max_length=32, choices=EndReason.choices, blank=True)

    class Meta:
        verbose_name = _("clearance (適性評価の結果)")
        verbose_name_plural = _("clearances")
        ordering = ["-notified_on", "-id"]
        constraints = [
            # One current (not ended) result per person, organ and tier: a later result of the same
            # organ and tier ends the earlier one when it is notified (``services.notify_result``).
            models.UniqueConstraint(fields=["person", "organ", "tier"], condition=Q(ended_on__isnull=True),
                                    name="one_current_clearance_per_person_organ_tier"),
        ]
        indexes = [
            models.Index(fields=["person", "organ", "tier", "notified_on"], name="assessment_clearance_person"),
            models.Index(fields=["organ", "valid_until"], name="assessment_clearance_expiry"),
        ]

    def __str__(self) -> str:
        return f"clearance {self.pk}"

    @staticmethod
    def in_force_q(on: dt.date) -> Q:
        """The rows whose ``status(on)`` is "valid", as a filter: lists, queues and jobs ask the
        dates on the day they run (ARCHITECTURE rule 9), never a flag a job would have to set."""
        return (Q(favourable=True, suspended_at__isnull=True, valid_until__gte=on)
                & (Q(ended_on__isnull=True) | Q(ended_on__gt=on)))

    def status(self, on: dt.date) -> str:
        """unfavourable | ended | suspended | expired | valid, on the day ``on``: computed from the
        dates at the moment of each decision (nothing ends a result but its dates and the services
        that record a later result, a suspension or an end)."""
        if not self.favourable:
            return "unfavourable"
        if self.ended_on is not None and self.ended_on <= on:
            return "ended"
        if self.suspended_at is not None:
            return "suspended"
        if self.valid_until is None or on > self.valid_until:
            return "expired"
        return "valid"

    def is_valid(self, on: dt.date) -> bool:
        return self.status(on) == "valid"


class BusinessNotice(models.Model):
    """What the nominating side — a business's protection officer or an organ's security officer —
    receives: consented or not, favourable or not, valid until. Nothing else (DOMAIN §6 step 7,
    ARCHITECTURE rule 4). Destroyed promptly after use: the retention job clears the three facts at
    ``retain_until`` and keeps the row for the count."""

    case = models.ForeignKey(AssessmentCase, on_delete=models.PROTECT, related_name="business_notices")
    recipient = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="assessment_notices",
                                  verbose_name=_("recipient"))
    consented = models.BooleanField(_("consented"), null=True)
    favourable = models.BooleanField(_("favourable"), null=True)
    valid_until = models.DateField(_("valid until"), null=True, blank=True)
    issued_at = models.DateTimeField(_("issued"), default=timezone.now)
    retain_until = models.DateField(_("destroy on"))
    expired_at = models.DateTimeField(_("destroyed"), null=True, blank=True)

    class Meta:
        verbose_name = _("notice to the nominator (評価結果等の通知)")
        verbose_name_plural = _("notices to nominators")
        ordering = ["-issued_at", "-id"]
        indexes = [models.Index(fields=["retain_until"], condition=Q(expired_at__isnull=True),
                                name="assessment_notice_retention"),
                   models.Index(fields=["recipient", "issued_at"], name="assessment_notice_recipient")]

    def __str__(self) -> str:
        return f"notice {self.pk}"


class Complaint(CaseRecord):
    """A written complaint (苦情) by the subject to the organ head about the assessment or its
    result (DOMAIN §6 step 9). Handled by someone who did not work the case; outcome notified."""

    class Outcome(models.TextChoices):
        NOT_UPHELD = "not_upheld", _("Not upheld")
        CORRECTED = "corrected", _("Upheld: the handling was corrected")
        RE_EXAMINATION = "re_examination", _("Upheld: the assessment is re-examined")

    case = models.ForeignKey(AssessmentCase, on_delete=models.PROTECT, related_name="complaints")
    filed_at = models.DateTimeField(_("filed"), default=timezone.now)
    text = EncryptedTextField(_("complaint"))
    # A keyed digest of the text (``services._common.fact_digest``): the same complaint filed again while
    # the first is open is recognised without decrypting it; wiped when the case is shredded.
    text_digest = models.CharField(max_length=64, blank=True, editable=False)
    state = models.CharField(_("state"), max_length=16, choices=ComplaintState.choices, default=ComplaintState.FILED)
    due_on = models.DateField(_("target date"), null=True, blank=True)
    handler = models.ForeignKey(Account, on_delete=models.PROTECT, null=True, blank=True, related_name="+",
                                verbose_name=_("complaint handler"))
    assigned_at = models.DateTimeField(null=True, blank=True)
    outcome = models.CharField(_("outcome"), max_length=24, choices=Outcome.choices, blank=True)
    outcome_reasons = EncryptedTextField(_("reasons for the outcome"))
    decided_at = models.DateTimeField(null=True, blank=True)
    notified_at = models.DateTimeField(null=True, blank=True)

    crypto_read_action = "assessment.read_complaint"

    class Meta:
        verbose_name = _("complaint (苦情)")
        verbose_name_plural = _("complaints")
        ordering = ["filed_at", "id"]

    def __str__(self) -> str:
        return f"complaint {self.pk}"


class AdverseTreatmentReport(CaseRecord):
    """The subject's report that they were penalised for refusing, failing or complaining
    (DOMAIN §6, purpose limitation). It goes to the organ, never to the employer."""

    class Kind(models.TextChoices):
        DISMISSAL = "dismissal", _("Dismissal")
        PAY_CUT = "pay_cut", _("Pay cut")
        DEMOTION = "demotion", _("Demotion")
        TRANSFER = "transfer", _("Unfavourable transfer")
        MENIAL_TASKS = "menial_tasks", _("Confined to menial tasks")
        OTHER = "other", _("Other")

    class Outcome(models.TextChoices):
        NOT_SUBSTANTIATED = "not_substantiated", _("Not substantiated")
        EMPLOYER_INSTRUCTED = "employer_instructed", _("Substantiated: employer instructed to remedy")
        CONTRACT_ACTION = "contract_action", _("Substantiated: referred for action on the contract")

    case = models.ForeignKey(AssessmentCase, on_delete=models.PROTECT, related_name="adverse_reports")
    filed_at = models.DateTimeField(_("filed"), default=timezone.now)
    employer = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+", verbose_name=_("employer"))
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    text = EncryptedTextField(_("report"))
    # A keyed digest of the kind and text (``services._common.fact_digest``): the same report made again
    # while the first awaits a decision is recognised without decrypting it; wiped when the case is shredded.
    text_digest = models.CharField(max_length=64, blank=True, editable=False)
    handler = models.ForeignKey(Account, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    outcome = models.CharField(_("outcome"), max_length=24, choices=Outcome.choices, blank=True)
    outcome_reasons = EncryptedTextField(_("reasons for the outcome"))
    decided_at = models.DateTimeField(null=True, blank=True)
    notified_at = models.DateTimeField(null=True, blank=True)

    crypto_read_action = "assessment.read_adverse_report"

    class Meta:
        verbose_name = _("adverse-treatment report (不利益取扱いの申出)")
        verbose_name_plural = _("adverse-treatment reports")
        ordering = ["filed_at", "id"]

    def __str__(self) -> str:
        return f"adverse-treatment report {self.pk}"


class ReportableEvent(ProtectedRecord):
    """A change an employer or the organ reports about a cleared person (DOMAIN §6 step 8).

    A concerning event opens a re-assessment and suspends the clearance; its description is
    encrypted under that re-assessment case's key (and read by whoever works it).
    """

    class Kind(models.TextChoices):
        LEFT = "left", _("Left the employer")
        TRANSFERRED = "transferred", _("Transferred")
        CONCERNING_EVENT = "concerning_event", _("Concerning event")

    clearance = models.ForeignKey(Clearance, on_delete=models.PROTECT, related_name="reported_events")
    kind = models.CharField(_("kind"), max_length=24, choices=Kind.choices)
    occurred_on = models.DateField(_("occurred on"))
    new_post = models.CharField(_("new department and post"), max_length=200, blank=True)
    description = EncryptedTextField(_("description"))
    reporter = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+",
                                 verbose_name=_("reported by (organisation)"))
    reported_by = models.JSONField(_("reported by"))
    reported_at = models.DateTimeField(default=timezone.now)
    reassessment = models.OneToOneField(AssessmentCase, on_delete=models.PROTECT, null=True, blank=True,
                                        related_name="reported_event")
    # A concern reported while an assessment of the person is already open is folded into that
    # case instead of opening a second one (docs/assessment.md, "Re-assessment").
    folded_into = models.ForeignKey(AssessmentCase, on_delete=models.PROTECT, null=True, blank=True,
                                    related_name="folded_concerns", verbose_name=_("folded into the open assessment"))

    crypto_read_action = "assessment.read_investigation"

    class Meta:
        verbose_name = _("reported change (変更の報告)")
        verbose_name_plural = _("reported changes")
        ordering = ["reported_at", "id"]

    def __str__(self) -> str:
        return f"reported {self.kind} {self.pk}"

    @property
    def case(self) -> AssessmentCase | None:
        """The assessment that weighs this concern: the one it opened, or the open one it joined."""
        return self.reassessment if self.reassessment_id is not None else self.folded_into

    @property
    def crypto_subject(self) -> AssessmentCase:
        case = self.case
        if case is None:
            from hozen.crypto.envelope import CryptoError

            raise CryptoError("only a concerning event, which opens or joins a re-assessment, carries a description")
        return case

    @property
    def crypto_subject_person_id(self) -> int:
        return self.clearance.person_id


class QuestionnaireReminder(models.Model):
    """A reminder that the person's questionnaire is still to be submitted (issue 14 §6): one per
    case, target date and threshold (days before the stage's target date; -1 once it has passed),
    so the daily job can run twice without reminding twice. The person is told by e-mail only that
    something waits in Hozen (``hozen.core.notices``)."""

    case = models.ForeignKey(AssessmentCase, on_delete=models.PROTECT, related_name="questionnaire_reminders")
    due_on = models.DateField(_("questionnaire target date"))
    days_before = models.SmallIntegerField(_("days before the target date"))
    created_at = models.DateTimeField(_("sent"), default=timezone.now)

    class Meta:
        verbose_name = _("questionnaire reminder")
        verbose_name_plural = _("questionnaire reminders")
        constraints = [models.UniqueConstraint(fields=["case", "due_on", "days_before"],
                                               name="one_questionnaire_reminder_per_threshold")]

    def __str__(self) -> str:
        return f"questionnaire reminder {self.pk}"


class RenewalReminder(models.Model):
    """A reminder that a favourable result is about to expire (issue 6: renewal reminders before
    expiry; LESSONS.md: renewals are scheduled, never forgotten). One per clearance, recipient and
    threshold (days before ``valid_until``), so the daily job can run twice without sending twice.
    The person gets their own; the nominating side and the deciding organ get theirs as status."""

    class Recipient(models.TextChoices):
        PERSON = "person", _("The person")
        NOMINATOR = "nominator", _("The nominating side")
        ORGAN = "organ", _("The deciding organ")

    clearance = models.ForeignKey(Clearance, on_delete=models.PROTECT, related_name="renewal_reminders")
    recipient_kind = models.CharField(_("recipient"), max_length=16, choices=Recipient.choices)
    recipient_organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, null=True, blank=True,
                                               related_name="+", verbose_name=_("organisation reminded"))
    person = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="+")
    days_before = models.PositiveSmallIntegerField(_("days before expiry"))
    valid_until = models.DateField(_("valid until"))
    created_at = models.DateTimeField(_("sent"), default=timezone.now)
    read_at = models.DateTimeField(_("read"), null=True, blank=True)

    class Meta:
        verbose_name = _("renewal reminder")
        verbose_name_plural = _("renewal reminders")
        ordering = ["-created_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["clearance", "recipient_kind", "days_before"],
                                               name="one_renewal_reminder_per_threshold")]
        indexes = [models.Index(fields=["recipient_organisation", "created_at"], name="assessment_reminder_org"),
                   models.Index(fields=["person", "created_at"], name="assessment_reminder_person")]

    def __str__(self) -> str:
        return f"renewal reminder {self.pk}"


class RetentionRun(models.Model):
    """One run of the retention job: what it destroyed, as counts (DOMAIN §6: files destroyed
    irrecoverably after their period; statistics survive as counts)."""

    ran_at = models.DateTimeField(default=timezone.now)
    actor = models.JSONField()
    on = models.DateField()
    cases_shredded = models.PositiveIntegerField(default=0)
    notices_expired = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = _("retention run")
        verbose_name_plural = _("retention runs")
        ordering = ["-ran_at", "-id"]

    def __str__(self) -> str:
        return f"retention run {self.on}"
