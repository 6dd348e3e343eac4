"""Reads for the vault's screens, API and CLI.

A document someone has no need to know about is exactly as invisible as one that does not exist:
``document_for`` raises the same ``NotFound`` for both, and audits the attempt either way (every
denial of a read of ESI is recorded, ARCHITECTURE rule 1). A listed handler refused for another
reason (clearance lapsed, briefing due) already knows the document; they get the policy's reason.
"""

from __future__ import annotations

from django.db.models import Count, Max, Prefetch, Q, Sum
from django.utils import timezone

from hozen import audit
from hozen.access import policy
from hozen.access.policy import PolicyDenied
from hozen.access.rules.vault import NOT_FOUND_CODES
from hozen.core.errors import NotFound
from hozen.designation.models import Designation

from .models import Copy, CustodyEvent, Document, DocumentVersion


def refuse(actor, action: str, decision, target) -> None:
    """Audit the denial, then 404 or 403 (only someone who knows of the material hears why)."""
    audit.record_denial(actor, decision, action, target)
    if decision.code in NOT_FOUND_CODES:
        raise NotFound
    raise PolicyDenied(decision, action, target, audited=True, actor=actor)


def _missing(actor, action: str, kind: str, pk) -> None:
    audit.record(actor, action, {"type": kind, "id": str(pk)[:40]}, outcome="denied",
                 details={"reason": "not_found"})
    raise NotFound


def _pk(value) -> int | None:
    try:
        n = int(value)
    except (TypeError, ValueError):
        return None
    return n if 0 < n < 2**62 else None


def designation_for_material(actor, designation_id) -> Designation:
    """The designation whose documents the actor asks for; NotFound unless they may read them."""
    pk = _pk(designation_id)
    designation = Designation.objects.select_related("organisation").filter(pk=pk).first() if pk else None
    if designation is None:
        _missing(actor, "vault.material.read", "designation.designation", designation_id)
    decision = policy.decide(actor, "vault.material.read", designation)
    if not decision.allowed:
        refuse(actor, "vault.material.read", decision, designation)
    return designation


def designation_for_upload(actor, designation_id) -> Designation:
    pk = _pk(designation_id)
    designation = Designation.objects.select_related("organisation").filter(pk=pk).first() if pk else None
    if designation is None:
        _missing(actor, "vault.document.upload", "designation.designation", designation_id)
    decision = policy.decide(actor, "vault.document.upload", designation)
    if not decision.allowed:
        refuse(actor, "vault.document.upload", decision, designation)
    return designation


def designation_for_custody(actor, designation_id) -> Designation:
    """The designation whose custody records the registry asks for: 404 unless the designation is
    visible to the actor at all, 403 with the reason when it is but the records are not theirs."""
    pk = _pk(designation_id)
    designation = Designation.objects.select_related("organisation").filter(pk=pk).first() if pk else None
    if designation is None:
        _missing(actor, "vault.custody.view", "designation.designation", designation_id)
    seen = policy.decide(actor, "designation.view", designation)
    if not seen.allowed:
        audit.record_denial(actor, seen, "vault.custody.view", designation)
        raise NotFound
    policy.require(actor, "vault.custody.view", designation)
    return designation


def document_for(actor, document_id, *, action: str = "vault.document.read") -> Document:
    """One document the actor may read (or, with ``action``, add a version to)."""
    pk = _pk(document_id)
    document = (Document.objects.select_related("designation__organisation", "created_by__person")
                .filter(pk=pk).first() if pk else None)
    if document is None:
        _missing(actor, action, "vault.document", document_id)
    decision = policy.decide(actor, action, document)
    if not decision.allowed:
        refuse(actor, action, decision, document)
    return document


def version_for(actor, document: Document, number=None) -> DocumentVersion:
    """The given version of a document already checked with ``document_for`` (default: the latest)."""
    qs = document.versions.select_related("uploaded_by__person")
    if number in (None, ""):
        version = qs.order_by("-number").first()
    else:
        n = _pk(number)
        version = qs.filter(number=n).first() if n else None
    if version is None:
        raise NotFound
    version.document = document
    return version


def documents_of(designation: Designation):
    """The documents of a designation already checked with ``designation_for_material``."""
    latest = DocumentVersion.objects.order_by("-number")
    return (Document.objects.filter(designation=designation)
            .annotate(version_count=Count("versions"), last_version=Max("versions__number"))
            .prefetch_related(Prefetch("versions", queryset=latest))
            .order_by("-created_at", "-id"))


def documents_for(actor, *, designation: Designation | None = None):
    """Documents the actor may read, across designations (CLI and API lists).

    The material rule depends on facts outside the vault (clearances, handler lists), so the list
    asks it once per designation rather than trusting a filter that could drift from ``decide``.
    """
    designations = (Designation.objects.filter(vault_documents__isnull=False).distinct()
                    if designation is None else Designation.objects.filter(pk=designation.pk))
    allowed = [d.pk for d in designations.select_related("organisation")
               if policy.decide(actor, "vault.material.read", d).allowed]
    return (Document.objects.filter(designation_id__in=allowed)
            .select_related("designation__organisation")
            .annotate(version_count=Count("versions"), last_version=Max("versions__number"))
            .order_by("designation_id", "-created_at", "-id"))


def designations_for(actor) -> list[Designation]:
    """Designations whose material the actor may read, with ``document_count``: where they are on
    the handler list (``hozen.handling``) or on the list of its SDS successor, and for the holding
    organ's keepers its ended ones."""
    from hozen.access.rules.vault import ENDED_STATES, KEEPER_ROLES
    from hozen.handling.queries import my_entries

    if actor.account is None or actor.assignment is None:
        return []
    ids = set(my_entries(actor).values_list("designation_id", flat=True))
    # Material moved to SDS is read through its SDS successor's list.
    ids |= set(Designation.objects.filter(successor_id__in=ids).values_list("pk", flat=True))
    if actor.role in KEEPER_ROLES:
        # Ended as the dates decide: a term past its end counts before the daily job records it.
        ended = Q(state__in=ENDED_STATES) | Q(state="designated", term_end__lt=timezone.localdate())
        ids |= set(Designation.objects.filter(ended, organisation_id=actor.organisation.pk)
                   .values_list("pk", flat=True))
    rows = (Designation.objects.filter(pk__in=ids).select_related("organisation")
            .annotate(document_count=Count("vault_documents")).order_by("-year", "-serial", "-id"))
    return [d for d in rows if policy.decide(actor, "vault.material.read", d).allowed]


def versions_of(document: Document):
    return document.versions.select_related("uploaded_by__person").order_by("-number")


# --- custody ------------------------------------------------------------------------------------------

def copies_visible(actor):
    return Copy.objects.filter(policy.scope(actor, "vault.custody.view", Copy))


def copy_for(actor, copy_id) -> Copy:
    pk = _pk(copy_id)
    copy = (Copy.objects.select_related("version__document__designation__organisation", "holder__person",
                                        "recipient__person", "parent").filter(pk=pk).first() if pk else None)
    if copy is None:
        _missing(actor, "vault.copy.view", "vault.copy", copy_id)
    decision = policy.decide(actor, "vault.copy.view", copy)
    if not decision.allowed:
        # Audited with the copy; the caller hears 404 as for a missing one (nothing leaks).
        audit.record_denial(actor, decision, "vault.copy.view", copy)
        raise NotFound
    return copy


def open_items_for(actor, *, designation: Designation | None = None):
    """Copies not yet returned or destroyed (downloads and physical media; on-screen views are not held)."""
    qs = (copies_visible(actor).filter(state=Copy.State.OUT).exclude(kind=Copy.Kind.VIEW)
          .select_related("version__document__designation__organisation", "holder__person"))
    if designation is not None:
        qs = qs.filter(version__document__designation=designation)
    return qs.order_by("issued_at", "id")


def custody_of(actor, designation: Designation):
    """Every copy of a designation's material with its events (the holding organ's registry)."""
    policy.require(actor, "vault.custody.view", designation)
    events = CustodyEvent.objects.select_related("counterpart", "witness").order_by("at", "id")
    return (Copy.objects.filter(version__document__designation=designation)
            .select_related("version__document", "holder", "parent")
            .prefetch_related(Prefetch("events", queryset=events))
            .order_by("-issued_at", "-id"))


def events_of(copy: Copy):
    return copy.events.order_by("at", "id")


def custody_counts(designation: Designation) -> dict:
    rows = (Copy.objects.filter(version__document__designation=designation)
            .aggregate(total=Count("id"),
                       open=Count("id", filter=Q(state=Copy.State.OUT) & ~Q(kind=Copy.Kind.VIEW))))
    return {"total": rows["total"] or 0, "open": rows["open"] or 0}


def inventory(actor):
    """Per document: designation, versions, stored bytes, copies issued and open. No titles."""
    policy.require(actor, "vault.inventory")
    return (Document.objects.select_related("designation")
            .annotate(version_count=Count("versions", distinct=True),
                      stored_bytes=Sum("versions__stored_size", distinct=True),
                      open_copies=Count("versions__copies", distinct=True,
                                        filter=Q(versions__copies__state=Copy.State.OUT)
                                        & ~Q(versions__copies__kind=Copy.Kind.VIEW)))
            .order_by("designation_id", "id"))
