"""The audit screens: the auditor's log viewer and CSV export; "who has read my data" for everyone.

Thin views (STYLE): the policy question and the reads are in `queries`; labels for codes here.
"""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET

from hozen.access import policy
from hozen.core.errors import RuleViolation
from hozen.core.roles import Role

from . import queries
from .forms import LogFilterForm

READS_PER_PAGE = 50


def dashboard_context(actor, role: str) -> dict:
    """The auditors' dashboard: the latest reconcile run (do the rows agree with the log?), with
    its first disagreements, so a contradiction found by the daily job is in front of them."""
    if role != Role.AUDITOR:
        return {}
    from .reconcile import latest_run

    run = latest_run()
    return {"reconcile_run": run, "reconcile_details": (run.details[:10] if run else [])}

OUTCOME_LABELS = dict(queries.OUTCOME_CHOICES)

CSV_HEADER = [
    gettext_lazy("Leaf index"), gettext_lazy("Time (UTC)"), gettext_lazy("Operator"), gettext_lazy("Role"),
    gettext_lazy("Organisation"), gettext_lazy("Action"), gettext_lazy("Object type"), gettext_lazy("Object id"),
    gettext_lazy("Outcome"), gettext_lazy("Purpose"), gettext_lazy("Request id"),
]


def role_label(code: str) -> str:
    if not code:
        return ""
    if code.startswith("system:"):
        return _("System (%(channel)s)") % {"channel": code.partition(":")[2]}
    try:
        return str(Role(code).label)
    except ValueError:
        return code


def purpose_label(code: str) -> str:
    label = queries.PURPOSE_LABELS.get(code)
    return str(label) if label is not None else code


def _log_page(request, form: LogFilterForm, *, cap_exceeded: bool = False):
    """The viewer. An invalid filter shows its errors and no rows: never a silently wider result."""
    page = rows = None
    if form.is_valid():
        try:
            page = queries.log_page_for(actor=request.actor, log_filter=form.log_filter(),
                                        before=form.cleaned_data["before"], after=form.cleaned_data["after"])
        except RuleViolation as exc:  # a page link naming no entry
            form.add_error(None, exc.message(request.LANGUAGE_CODE))
    if page is not None:
        rows = [{"row": r, "role": role_label(r.role), "outcome": str(OUTCOME_LABELS.get(r.outcome, r.outcome)),
                 "purpose": purpose_label(r.purpose)} for r in page.rows]
    hidden_errors = [e for f in form.hidden_fields() for e in f.errors]
    context = {"form": form, "page": page, "rows": rows, "hidden_errors": hidden_errors,
               "cap": queries.EXPORT_CAP, "cap_exceeded": cap_exceeded}
    # 200 with the errors beside the fields, as every form in Hozen answers (no table is shown).
    return render(request, "audit/log.html", context)


@login_required
@require_GET
def log(request):
    policy.require(request.actor, "audit.browse")
    return _log_page(request, LogFilterForm(request.GET))


@login_required
@require_GET
def export(request):
    """CSV of the current filter. Recorded as `audit.exported` (committed) before the first byte."""
    policy.require(request.actor, "audit.export")
    form = LogFilterForm(request.GET)
    if not form.is_valid():
        return _log_page(request, form)
    started = queries.start_export_for(actor=request.actor, log_filter=form.log_filter(),
                                       accept_cap=form.cleaned_data["capped"])
    if started is None:  # more than the cap: explain, and let the auditor narrow or accept
        return _log_page(request, form, cap_exceeded=True)
    header = [str(h) for h in CSV_HEADER]  # translated now, in the request's language
    response = StreamingHttpResponse(queries.csv_lines(started, header), content_type="text/csv; charset=utf-8")
    stamp = timezone.now().strftime("%Y%m%dT%H%M%SZ")
    response["Content-Disposition"] = f'attachment; filename="hozen-audit-log-{stamp}.csv"'
    response["X-Export-Rows"] = str(started.size)
    if started.capped:
        response["X-Export-Capped"] = str(queries.EXPORT_CAP)
    return response


@login_required
@require_GET
def my_reads(request):
    """Every read of the signed-in person's own personal data (ARCHITECTURE rule 4), with the
    reader's role, organisation, time and purpose, never the reader's name."""
    person = request.actor.account.person
    entries = queries.reads_of_person_for(actor=request.actor, person=person)
    page = Paginator(entries, READS_PER_PAGE).get_page(request.GET.get("page"))
    reads = queries.read_rows(page.object_list, language=request.LANGUAGE_CODE)
    rows = [{"read": r, "role": role_label(r.role), "purpose": purpose_label(r.purpose)} for r in reads]
    return render(request, "audit/my_reads.html", {"page": page, "rows": rows})
