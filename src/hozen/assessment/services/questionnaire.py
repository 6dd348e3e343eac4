"""The subject's questionnaire (質問票, DOMAIN §6 step 4): drafts and submission.

Drafts are saved section by section on every change and never expire (LESSONS.md). Saving the
same content again is recognised and changes nothing: no new version, no audit entry. What is
malformed (a field the questionnaire does not ask, a wrong shape) is refused; what is merely
unfinished or wrong (a bad date, an overlap) is saved and returned as errors per field path.

A save names the version of the section it was made on (the portal's form and autosave, the API's
If-Match; a section never saved is version 0): one made on an older version — a second tab, another
device — is refused (``StaleEdit``, 409) and writes nothing, never a silent overwrite. A save that
repeats the stored content is answered "unchanged" whatever version it names (a retried save is
idempotent: it overwrites nothing).
Submission checks every section in full, freezes the answers and returns the SHA-256 of the
canonical submitted content, which the audit entry carries too.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone
from django.utils.crypto import salted_hmac

from hozen import audit
from hozen.access import policy
from hozen.audit.canonical import canonical_json
from hozen.core import rows
from hozen.core.errors import RuleViolation, StaleEdit, VersionRequired
from hozen.crypto import reveal

from .. import questionnaire, states, validation
from ..models import AssessmentCase, QuestionnaireSection
from ..validation import FieldError, QuestionnaireInvalid
from ._common import CLOCK_FIELDS, event, locked, move, person_details, today


@dataclass(frozen=True)
class SavedSection:
    section: QuestionnaireSection
    changed: bool
    #: problems to show beside the fields now (formats, dates, periods); saved regardless
    errors: list[FieldError]
    #: whether the section would pass submission's full check today
    is_complete: bool


def _digest(row: QuestionnaireSection, content: dict) -> str:
    # Keyed with the server's secret and salted with the row's id: recognises a repeated save
    # without a bare hash that short answers could be guessed from. Wiped when the case is shredded.
    return salted_hmac("hozen.assessment.questionnaire_section", str(row.crypto_id).encode() + canonical_json(content),
                       algorithm="sha256").hexdigest()


def _section(code: str) -> questionnaire.Section:
    try:
        return questionnaire.section(code)
    except KeyError:
        raise RuleViolation("unknown_section", f"質問票に {code!r} という区分はありません。",
                            f"The questionnaire has no section {code!r}.", field="section") from None


def check_section_version(row: QuestionnaireSection | None, seen, *, required: bool) -> None:
    """A save or confirmation made on the version ``seen`` of the section (None: not said). A
    section that does not exist yet is version 0. 428 without a version when one is required,
    409 when the stored section is newer (or, for "0", exists already)."""
    if row is not None:
        rows.check_version(row, seen, required=required)
        return
    if seen is None or seen == "":
        if required:
            raise VersionRequired(current_version=0)
        return
    if str(seen).strip() != "0":
        try:
            seen_version = int(str(seen).strip())
        except ValueError:
            seen_version = None
        raise StaleEdit(current_version=0, seen_version=seen_version)


@transaction.atomic(durable=True)
def save_questionnaire_section(*, actor, case: AssessmentCase | int, section: str, content: dict,
                               version: int | str | None = None, require_version: bool = False) -> SavedSection:
    """Save one section's draft (idempotently). Refused only for content the schema does not
    allow; everything else is kept, with its errors returned for display.

    ``version`` is the version of the section the person was editing (0 before its first save);
    with ``require_version`` (the portal and the API) a save that names none is refused (428).
    Writers that edit no copy — the demo data, tests seeding a case — pass neither."""
    case = locked(case)
    policy.require(actor, "assessment.save_questionnaire", case)
    states.transition(case.state, "assessment.save_questionnaire")
    schema = _section(section)
    problems = validation.check_structure(schema, content)
    if problems:
        raise QuestionnaireInvalid(problems, code="questionnaire_malformed")
    content = validation.normalise(content)
    on = today()
    errors = validation.validate(schema, content, today=on)
    missing = validation.validate(schema, content, today=on, complete=True)
    row = QuestionnaireSection.objects.select_for_update(no_key=True).filter(case=case, section=section).first()
    if row is None and (version is not None or require_version):
        check_section_version(None, version, required=require_version)
    elif row is not None and require_version and (version is None or version == ""):
        raise VersionRequired(current_version=row.version)
    now = timezone.now()
    if row is None:
        row = QuestionnaireSection(case=case, section=section, version=1, content_digest="")
        row.content_digest = _digest(row, content)
        row.content = content
        row.is_complete, row.error_count, row.saved_at = not missing, len(missing), now
        row.save()
        confirming = False
    else:
        digest = _digest(row, content)
        confirming = row.prefilled_from_id is not None and row.confirmed_at is None
        if row.content_digest == digest and not confirming:  # the same content again: nothing to overwrite
            return SavedSection(section=row, changed=False, errors=errors, is_complete=not missing)
        check_section_version(row, version, required=require_version)
        values = {"content": content, "content_digest": digest, "is_complete": not missing,
                  "error_count": len(missing), "saved_at": now}
        if confirming:  # the subject's first save of a prefilled section confirms it, changed or not
            values["confirmed_at"] = now
        rows.change(row, **values)
    details = {"section": section, "version": row.version, "complete": row.is_complete}
    if confirming:
        details["confirmed_prefill_from"] = row.prefilled_from_id
    audit.record(actor, "assessment.save_questionnaire", row, details=person_details(case, **details))
    return SavedSection(section=row, changed=True, errors=errors, is_complete=row.is_complete)


@transaction.atomic(durable=True)
def confirm_questionnaire_section(*, actor, case: AssessmentCase | int, section: str,
                                  version: int | str | None = None) -> SavedSection:
    """The subject confirms a section prefilled from their last accepted answers as it stands
    (the same as saving it unchanged). A section that is not prefilled, or already confirmed,
    is left as it is. With ``version``, only that version is confirmed (409 if it changed since)."""
    case = locked(case)
    policy.require(actor, "assessment.save_questionnaire", case)
    states.transition(case.state, "assessment.save_questionnaire")
    schema = _section(section)
    row = QuestionnaireSection.objects.select_for_update(no_key=True).select_related("case").filter(
        case=case, section=section).first()
    if row is None:
        raise RuleViolation("section_missing", "この区分はまだ記入されていません。", "This section has not been filled in.",
                            field="section")
    content = reveal(actor, row, "content", purpose="questionnaire_confirmation")
    on = today()
    errors = validation.validate(schema, content, today=on)
    if row.prefilled_from_id is None or row.confirmed_at is not None:
        return SavedSection(section=row, changed=False, errors=errors, is_complete=row.is_complete)
    check_section_version(row, version, required=False)
    rows.change(row, confirmed_at=timezone.now())
    audit.record(actor, "assessment.save_questionnaire", row, details=person_details(
        case, section=section, version=row.version, complete=row.is_complete,
        confirmed_prefill_from=row.prefilled_from_id))
    return SavedSection(section=row, changed=True, errors=errors, is_complete=row.is_complete)


def last_accepted_case(case: AssessmentCase) -> AssessmentCase | None:
    """The person's latest other assessment whose questionnaire was submitted (accepted) and whose
    file is still kept: where a re-assessment's drafts start from."""
    return (AssessmentCase.objects.filter(person_id=case.person_id, questionnaire_submitted_at__isnull=False,
                                          shredded_at__isnull=True).exclude(pk=case.pk)
            .order_by("-questionnaire_submitted_at", "-id").first())


def prefill_from_last_answers(actor, case: AssessmentCase) -> list[str]:
    """Within the subject's consent: copy each section of their last accepted questionnaire into
    this case's drafts (re-encrypted under this case's key), marked as prefilled and unconfirmed
    (LESSONS.md: a re-assessment starts from the last accepted answers and the subject confirms
    each section; US re-applicants had to retype everything). A section whose stored shape the
    questionnaire no longer accepts is left for the subject to fill in. Returns the sections copied.
    The subject reads their own earlier answers (audited as ``reassessment_prefill``)."""
    source = last_accepted_case(case)
    if source is None or QuestionnaireSection.objects.filter(case=case).exists():
        return []
    on = today()
    copied = []
    for old in QuestionnaireSection.objects.filter(case=source).select_related("case").order_by("id"):
        try:
            schema = questionnaire.section(old.section)
        except KeyError:
            continue
        content = reveal(actor, old, "content", purpose="reassessment_prefill")
        if validation.check_structure(schema, content):
            continue
        content = validation.normalise(content)
        missing = validation.validate(schema, content, today=on, complete=True)
        row = QuestionnaireSection(case=case, section=old.section, prefilled_from=source, version=1,
                                   is_complete=not missing, error_count=len(missing), saved_at=timezone.now())
        row.content = content
        row.content_digest = _digest(row, content)
        row.save()
        copied.append(old.section)
    if copied:
        event(actor, case, "questionnaire_prefilled", source=source.pk, sections=copied)
        audit.record(actor, "assessment.prefill_questionnaire", case, details=person_details(
            case, source=source, sections=copied))
    return copied


def submitted_sha256(case: AssessmentCase, answers: dict[str, dict]) -> str:
    """SHA-256 of the canonical JSON (UTF-8, sorted keys, no white space) of
    ``{"case": <the case's crypto id>, "sections": {code: answers}}``: what the subject's copy
    shows and can be checked against. The case id keeps equal answers from hashing alike."""
    return hashlib.sha256(canonical_json({"case": str(case.crypto_id), "sections": answers})).hexdigest()


def review_token(versions: dict[str, int]) -> str:
    """What a review of the questionnaire saw, as one string: every section's version in the
    schema's order (0 for a section never saved). The review page sends it with the submission, and
    ``submit_questionnaire(reviewed=...)`` refuses it if any section changed since (issue 15)."""
    return " ".join(f"{s.code}:{int(versions.get(s.code, 0))}" for s in questionnaire.SECTIONS)


@transaction.atomic(durable=True)
def submit_questionnaire(*, actor, case: AssessmentCase | int, reviewed: str | None = None) -> str:
    """Submit every section at once: refused (``QuestionnaireInvalid``, every error by section and
    field path) while any section is missing or incomplete. Returns the SHA-256 of what was submitted.

    ``reviewed`` is the ``review_token`` of the review page the person confirmed: when given, a
    section saved since (in another window, on another device) refuses the submission
    (``changed_since_review``), so what is submitted is exactly what was reviewed.

    The answers are read back through ``hozen.crypto.reveal`` by the subject (purpose
    ``questionnaire_submission``), so this read is on their own "who read my data" list too.
    """
    case = locked(case)
    policy.require(actor, "assessment.submit_questionnaire", case)
    states.transition(case.state, "assessment.submit_questionnaire")
    rows = {r.section: r for r in QuestionnaireSection.objects.filter(case=case).select_related("case")}
    if reviewed is not None and reviewed != review_token({code: row.version for code, row in rows.items()}):
        raise RuleViolation("changed_since_review",
                            "確認画面を開いた後に、回答が変更されました（別の画面又は端末で保存されています）。"
                            "最新の回答を確認してから提出してください。",
                            "Your answers changed after you opened the review (saved in another window or on "
                            "another device). Check the answers as they are now, then submit.")
    on = today()
    errors: list[FieldError] = []
    answers: dict[str, dict] = {}
    for schema in questionnaire.SECTIONS:
        row = rows.get(schema.code)
        if row is None:
            errors.append(FieldError(schema.code, "", "section_missing", "この区分が未記入です。",
                                     "This section has not been filled in."))
            continue
        if row.prefilled_from_id is not None and row.confirmed_at is None:
            errors.append(FieldError(schema.code, "", "section_not_confirmed",
                                     "前回の回答から引き継いだこの区分を確認してください（変更がなければそのまま保存）。",
                                     "Check this section, carried over from your last answers, and save it "
                                     "(unchanged if nothing has changed)."))
        content = reveal(actor, row, "content", purpose="questionnaire_submission")
        answers[schema.code] = content
        errors.extend(validation.validate(schema, content, today=on, complete=True))
    if errors:
        raise QuestionnaireInvalid(errors, code="questionnaire_incomplete")
    sha256 = submitted_sha256(case, answers)
    move(actor, case, "assessment.submit_questionnaire", kind="questionnaire_submitted", sha256=sha256)
    case.questionnaire_submitted_at = timezone.now()
    case.questionnaire_sha256 = sha256
    case.save(update_fields=[*CLOCK_FIELDS, "questionnaire_submitted_at", "questionnaire_sha256"])
    audit.record(actor, "assessment.submit_questionnaire", case, details=person_details(
        case, sha256=sha256, versions={code: rows[code].version for code in sorted(rows)}))
    return sha256
