"""Rules for designations (DOMAIN §2), provisions (§3) and the ledger; who may see and do what."""

from __future__ import annotations

from django.db.models import Q

from hozen.core.roles import OrganisationKind, Role

from ..policy import NO_ROLE, allow, deny, rule, scope_rule
from .core import _is_operator, _only

ORGAN_ROLES = (Role.ORGAN_HEAD, Role.ESI_MANAGER, Role.SECURITY_OFFICER)
RECIPIENT_ROLES = (Role.ORGAN_HEAD, Role.ESI_MANAGER, Role.SECURITY_OFFICER, Role.BUSINESS_OFFICER)

_OTHER_ORGAN = ("other_organisation", "他の組織の指定は扱えません。", "This designation belongs to another organisation.")


def _same_org(actor, organisation_id) -> bool:
    return actor.organisation is not None and actor.organisation.pk == organisation_id


def _in_org(actor, organisation_id, *roles, code="wrong_role"):
    decision = _only(actor, *roles, code=code)
    if not decision.allowed:
        return decision
    if not _same_org(actor, organisation_id):
        return deny(*_OTHER_ORGAN)
    return allow()


def _holds(actor, designation) -> bool:
    return designation.holders.filter(organisation_id=actor.organisation.pk).exists()


@rule("designation.view")
def designation_view(actor, target):
    if actor.assignment is None:
        return deny(*NO_ROLE)
    if actor.role == Role.OVERSIGHT:
        # Ledgers and designation records, never document content; a draft is the organ's own
        # deliberation, not a designation: it is on no ledger, and oversight does not see it.
        if target.state == "draft":
            return deny("draft_not_for_oversight", "指定案は監督の対象ではありません（指定後に指定管理簿に記載されます）。",
                        "A draft is not yet a designation: oversight sees it once it is designated and on the ledger.")
        return allow("oversight")
    if actor.role in ORGAN_ROLES and _same_org(actor, target.organisation_id):
        return allow()
    if actor.role in RECIPIENT_ROLES and target.state != "draft" and _holds(actor, target):
        return allow("holder")
    return deny("no_access_to_designation", "この指定を閲覧する権限がありません。",
                "You have no access to this designation.")


@scope_rule("designation.view", "designation.designation")
def designation_scope(actor):
    """The rows `designation_view` allows, as one query.

    The holding organ has a holder row from the draft on (`services.add_holding_organ`), so an
    organ's holder rows are exactly its own designations (drafts included) and those provided to
    it; a provision is only ever made of a designation in force. The organ roles' scope is thus
    `id IN (designations held by X)` alone: no OR, which the databases could not answer from an
    index (docs/benchmarks.md, designation section). Recipients see no drafts (they hold none
    anyway). Oversight sees every designation that was ever in force, never drafts (docs/architecture.md).
    """
    from hozen.designation.models import Holder

    if actor.assignment is None:
        return Q(pk__in=[])
    if actor.role == Role.OVERSIGHT:
        return ~Q(state="draft")
    if actor.role not in RECIPIENT_ROLES:  # ORGAN_ROLES are recipient roles too
        return Q(pk__in=[])
    held = Q(pk__in=Holder.objects.filter(organisation_id=actor.organisation.pk).values("designation_id"))
    if actor.role in ORGAN_ROLES:
        return held
    return held & ~Q(state="draft")


@rule("designation.create")
def designation_create(actor, target):
    """`target` is the holding organ."""
    if _is_operator(actor):
        return deny("needs_a_preparer", "指定案の作成者となるアカウントを指定してください。",
                    "A draft needs an ESI manager as its preparer.")
    return _in_org(actor, target.pk, Role.ESI_MANAGER)


@rule("designation.update")
def designation_update(actor, target):
    return _in_org(actor, target.organisation_id, Role.ESI_MANAGER)


@rule("designation.approve")
def designation_approve(actor, target):
    decision = _in_org(actor, target.organisation_id, Role.ORGAN_HEAD)
    if not decision.allowed:
        return decision
    if actor.account and target.prepared_by_id == actor.account.pk:
        # Separation of duties (ARCHITECTURE rule 5): the preparer never approves their own draft.
        return deny("preparer_cannot_approve", "指定案の作成者は自ら承認できません。",
                    "The person who prepared a draft cannot approve it.")
    return allow()


# Sending a draft back (差戻し) is the other answer to the same question as approving it: only
# someone who may approve the draft may send it back, and never its own preparer.
rule("designation.return")(designation_approve)


def _organ_head(actor, target):
    return _in_org(actor, target.organisation_id, Role.ORGAN_HEAD)


rule("designation.extend")(_organ_head)
rule("designation.cancel")(_organ_head)
rule("designation.move_to_sds")(_organ_head)
rule("designation.answer_correction")(_organ_head)


@rule("designation.review")
def designation_review(actor, target):
    return _in_org(actor, target.organisation_id, Role.ESI_MANAGER, Role.ORGAN_HEAD)


@rule("designation.expire")
def designation_expire(actor, target):
    if actor.is_system:
        return allow("system_job")
    return deny("system_only", "この処理は自動処理のみが行います。", "Only the background job does this.")


@rule("designation.request_correction")
def designation_request_correction(actor, target):
    decision = _only(actor, Role.OVERSIGHT, code="not_oversight")
    if not decision.allowed:
        return decision
    if actor.organisation.kind != OrganisationKind.OVERSIGHT_BODY:
        return deny("not_oversight", "是正要求は独立公文書管理監のみが行えます。",
                    "Only the Independent Public Records Management Supervisor requests corrections.")
    return allow()


@rule("designation.export")
def designation_export(actor, target):
    """`target` is the organisation whose ledger is exported (CLI operator, the organ, oversight)."""
    if _is_operator(actor):
        return allow("server_operator")
    if actor.assignment is None:
        return deny(*NO_ROLE)
    if actor.role == Role.OVERSIGHT:
        return allow("oversight")
    return _in_org(actor, target.pk, *ORGAN_ROLES)


rule("ledger.view")(designation_export)


@rule("designation.prepared_ledger.read")
def prepared_ledger_read(actor, target):
    """A prepared ledger file (`PreparedLedger`): only its requester, in the role that asked for it,
    and only while that role may still export the organ's ledger."""
    if actor.assignment is None:
        return deny(*NO_ROLE)
    if actor.account.pk != target.requested_by_id or actor.assignment.pk != target.assignment_id:
        return deny("not_your_prepared_ledger", "この台帳ファイルは依頼した本人のみが受け取れます。",
                    "Only the person who asked for this ledger file, in the same role, may download it.")
    return designation_export(actor, target.organisation)


@rule("designation.import")
def designation_import(actor, target):
    """Bulk drafts from a file: the ESI manager of the organ, via the CLI's --as or the API."""
    return designation_create(actor, target)


@rule("provision.create")
def provision_create(actor, target):
    return _in_org(actor, target.organisation_id, Role.ESI_MANAGER, Role.ORGAN_HEAD)


@rule("provision.view")
def provision_view(actor, target):
    if actor.assignment is None:
        return deny(*NO_ROLE)
    if actor.role == Role.OVERSIGHT:
        return allow("oversight")
    if actor.role in ORGAN_ROLES and _same_org(actor, target.designation.organisation_id):
        return allow()
    if actor.role in RECIPIENT_ROLES and target.recipient_id == actor.organisation.pk:
        return allow("recipient")
    return deny("no_access_to_provision", "この提供記録を閲覧する権限がありません。",
                "You have no access to this provision record.")


@scope_rule("provision.view", "designation.provision")
def provision_scope(actor):
    if actor.assignment is None:
        return Q(pk__in=[])
    if actor.role == Role.OVERSIGHT:
        return Q()
    q = Q(pk__in=[])
    if actor.role in ORGAN_ROLES:
        q |= Q(designation__organisation_id=actor.organisation.pk)
    if actor.role in RECIPIENT_ROLES:
        q |= Q(recipient_id=actor.organisation.pk)
    return q


# --- written notifications (DOMAIN §2: every holder and recipient is notified in writing) -------

@rule("designation.notification.acknowledge")
def notification_acknowledge(actor, target):
    """`target` is a Notification: a role holder of the organisation it was sent to confirms receipt.
    A recipient outside Hozen (no organisation: a foreign body, the Diet, a court) cannot: the
    holding organ's roles record that the written notice was delivered to it."""
    if target.recipient_id is None:
        return _in_org(actor, target.designation.organisation_id, *ORGAN_ROLES)
    decision = _only(actor, *RECIPIENT_ROLES, code="wrong_role")
    if not decision.allowed:
        return decision
    if not _same_org(actor, target.recipient_id):
        return deny("not_the_recipient", "この通知はあなたの組織宛てではありません。",
                    "This notice was sent to another organisation.")
    return allow()


@rule("designation.notification.track")
def notification_track(actor, target):
    """`target` is a Notification: the sending (holding) organ's roles and oversight follow whether
    each notice was acknowledged (the ledger's people: `ledger.view`). A recipient sees its own
    notices through `designation.view` (queries.notifications_for)."""
    if actor.assignment is None:
        return deny(*NO_ROLE)
    if actor.role == Role.OVERSIGHT:
        return allow("oversight")
    if actor.role in ORGAN_ROLES and _same_org(actor, target.designation.organisation_id):
        return allow("sender")
    return deny("no_access_to_notification", "この通知を閲覧する権限がありません。",
                "You have no access to this notice.")


@scope_rule("designation.notification.track", "designation.notification")
def notification_track_scope(actor):
    if actor.assignment is None:
        return Q(pk__in=[])
    if actor.role == Role.OVERSIGHT:
        return Q()
    if actor.role in ORGAN_ROLES:
        return Q(designation__organisation_id=actor.organisation.pk)
    return Q(pk__in=[])


@rule("certification.record")
def certification_record(actor, target):
    """Until the certification issue: the organ head records its certifications and contracts."""
    if _is_operator(actor):
        return allow("server_operator")
    return _in_org(actor, target.pk, Role.ORGAN_HEAD)


rule("contract.record")(certification_record)


def _certification_side(actor, organ_id: int, business_id: int) -> str | None:
    """Which side of a certification or contract the actor stands on, if any."""
    if actor.role == Role.OVERSIGHT:
        return "oversight"
    if actor.role in ORGAN_ROLES and _same_org(actor, organ_id):
        return "certifying_organ"
    if actor.role == Role.BUSINESS_OFFICER and _same_org(actor, business_id):
        return "certified_business"
    return None


@rule("certification.view")
def certification_view(actor, target):
    """A certification or contract (`target`): the certifying organ's roles, the certified
    business's security manager, and oversight. Their dates and departments, never any person."""
    if actor.assignment is None:
        return deny(*NO_ROLE)
    side = _certification_side(actor, target.organ_id, target.business_id)
    if side is not None:
        return allow(side)
    return deny("no_access_to_certification", "この認定又は契約を閲覧する権限がありません。",
                "You have no access to this certification or contract.")


def _certification_scope(actor):
    if actor.assignment is None:
        return Q(pk__in=[])
    if actor.role == Role.OVERSIGHT:
        return Q()
    if actor.role in ORGAN_ROLES:
        return Q(organ_id=actor.organisation.pk)
    if actor.role == Role.BUSINESS_OFFICER:
        return Q(business_id=actor.organisation.pk)
    return Q(pk__in=[])


scope_rule("certification.view", "operators.certification")(_certification_scope)
scope_rule("certification.view", "operators.contract")(_certification_scope)


@rule("designation.statistics")
def designation_statistics(actor, target):
    """`target` None: counts across every organ, for oversight and the server operator (the annual
    report). `target` an organ: its own counts, for that organ's head and ESI managers too."""
    if _is_operator(actor):
        return allow("server_operator")
    if actor.assignment is None:
        return deny(*NO_ROLE)
    if actor.role == Role.OVERSIGHT:
        return allow("oversight")
    if target is None:
        return deny("not_oversight", "全機関の統計は監督機関のみが閲覧できます。",
                    "Only oversight sees the statistics of every organ.")
    return _in_org(actor, target.pk, Role.ORGAN_HEAD, Role.ESI_MANAGER)
