"""The designation screens (DOMAIN §2, §3, §8): thin views, forms → services, reads via queries.

Every page asks the policy before it shows a form (a wrong role gets 403 with the policy's reason,
audited); the service asks again when the form is sent. Reads of one designation 404 alike for
missing and forbidden (`queries.designation_for`).
"""

from __future__ import annotations

import datetime as dt

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from hozen.access import policy
from hozen.access.policy import NO_ROLE, PolicyDenied, deny
from hozen.core.errors import RuleViolation, StaleEdit
from hozen.rules.queries import current_pack

from . import export_services, queries, services
from .forms import (
    AcknowledgeForm,
    ApproveForm,
    CancelForm,
    CorrectionAnswerForm,
    CorrectionRequestForm,
    DesignationFilterForm,
    DesignationForm,
    ExtendForm,
    MoveToSdsForm,
    ProvisionForm,
    RefusedApprovalForm,
    ReturnDraftForm,
    ReviewForm,
    StatisticsForm,
)
from .models import STATE_LABELS, Provision, State, Tier
from .periods import last_day_of_term

PER_PAGE = 25
LEDGER_PER_PAGE = 100


class DesignationPaginator(Paginator):
    """Pages of `queries.designations_for`, fetched ids first (`queries.designation_page`)."""

    def page(self, number):
        number = self.validate_number(number)
        bottom = (number - 1) * self.per_page
        top = bottom + self.per_page
        if top + self.orphans >= self.count:
            top = self.count
        return self._get_page(queries.designation_page(self.object_list, bottom, top), number, self)


FORM_FIELDS = ("title", "summary", "category", "sub_item", "justification_category", "justification_not_public",
               "justification_harm", "in_advance", "advance_reason", "designated_on", "term_end",
               "protective_measure")


def _posted(request):
    """The form's data on POST (even an empty one, as approval sends), None on GET."""
    return request.POST if request.method == "POST" else None


def _to_detail(designation):
    return redirect("designation:detail", pk=designation.pk)


def _own_organisation(request):
    """The organisation of the active role; no role is a policy denial like any other."""
    organisation = request.actor.organisation
    if organisation is None:
        raise PolicyDenied(deny(*NO_ROLE), "designation.create")
    return organisation


def _pack(request, tier: str):
    """The rules pack in force today, or None with the reason shown as a message."""
    try:
        return current_pack(tier, timezone.localdate())
    except RuleViolation as exc:
        messages.error(request, exc.message(request.LANGUAGE_CODE))
        return None


PACK_LABELS = {
    "designation.max_term_years": gettext_lazy("Longest term of a designation"),
    "extension.max_term_years": gettext_lazy("Longest single extension"),
    "cumulative.cabinet_approval_threshold_years": gettext_lazy(
        "Total period beyond which a Cabinet approval is required"),
    "cumulative.absolute_cap_years": gettext_lazy("Absolute cap on the total period, outside the exempt categories"),
    "review.interval_months": gettext_lazy("Review interval"),
}
TERM_KEYS = tuple(PACK_LABELS)


def _pack_notes(pack, keys, language):
    """Pack values a screen relies on, each with the pack's "to verify" flag."""
    return [{"key": key, "label": PACK_LABELS[key], "text": pack.describe(key, language),
             "to_verify": pack.is_to_verify(key)} for key in keys if pack.has(key)]


# --- lists -------------------------------------------------------------------------------------

@login_required
@require_GET
def designation_list(request):
    """Designations the actor may see (the policy's scope), filtered and paginated."""
    pack = _pack(request, Tier.ESI)
    categories = pack.categories.order_by("position") if pack else []
    form = DesignationFilterForm(request.GET or None, categories=categories)
    page = None
    if not request.GET or form.is_valid():
        data = form.cleaned_data if request.GET else {}
        rows = queries.designations_for(request.actor, state=data.get("state") or None,
                                        category=data.get("category") or None, search=data.get("q", ""))
        page = DesignationPaginator(rows, PER_PAGE).get_page(request.GET.get("page"))
    own = request.actor.organisation
    can_create = own is not None and policy.decide(request.actor, "designation.create", own).allowed
    return render(request, "designation/list.html", {"form": form, "page": page, "can_create": can_create})


def _unacknowledged_only(request) -> bool:
    return request.GET.get("unacknowledged") == "1"


@login_required
@require_GET
def notifications(request):
    """Written notifications to the actor's organisation (extension, expiry, cancellation, move),
    each with its acknowledgement or the button to acknowledge it."""
    unacknowledged = _unacknowledged_only(request)
    rows = queries.notifications_for(request.actor).select_related("designation__organisation")
    if unacknowledged:
        rows = rows.filter(acknowledged_at__isnull=True)
    page = Paginator(rows, PER_PAGE).get_page(request.GET.get("page"))
    acknowledgeable = {n.pk for n in page.object_list if not n.is_acknowledged and policy.decide(
        request.actor, "designation.notification.acknowledge", n).allowed}
    return render(request, "designation/notifications.html", {
        "page": page, "acknowledgeable": acknowledgeable, "unacknowledged": unacknowledged,
        "reminders": list(queries.review_reminders_for(request.actor)[:PER_PAGE]), "today": timezone.localdate(),
        "sees_sent": policy.decide(request.actor, "ledger.view", request.actor.organisation).allowed})


@login_required
@require_POST
def acknowledge_notification(request, notification_pk):
    """The recipient confirms a notice (audited); back to the notices with the outcome."""
    notification = queries.notification_for(request.actor, notification_pk)  # 404: not sent to the actor's organ
    form = AcknowledgeForm(request.POST)
    if form.is_valid():
        try:
            services.acknowledge_notification(actor=request.actor, notification=notification)
        except RuleViolation as exc:
            messages.error(request, exc.message(request.LANGUAGE_CODE))
        else:
            messages.success(request, _("The notice about %(reference)s was acknowledged.") % {
                "reference": notification.designation.reference})
    return redirect("designation:notifications")


@login_required
@require_POST
def record_notice_delivered(request, notification_pk):
    """The holding organ records that it delivered a written notice to a recipient outside Hozen."""
    notification = queries.notice_to_deliver_for(request.actor, notification_pk)  # 404 otherwise
    form = AcknowledgeForm(request.POST)
    if form.is_valid():
        try:
            services.acknowledge_notification(actor=request.actor, notification=notification)
        except RuleViolation as exc:
            messages.error(request, exc.message(request.LANGUAGE_CODE))
        else:
            messages.success(request, _("The delivery of the notice to %(name)s was recorded.") % {
                "name": notification.recipient_name})
    return redirect("designation:notices_sent")


@login_required
@require_GET
def notices_sent(request):
    """The sending organ (and oversight) follow which holders and recipients have not yet
    acknowledged a notice. The ledger's people may open it (`ledger.view`); rows by the policy's scope."""
    policy.require(request.actor, "ledger.view", request.actor.organisation)
    unacknowledged = _unacknowledged_only(request)
    rows = queries.notices_sent_for(request.actor, unacknowledged=unacknowledged)
    page = Paginator(rows, PER_PAGE).get_page(request.GET.get("page"))
    deliverable = {n.pk for n in page.object_list if n.sent_by_holding_organ and not n.is_acknowledged
                   and policy.decide(request.actor, "designation.notification.acknowledge", n).allowed}
    return render(request, "designation/notices_sent.html", {
        "page": page, "unacknowledged": unacknowledged, "deliverable": deliverable,
        "open_count": queries.notices_sent_for(request.actor, unacknowledged=True).count()})


# --- one designation ---------------------------------------------------------------------------

def _actions(actor, d) -> dict:
    def allowed(action, target=d):
        return policy.decide(actor, action, target).allowed

    draft, in_force = d.state == State.DRAFT, d.is_in_force  # dates decide: no extend/cancel after the term end
    return {
        "edit": draft and allowed("designation.update"),
        "approve": draft and allowed("designation.approve"),
        "return": draft and d.returned_at is None and allowed("designation.return"),
        "extend": in_force and allowed("designation.extend"),
        "refused_approval": in_force and allowed("designation.extend"),
        "cancel": in_force and allowed("designation.cancel"),
        "review": in_force and allowed("designation.review"),
        "move_to_sds": in_force and d.tier == Tier.ESI and allowed("designation.move_to_sds"),
        "provide": in_force and allowed("provision.create"),
        "request_correction": not draft and allowed("designation.request_correction"),
        "answer_correction": allowed("designation.answer_correction"),
        "document": not draft and allowed("designation.export", d.organisation),
    }


@login_required
@require_GET
def detail(request, pk):
    actor = request.actor
    d = services.read_designation(actor=actor, pk=pk)  # audited: designation.read
    # The record (holders, history, reviews, corrections, justifications) is the organ's and
    # oversight's, as on the ledger; a holder elsewhere sees the designation and its term.
    sees_record = policy.decide(actor, "ledger.view", d.organisation).allowed
    approval = policy.decide(actor, "designation.approve", d)
    context = {
        "d": d,
        "actions": _actions(actor, d),
        "sees_record": sees_record,
        "preparer_cannot_approve": d.state == State.DRAFT and approval.code == "preparer_cannot_approve",
        "approval_reason": approval.reason(request.LANGUAGE_CODE),
        "open_return": queries.open_return_for(d),
        "provisions": list(queries.provisions_for(actor, d)),
        "pack_notes": _pack_notes(d.rules_pack, TERM_KEYS, request.LANGUAGE_CODE),
        "today": timezone.localdate(),
    }
    if sees_record:
        context.update(queries.designation_record(d))
        context["notices"] = list(queries.notices_sent_for(actor, designation=d))
    else:
        context["extensions"] = list(d.extensions.all())
    return render(request, "designation/detail.html", context)


def _step(request, d, *, form, template, run, done, context=None, then=None, more_checks=None):
    """The shape every step page shares (draft, edit, approve, extend, cancel, review, move to SDS,
    provide, correction request and answer):

    - GET shows `form` in `template` with `d` (the designation, None for a new draft) and `context`;
    - a valid POST calls `run(form)`, which calls the service (it asks the policy again and applies
      the rules in one transaction); a RuleViolation is shown beside the field it names (above the
      form otherwise) and nothing is written;
    - on success, the message `done(result)` and the page of `then(result)` (default: `d`).

    `context` may be a callable, evaluated only when the form is shown again. `more_checks(form)`,
    when given, returns the service's refusals of the fields an invalid form did accept, shown
    beside them with the form's own errors: every problem at once, not one per submission.

    A change refused because the designation changed since the page was opened (StaleEdit, 409)
    is shown with what changed since (`stale_changes`: when, who, which fields) and the record as
    it now is. The form then holds the current values of the fields someone else changed (what
    this person had typed there is listed beside them, `stale_yours`, so nothing typed is lost)
    and this person's input everywhere else, with the current version: sending it again applies
    their change on top of the newer record, never silently reverting the other change.
    """
    status = 200
    extra: dict = {}
    if request.method == "POST" and not form.is_valid() and more_checks is not None:
        form.add_more_violations(more_checks(form), request.LANGUAGE_CODE)
    if request.method == "POST" and form.is_valid():
        try:
            result = run(form)
        except StaleEdit as exc:
            form.add_violation(exc, request.LANGUAGE_CODE)
            d = queries.designation_for(request.actor, d.pk)
            changes = queries.changes_since(d, exc.seen_version or 0)
            extra = {"stale_changes": changes, "stale": True,
                     "stale_yours": _take_current_values(form, d, changes, exc.current_version)}
            status = 409
        except RuleViolation as exc:
            form.add_violation(exc, request.LANGUAGE_CODE)
            status = 409 if exc.status == 409 else 200
        else:
            messages.success(request, done(result))
            return _to_detail(then(result) if then else d)
    extra = {**(context() if callable(context) else (context or {})), **extra}
    return render(request, template, {"d": d, "form": form, **extra}, status=status)


def _take_current_values(form, d, changes: list[dict], version: int) -> list[dict]:
    """Put the stored value of every field someone else changed into the bound form (and the
    current version); return what this person had typed in those fields, labelled, to show."""
    data = form.data.copy()
    data[form.add_prefix("version")] = str(version)
    yours = []
    for name in dict.fromkeys(n for c in changes for n in c["names"]):
        if name not in form.fields or form.fields[name].widget.is_hidden:
            continue
        field = form.fields[name]
        typed = form.cleaned_data.get(name)
        current = getattr(d, name)
        if typed == current:
            continue
        yours.append({"label": field.label, "value": _shown(field, typed), "current": _shown(field, current)})
        value = field.prepare_value(current)
        key = form.add_prefix(name)
        if isinstance(field, forms.BooleanField):
            data.pop(key, None)
            if current:
                data[key] = "on"
        else:
            data[key] = value.isoformat() if isinstance(value, dt.date) else ("" if value is None else str(value))
    form.data = data
    return yours


def _shown(field, value) -> str:
    if value is None or value == "":
        return "—"
    if isinstance(field, forms.ModelChoiceField):
        return field.label_from_instance(value)
    if isinstance(field, forms.BooleanField):
        return str(_("Yes") if value else _("No"))
    return value.isoformat() if isinstance(value, dt.date) else str(value)


def _fields(form) -> dict:
    """The form's values for a service, without the version (passed on its own)."""
    return {k: v for k, v in form.cleaned_data.items() if k != "version"}


@login_required
@require_http_methods(["GET", "POST"])
def create(request):
    organisation = _own_organisation(request)
    policy.require(request.actor, "designation.create", organisation)
    pack = _pack(request, Tier.ESI)
    if pack is None:
        return redirect("designation:list")
    today = timezone.localdate()
    initial = {"designated_on": today, "protective_measure": "marking",
               "term_end": last_day_of_term(today, pack.value("designation.max_term_years"))}
    return _step(
        request, None, form=DesignationForm(_posted(request), pack=pack, initial=initial),
        template="designation/draft_form.html", context={"pack": pack},
        run=lambda form: services.create_draft(actor=request.actor, organisation=organisation, **_fields(form)),
        more_checks=lambda form: services.draft_problems(pack, _fields(form)),
        done=lambda _d: _("The draft was saved. The organ head approves it to designate."),
        then=lambda draft: draft)


@login_required
@require_http_methods(["GET", "POST"])
def edit(request, pk):
    d = queries.designation_for(request.actor, pk)
    policy.require(request.actor, "designation.update", d)
    pack = _pack(request, d.tier)
    if pack is None:
        return _to_detail(d)
    return _step(
        request, d, form=DesignationForm(_posted(request), pack=pack,
                                         initial={**queries.draft_initial(d, pack, FORM_FIELDS), "version": d.version}),
        template="designation/draft_form.html", context={"pack": pack},
        run=lambda form: services.update_draft(actor=request.actor, designation=d.pk,
                                               version=form.cleaned_data.get("version"), **_fields(form)),
        more_checks=lambda form: services.draft_problems(pack, _fields(form)),
        done=lambda _d: _("The draft was updated."))


def _draft_context(request, d) -> dict:
    """What the approval and send-back pages show beside their forms: the return that waits, if any."""
    return {"open_return": queries.open_return_for(d), "can_return": policy.decide(
        request.actor, "designation.return", d).allowed and d.state == State.DRAFT and d.returned_at is None}


@login_required
@require_http_methods(["GET", "POST"])
def approve(request, pk):
    """The organ head's page for a draft: approve it, or send it back with a comment (a second form
    on the page, posted to `return_draft`)."""
    d = queries.designation_for(request.actor, pk)
    policy.require(request.actor, "designation.approve", d)
    return _step(
        request, d, form=ApproveForm(_posted(request), initial={"version": d.version}),
        template="designation/approve.html",
        context=lambda: {**_draft_context(request, d),
                         "return_form": ReturnDraftForm(initial={"version": d.version}, prefix="return")},
        run=lambda form: services.approve(actor=request.actor, designation=d.pk,
                                          version=form.cleaned_data.get("version"), version_required=True),
        done=lambda done: _("Designated as %(reference)s.") % {"reference": done.reference})


@login_required
@require_http_methods(["GET", "POST"])
def return_draft(request, pk):
    """Send a draft back to its preparer with a comment (the approval page's second form). A refusal
    (no comment, a draft changed or approved meanwhile) shows this page again with the comment kept."""
    d = queries.designation_for(request.actor, pk)
    policy.require(request.actor, "designation.return", d)
    return _step(
        request, d, form=ReturnDraftForm(_posted(request), initial={"version": d.version}, prefix="return"),
        template="designation/return_draft.html", context=lambda: _draft_context(request, d),
        run=lambda form: services.return_draft(actor=request.actor, designation=d.pk,
                                               comment=form.cleaned_data["comment"],
                                               version=form.cleaned_data.get("version"), version_required=True),
        done=lambda _row: _("The draft was sent back to its preparer with your comment. Its ESI managers have "
                            "been told."))


@login_required
@require_http_methods(["GET", "POST"])
def extend(request, pk):
    d = queries.designation_for(request.actor, pk)
    policy.require(request.actor, "designation.extend", d)
    pack = _pack(request, d.tier)
    if pack is None:
        return _to_detail(d)
    return _step(
        request, d, form=ExtendForm(_posted(request), pack=pack), template="designation/extend.html",
        context=lambda: {"pack": pack, "limits": _extension_limits(pack, d, request.LANGUAGE_CODE)},
        run=lambda form: services.extend(actor=request.actor, designation=d, **form.cleaned_data),
        done=lambda _d: _("The term was extended. Every holder has been notified."))


@login_required
@require_http_methods(["GET", "POST"])
def refused_approval(request, pk):
    """DOMAIN §2 (to verify for ESI): the Cabinet refused the approval an extension past the
    threshold needed; under the pack the designation ends and its files go to the National Archives."""
    d = queries.designation_for(request.actor, pk)
    policy.require(request.actor, "designation.extend", d)
    pack = _pack(request, d.tier)
    if pack is None:
        return _to_detail(d)
    key = "archives.transfer_on_refused_approval"
    return _step(
        request, d, form=RefusedApprovalForm(_posted(request)), template="designation/refused_approval.html",
        context=lambda: {"pack": pack, "transfer": pack.value(key) if pack.has(key) else False,
                         "to_verify": pack.has(key) and pack.is_to_verify(key),
                         "threshold_end": last_day_of_term(
                             d.designated_on, pack.value("cumulative.cabinet_approval_threshold_years"))},
        run=lambda form: services.record_refused_cabinet_approval(actor=request.actor, designation=d,
                                                                  **form.cleaned_data),
        done=lambda _d: _("The refusal was recorded: the designation has ended and its files go to the National "
                          "Archives. Every holder and recipient has been notified."))


@login_required
@require_GET
def statistics(request):
    """Counts for oversight (every organ) and for an organ's head and ESI managers (their own)."""
    actor = request.actor
    form = StatisticsForm(request.GET or None)
    year = form.cleaned_data.get("year") if form.is_valid() else None
    # Every organ's counts when the policy allows them; otherwise the actor's own organ's (403 if neither).
    everyone = policy.decide(actor, "designation.statistics", None).allowed
    stats = queries.statistics(actor, year=year, organisation=None if everyone else actor.organisation)
    return render(request, "designation/statistics.html", {
        "form": form, "stats": stats,
        "states": [(k, _state_word(k, request.LANGUAGE_CODE), n) for k, n in stats["by_state"].items()],
        "recipient_kinds": [(k, Provision.RecipientKind(k).label, n)
                            for k, n in stats["provisions_by_recipient_kind"].items()]})


def _state_word(state: str, language: str) -> str:
    """A state's label from the one table the designation pages and the ledger use (STATE_LABELS)."""
    ja, en = STATE_LABELS[state]
    return en if (language or "ja").startswith("en") else ja


def _extension_limits(pack, d, language) -> list[dict]:
    """The dates this extension may reach under the pack, each with its "to verify" flag."""
    limits = []
    years = pack.value("extension.max_term_years")
    limits.append({"label": _("Latest new term end for one extension (%(term)s)") % {
        "term": pack.describe("extension.max_term_years", language)},
        "date": last_day_of_term(d.term_end + dt.timedelta(days=1), years),
        "to_verify": pack.is_to_verify("extension.max_term_years")})
    threshold = pack.value("cumulative.cabinet_approval_threshold_years")
    limits.append({"label": _("Beyond this date a Cabinet approval reference is required (%(term)s in total)") % {
        "term": pack.describe("cumulative.cabinet_approval_threshold_years", language)},
        "date": last_day_of_term(d.designated_on, threshold),
        "to_verify": pack.is_to_verify("cumulative.cabinet_approval_threshold_years")})
    if pack.has("cumulative.absolute_cap_years") and pack.value("cumulative.absolute_cap_years"):
        limits.append({"label": _("Absolute cap outside the exempt categories (%(term)s in total)") % {
            "term": pack.describe("cumulative.absolute_cap_years", language)},
            "date": last_day_of_term(d.designated_on, pack.value("cumulative.absolute_cap_years")),
            "to_verify": pack.is_to_verify("cumulative.absolute_cap_years")})
    return limits


@login_required
@require_http_methods(["GET", "POST"])
def cancel(request, pk):
    d = queries.designation_for(request.actor, pk)
    policy.require(request.actor, "designation.cancel", d)
    return _step(
        request, d, form=CancelForm(_posted(request)), template="designation/cancel.html",
        run=lambda form: services.cancel(actor=request.actor, designation=d, **form.cleaned_data),
        done=lambda _d: _("The designation was cancelled. Every holder has been notified."))


@login_required
@require_http_methods(["GET", "POST"])
def review(request, pk):
    d = queries.designation_for(request.actor, pk)
    policy.require(request.actor, "designation.review", d)

    def context():
        pack = _pack(request, d.tier)
        return {"pack_notes": _pack_notes(pack, ("review.interval_months",), request.LANGUAGE_CODE) if pack else []}

    return _step(
        request, d, form=ReviewForm(_posted(request)), template="designation/review.html", context=context,
        run=lambda form: services.review(actor=request.actor, designation=d, **form.service_arguments()),
        done=lambda _row: _("The review was recorded."))


@login_required
@require_http_methods(["GET", "POST"])
def move_to_sds(request, pk):
    d = queries.designation_for(request.actor, pk)
    policy.require(request.actor, "designation.move_to_sds", d)
    pack = _pack(request, Tier.SDS)
    if pack is None:
        return _to_detail(d)
    return _step(
        request, d, form=MoveToSdsForm(_posted(request), pack=pack), template="designation/move_to_sds.html",
        context={"pack": pack},
        run=lambda form: services.move_to_sds(actor=request.actor, designation=d, **form.cleaned_data),
        done=lambda successor: _("Moved to SDS as %(reference)s. The ESI designation is cancelled and every "
                                 "holder has been notified.") % {"reference": successor.reference},
        then=lambda successor: successor)


@login_required
@require_http_methods(["GET", "POST"])
def provide(request, pk):
    d = queries.designation_for(request.actor, pk)
    policy.require(request.actor, "provision.create", d)
    form = ProvisionForm(_posted(request), recipients=queries.provision_recipients(d),
                         contracts=queries.provision_contracts(d), initial={"provided_on": timezone.localdate()})
    return _step(
        request, d, form=form, template="designation/provide.html",
        run=lambda form: services.record_provision(actor=request.actor, designation=d, **form.service_arguments()),
        done=lambda _row: _("The provision was recorded."))


@login_required
@require_http_methods(["GET", "POST"])
def request_correction(request, pk):
    d = queries.designation_for(request.actor, pk)
    policy.require(request.actor, "designation.request_correction", d)
    return _step(
        request, d, form=CorrectionRequestForm(_posted(request)), template="designation/correction_request.html",
        run=lambda form: services.request_correction(actor=request.actor, designation=d, **form.cleaned_data),
        done=lambda _row: _("The correction request was sent to the organ."))


@login_required
@require_http_methods(["GET", "POST"])
def answer_correction(request, pk, correction_pk):
    d = queries.designation_for(request.actor, pk)
    correction = queries.correction_for(d, correction_pk)
    policy.require(request.actor, "designation.answer_correction", d)
    return _step(
        request, d, form=CorrectionAnswerForm(_posted(request)), template="designation/correction_answer.html",
        context={"correction": correction},
        run=lambda form: services.answer_correction(actor=request.actor, correction=correction, **form.cleaned_data),
        done=lambda _row: _("The answer was recorded."))


def _attachment(body: bytes, content_type: str, filename: str) -> HttpResponse:
    response = HttpResponse(body, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@login_required
@require_GET
def document_pdf(request, pk):
    """The 指定書 (designation document) as PDF; the export is audited."""
    d = queries.designation_for(request.actor, pk)
    try:
        body = export_services.export_document(actor=request.actor, designation=d)
    except RuleViolation as exc:
        messages.error(request, exc.message(request.LANGUAGE_CODE))
        return _to_detail(d)
    return _attachment(body, "application/pdf", f"designation-{d.reference}.pdf")


# --- the ledger (指定管理簿) ---------------------------------------------------------------------

@login_required
@require_GET
def ledger_index(request):
    """Oversight chooses an organ; an organ's own staff go straight to their organ's ledger."""
    organs = queries.ledger_organisations_for(request.actor)
    own = request.actor.organisation
    if len(organs) == 1 and own is not None and organs[0].pk == own.pk:
        return redirect("designation:ledger", code=own.code)
    if not organs:  # nothing to choose: the policy says why (403), or there is no organ yet
        policy.require(request.actor, "ledger.view", own)
    return render(request, "designation/ledger_index.html", {"organs": organs,
                                                             "sees_statistics": _sees_statistics(request.actor)})


def _sees_statistics(actor) -> bool:
    return (policy.decide(actor, "designation.statistics", None).allowed
            or policy.decide(actor, "designation.statistics", actor.organisation).allowed)


@login_required
@require_GET
def ledger(request, code):
    organisation = queries.ledger_organisation_for(request.actor, code)
    designations = queries.ledger_designations(request.actor, organisation)
    page = Paginator(designations, LEDGER_PER_PAGE).get_page(request.GET.get("page"))
    rows = [(d, queries.ledger_row(d)) for d in page.object_list]
    return render(request, "designation/ledger.html", {
        "organisation": organisation, "page": page, "rows": rows,
        "sees_statistics": _sees_statistics(request.actor),
        "direct_pdf": page.paginator.count <= export_services.direct_pdf_rows(),
        "prepared": queries.prepared_ledgers_for(request.actor, organisation)})


@login_required
@require_GET
def ledger_export(request, code, fmt):
    organisation = queries.ledger_organisation_for(request.actor, code)
    try:
        body = export_services.export_ledger(actor=request.actor, organisation=organisation, fmt=fmt)
    except RuleViolation as exc:  # too many rows for a PDF on the spot: the ledger offers to prepare it
        messages.error(request, exc.message(request.LANGUAGE_CODE))
        return redirect("designation:ledger", code=organisation.code)
    stamp = timezone.localdate().strftime("%Y%m%d")
    if fmt == "csv":
        return _attachment(body, "text/csv; charset=utf-8", f"designation-ledger-{organisation.code}-{stamp}.csv")
    return _attachment(body, "application/pdf", f"designation-ledger-{organisation.code}-{stamp}.pdf")


@login_required
@require_POST
def ledger_prepare(request, code, fmt):
    """Ask for the ledger as a file built in the background; on to its page, which refreshes until
    the file is ready."""
    organisation = queries.ledger_organisation_for(request.actor, code)
    prepared = export_services.request_ledger(actor=request.actor, organisation=organisation, fmt=fmt)
    return redirect("designation:ledger_prepared", code=organisation.code, prepared_pk=prepared.pk)


@login_required
@require_GET
def ledger_prepared(request, code, prepared_pk):
    organisation = queries.ledger_organisation_for(request.actor, code)
    prepared = queries.prepared_ledger_for(request.actor, organisation, prepared_pk)  # 404: not the actor's
    return render(request, "designation/ledger_prepared.html", {
        "organisation": organisation, "prepared": prepared,
        "refresh": prepared.status == prepared.Status.QUEUED})


@login_required
@require_GET
def ledger_prepared_download(request, code, prepared_pk):
    organisation = queries.ledger_organisation_for(request.actor, code)
    prepared = queries.prepared_ledger_for(request.actor, organisation, prepared_pk)
    try:
        body = export_services.download_prepared(actor=request.actor, prepared=prepared)
    except RuleViolation as exc:
        messages.error(request, exc.message(request.LANGUAGE_CODE))
        return redirect("designation:ledger_prepared", code=organisation.code, prepared_pk=prepared.pk)
    stamp = timezone.localtime(prepared.created_at).strftime("%Y%m%d")
    name = f"designation-ledger-{organisation.code}-{stamp}-{prepared.pk}.{prepared.fmt}"
    if prepared.fmt == "csv":
        return _attachment(body, "text/csv; charset=utf-8", name)
    return _attachment(body, "application/pdf", name)
