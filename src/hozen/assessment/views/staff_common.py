"""What the staff screens share: the workspace gate, the posted data, the case file page."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import render
from django.views.decorators.http import require_GET

from hozen.access import policy
from hozen.access.policy import PolicyDenied
from hozen.audit.queries import PURPOSE_LABELS
from hozen.core.roles import Role

from .. import queries, reads, staff_queries
from ..answers_display import displayed
from ..items import ITEMS
from ..questionnaire import SECTIONS


def shown(request, *rows, purpose: str | None = None) -> None:
    """The page showed these rows (cases, clearances, notices, complaints, reports, inquiries, or
    queue rows holding them): one read per person named, on their "who has read my data" list
    (issue 12 §7), in one statement. Purpose: the page's, or the reader's role's.

    Page reads (GET) only: a form sent back with its errors shows again what its GET showed (and
    recorded), and refused input writes nothing (ARCHITECTURE rule 7)."""
    if request.method in ("GET", "HEAD"):
        reads.shown(request.actor, reads.view_name(request), [_row(r) for r in rows], purpose=purpose)


def _row(item):
    """A queue row (a dict holding its case, complaint or inquiry) or a row itself."""
    if isinstance(item, dict):
        return item.get("case") or item.get("complaint") or item.get("inquiry") or item.get("clearance")
    return item


def found(request, model, pk, find, *, asked: str):
    """``find()`` for a page; when a page read (GET) finds nothing — missing or not the reader's —
    the refused read is in the log, naming the row's person when it exists (``reads.lookup``)."""
    if request.method in ("GET", "HEAD"):
        return reads.lookup(request.actor, reads.view_name(request), model, pk, find, asked=asked)
    return find()


def posted(request):
    """The form's data on POST (even an empty one), None on GET."""
    return request.POST if request.method == "POST" else None


def gate(request, *roles: str, about=None) -> str:
    """The workspace of ``roles`` is for those roles only: 403 with the policy's reason (audited)
    for anyone else. Returns the role the page is shown for. ``about``: (model, pk) of the row a
    page of one case, complaint or report is about; a page read (GET) refused at the gate is then
    a refused read naming that row's person (issue 12 §7)."""
    role = request.actor.role if request.actor.role in roles else roles[0]
    if about is not None and request.method in ("GET", "HEAD"):
        decision = policy.decide(request.actor, "workspace.view", role)
        if not decision.allowed:
            model, pk = about
            row = model.objects.filter(pk=reads.row_id(pk)).first() if reads.row_id(pk) is not None else None
            reads.refused(request.actor, reads.view_name(request),
                          row if row is not None else {"type": model._meta.label_lower, "id": str(pk)[:40]},
                          reason=decision.code, asked="workspace.view")
            raise PolicyDenied(decision, "workspace.view", role, audited=True, actor=request.actor)
        return role
    policy.require(request.actor, "workspace.view", role)
    return role


def permitted(request, action: str, target, *, row=None) -> None:
    """``policy.require`` for a page of one row; a page read (GET) refused is a refused read naming
    the row's person (``reads.require``)."""
    if request.method in ("GET", "HEAD"):
        reads.require(request.actor, action, target, view=reads.view_name(request), row=row)
    else:
        policy.require(request.actor, action, target)


#: Rows per page of a staff queue.
PER_PAGE = 50


def paginate(request, items, *, param: str = "page", per_page: int | None = None):
    """One page of ``items`` (a queryset in a stable order) from ``?<param>=``, with the links to
    the previous and next pages keeping the rest of the query string (a page with several lists
    pages each by its own parameter). A number out of range gives the last page."""
    page = Paginator(items, per_page or PER_PAGE).get_page(request.GET.get(param))

    def link(number):
        query = request.GET.copy()
        query[param] = number
        return "?" + query.urlencode()

    page.previous_url = link(page.previous_page_number()) if page.has_previous() else None
    page.next_url = link(page.next_page_number()) if page.has_next() else None
    return page


def language(request) -> str:
    return getattr(request, "LANGUAGE_CODE", "ja") or "ja"


def file_sections(file: dict, lang: str) -> list[dict]:
    """The questionnaire's sections of a revealed case file, each with its answers as displayed and
    the item of the Act it belongs to (None for a background section)."""
    return [{"code": s.code, "item": s.item, "title_ja": s.title_ja, "title_en": s.title_en,
             "answers": displayed(s, file["answers"].get(s.code), lang)} for s in SECTIONS]


@login_required
@require_GET
def case_file(request, pk):
    """The case file of a case the actor works on, read through ``reveal_case_file`` with the
    purpose of the actor's duty (every read audited, on the subject's "who read my data" list).

    Anyone else who may see the case's status — the nominating side, the organ — is refused with
    the policy's reason (403, audited): they never get answers, findings or reasons."""
    actor = request.actor
    view = reads.view_name(request)
    case = reads.case_for(actor, pk, view=view)  # 404 for whoever may not even see the status
    reads.require(actor, "assessment.read_answers", case, view=view)
    purpose = staff_queries.READ_PURPOSES.get(actor.role, "case_work")
    if case.shredded_at is not None:  # crypto-shredded after retention: nothing left to read
        file = {"answers": {}, "findings": {}, "inquiries": [], "reasons": None, "summary": None, "returns": []}
    else:
        file = queries.reveal_case_file(actor, case, purpose=purpose)
    sections = file_sections(file, language(request))
    findings = [{"item": i, "text": file["findings"].get(i.code)} for i in ITEMS]
    reasons = None
    if file["reasons"] is not None:
        texts = file["reasons"]["reasons"] or {}
        reasons = {"outcome": file["reasons"]["outcome"], "round": file["reasons"]["round"],
                   "items": [{"item": i, "text": texts.get(i.code, "")} for i in ITEMS]}
    back = {Role.INVESTIGATOR: "assessment:investigator_case", Role.ADJUDICATOR: "assessment:adjudicator_case"}.get(
        actor.role)
    response = render(request, "assessment/staff/case_file.html", {
        "case": case, "purpose": purpose, "purpose_label": PURPOSE_LABELS.get(purpose, purpose),
        "sections": sections, "findings": findings,
        "inquiries": file["inquiries"], "reasons": reasons, "back": back, "summary": file["summary"],
        "returns": file["returns"],
        "file_destroyed": case.shredded_at is not None})
    shown(request, case, purpose=purpose)
    return response
