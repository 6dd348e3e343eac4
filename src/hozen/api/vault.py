"""The document vault over HTTP: documents of a designation, uploads, copies, custody, trace.

Thin: reads through ``hozen.vault.queries``, writes through ``hozen.vault.services``, exactly as the
screens. A document, version or designation the caller has no need to know about answers 404,
byte for byte the same as one that does not exist, and the attempt is audited. A listed handler
refused for another reason (clearance expired, briefing due) gets 403 with the policy's code.

Views and downloads are POST: each one makes a new numbered copy (marked, stamped with the
caller's name, organisation and time, with an invisible identifier), recorded in custody and in
the audit log. The response is the file; ``X-Hozen-Copy`` carries the copy number.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

from django.http import FileResponse, HttpResponse
from ninja import Field, File, Form, Query, Router, Schema, Status
from ninja.files import UploadedFile
from pydantic import ConfigDict

from hozen.core.models import Account
from hozen.vault import queries, services
from hozen.vault import trace as tracing
from hozen.vault.models import Copy

from .errors import ErrorOut
from .paging import PageIn, page

router = Router(tags=["vault"])


class In(Schema):
    model_config = ConfigDict(extra="forbid")


READ_ERRORS = {403: ErrorOut, 404: ErrorOut}
WRITE_ERRORS = {403: ErrorOut, 404: ErrorOut, 422: ErrorOut}


class VersionOut(Schema):
    number: int
    filename: str
    content_type: str
    is_pdf: bool
    pages: int | None
    size: int = Field(description="Plaintext size in bytes")
    sha256: str = Field(description="SHA-256 of the plaintext, checked on every read")
    uploaded_at: dt.datetime
    uploaded_by: str = Field(description="User name")


class DocumentOut(Schema):
    id: int
    designation: int
    designation_reference: str | None
    title: str
    marking: str = Field(description="The marking every copy carries today")
    created_at: dt.datetime
    versions: list[VersionOut]


class DocumentSummaryOut(Schema):
    id: int
    designation: int
    designation_reference: str | None
    title: str
    versions: int
    latest_version: int | None
    created_at: dt.datetime


class CustodyEventOut(Schema):
    kind: Literal["received", "viewed", "downloaded", "copied", "transferred", "returned", "destroyed"]
    at: dt.datetime
    by: str
    counterpart: str
    witness: str
    method: str


class CopyOut(Schema):
    id: int
    document: int
    version: int
    number: int = Field(description="Copy number, per document")
    kind: Literal["view", "download", "medium"]
    medium: str
    parent: int | None = Field(description="The copy a physical medium was made from")
    recipient: str
    recipient_organisation: str
    custodian: str
    state: Literal["out", "returned", "destroyed"]
    marking: str
    issued_at: dt.datetime
    closed_at: dt.datetime | None
    events: list[CustodyEventOut] | None = None


class TransferIn(In):
    to: str = Field(description="User name of the person receiving the copy", max_length=64)


class DestroyIn(In):
    witness: str = Field(description="User name of the witness (not the person destroying)", max_length=64)
    method: str = Field(description="e.g. shredded (cross-cut), degaussed", max_length=120)


class MediumIn(In):
    medium: str = Field(description="e.g. paper printout, DVD-R", max_length=120)


class ReceivedIn(In):
    medium: str = Field(max_length=120)
    received_from: str = Field(max_length=120)


class TraceMatchOut(Schema):
    issued: CopyOut = Field(description="The copy the file came from")
    found_in: list[str]


class TraceOut(Schema):
    sha256: str
    kind: str
    pages: int | None
    matches: list[TraceMatchOut]


def _version(v) -> dict:
    return {"number": v.number, "filename": v.filename, "content_type": v.content_type, "is_pdf": v.is_pdf,
            "pages": v.pages, "size": v.size, "sha256": v.sha256, "uploaded_at": v.uploaded_at,
            "uploaded_by": v.uploaded_by.username}


def _document(doc) -> dict:
    return {"id": doc.pk, "designation": doc.designation_id, "designation_reference": doc.designation.reference,
            "title": doc.title, "marking": services.current_marking(doc.designation), "created_at": doc.created_at,
            "versions": [_version(v) for v in queries.versions_of(doc)]}


def _summary(doc) -> dict:
    return {"id": doc.pk, "designation": doc.designation_id, "designation_reference": doc.designation.reference,
            "title": doc.title, "versions": doc.version_count, "latest_version": doc.last_version,
            "created_at": doc.created_at}


def _copy(c, *, events: bool = False) -> dict:
    out = {"id": c.pk, "document": c.version.document_id, "version": c.version.number, "number": c.number,
           "kind": c.kind, "medium": c.medium, "parent": c.parent_id, "recipient": c.recipient_name,
           "recipient_organisation": c.recipient_organisation, "custodian": c.holder_name, "state": c.state,
           "marking": c.marking, "issued_at": c.issued_at, "closed_at": c.closed_at}
    if events:
        out["events"] = [{"kind": e.kind, "at": e.at, "by": e.actor_name, "counterpart": e.counterpart_name,
                          "witness": e.witness_name, "method": e.method} for e in queries.events_of(c)]
    return out


# --- documents -------------------------------------------------------------------------------------

@router.get("/documents", response={200: list[DocumentSummaryOut]}, summary="Documents the caller may read")
def list_documents(request, response: HttpResponse, paging: Query[PageIn]):
    return [_summary(d) for d in page(response, queries.documents_for(request.actor), paging)]


@router.get("/designations/{designation_id}/documents", response={200: list[DocumentSummaryOut], **READ_ERRORS},
            summary="Documents filed under one designation")
def designation_documents(request, designation_id: int, response: HttpResponse, paging: Query[PageIn]):
    designation = queries.designation_for_material(request.actor, designation_id)
    return [_summary(d) for d in page(response, queries.documents_for(request.actor, designation=designation), paging)]


@router.post("/designations/{designation_id}/documents", response={201: DocumentOut, **WRITE_ERRORS},
             summary="Upload a new document (multipart: title, file); stored encrypted under its own key")
def upload_document(request, designation_id: int, title: Form[str], file: File[UploadedFile]):
    designation = queries.designation_for_upload(request.actor, designation_id)
    version = services.upload(actor=request.actor, designation=designation, title=title, source=file,
                              filename=file.name, content_type=file.content_type, declared_size=file.size)
    return Status(201, _document(queries.document_for(request.actor, version.document_id)))


@router.get("/documents/{document_id}", response={200: DocumentOut, **READ_ERRORS}, summary="One document and its versions")
def get_document(request, document_id: int):
    return _document(queries.document_for(request.actor, document_id))


@router.post("/documents/{document_id}/versions", response={201: DocumentOut, **WRITE_ERRORS},
             summary="Upload a new version (multipart: file)")
def upload_version(request, document_id: int, file: File[UploadedFile]):
    doc = queries.document_for(request.actor, document_id)
    services.upload(actor=request.actor, document=doc, source=file, filename=file.name,
                    content_type=file.content_type, declared_size=file.size)
    return Status(201, _document(queries.document_for(request.actor, document_id)))


def _deliver(request, document_id: int, version: int | None, kind: str):
    doc = queries.document_for(request.actor, document_id)
    v = queries.version_for(request.actor, doc, version)
    delivery = services.deliver(actor=request.actor, version=v, kind=kind)
    response = FileResponse(delivery.file, content_type=delivery.content_type,
                            as_attachment=kind == Copy.Kind.DOWNLOAD, filename=delivery.filename)
    response["Content-Length"] = str(delivery.size)
    response["X-Hozen-Copy"] = str(delivery.copy.number)
    response["X-Hozen-Copy-Id"] = str(delivery.copy.pk)
    return response


@router.post("/documents/{document_id}/download", response={200: None, **READ_ERRORS},
             summary="Download a new copy: the PDF marked and stamped on every page, or a ZIP with a marked cover")
def download(request, document_id: int, version: int | None = None):
    return _deliver(request, document_id, version, Copy.Kind.DOWNLOAD)


@router.post("/documents/{document_id}/view", response={200: None, **READ_ERRORS},
             summary="View a new copy inline (PDF; other files: the marked cover sheet)")
def view(request, document_id: int, version: int | None = None):
    return _deliver(request, document_id, version, Copy.Kind.VIEW)


@router.post("/documents/{document_id}/received", response={201: CopyOut, **WRITE_ERRORS},
             summary="Record a physical medium of this document received from outside")
def received(request, document_id: int, payload: ReceivedIn):
    doc = queries.document_for(request.actor, document_id)
    copy = services.record_medium(actor=request.actor, document=doc, medium=payload.medium,
                                  received_from=payload.received_from)
    return Status(201, _copy(copy, events=True))


# --- custody ---------------------------------------------------------------------------------------

@router.get("/open-items", response={200: list[CopyOut]}, summary="Copies not yet returned or destroyed")
def open_items(request, response: HttpResponse, paging: Query[PageIn]):
    return [_copy(c) for c in page(response, queries.open_items_for(request.actor).select_related("parent"), paging)]


@router.get("/designations/{designation_id}/custody", response={200: list[CopyOut], **READ_ERRORS},
            summary="Every copy of a designation's material with its custody events (the registry)")
def custody(request, designation_id: int, response: HttpResponse, paging: Query[PageIn]):
    designation = queries.designation_for_custody(request.actor, designation_id)
    return [_copy(c, events=True) for c in page(response, queries.custody_of(request.actor, designation), paging)]


@router.get("/copies/{copy_id}", response={200: CopyOut, **READ_ERRORS}, summary="One copy and its custody record")
def get_copy(request, copy_id: int):
    return _copy(queries.copy_for(request.actor, copy_id), events=True)


@router.post("/copies/{copy_id}/return", response={200: CopyOut, **WRITE_ERRORS}, summary="Record the return")
def return_copy(request, copy_id: int):
    copy = services.return_copy(actor=request.actor, copy=queries.copy_for(request.actor, copy_id))
    return _copy(copy, events=True)


@router.post("/copies/{copy_id}/destroy", response={200: CopyOut, **WRITE_ERRORS},
             summary="Record the destruction, with a witness")
def destroy_copy(request, copy_id: int, payload: DestroyIn):
    copy = queries.copy_for(request.actor, copy_id)
    # An unknown name goes to the service as no witness (`witness_required`): never a test of names.
    witness = Account.objects.filter(username=payload.witness.strip(), is_active=True).first()
    return _copy(services.destroy_copy(actor=request.actor, copy=copy, witness=witness, method=payload.method),
                 events=True)


@router.post("/copies/{copy_id}/transfer", response={200: CopyOut, **WRITE_ERRORS},
             summary="Hand the copy to another cleared handler")
def transfer_copy(request, copy_id: int, payload: TransferIn):
    copy = queries.copy_for(request.actor, copy_id)
    # An unknown name is answered as a person who may not receive the copy (no existence oracle).
    to = Account.objects.filter(username=payload.to.strip(), is_active=True).first()
    return _copy(services.transfer(actor=request.actor, copy=copy, to=to), events=True)


@router.post("/copies/{copy_id}/media", response={201: CopyOut, **WRITE_ERRORS},
             summary="Record a physical medium made from this copy")
def record_medium(request, copy_id: int, payload: MediumIn):
    copy = queries.copy_for(request.actor, copy_id)
    return Status(201, _copy(services.record_medium(actor=request.actor, parent=copy, medium=payload.medium), events=True))


@router.post("/trace", response={200: TraceOut, 403: ErrorOut}, summary="Which copy did a found file come from?")
def trace(request, file: File[UploadedFile]):
    data = file.read(services.max_bytes() + 1)
    result = tracing.trace(actor=request.actor, data=data)
    return {"sha256": result.sha256, "kind": result.kind, "pages": result.pages,
            "matches": [{"issued": _copy(m.copy), "found_in": m.places} for m in result.matches]}

