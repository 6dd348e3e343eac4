"""Policy rules for the document vault (issue 7 §3, DOMAIN §5).

Reading or adding material is handling designated material: the vault asks
``designation.material.read`` (clearance, handler list, contract, briefing, designation in force:
``hozen.access.rules.handling``) and adds only what is about documents and copies.

Material whose designation has ended keeps its new marking (DOMAIN §2) and stays with the holding
organ. Expired or cancelled: it is read by the people who are still valid handlers — every
condition of ``designation.material.read`` except "in force" (listed, not removed, lapsed, left or
moved; valid assessment of the tier; contract; briefing) — and by the holding organ's ESI manager
and organ head, who re-mark, archive or destroy it. Moved to SDS: it is SDS now, so access follows
the SDS successor designation (its handler list, an SDS clearance, the SDS briefing) or is refused
with ``moved_to_sds``; the ESI keepers get no exception. Nothing can be added to ended material.

Custody records (return, destruction, transfer) are about the paper trail, not about reading: the
custodian of a copy records them even after their clearance has lapsed, which is exactly when a
copy must come back. The holding organ's registry roles record them for any copy of its material.

Reason codes that reveal nothing about a document: ``NOT_FOUND_CODES``. A denial with one of
them is shown as 404, exactly like a document that does not exist (``hozen.vault.queries``).
"""

from __future__ import annotations

from django.db.models import Q

from hozen.core.roles import Role

from ..policy import NO_ROLE, allow, decide, deny, rule, scope_rule

MATERIAL_READ = "designation.material.read"
MATERIAL_HANDLE = "designation.material.handle"
ENDED_STATES = frozenset({"expired", "cancelled", "moved_to_sds", "transferred"})
REGISTRY_ROLES = (Role.ESI_MANAGER, Role.SECURITY_OFFICER, Role.ORGAN_HEAD)
KEEPER_ROLES = (Role.ESI_MANAGER, Role.ORGAN_HEAD)
#: Who keeps the copies held in their own organisation (provided material held by another organ
#: or by a certified business): the organ's registry roles, a business's protection officer.
LOCAL_REGISTRY_ROLES = (*REGISTRY_ROLES, Role.BUSINESS_OFFICER)

#: Denials that must not tell the caller whether the document exists (no need to know).
NOT_FOUND_CODES = frozenset({"not_on_handler_list", "not_signed_in", "no_active_role", "no_rule",
                             "vault_document_withdrawn", "not_found"})

_ENDED_NO_UPLOAD = ("designation_not_in_force", "有効でない指定には文書を追加できません。",
                    "Documents cannot be added to a designation that is no longer in force.")
_NOT_CUSTODIAN = ("not_custodian", "この複製の保管者又は保有機関の管理担当者のみが記録できます。",
                  "Only the copy's custodian or the holding organ's registry may record this.")
_COPY_CLOSED = ("copy_closed", "この複製は既に返却又は廃棄されています。",
                "This copy has already been returned or destroyed.")
_VIEW_NOT_HELD = ("view_not_held", "画面表示の記録は保管の対象ではありません。",
                  "An on-screen view is not a copy anyone holds.")


def _in_force(designation) -> bool:
    """In force as its dates decide today (ARCHITECTURE rule 9), not as the daily job last recorded."""
    return designation.is_in_force


def _keeper(actor, designation) -> bool:
    return (actor.assignment is not None and actor.role in KEEPER_ROLES
            and actor.organisation.pk == designation.organisation_id)


def _registry(actor, designation) -> bool:
    return (actor.assignment is not None and actor.role in REGISTRY_ROLES
            and actor.organisation.pk == designation.organisation_id)


def _local_registry(actor, copy) -> bool:
    """The registry of the organisation where the copy is held (provided material)."""
    return (actor.assignment is not None and actor.role in LOCAL_REGISTRY_ROLES
            and copy.holder_organisation_id == actor.organisation.pk)


def _designation_of(target):
    """A Designation, or the designation of a Document, DocumentVersion or Copy."""
    from hozen.designation.models import Designation
    from hozen.vault.models import Copy, Document, DocumentVersion

    if isinstance(target, Designation):
        return target
    if isinstance(target, Document):
        return target.designation
    if isinstance(target, DocumentVersion):
        return target.document.designation
    if isinstance(target, Copy):
        return target.version.document.designation
    return None


def _material(actor, target, action: str):
    if target is None:
        return deny("not_found", "見つかりません。", "Not found.")
    decision = decide(actor, action, target)
    if decision.allowed:
        return decision
    # Ended as the dates decide (a term past its end, before the daily job has recorded the expiry).
    if target.state_on() in ENDED_STATES or decision.code == "designation_not_in_force":
        # Ended material: every condition but "in force" (moved to SDS: the SDS successor's).
        ended = decide(actor, action + "_ended", target)
        if ended.allowed:
            return ended
        if target.state_on() in ("expired", "cancelled") and _keeper(actor, target):
            return allow("holding_organ_keeper")  # re-marks, archives or destroys it; never SDS material
        return ended
    return decision


@rule("vault.material.read")
def material_read(actor, target):
    """Read the documents filed under a designation (`target`: the designation)."""
    return _material(actor, target, MATERIAL_READ)


@rule("vault.document.read")
def document_read(actor, target):
    """View or download a document or one of its versions (`target`: Document or DocumentVersion)."""
    designation = _designation_of(target)
    return material_read(actor, designation)


@rule("vault.document.upload")
def document_upload(actor, target):
    """File a new document, or a new version, under a designation (`target`: the designation)."""
    designation = _designation_of(target)
    if designation is None:
        return deny("not_found", "見つかりません。", "Not found.")
    decision = decide(actor, MATERIAL_READ, designation)
    if not decision.allowed:
        return decision
    if not _in_force(designation):  # the material rule says so already; kept explicit for uploads
        return deny(*_ENDED_NO_UPLOAD)
    return allow("handler")


@rule("vault.medium.record")
def medium_record(actor, target):
    """Record a physical medium made from a copy, or received from outside (`target`: Copy or Document).

    Making a medium is handling the material: the same conditions as reading it, plus, for a copy
    made from a copy, being its custodian.
    """
    from hozen.vault.models import Copy

    decision = _material(actor, _designation_of(target), MATERIAL_HANDLE)
    if not decision.allowed:
        return decision
    if isinstance(target, Copy):
        if target.kind == Copy.Kind.VIEW:
            return deny(*_VIEW_NOT_HELD)
        if target.state != Copy.State.OUT:
            return deny(*_COPY_CLOSED)
        if not (actor.account is not None and target.holder_id == actor.account.pk):
            return deny(*_NOT_CUSTODIAN)
    return decision


def _custody(actor, target, *, custodian_only: bool = False):
    from hozen.vault.models import Copy

    if actor.account is None:
        return deny("not_signed_in", "サインインが必要です。", "You need to sign in.")
    if actor.assignment is None:
        return deny(*NO_ROLE)
    if target.kind == Copy.Kind.VIEW:
        return deny(*_VIEW_NOT_HELD)
    if target.state != Copy.State.OUT:
        return deny(*_COPY_CLOSED)
    if target.holder_id == actor.account.pk:
        return allow("custodian")
    if not custodian_only and (_registry(actor, _designation_of(target)) or _local_registry(actor, target)):
        return allow("registry")
    return deny(*_NOT_CUSTODIAN)


@rule("vault.copy.return")
def copy_return(actor, target):
    return _custody(actor, target)


@rule("vault.copy.destroy")
def copy_destroy(actor, target):
    return _custody(actor, target)


@rule("vault.copy.transfer")
def copy_transfer(actor, target):
    """Only the custodian hands a copy on; the recipient must be cleared for it (checked by the service)."""
    return _custody(actor, target, custodian_only=True)


@rule("vault.custody.view")
def custody_view(actor, target):
    """Custody records and open items of a designation's material (`target`: the designation).

    The holding organ's registry (ESI manager, security officer, organ head): every copy. Copy
    metadata only (numbers, custodians, dates); never the documents' content.
    """
    if actor.assignment is None:
        return deny(*NO_ROLE)
    if _registry(actor, target):
        return allow("registry")
    return deny("not_registry", "保有機関の管理担当者のみが管理記録を閲覧できます。",
                "Only the holding organ's registry sees the custody records.")


@scope_rule("vault.custody.view", "vault.copy")
def copy_scope(actor):
    """Copies whose records the actor sees: their own; for a registry role its organ's material and
    the copies held in its organisation (provided material); for a protection officer, the latter."""
    if actor.account is None or actor.assignment is None:
        return Q(pk__in=[])
    q = Q(holder_id=actor.account.pk) | Q(recipient_id=actor.account.pk)
    if actor.role in REGISTRY_ROLES:
        q |= Q(version__document__designation__organisation_id=actor.organisation.pk)
    if actor.role in LOCAL_REGISTRY_ROLES:
        q |= Q(holder_organisation_id=actor.organisation.pk)
    return q


@rule("vault.copy.view")
def copy_view(actor, target):
    """One copy's record: its custodian or recipient, or the holding organ's registry (as the scope)."""
    if actor.account is None or actor.assignment is None:
        return deny(*NO_ROLE)
    if actor.account.pk in (target.holder_id, target.recipient_id):
        return allow("own_copy")
    if _registry(actor, _designation_of(target)) or _local_registry(actor, target):
        return allow("registry")
    return deny("not_found", "見つかりません。", "Not found.")


@rule("vault.copy.trace")
def copy_trace(actor, target):
    """Identify the copy a found file came from: the server operator, or a registry role (a leak is
    reported to whoever found it; the answer names only copies that role's own custody scope
    covers, see ``hozen.vault.trace``)."""
    if actor.is_system and actor.channel == "cli":
        return allow("server_operator")
    if actor.assignment is not None and actor.role in LOCAL_REGISTRY_ROLES:
        return allow("registry")
    return deny("not_registry", "複製の追跡は管理担当者（事業者は保護責任者）のみが行えます。",
                "Only a registry (in a business, the protection officer) may trace copies.")


@rule("vault.inventory")
def inventory(actor, target):
    """Counts and sizes of the stored documents, no titles or content: the server operator (CLI)."""
    if actor.is_system and actor.channel == "cli":
        return allow("server_operator")
    return deny("server_operator_only", "サーバーの操作者のみが実行できます。", "Only the server's operator may do this.")


@rule("vault.version.shred")
def version_shred(actor, target):
    """Destroy one version's data key (``hozen.crypto.shred``): the holding organ's ESI manager or
    organ head (the server operator and background jobs may always, ``data_key.shred``)."""
    designation = _designation_of(target)
    if designation is not None and _keeper(actor, designation):
        return allow("holding_organ_keeper")
    return deny("not_keeper", "保有機関の重要経済安保情報管理者又は長のみが鍵を破棄できます。",
                "Only the holding organ's ESI manager or organ head may destroy this key.")
