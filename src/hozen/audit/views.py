"""The audit screens: the auditor's log viewer and CSV export; "who has read my data" for everyone.

Thin views (STYLE): the policy question and the reads are in `queries`; labels for codes here.
"""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET

from hozen.access import policy
from hozen.core.calendars import TOKYO
from hozen.core.errors import RuleViolation
from hozen.core.roles import Role

from . import queries
from .forms import LogFilterForm


def dashboard_context(actor, role: str) -> dict:
    """The auditors' dashboard: the latest reconcile run (do the rows agree with the log?), with
    its first disagreements, so a contradiction found by the daily job is in front of them."""
    if role != Role.AUDITOR:
        return {}
    from .models import AuditCheckpoint
    from .reconcile import latest_run

    run = latest_run()
    checkpoint = AuditCheckpoint.objects.order_by("-size").only("size", "created").first()
    return {"reconcile_run": run, "reconcile_details": (run.details[:10] if run else []),
            "checkpoint": checkpoint, "checkpoints": AuditCheckpoint.objects.count()}

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
    context = {"form": form, "page": page, "rows": rows,
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


def _cursor(request, name: str) -> tuple[int | None, bool]:
    """A keyset cursor from the page's own links (digits only); (None, False) when absent,
    (None, True) when present but malformed."""
    raw = request.GET.get(name)
    if raw is None or raw == "":
        return None, False
    if raw.isascii() and raw.isdigit() and len(raw) <= 19 and 0 < int(raw) < 2**63:
        return int(raw), False
    return None, True


def _read_labels(role: str, purpose: str, outcome: str, reader_shown: bool) -> dict:
    return {"role": role_label(role) if reader_shown else _("Not shown"), "purpose": purpose_label(purpose),
            "outcome": queries.read_outcome_label(outcome)}


@login_required
@require_GET
def my_reads(request):
    """Every read of the signed-in person's own personal data (ARCHITECTURE rule 4; issue 12 §7),
    refused attempts included: the reader's role, organisation, time and purpose, never the reader's
    name. Repeated reads (same role and organisation, purpose and day) are one row with their count
    and time range; keyset pages (before=/after=), newest first."""
    person = request.actor.account.person
    before, bad_before = _cursor(request, "before")
    after, bad_after = _cursor(request, "after")
    page = queries.read_groups_for(actor=request.actor, person=person, before=before, after=after,
                                   language=request.LANGUAGE_CODE)
    rows = []
    for g in page.groups:
        first, last = g.first.astimezone(TOKYO), g.last.astimezone(TOKYO)
        rows.append({"group": g, **_read_labels(g.role, g.purpose, g.outcome, g.reader_shown),
                     "from": f"{first:%H:%M}", "to": f"{last:%H:%M}"})
    return render(request, "audit/my_reads.html", {"page": page, "rows": rows, "bad_cursor": bad_before or bad_after})


OWN_READS_CSV_HEADER = [
    gettext_lazy("Time (UTC)"), gettext_lazy("Role"), gettext_lazy("Role (label)"), gettext_lazy("Organisation"),
    gettext_lazy("Organisation (name)"), gettext_lazy("Purpose"), gettext_lazy("Purpose (label)"),
    gettext_lazy("Outcome"), gettext_lazy("Outcome (label)"),
]


@login_required
@require_GET
def my_reads_export(request):
    """CSV of every read on the person's own list, one line per read. Recorded as
    `audit.own_reads_exported` (committed) before the first byte."""
    person = request.actor.account.person
    started = queries.start_own_reads_export_for(actor=request.actor, person=person, language=request.LANGUAGE_CODE)
    header = [str(h) for h in OWN_READS_CSV_HEADER]

    def labels(row):
        found = _read_labels(row.role, row.purpose, row.outcome, row.reader_shown)
        return found["role"], found["purpose"], found["outcome"]

    response = StreamingHttpResponse(queries.own_reads_csv_lines(started, header, labels),
                                     content_type="text/csv; charset=utf-8")
    stamp = timezone.now().strftime("%Y%m%dT%H%M%SZ")
    response["Content-Disposition"] = f'attachment; filename="hozen-my-reads-{stamp}.csv"'
    response["X-Export-Rows"] = str(started.size)
    if started.capped:
        response["X-Export-Capped"] = str(queries.OWN_READS_EXPORT_CAP)
    return response
