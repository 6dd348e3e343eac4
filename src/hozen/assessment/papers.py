"""The subject's papers as PDFs, for the portal and the API alike (DOMAIN §6; issue 6 §1, §4).

- 告知書 and 同意書 are *kept*: rendered once when the notice is given and when the subject
  declares (consent, refusal, withdrawal), in Japanese and English, and stored as ``CaseDocument``
  rows encrypted under the case's data key with the SHA-256 of each PDF (``keep``). Downloads
  serve those bytes (``kept_pdf``), read through ``hozen.crypto.reveal`` (policy
  ``assessment.read_papers``, audited, on the subject's list of reads), so a later change of the
  wording or the template never changes a paper already given; shredding the case's key at the
  end of retention makes them unreadable.
- 結果通知書, the submitted questionnaire's copy, the complaint outcome and the decision on an
  adverse-treatment report are rendered from the stored, encrypted facts when asked for (the same
  facts give the same bytes), each behind the policy action that guards those facts.
"""

from __future__ import annotations

import base64
import hashlib

from hozen.access import policy
from hozen.audit.canonical import canonical_json
from hozen.core.errors import NotFound, RuleViolation
from hozen.crypto import reveal, reveal_many
from hozen.documents import assessment as documents

from . import queries, questionnaire
from .items import ITEMS
from .models import AdverseTreatmentReport, AssessmentCase, CaseDocument, CaseEvent, Complaint

LANGUAGES = documents.LANGUAGES
ITEM_DATA = [{"number": i.number, "label_ja": i.label_ja, "label_en": i.label_en} for i in ITEMS]
CONSENT_KINDS = ("consented", "refused", "consent_withdrawn")


def facts(case: AssessmentCase, language: str) -> dict:
    organ, nominator = case.organ, case.nominating_organisation
    return {"case_ref": str(case.pk), "person_name": case.person.full_name,
            "organ_name": organ.name_en if language == "en" else organ.name_ja,
            "nominating_organisation": nominator.name_en if language == "en" else nominator.name_ja,
            "post": f"{case.department} {case.post}".strip()}


def check_language(language: str) -> str:
    if language not in LANGUAGES:
        raise RuleViolation("invalid_language", "言語は ja 又は en です。", "The language is ja or en.", field="language")
    return language


def _check_kept(case: AssessmentCase) -> None:
    if case.shredded_at is not None:
        raise RuleViolation("case_file_destroyed", "この適性評価の記録は保存期間の経過により廃棄されています。",
                            "This assessment's file was destroyed at the end of its retention period.")


# --- rendering from the facts at the moment (used once, when a paper is kept) ----------------------

def render_notice(case: AssessmentCase, language: str) -> bytes:
    return documents.assessment_notice({**facts(case, language), "notice_given_at": case.notice_given_at,
                                        "rules_version": f"{case.rules_pack.code} v{case.rules_pack.version}",
                                        "items": ITEM_DATA}, language=language)


def consent_declarations(case: AssessmentCase) -> list[dict]:
    return [{"kind": e.kind, "at": e.at}
            for e in CaseEvent.objects.filter(case=case, kind__in=CONSENT_KINDS).order_by("at", "id")]


def render_consent(case: AssessmentCase, language: str) -> bytes:
    return documents.consent_record({**facts(case, language), "notice_given_at": case.notice_given_at,
                                     "declarations": consent_declarations(case)}, language=language)


RENDERERS = {CaseDocument.Kind.NOTICE: render_notice, CaseDocument.Kind.CONSENT_RECORD: render_consent}


def keep(case: AssessmentCase, kind: str) -> dict[str, str]:
    """Render the paper in both languages and keep it, encrypted under the case's key. Called by
    the service that gives the notice or records the declaration, in its transaction; returns
    the SHA-256 of each PDF by language, for its audit entry."""
    hashes = {}
    for language in LANGUAGES:
        body = RENDERERS[kind](case, language)
        sha256 = hashlib.sha256(body).hexdigest()
        CaseDocument(case=case, kind=kind, language=language, sha256=sha256,
                     content=base64.b64encode(body).decode("ascii")).save()
        hashes[language] = sha256
    return hashes


def kept_pdf(actor, case: AssessmentCase, kind: str, language: str, *, purpose: str) -> tuple[bytes, str]:
    """The latest kept paper of ``kind`` in ``language``, exactly as rendered when it was given,
    and its SHA-256 (checked against the stored hash). NotFound when none was kept."""
    check_language(language)
    policy.require(actor, "assessment.read_papers", case)
    _check_kept(case)
    document = (CaseDocument.objects.filter(case=case, kind=kind, language=language).select_related("case")
                .order_by("-created_at", "-id").first())
    if document is None:
        raise NotFound
    body = base64.b64decode(reveal(actor, document, "content", purpose=purpose))
    if hashlib.sha256(body).hexdigest() != document.sha256:  # pragma: no cover - authenticated encryption
        raise RuleViolation("paper_mismatch", "保存された書面のハッシュ値が一致しません。",
                            "The kept paper does not match its recorded hash.")
    return body, document.sha256


# --- papers rendered from the stored facts when asked for ------------------------------------------

def result_pdf(actor, case: AssessmentCase, language: str, *, purpose: str = "subject_access") -> bytes:
    """結果通知書 with the reasons per item, unless the subject waived them (``assessment.view_result``)."""
    check_language(language)
    if case.notified_at is None:
        raise NotFound
    _check_kept(case)
    result = queries.result_of(actor, case, purpose=purpose)
    reasons = [{"number": i.number, "label_ja": i.label_ja, "label_en": i.label_en, "reason": r["reason"]}
               for i, r in zip(ITEMS, result["reasons"] or [], strict=False)]
    return documents.result_notice({**facts(case, language), "notified_at": result["notified_at"],
                                    "favourable": result["favourable"], "valid_until": result["valid_until"],
                                    "reasons_waived": result["reasons_waived"], "reasons": reasons},
                                   language=language)


def questionnaire_copy_pdf(actor, case: AssessmentCase, language: str, *, purpose: str) -> tuple[bytes, str]:
    """The copy of exactly what was submitted, with its SHA-256, recomputed from the answers read
    back (as the subject, or a case worker through ``assessment.read_answers``) and refused if it
    does not match what the case and the audit log hold."""
    from .forms_portal import answer_rows
    from .services import submitted_sha256

    check_language(language)
    if not case.questionnaire_sha256:
        raise NotFound
    policy.require(actor, "assessment.read_answers", case)
    _check_kept(case)
    rows = {r.section: r for r in case.sections.select_related("case")}
    answers = {s.code: reveal(actor, rows[s.code], "content", purpose=purpose)
               for s in questionnaire.SECTIONS if s.code in rows}
    sha256 = submitted_sha256(case, answers)
    if sha256 != case.questionnaire_sha256:  # pragma: no cover - the rows are frozen after submission
        raise RuleViolation("copy_mismatch", "提出時の回答と一致しません。", "The answers no longer match the submission.")
    sections = [answer_rows(s, answers.get(s.code, {}), language) for s in questionnaire.SECTIONS]
    canonical = canonical_json({"case": str(case.crypto_id), "sections": answers}).decode()
    body = documents.questionnaire_copy({**facts(case, language), "submitted_at": case.questionnaire_submitted_at,
                                         "sha256": sha256, "case_id": str(case.crypto_id), "sections": sections,
                                         "canonical": canonical}, language=language)
    return body, sha256


def complaint_outcome_pdf(actor, complaint: Complaint, language: str, *, purpose: str) -> bytes:
    """The written notice of a complaint's outcome (DOMAIN §6 step 9: notified in writing)."""
    check_language(language)
    if complaint.decided_at is None:
        raise NotFound
    case = complaint.case
    _check_kept(case)
    texts = reveal_many(actor, complaint, ["text", "outcome_reasons"], purpose=purpose)
    return documents.complaint_outcome({**facts(case, language), "complaint_ref": str(complaint.pk),
                                        "filed_at": complaint.filed_at, "decided_at": complaint.decided_at,
                                        "outcome": complaint.outcome, "complaint_text": texts["text"],
                                        "reasons": texts["outcome_reasons"]}, language=language)


def adverse_decision_pdf(actor, report: AdverseTreatmentReport, language: str, *, purpose: str) -> bytes:
    """The written notice of the organ's decision on an adverse-treatment report."""
    check_language(language)
    if report.decided_at is None:
        raise NotFound
    case = report.case
    _check_kept(case)
    texts = reveal_many(actor, report, ["text", "outcome_reasons"], purpose=purpose)
    return documents.adverse_treatment_decision({
        **facts(case, language), "report_ref": str(report.pk), "filed_at": report.filed_at,
        "decided_at": report.decided_at, "kind": report.kind, "outcome": report.outcome,
        "employer": report.employer.name_en if language == "en" else report.employer.name_ja,
        "report_text": texts["text"], "reasons": texts["outcome_reasons"]}, language=language)
