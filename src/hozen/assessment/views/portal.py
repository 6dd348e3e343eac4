"""The subject portal (評価対象者のページ): the assessed person's own case, notice and consent,
questionnaire, result, inquiries, complaints and adverse-treatment reports (DOMAIN §6).

Thin views over ``hozen.assessment.services`` (writes) and ``portal_queries`` (reads). Every page
asks the policy for the subject's workspace first (a staff role gets 403 with the policy's reason)
and reads the case scoped to the person (another person's case is a 404 that says nothing).
Consent, refusal and withdrawal need the subject's own second factor, entered again on the form:
the code is checked here without being used up (``hozen.core.second_factor.check``) and the
service's policy then sees a verified actor; the service spends it only if the action succeeds. A
wrong code is a policy denial (``second_factor_required``), audited, and nothing changes.

A questionnaire section names the version it was opened at (a hidden field, kept up to date by the
autosave script): a save made on an older version than the stored one — a second tab, another
device — is refused with 409 and what was typed stays on the page, never written over the newer
answers and never lost.
"""

from __future__ import annotations

import dataclasses

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_otp.plugins.otp_totp.models import TOTPDevice

from hozen.access import policy
from hozen.access.policy import PolicyDenied
from hozen.core import second_factor
from hozen.core.errors import NotFound, RuleViolation, StaleEdit
from hozen.core.roles import Role
from hozen.documents import assessment as papers

from .. import countries, questionnaire, reads, services, validation
from .. import papers as kept_papers
from .. import portal_queries as pq
from ..forms_portal import (
    AdverseTreatmentForm,
    ComplaintForm,
    ConsentForm,
    SecondFactorForm,
    WaiveReasonsForm,
    apply_row_action,
    errors_by_field,
    parse_section,
    render_section,
)
from ..models import AdverseTreatmentReport, AssessmentCase, CaseDocument, Complaint
from ..states import State
from ..validation import QuestionnaireInvalid

#: Navigation entries per role (hozen.core.extensions).
NAV: dict = {Role.SUBJECT: [(gettext_lazy("My assessment"), "assessment:portal_home")]}

AUTOSAVE_HEADER = "X-Hozen-Autosave"


def shell_context(actor, assignments) -> dict:
    """The person owns their case (issue 14 §1): acting in another role, an account whose person has
    an open assessment gets a way to their own case in the navigation and on the dashboard (it
    switches to the assessed-person role, so none of the official work is shown there)."""
    if actor.account is None or actor.role == Role.SUBJECT:
        return {}
    subject = next((a for a in assignments if a.role == Role.SUBJECT), None)
    if subject is None or not pq.own_open_case_exists(actor.account.person_id):
        return {}
    return {"own_assessment": subject}


def dashboard_context(actor, role: str) -> dict:
    """The subject's dashboard: their cases with stage and target date, and their clearances (a read
    of their own case, on their list of reads)."""
    if role != Role.SUBJECT or actor.role != Role.SUBJECT:
        return {}
    today = timezone.localdate()
    cases, clearances, reminders = pq.cases(actor), pq.clearance_rows(actor, today), pq.reminders(actor)
    reads.shown(actor, "dashboard", [*cases, *(r["clearance"] for r in clearances), *reminders], purpose=pq.PURPOSE)
    return {"portal_cases": [{"case": c, "stage": pq.stage(c, today)} for c in cases],
            "portal_clearances": clearances, "portal_reminders": reminders}


# --- helpers -----------------------------------------------------------------------------------------

def _language(request) -> str:
    wanted = request.GET.get("lang", "")
    if wanted in papers.LANGUAGES:
        return wanted
    return "en" if (request.LANGUAGE_CODE or "ja").startswith("en") else "ja"


def _case(request, pk):
    """The person's own case; 404 for a missing case and another person's alike. A page read
    (GET) that fails is a refused read in the log, naming the case's person when it exists: another
    subject's case (404), or a portal page asked for in another role (403 with the policy's reason)."""
    if request.method not in ("GET", "HEAD"):
        try:
            return pq.case_for(request.actor, pk)
        except NotFound:
            raise Http404 from None
    view = reads.view_name(request)
    gate = policy.decide(request.actor, "workspace.view", Role.SUBJECT)
    if not gate.allowed:
        case = AssessmentCase.objects.filter(pk=reads.row_id(pk)).first() if reads.row_id(pk) else None
        reads.refused(request.actor, view, case or {"type": "assessment.assessmentcase", "id": str(pk)[:40]},
                      reason=gate.code, asked="workspace.view")
        raise PolicyDenied(gate, "workspace.view", Role.SUBJECT, audited=True, actor=request.actor)
    try:
        return reads.case_for(request.actor, pk, view=view)
    except NotFound:
        raise Http404 from None


def _to_case(case):
    return redirect("assessment:portal_case", pk=case.pk)


def _file_destroyed(request, case):
    """After the retention period the case's personal data is crypto-shredded: say so on the case
    page instead of failing to read it (None while the file is kept)."""
    if not pq.file_destroyed(case):
        return None
    messages.error(request, _("The file of this assessment was destroyed at the end of its retention period: "
                              "your answers and the reasons can no longer be shown."))
    return _to_case(case)


def _pdf(request, case, body: bytes, filename: str) -> HttpResponse:
    _shown(request, case)
    response = HttpResponse(body, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def _shown(request, case) -> None:
    """The page showed the person their own case: a read on their list (issue 12 §7). Page reads
    (GET) only: a form sent back with its errors shows what its GET showed, and writes nothing."""
    if request.method in ("GET", "HEAD"):
        reads.shown(request.actor, reads.view_name(request), [case], purpose=pq.PURPOSE)


def _render(request, template: str, case, context: dict | None = None, status: int = 200):
    base = {"case": case, "stage": pq.stage(case), "can": pq.can(request.actor, case)}
    response = render(request, f"assessment/portal/{template}", {**base, **(context or {})}, status=status)
    _shown(request, case)
    return response


def _verified_actor(request, form: SecondFactorForm, action: str, case):
    """The actor with the second factor confirmed by the code just entered — checked, not used up:
    the service spends it only if the action succeeds — or None (the denial is asked of the policy,
    so it is audited, and shown beside the code field)."""
    proof = second_factor.check(request.user, form.cleaned_data["token"])
    if proof is not None:
        return dataclasses.replace(request.actor, second_factor_verified=True, second_factor=proof)
    try:
        policy.require(dataclasses.replace(request.actor, second_factor_verified=False), action, case)
    except PolicyDenied as exc:
        policy.audit_unrecorded_denial(request.actor, exc)
        form.add_error("token", _("The code is not correct, or it has expired. Try the current code."))
        form.add_error("token", exc.decision.reason(request.LANGUAGE_CODE))
    return None


def _refused(request, form, exc: RuleViolation, pk, still: str):
    """A decision the service refused. While it can still be made (the code was used by another
    action at the same moment, say) the reason goes beside the form; when the case moved on
    meanwhile (another tab decided first) the reason is said on the case page, which shows where
    the case now stands. Returns the case as it is now, and the redirect or None."""
    case = _case(request, pk)
    if pq.can(request.actor, case)[still]:
        form.add_error(None, exc.message(request.LANGUAGE_CODE))
        return case, None
    messages.error(request, exc.message(request.LANGUAGE_CODE))
    return case, _to_case(case)


def _has_totp(request) -> bool:
    return TOTPDevice.objects.filter(user=request.user, confirmed=True).exists()


ITEM_DATA = kept_papers.ITEM_DATA


# --- home and case -------------------------------------------------------------------------------------

@login_required
@require_GET
def portal_home(request):
    today = timezone.localdate()
    found, clearances, reminders = pq.cases(request.actor), pq.clearance_rows(request.actor, today), \
        pq.reminders(request.actor)
    response = render(request, "assessment/portal/home.html",
                      {"cases": [{"case": c, "stage": pq.stage(c, today)} for c in found], "clearances": clearances,
                       "reminders": reminders})
    reads.shown(request.actor, reads.view_name(request),
                [*found, *(r["clearance"] for r in clearances), *reminders], purpose=pq.PURPOSE)
    return response


@login_required
@require_GET
def portal_case(request, pk):
    case = _case(request, pk)
    clearance = pq.clearances(request.actor)
    clearance = next((c for c in clearance if c.case_id == case.pk), None)
    waive_form = WaiveReasonsForm(initial={"waived": "true" if case.reasons_waived else "false"})
    return _render(request, "case.html", case, {"clearance": clearance, "waive_form": waive_form,
                                                "consent_events": pq.consent_events(case)})


# --- notice and consent ----------------------------------------------------------------------------------

@login_required
@require_http_methods(["GET", "POST"])
def portal_notice(request, pk):
    """The written notice, and the consent or refusal with the subject's own second factor."""
    case = _case(request, pk)
    if case.notice_given_at is None:
        messages.error(request, _("The notice has not been given yet."))
        return _to_case(case)
    language = _language(request)
    form = ConsentForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        decision = form.cleaned_data["decision"]
        action = "assessment.consent" if decision == "consent" else "assessment.refuse"
        actor = _verified_actor(request, form, action, case)
        if actor is not None:
            try:
                if decision == "consent":
                    services.consent(actor=actor, case=case.pk)
                else:
                    services.refuse(actor=actor, case=case.pk)
            except RuleViolation as exc:
                case, moved_on = _refused(request, form, exc, pk, "decide_consent")
                if moved_on is not None:
                    return moved_on
            else:
                messages.success(request, _("You consented. You can now fill in the questionnaire.")
                                 if decision == "consent" else _("Your refusal was recorded. No assessment will be made."))
                return _to_case(case)
    return _render(request, "notice.html", case, {
        "form": form, "has_totp": _has_totp(request), "sections": papers.notice_sections(language, ITEM_DATA),
        "notice_language": pq.notice_language(case), "language": language})


@login_required
@require_http_methods(["GET", "POST"])
def portal_withdraw(request, pk):
    """Withdraw consent (or the agreement to be listed) until the result is notified."""
    case = _case(request, pk)
    form = SecondFactorForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        actor = _verified_actor(request, form, "assessment.withdraw_consent", case)
        if actor is not None:
            try:
                services.withdraw_consent(actor=actor, case=case.pk)
            except RuleViolation as exc:
                case, moved_on = _refused(request, form, exc, pk, "withdraw")
                if moved_on is not None:
                    return moved_on
            else:
                messages.success(request, _("Your consent was withdrawn. The assessment has ended."))
                return _to_case(case)
    return _render(request, "withdraw.html", case, {"form": form, "has_totp": _has_totp(request)})


@login_required
@require_POST
def portal_waive_reasons(request, pk):
    """Ask in advance not to receive the reasons (or take that back), until the adjudication."""
    case = _case(request, pk)
    form = WaiveReasonsForm(request.POST)
    if form.is_valid():
        try:
            services.waive_reasons(actor=request.actor, case=case, waived=form.cleaned_data["waived"])
        except RuleViolation as exc:
            messages.error(request, exc.message(request.LANGUAGE_CODE))
        else:
            messages.success(request, _("Your choice about the reasons was recorded."))
    else:
        messages.error(request, _("Choose whether you want to receive the reasons."))
    return _to_case(case)


def _kept(request, case, kind: str, name: str):
    """A kept paper, exactly as rendered when it was given (``papers.kept_pdf``)."""
    if case.notice_given_at is None:
        raise Http404
    if (gone := _file_destroyed(request, case)) is not None:
        return gone
    language = _language(request)
    try:
        body, sha256 = kept_papers.kept_pdf(request.actor, case, kind, language, purpose=pq.PURPOSE)
    except NotFound:
        raise Http404 from None
    response = _pdf(request, case, body, f"assessment-{case.pk}-{name}-{language}.pdf")
    response["X-Content-SHA256"] = sha256
    return response


@login_required
@require_GET
def portal_notice_pdf(request, pk):
    """告知書, as kept when the notice was given."""
    return _kept(request, _case(request, pk), CaseDocument.Kind.NOTICE, "notice")


@login_required
@require_GET
def portal_consent_pdf(request, pk):
    """同意書 (or the record of refusal or withdrawal), as kept at the latest declaration."""
    return _kept(request, _case(request, pk), CaseDocument.Kind.CONSENT_RECORD, "consent")


# --- the questionnaire ---------------------------------------------------------------------------------

@login_required
@require_GET
def portal_questionnaire(request, pk):
    """The sections and the completeness view; submit when everything is complete."""
    case = _case(request, pk)
    if case.state != State.CONSENTED and not case.questionnaire_sha256:
        messages.error(request, _("The questionnaire opens once you have consented."))
        return _to_case(case)
    progress = pq.progress(request.actor, case) if case.state == State.CONSENTED else None
    ready = progress is not None and all(p["complete"] for p in progress)
    sections = [{"code": s.code, "title": s.title(request.LANGUAGE_CODE)} for s in questionnaire.SECTIONS]
    return _render(request, "questionnaire.html", case, {"progress": progress, "ready": ready,
                                                         "sections": sections})


def _section_or_404(code: str):
    try:
        return questionnaire.section(code)
    except KeyError:
        raise Http404 from None


def _neighbours(code: str):
    codes = list(questionnaire.SECTION_CODES)
    i = codes.index(code)
    return (codes[i - 1] if i > 0 else None), (codes[i + 1] if i + 1 < len(codes) else None)


@login_required
@require_http_methods(["GET", "POST"])
def portal_section(request, pk, section):
    """One section, rendered from the schema; saved as a draft on every change (JS posts the form
    as the person types, answered with JSON) and by the plain "Save" button."""
    case = _case(request, pk)
    schema = _section_or_404(section)
    language = "en" if (request.LANGUAGE_CODE or "ja").startswith("en") else "ja"
    editable = case.state == State.CONSENTED
    autosave = request.headers.get(AUTOSAVE_HEADER) == "1"
    errors, top_errors, status = [], [], 200
    stale = None
    version = None
    if request.method == "POST":
        content = apply_row_action(schema, parse_section(schema, request.POST), request.POST.get("action", ""))
        version = request.POST.get("version")
        try:
            # Any save of a section carried over from the last accepted answers confirms it ("confirm" too).
            saved = services.save_questionnaire_section(actor=request.actor, case=case.pk, section=section,
                                                        content=content, version=version, require_version=True)
        except QuestionnaireInvalid as exc:  # malformed: refused, nothing stored; the input stays on the page
            errors, status = exc.errors, 400
            top_errors = [exc.message(language)]
        except StaleEdit as exc:  # saved elsewhere since: nothing written, the typing stays on the page
            status, version = 409, exc.current_version
            stale = {"current_version": exc.current_version, "seen_version": exc.seen_version}
            top_errors = [exc.message(language)]
        except RuleViolation as exc:  # e.g. after submission: editing is refused
            top_errors, status = [exc.message(language)], 409
        else:
            errors = saved.errors
            if autosave:
                return JsonResponse({"saved": True, "changed": saved.changed, "version": saved.section.version,
                                     "complete": saved.is_complete, "saved_at": saved.section.saved_at.isoformat(),
                                     "errors": errors_by_field(errors, language)})
            action = request.POST.get("action", "")
            _prev, nxt = _neighbours(section)
            if action == "next" and nxt and not errors:
                return redirect("assessment:portal_section", pk=case.pk, section=nxt)
            if action in ("overview", "confirm") and not errors:
                return redirect("assessment:portal_questionnaire", pk=case.pk)
            if not action.startswith(("add:", "remove:")):
                at = timezone.localtime(saved.section.saved_at).strftime("%H:%M")
                if errors:  # never a success banner over a section that still has problems
                    messages.warning(request, _("Saved at %(time)s, but some answers still need attention: see the "
                                                "messages beside them.") % {"time": at})
                else:
                    messages.success(request, _("Saved at %(time)s.") % {"time": at})
            row = saved.section
        if autosave:
            body = {"saved": False, "message": " ".join(top_errors), "errors": errors_by_field(errors, language)}
            if stale is not None:
                body.update(stale=True, current_version=stale["current_version"])
            return JsonResponse(body, status=status)
        if status != 200:
            row = pq.section_row(case, section)
    else:
        if (gone := _file_destroyed(request, case)) is not None:
            return gone
        if not editable and pq.section_row(case, section) is None:
            messages.error(request, _("The questionnaire opens once you have consented."))
            return _to_case(case)
        content, row = pq.section_content(request.actor, case, section)
        if row is not None and editable:
            errors = validation.validate(schema, content, today=timezone.localdate())
    if version is None or status == 200:
        version = row.version if row is not None else 0
    prev, nxt = _neighbours(section)
    return _render(request, "section.html", case, {
        "prefill": pq.prefill_changes(request.actor, row, content, language) if editable else None,
        "schema": schema, "title": schema.title(language), "form": render_section(schema, content, errors, language),
        "top_errors": top_errors, "editable": editable, "row": row, "prev": prev, "next": nxt,
        "autosave_header": AUTOSAVE_HEADER, "version": version, "stale": stale,
        "country_choices": countries.choices(language)}, status=status)


def _review_page(request, case, *, status: int = 200, stale: str | None = None):
    language = "en" if (request.LANGUAGE_CODE or "ja").startswith("en") else "ja"
    review = pq.review(request.actor, case, language)
    return _render(request, "review.html", case, {"review": review, "stale": stale}, status=status)


@login_required
@require_GET
def portal_review(request, pk):
    """Review before submitting (issue 15): every section's answers exactly as they will be
    submitted, the items still incomplete with links to fix them, and the only Submit button, which
    carries the versions reviewed (``services.review_token``)."""
    case = _case(request, pk)
    if case.state != State.CONSENTED:
        if not case.questionnaire_sha256:
            messages.error(request, _("The questionnaire opens once you have consented."))
            return _to_case(case)
        return redirect("assessment:portal_questionnaire", pk=case.pk)
    if (gone := _file_destroyed(request, case)) is not None:
        return gone
    return _review_page(request, case)


@login_required
@require_POST
def portal_submit(request, pk):
    """Submit what the review page showed: the service refuses it if a section was saved since
    (``changed_since_review``: the review is shown again, as it now is) or if anything is incomplete."""
    case = _case(request, pk)
    reviewed = request.POST.get("reviewed")
    if not reviewed:  # only the review page submits
        messages.error(request, _("Check your answers on the review page, then submit from there."))
        return redirect("assessment:portal_review", pk=case.pk)
    try:
        sha256 = services.submit_questionnaire(actor=request.actor, case=case, reviewed=reviewed)
    except QuestionnaireInvalid:
        return _review_page(request, case, status=400)
    except RuleViolation as exc:
        if exc.code == "changed_since_review":
            return _review_page(request, case, status=409, stale=exc.message(request.LANGUAGE_CODE))
        messages.error(request, exc.message(request.LANGUAGE_CODE))
        return redirect("assessment:portal_questionnaire", pk=case.pk)
    messages.success(request, _("Your questionnaire was submitted. SHA-256: %(sha)s") % {"sha": sha256})
    return redirect("assessment:portal_questionnaire", pk=case.pk)


@login_required
@require_GET
def portal_copy_pdf(request, pk):
    """The subject's copy of exactly what was submitted, with its SHA-256 (recomputed from the
    answers read back, and refused if it does not match what the case and the audit log hold)."""
    case = _case(request, pk)
    if not case.questionnaire_sha256:
        raise Http404
    if (gone := _file_destroyed(request, case)) is not None:
        return gone
    language = _language(request)
    body, sha256 = kept_papers.questionnaire_copy_pdf(request.actor, case, language, purpose=pq.PURPOSE)
    return _pdf(request, case, body, f"assessment-{case.pk}-questionnaire-{sha256[:12]}.pdf")


# --- after notification ---------------------------------------------------------------------------------

@login_required
@require_GET
def portal_result(request, pk):
    case = _case(request, pk)
    if case.notified_at is None:
        messages.error(request, _("The result has not been notified yet."))
        return _to_case(case)
    if (gone := _file_destroyed(request, case)) is not None:
        return gone
    try:
        result = pq.result(request.actor, case)
    except NotFound:
        raise Http404 from None
    return _render(request, "result.html", case, {"result": result})


@login_required
@require_GET
def portal_result_pdf(request, pk):
    """結果通知書 with the reasons per item, unless the subject waived them."""
    case = _case(request, pk)
    if case.notified_at is None:
        raise Http404
    if (gone := _file_destroyed(request, case)) is not None:
        return gone
    language = _language(request)
    try:
        body = kept_papers.result_pdf(request.actor, case, language)
    except NotFound:
        raise Http404 from None
    return _pdf(request, case, body, f"assessment-{case.pk}-result-{language}.pdf")


@login_required
@require_GET
def portal_inquiries(request, pk):
    """Which inquiries were made about the person (kind, organisation, method, dates), after notification."""
    case = _case(request, pk)
    return _render(request, "inquiries.html", case, {"inquiries": pq.inquiries(request.actor, case)})


@login_required
@require_http_methods(["GET", "POST"])
def portal_complaints(request, pk):
    case = _case(request, pk)
    form = ComplaintForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            services.file_complaint(actor=request.actor, case=case, text=form.cleaned_data["text"])
        except RuleViolation as exc:
            form.add_error("text" if exc.field == "text" else None, exc.message(request.LANGUAGE_CODE))
        else:
            messages.success(request, _("Your complaint was filed. The outcome will be notified to you in writing."))
            return redirect("assessment:portal_complaints", pk=case.pk)
    return _render(request, "complaints.html", case, {"form": form, "complaints": pq.complaints(request.actor, case)})


@login_required
@require_http_methods(["GET", "POST"])
def portal_adverse(request, pk):
    case = _case(request, pk)
    form = AdverseTreatmentForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            services.report_adverse_treatment(actor=request.actor, case=case, kind=form.cleaned_data["kind"],
                                              text=form.cleaned_data["text"])
        except RuleViolation as exc:
            form.add_error(exc.field if exc.field in form.fields else None, exc.message(request.LANGUAGE_CODE))
        else:
            messages.success(request, _("Your report was sent to the administrative organ."))
            return redirect("assessment:portal_adverse", pk=case.pk)
    return _render(request, "adverse.html", case, {"form": form, "reports": pq.adverse_reports(request.actor, case)})


@login_required
@require_GET
def portal_complaint_pdf(request, pk, complaint_pk):
    """The written outcome of one of the person's complaints (DOMAIN §6 step 9)."""
    case = _case(request, pk)
    complaint = Complaint.objects.filter(case=case, pk=complaint_pk).select_related("case").first()
    if complaint is None or complaint.decided_at is None:
        raise Http404
    if (gone := _file_destroyed(request, case)) is not None:
        return gone
    language = _language(request)
    body = kept_papers.complaint_outcome_pdf(request.actor, complaint, language, purpose=pq.PURPOSE)
    return _pdf(request, case, body, f"assessment-{case.pk}-complaint-{complaint.pk}-{language}.pdf")


@login_required
@require_GET
def portal_adverse_pdf(request, pk, report_pk):
    """The organ's written decision on one of the person's adverse-treatment reports."""
    case = _case(request, pk)
    report = AdverseTreatmentReport.objects.filter(case=case, pk=report_pk).select_related("case", "employer").first()
    if report is None or report.decided_at is None:
        raise Http404
    if (gone := _file_destroyed(request, case)) is not None:
        return gone
    language = _language(request)
    body = kept_papers.adverse_decision_pdf(request.actor, report, language, purpose=pq.PURPOSE)
    return _pdf(request, case, body, f"assessment-{case.pk}-adverse-treatment-{report.pk}-{language}.pdf")


urlpatterns: list = [
    path("portal/", portal_home, name="portal_home"),
    path("portal/<int:pk>/", portal_case, name="portal_case"),
    path("portal/<int:pk>/notice/", portal_notice, name="portal_notice"),
    path("portal/<int:pk>/notice.pdf", portal_notice_pdf, name="portal_notice_pdf"),
    path("portal/<int:pk>/consent.pdf", portal_consent_pdf, name="portal_consent_pdf"),
    path("portal/<int:pk>/withdraw/", portal_withdraw, name="portal_withdraw"),
    path("portal/<int:pk>/reasons/", portal_waive_reasons, name="portal_waive_reasons"),
    path("portal/<int:pk>/questionnaire/", portal_questionnaire, name="portal_questionnaire"),
    path("portal/<int:pk>/questionnaire/review/", portal_review, name="portal_review"),
    path("portal/<int:pk>/questionnaire/submit/", portal_submit, name="portal_submit"),
    path("portal/<int:pk>/questionnaire/copy.pdf", portal_copy_pdf, name="portal_copy_pdf"),
    path("portal/<int:pk>/questionnaire/<slug:section>/", portal_section, name="portal_section"),
    path("portal/<int:pk>/result/", portal_result, name="portal_result"),
    path("portal/<int:pk>/result.pdf", portal_result_pdf, name="portal_result_pdf"),
    path("portal/<int:pk>/inquiries/", portal_inquiries, name="portal_inquiries"),
    path("portal/<int:pk>/complaints/", portal_complaints, name="portal_complaints"),
    path("portal/<int:pk>/complaints/<int:complaint_pk>.pdf", portal_complaint_pdf, name="portal_complaint_pdf"),
    path("portal/<int:pk>/adverse-treatment/<int:report_pk>.pdf", portal_adverse_pdf, name="portal_adverse_pdf"),
    path("portal/<int:pk>/adverse-treatment/", portal_adverse, name="portal_adverse"),
]
