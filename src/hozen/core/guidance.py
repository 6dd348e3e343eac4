"""The next step a refused person is shown (issue 15: guidance at every refusal).

A refusal page keeps the policy's reason and adds what the person can do about it: acknowledge the
briefing, switch to another of their roles, or ask their security officer (named). Nothing here
tells more than the refusal itself: a 404 reads the same for a missing record and a hidden one,
so its hint depends only on who asks and which part of the site they asked in, never on the row.
"""

from __future__ import annotations

from django.urls import reverse

#: Parts of the site (URL namespaces) where a 404 is about designated material or a designation:
#: there, "if you expected to see this, ask your security officer" is the next step.
MATERIAL_NAMESPACES = frozenset({"designation", "vault", "handling"})

#: Refusals about the active role: switching to another role the account holds may help.
ROLE_CODES = frozenset({"wrong_role", "no_active_role", "not_list_keeper"})

#: Refusals only the organisation's security officer can resolve (need to know is theirs to grant).
ASK_OFFICER_CODES = frozenset({"not_on_handler_list"})

BRIEFING_CODE = "briefing_not_acknowledged"


def _signed_in(request) -> bool:
    actor = getattr(request, "actor", None)
    return actor is not None and actor.account is not None


def officers(request) -> list[str]:
    from .queries import security_officers_for

    return security_officers_for(getattr(request, "actor", None)) if _signed_in(request) else []


def _tier_of(target) -> str:
    """The tier whose briefing applies to the refused target (a designation or a document of one)."""
    for candidate in (target, getattr(target, "designation", None)):
        tier = getattr(candidate, "tier", None)
        if tier in ("esi", "sds"):
            return tier
    return "esi"


def for_denial(request, code: str, target=None) -> dict:
    """Context for core/denied.html: the next steps for a policy refusal with this reason code."""
    steps: dict = {"signed_in": _signed_in(request)}
    if not steps["signed_in"]:
        return steps
    if code == BRIEFING_CODE:
        steps["briefing_url"] = f"{reverse('handling:briefing')}?tier={_tier_of(target)}"
    if code in ASK_OFFICER_CODES:
        steps["ask_officer"] = True
        steps["officers"] = officers(request)
    if code in ROLE_CODES and len(getattr(request, "assignments", None) or []) > 1:
        steps["switch_role"] = True
    return steps


def for_not_found(request) -> dict:
    """Context for 404.html: the officer hint in the designation, vault and handling pages only."""
    steps: dict = {"signed_in": _signed_in(request)}
    match = getattr(request, "resolver_match", None)
    if steps["signed_in"] and match is not None and match.app_name in MATERIAL_NAMESPACES:
        steps["ask_officer"] = True
        steps["officers"] = officers(request)
    return steps
