"""Assessment screens: staff. Thin views over hozen.assessment.services and queries.

The workspaces (DOMAIN §6): the nominating side (``staff_nominator``), the Cabinet Office's
investigator, the adjudicators, the complaint handler and the organ head's assignments
(``staff_casework``), the case file read by a case's workers (``staff_common.case_file``).
This module holds the URLs, the navigation per role and the dashboard panels' context.
"""

from __future__ import annotations

from django.urls import path
from django.utils.translation import gettext_lazy as _

from hozen.core.roles import Role

from . import staff_casework as casework
from . import staff_nominator as nominator
from .staff_common import case_file

#: Navigation entries per role (hozen.core.extensions).
NAV: dict = {
    Role.SECURITY_OFFICER: [(_("Assessment nominations"), "assessment:staff_nominations")],
    Role.BUSINESS_OFFICER: [(_("Assessment nominations"), "assessment:staff_nominations")],
    Role.INVESTIGATOR: [(_("Investigation queue"), "assessment:investigator_queue"),
                        (_("Inquiries awaiting answers"), "assessment:investigator_inquiries")],
    Role.ADJUDICATOR: [(_("Adjudication queue"), "assessment:adjudicator_queue")],
    Role.COMPLAINT_HANDLER: [(_("Complaints"), "assessment:complaint_queue")],
    Role.ORGAN_HEAD: [(_("Assessment assignments"), "assessment:staff_assignments"),
                      (_("Adverse-treatment reports"), "assessment:staff_adverse_reports")],
}

urlpatterns: list = [
    # the nominating side and the organ's notices
    path("staff/", nominator.workspace, name="staff_nominations"),
    path("staff/nominate/", nominator.nominate, name="staff_nominate"),
    path("staff/nominate/file/", nominator.nominate_file, name="staff_nominate_file"),
    path("staff/exemptions/<int:pk>/", nominator.exemption, name="staff_exemption"),
    path("staff/cases/<int:pk>/notice/", nominator.give_notice, name="staff_give_notice"),
    path("staff/cases/<int:pk>/notify/", nominator.notify_result, name="staff_notify_result"),
    path("staff/clearances/<int:pk>/report/", nominator.report_event, name="staff_report_event"),
    # the case file, for whoever works the case
    path("staff/cases/<int:pk>/file/", case_file, name="staff_case_file"),
    # investigator
    path("staff/investigation/", casework.investigator_queue, name="investigator_queue"),
    path("staff/investigation/inquiries/", casework.investigator_inquiries, name="investigator_inquiries"),
    path("staff/investigation/<int:pk>/", casework.investigator_case, name="investigator_case"),
    path("staff/investigation/<int:pk>/inquiry/", casework.investigator_inquiry, name="investigator_inquiry"),
    path("staff/investigation/<int:pk>/inquiry/<int:inquiry_pk>/response/", casework.investigator_response,
         name="investigator_response"),
    path("staff/investigation/<int:pk>/interview/", casework.investigator_interview, name="investigator_interview"),
    path("staff/investigation/<int:pk>/findings/", casework.investigator_finding, name="investigator_finding"),
    path("staff/investigation/<int:pk>/complete/", casework.investigator_complete, name="investigator_complete"),
    # adjudicators
    path("staff/adjudication/", casework.adjudicator_queue, name="adjudicator_queue"),
    path("staff/adjudication/<int:pk>/", casework.adjudicator_case, name="adjudicator_case"),
    path("staff/adjudication/<int:pk>/decide/", casework.adjudicator_decide, name="adjudicator_decide"),
    path("staff/adjudication/<int:pk>/concur/", casework.adjudicator_concur, name="adjudicator_concur"),
    path("staff/adjudication/<int:pk>/return/", casework.adjudicator_return, name="adjudicator_return"),
    # the organ head's delegate
    path("staff/assignments/", casework.assignments, name="staff_assignments"),
    path("staff/cases/<int:pk>/assign/<str:kind>/", casework.assign, name="staff_assign"),
    path("staff/complaints/<int:pk>/assign/", casework.complaint_assign, name="complaint_assign"),
    path("staff/adverse-reports/", casework.adverse_reports, name="staff_adverse_reports"),
    path("staff/adverse-reports/<int:pk>/", casework.adverse_report, name="staff_adverse_report"),
    # complaint handler
    path("staff/complaints/", casework.complaint_queue, name="complaint_queue"),
    path("staff/complaints/<int:pk>/", casework.complaint, name="complaint_decide"),
]


#: Rows of each queue shown on a staff dashboard (its page has the rest).
DASHBOARD_ROWS = 10


def dashboard_context(actor, role: str) -> dict:
    """Counts and due/overdue items for the staff dashboards (core/dashboards/<role>.html). The
    people the panels name are reads on their lists (issue 12 §7), one statement per panel set."""
    from .. import reads

    context = _dashboard_context(actor, role)
    reads.shown(actor, "dashboard", _named(context))
    return context


def _named(context: dict) -> list:
    """The rows a dashboard's panels name people by (cases, results, notices, inquiries, complaints)."""
    rows = list(context["staff_nominator"]["renewals_due"]) if "staff_nominator" in context else []
    organ = context.get("staff_organ") or {}
    rows += [r["case"] for r in [*organ.get("to_give_notice", []), *organ.get("to_notify", [])]]
    rows += context.get("staff_notices", [])
    for key in ("staff_queue", "staff_returned", "staff_decide", "staff_concur"):
        rows += [r["case"] for r in context.get(key, [])]
    rows += [r["inquiry"] for r in context.get("staff_inquiries", [])]
    rows += [r["complaint"] for r in context.get("staff_complaints", [])]
    return rows


def _dashboard_context(actor, role: str) -> dict:
    from .. import queries, staff_queries

    if actor is None or actor.role != role:
        return {}
    if role in (Role.SECURITY_OFFICER, Role.BUSINESS_OFFICER):
        context = {"staff_nominator": staff_queries.nominator_summary(actor)}
        if role == Role.SECURITY_OFFICER:
            context["staff_organ"] = {
                "to_give_notice": staff_queries.organ_cases(actor, state="nominated", action="assessment.give_notice"),
                "to_notify": staff_queries.results_to_notify(actor),
                "exemptions_to_decide": staff_queries.exemptions_to_decide(actor).count(),
            }
        else:
            context["staff_notices"] = list(queries.notices_for(actor)[:10])
        return context
    # The dashboards show the first few of each queue and its counts; the queue pages page the rest.
    if role == Role.INVESTIGATOR:
        returned = staff_queries.returned_cases(actor)
        return {"staff_queue": staff_queries.investigator_queue(actor, limit=DASHBOARD_ROWS),
                "staff_counts": staff_queries.queue_counts(staff_queries.investigator_cases(actor)),
                # Cases the adjudicator sent back with a question: work waiting for the investigator's answer.
                "staff_returned": staff_queries.returned_rows(returned[:DASHBOARD_ROWS]),
                "staff_returned_counts": staff_queries.queue_counts(returned),
                "staff_inquiries": staff_queries.inquiries_awaiting(actor, limit=DASHBOARD_ROWS)}
    if role == Role.ADJUDICATOR:
        cases = staff_queries.adjudicator_cases(actor)
        return {"staff_decide": staff_queries.with_clock(cases["decide"][:DASHBOARD_ROWS]),
                "staff_concur": staff_queries.with_clock(cases["concur"][:DASHBOARD_ROWS]),
                "staff_counts": staff_queries.queue_counts(cases["decide"], cases["concur"])}
    if role == Role.ORGAN_HEAD:
        # Cases waiting for the head's delegate to assign someone: the first few of each kind and
        # the counts (the assignments page pages the rest). Case numbers and dates only, no names.
        waiting = staff_queries.assignment_cases(actor)
        return {"staff_assign": {kind: staff_queries.with_clock(qs[:DASHBOARD_ROWS]) for kind, qs in waiting.items()},
                "staff_assign_counts": {kind: qs.count() for kind, qs in waiting.items()}}
    if role == Role.COMPLAINT_HANDLER:
        return {"staff_complaints": staff_queries.complaint_rows(
                    actor, queries.complaints_queue_for(actor)[:DASHBOARD_ROWS]),
                "staff_counts": staff_queries.complaint_counts(actor)}
    return {}
