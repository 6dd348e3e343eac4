"""Rules for rules packs (DOMAIN §9): who may read them and who may publish a new version.

Reading: packs hold statutory figures and the public taxonomy, no protected content, so every
role holder, the operator at the shell and background jobs may read them.

Publishing: DOMAIN §9 makes the figures data an agency corrects when the standards are revised,
not a system setting, so the system administrator may NOT publish (running the software is not
deciding the law's figures). Allowed: the operator at the server's shell (`hozen rules publish`,
who deploys the software and its shipped packs anyway) and the organ head (delegate) of the
Cabinet Office, the organ that runs the regime and the central investigation.
"""

from __future__ import annotations

from django.db.models import Q

from hozen.core.roles import OrganisationKind, Role

from ..policy import NO_ROLE, allow, deny, rule, scope_rule


def _is_operator(actor) -> bool:
    return actor.is_system and actor.channel == "cli"


def _is_job(actor) -> bool:
    return actor.is_system and actor.channel == "job"


@rule("rules_pack.view")
def rules_pack_view(actor, target):
    if _is_operator(actor):
        return allow("server_operator")
    if _is_job(actor):
        return allow("background_job")
    if actor.assignment is None:
        return deny(*NO_ROLE)
    return allow("reference_data")


@scope_rule("rules_pack.view", "rules.rulespack")
def rules_pack_scope(actor):
    return Q() if rules_pack_view(actor, None).allowed else Q(pk__in=[])


@rule("rules_pack.publish")
def rules_pack_publish(actor, target):
    if _is_operator(actor):
        return allow("server_operator")
    if actor.assignment is None:
        return deny(*NO_ROLE)
    if actor.role == Role.ORGAN_HEAD and actor.organisation.kind == OrganisationKind.CABINET_OFFICE:
        return allow("cabinet_office_organ_head")
    return deny("not_rules_publisher",
                "ルールパックを公表できるのは内閣府の行政機関の長（の代理）またはサーバーの操作者のみです。",
                "Only the Cabinet Office's organ head (delegate) or the server's operator may publish a rules pack.")
