"""Template helpers of the designation screens: names in the reader's language, actors by value,
and the dashboard panels (reads through `queries`, for the active role)."""

from __future__ import annotations

from django import template
from django.utils import timezone, translation

from hozen.core.roles import Role

from .. import queries

register = template.Library()

PANEL_ROWS = 10


@register.filter
def localname(obj) -> str:
    """An organisation's, category's or sub-item's name in the reader's language."""
    if obj is None:
        return ""
    return obj.name(translation.get_language())


@register.filter
def state_label(designation) -> str:
    """A designation's state in the reader's language: the one label the ledger's files use too."""
    from ..models import state_label as label

    return label(designation, translation.get_language())


@register.filter
def actor_label(described: dict | None) -> str:
    """An actor stored by value (the audit log's shape): user name, role and organisation."""
    if not described:
        return ""
    if described.get("kind") != "account":
        return described.get("name", "")
    try:
        role = str(Role(described.get("role")).label)
    except ValueError:
        role = described.get("role") or ""
    parts = [described.get("account", ""), role, described.get("organisation") or ""]
    return " / ".join(p for p in parts if p)


# The dashboard panels read the columns the panels print (core/dashboards/*.html) and nothing else:
# no wide rows, no joins they do not show. Building the query (its joins and select list) and the
# model rows was most of a dashboard's time (docs/benchmarks.md, throughput).
_PANEL_DESIGNATION = ("id", "reference", "title", "review_due", "term_end")


@register.simple_tag
def reviews_due(actor):
    """Designations whose review is due within 30 days or overdue, for the actor's organ."""
    today = timezone.localdate()
    rows = list(queries.reviews_due_for(actor, on=today).select_related(None)
                .only(*_PANEL_DESIGNATION)[:PANEL_ROWS])
    return [{"d": d, "overdue": d.review_due < today} for d in rows]


@register.simple_tag
def drafts(actor):
    """Drafts awaiting approval, with who prepared them (the organ head's panel names them) and
    whether each was sent back and waits for its preparer (`returned_at`: the ESI manager's marker)."""
    return list(queries.drafts_for(actor).select_related(None).select_related("prepared_by__person")
                .only("id", "title", "returned_at", "prepared_by", "prepared_by__person",
                      "prepared_by__person__family_name", "prepared_by__person__given_name")[:PANEL_ROWS])


@register.simple_tag
def notices(actor):
    return list(queries.notifications_for(actor).only("id", "created_at", "kind", "designation",
                                                     "designation__reference")[:PANEL_ROWS])


@register.simple_tag
def in_force(actor):
    return (queries.designations_for(actor, state="designated").select_related(None).only(*_PANEL_DESIGNATION)
            .order_by("term_end")[:PANEL_ROWS])


@register.simple_tag
def recent_provisions(actor):
    return list(queries.provisions_for(actor).select_related(None).select_related("designation")
                .only("id", "provided_on", "recipient_name", "designation", "designation__reference")
                .order_by("-provided_on", "-id")[:PANEL_ROWS])


@register.simple_tag
def ledger_organs(actor):
    return queries.ledger_organisations_for(actor)


@register.simple_tag
def open_corrections(actor):
    return list(queries.open_corrections_for(actor)[:PANEL_ROWS])
