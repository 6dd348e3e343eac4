"""Policy rules for handler lists, briefings and reading designated material (issue 7 §1–2).

`designation.material.read` / `.handle` (target: a Designation): DOMAIN §5, every condition at
once, in `hozen.handling.conditions` (the explain screen runs the same functions).

Handler lists: the holding organ keeps the list of its own staff; a recipient of provided
material (another organ, a certified business) keeps the list of its own staff. Keepers: the ESI
manager and the security officer in an organ, the protection officer in a business.
"""

from __future__ import annotations

from django.db.models import Q

from hozen.core.roles import OrganisationKind, Role

from ..policy import NO_ROLE, allow, deny, rule, scope_rule
from .core import _is_operator

ORGAN_KEEPERS = (Role.ESI_MANAGER, Role.SECURITY_OFFICER)
BUSINESS_KEEPERS = (Role.BUSINESS_OFFICER,)

_NOT_HOLDER = ("not_a_holder", "あなたの組織はこの指定の情報を保有していません。",
               "Your organisation does not hold this designation.")
_NOT_KEEPER = ("not_list_keeper", "取扱者名簿は重要経済安保情報管理者・保全責任者（事業者は保護責任者）のみが管理できます。",
               "Only the ESI manager or security officer (in a business, the protection officer) keeps handler lists.")


@rule("designation.material.read")
def material_read(actor, target):
    from hozen.handling.conditions import check

    return check(actor, target)


@rule("designation.material.handle")
def material_handle(actor, target):
    """Copy, transfer, return, destroy: the same conditions as reading (DOMAIN §5)."""
    from hozen.handling.conditions import check

    return check(actor, target)


@rule("designation.material.read_ended")
def material_read_ended(actor, target):
    """Material of a designation no longer in force (expired, cancelled, moved to SDS): every other
    condition still applies; moved-to-SDS material follows the SDS successor (`check_ended`)."""
    from hozen.handling.conditions import check_ended

    return check_ended(actor, target)


rule("designation.material.handle_ended")(material_read_ended)


@scope_rule("designation.material.read", "designation.designation")
def material_read_scope(actor):
    """The designations whose material the actor may read: what `decide` allows, row for row."""
    from hozen.handling.conditions import readable_designation_ids

    return Q(pk__in=readable_designation_ids(actor))


scope_rule("designation.material.handle", "designation.designation")(material_read_scope)


@rule("designation.material.explain")
def material_explain(actor, target):
    """Anyone signed in may ask why they cannot open something; the answer is about themselves only."""
    if actor.account is None:
        return deny("not_signed_in", "サインインが必要です。", "You need to sign in.")
    return allow()


def _is_holder(organisation_id: int, designation) -> bool:
    if designation.organisation_id == organisation_id:
        return True
    return designation.holders.filter(organisation_id=organisation_id).exists()


def keeps_list(actor, designation):
    """The actor keeps their own organisation's handler list of this designation."""
    if actor.assignment is None:
        return deny(*NO_ROLE)
    org = actor.organisation
    keepers = BUSINESS_KEEPERS if org.kind == OrganisationKind.BUSINESS else ORGAN_KEEPERS
    if actor.role not in keepers:
        return deny(*_NOT_KEEPER)
    if designation.state == "draft" or not _is_holder(org.pk, designation):
        return deny(*_NOT_HOLDER)
    return allow()


rule("handling.list.view")(keeps_list)
rule("handling.handler.add")(keeps_list)
rule("handling.review")(keeps_list)


@rule("handling.handler.remove")
def handler_remove(actor, target):
    """`target` is a HandlerEntry: only its own organisation's keeper removes it."""
    decision = keeps_list(actor, target.designation)
    if not decision.allowed:
        return decision
    if target.organisation_id != actor.organisation.pk:
        return deny("other_organisation", "他の組織の取扱者名簿は変更できません。",
                    "This entry belongs to another organisation's list.")
    return allow()


rule("handling.handler.confirm")(handler_remove)


@rule("handling.handler.view")
def handler_view(actor, target):
    """An entry: its keepers, and the listed person themselves."""
    if actor.account is not None and target.account_id == actor.account.pk:
        return allow("self")
    return handler_remove(actor, target)


@scope_rule("handling.handler.view", "handling.handlerentry")
def handler_scope(actor):
    if actor.account is None:
        return Q(pk__in=[])
    q = Q(account_id=actor.account.pk)
    if actor.assignment is not None:
        org = actor.organisation
        keepers = BUSINESS_KEEPERS if org.kind == OrganisationKind.BUSINESS else ORGAN_KEEPERS
        if actor.role in keepers:
            q |= Q(organisation_id=org.pk)
    return q


@rule("handling.briefing.acknowledge")
def briefing_acknowledge(actor, target):
    """Only the person themselves acknowledges (never on someone's behalf)."""
    if actor.account is None:
        return deny("not_signed_in", "サインインが必要です。", "You need to sign in.")
    return allow()


rule("handling.briefing.view")(briefing_acknowledge)


@rule("handling.office.record")
def office_record(actor, target):
    """Exempt political offices (DOMAIN §5), recorded by someone other than the person who benefits
    (issue 14 §5): the server's operator, the Cabinet Office's system administrator for anyone, or an
    organ's security officer for the organ's own head. `target`: the Account; None asks about the
    role."""
    if _is_operator(actor):
        return allow("server_operator")
    if actor.assignment is None:
        return deny(*NO_ROLE)
    cabinet_office = (actor.role == Role.SYSADMIN
                      and actor.organisation.kind == OrganisationKind.CABINET_OFFICE)
    if not cabinet_office and actor.role != Role.SECURITY_OFFICER:
        return deny("not_office_recorder", "適性評価を要しない職の記録は、内閣府のシステム管理者又は"
                    "組織の保全担当官（自組織の長について）が行います。",
                    "Exempt offices are recorded by the Cabinet Office's system administrator, or by an "
                    "organ's security officer for the organ's own head.")
    if target is None:
        return allow()
    if target.person_id == actor.account.person_id:
        return deny("not_for_yourself", "自分自身の職を記録することはできません。",
                    "Nobody records an exempt office for themselves.")
    if cabinet_office:
        return allow("cabinet_office_administrator")
    if not target.role_assignments.filter(organisation_id=actor.organisation.pk, role=Role.ORGAN_HEAD,
                                          revoked_at__isnull=True).exists():
        return deny("not_own_organ_head", "保全担当官が記録できるのは自組織の長の職のみです。",
                    "A security officer records an exempt office only for their own organ's head.")
    return allow()


@rule("handling.lapse")
def handling_lapse(actor, target):
    """Recording lapses and opening review campaigns: the background job only."""
    if actor.is_system:
        return allow("system_job")
    return deny("system_only", "この処理は自動処理のみが行います。", "Only the background job does this.")
