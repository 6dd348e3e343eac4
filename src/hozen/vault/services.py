"""Every write of the vault: uploads, copies handed out, and custody. One transaction each, audited.

Policy first (a denial outside the transaction is audited at once by ``policy.require``), then
checks (``RuleViolation``, nothing written), then the rows and their audit entry together.

Lock what you check (ARCHITECTURE rule 8): inside its transaction each write re-reads and locks
what it decides on — the designation first (``hozen.handling.locking.lock_designation``: a
cancellation, expiry or move to SDS waits for it, or it waits for them), then the document (its
copy counter and version numbers), then the copy — and decides again on those rows, with the access
facts read afresh. What the caller loaded before is only a hint of which rows. Only the changed
fields are saved. The audit entries carry what the replay needs (``hozen.vault.reconcile``).

Uploads are all or nothing: the ciphertext is written to the storage inside the transaction, and
deleted again if anything after it fails, so a failed upload leaves no row, no data key and no
stored object behind.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import mimetypes
import secrets
import tempfile
from dataclasses import dataclass
from typing import IO

from django.conf import settings
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from hozen import audit
from hozen.access import policy
from hozen.audit.canonical import canonical_json
from hozen.core import rows
from hozen.core.errors import NotFound, RuleViolation
from hozen.core.models import Account
from hozen.core.text import clean
from hozen.crypto.envelope import CryptoError
from hozen.crypto.keys import DataKeyDestroyed
from hozen.designation.models import Designation
from hozen.handling import facts
from hozen.handling.locking import lock_designation

from . import blobs, stamping
from .models import Copy, CustodyEvent, Document, DocumentVersion

DEFAULT_MAX_BYTES = 200 * 1024 * 1024


def max_bytes() -> int:
    """The largest file the vault accepts (``HOZEN_VAULT_MAX_BYTES``, default 200 MB)."""
    return int(getattr(settings, "HOZEN_VAULT_MAX_BYTES", DEFAULT_MAX_BYTES))


def _megabytes(n: int) -> str:
    return f"{n / (1024 * 1024):.0f} MB" if n >= 1024 * 1024 else f"{n:,} bytes"


def current_marking(designation: Designation) -> str:
    """The marking a rendering carries today (DOMAIN §2): a designation past its term end reads as
    expired even before the nightly job has recorded the expiry (`Designation.marking` follows the dates)."""
    return designation.marking


# --- checks ----------------------------------------------------------------------------------------

def _pk(row_or_pk):
    """The primary key of an instance, or the id given (services take either: ARCHITECTURE rule 8,
    the row is read afresh here whatever the caller loaded). An id no row can have is None."""
    from django.db import models

    pk = row_or_pk.pk if isinstance(row_or_pk, models.Model) else row_or_pk
    try:
        pk = int(pk)
    except (TypeError, ValueError, OverflowError):
        return None
    return pk if 0 < pk < 2**63 else None


def _too_large(limit: int) -> RuleViolation:
    return RuleViolation("file_too_large",
                         f"ファイルが大きすぎます。上限は{_megabytes(limit)}です。",
                         f"The file is too large: the limit is {_megabytes(limit)}.", field="file")


def check_title(title: str) -> str:
    """The document's title by the one text policy (issue 12 §1): one line, something visible."""
    return clean(title, field="title", label=("文書名", "Document title"),
                 max_length=Document._meta.get_field("title").max_length, min_visible=1, required=True)


def clean_filename(name: str) -> str:
    """The file's own name, without any folder or a leading dot. A name with a control character,
    a direction override (``invoice\u202Efdp.exe`` shows as ``invoiceexe.pdf``), a lone surrogate
    or a non-character is refused naming the file, by the one text policy; the rest is NFKC."""
    name = str(name or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = clean(name, field="file", label=("ファイル名", "File name")).lstrip(".").strip()
    if not name:
        raise RuleViolation("file_name_required", "ファイル名がありません。", "The file has no name.", field="file")
    if len(name) > 255:
        stem, dot, ext = name.rpartition(".")
        name = (stem[: 255 - len(ext) - 1] + dot + ext) if dot and len(ext) < 16 else name[:255]
    return name


def _content_type(filename: str, given: str | None) -> str:
    given = (given or "").split(";")[0].strip().lower()
    if given and given != "application/octet-stream" and len(given) <= 120:
        return given
    return mimetypes.guess_type(filename)[0] or "application/octet-stream"


_TRIAL_STAMP = stamping.Stamp(marking="重要経済安保情報", recipient="-", organisation="-",
                              issued_at=dt.datetime(2025, 5, 16, tzinfo=dt.UTC), copy_number=0, token="0" * 24)


def _inspect_pdf(source: IO[bytes], filename: str, content_type: str) -> tuple[bool, int | None]:
    """(is a PDF, pages). A file that says it is a PDF but cannot be read is refused: it could not
    carry its marking (DOMAIN §2)."""
    head = source.read(1024)
    source.seek(0)
    claims = content_type == "application/pdf" or filename.lower().endswith(".pdf")
    if not (stamping.looks_like_pdf(head) or claims):
        return False, None
    data = source.read()
    source.seek(0)
    try:
        reader = stamping.open_pdf(data)
        # A trial stamp now, so that no PDF is accepted that a later view or download could not mark.
        stamping.stamp_pdf(data, _TRIAL_STAMP)
        return True, len(reader.pages)
    except Exception:  # noqa: BLE001 - whatever pypdf raises, the PDF cannot carry its marking
        raise RuleViolation("unreadable_pdf",
                            "PDFを読み取れません（破損しているか、パスワードで保護されています）。表示を付けられないため受け付けません。",
                            "The PDF cannot be read (damaged, or protected by a password), so it could not carry "
                            "its marking; it was not accepted.", field="file") from None


# --- upload --------------------------------------------------------------------------------------

def upload(*, actor, designation: Designation | int | None = None, document: Document | int | None = None,
           title: str = "",
           source: IO[bytes], filename: str, content_type: str | None = None,
           declared_size: int | None = None) -> DocumentVersion:
    """File a new document under ``designation``, or a new version of ``document``.

    ``source`` is a binary file object (an upload, an open file); it is read once, encrypted in
    1 MiB chunks under the new version's own data key, and never stored in the clear.

    Only under a designation in force by its dates (a term that ended yesterday is over today,
    whether or not the daily job has recorded it). The policy is asked twice: here, before the file
    is read, and again in the transaction on the designation as locked (an upload and a
    cancellation at once: the upload either commits first, or is refused like any upload after it).
    """
    if (designation is None) == (document is None):
        raise TypeError("upload() takes a designation (a new document) or a document (a new version)")
    # The designation as it is now (its state decides whether anything may be added).
    pk = _designation_id_of_document(_pk(document)) if document is not None else _pk(designation)
    target = Designation.objects.filter(pk=pk).first()
    if target is None:
        raise NotFound
    policy.require(actor, "vault.document.upload", target)
    if document is None:
        title = check_title(title)
    filename = clean_filename(filename)
    limit = max_bytes()
    if declared_size is not None and declared_size > limit:
        raise _too_large(limit)
    if declared_size == 0:
        raise RuleViolation("empty_file", "ファイルが空です。", "The file is empty.", field="file")
    content_type = _content_type(filename, content_type)
    is_pdf, pages = _inspect_pdf(source, filename, content_type)
    if is_pdf:
        content_type = "application/pdf"
    stored: list[str] = []
    try:
        return _store(actor=actor, designation=target, document=document, title=title, source=source,
                      filename=filename, content_type=content_type, is_pdf=is_pdf, pages=pages, limit=limit,
                      stored=stored)
    except BaseException:
        for name in stored:  # the transaction rolled back: the object must go too
            blobs.delete_quietly(name)
        raise


def _decide_afresh(actor, action: str, target):
    """The policy's answer on rows just locked, with the access facts read again (the request may
    have read them before another process changed the designation, the list or a clearance)."""
    facts.forget(actor)
    return policy.decide(actor, action, target)


@transaction.atomic(durable=True)
def _store(*, actor, designation, document, title, source, filename, content_type, is_pdf, pages, limit,
           stored) -> DocumentVersion:
    designation = lock_designation(designation, related=("organisation",))
    if document is not None:
        document = rows.lock(Document, document)
        document.designation = designation
    facts.forget(actor)
    policy.require(actor, "vault.document.upload", designation)
    if document is None:
        document = Document.objects.create(designation=designation, title=title, created_by=actor.account)
        number = 1
    else:
        number = (document.versions.aggregate(n=Max("number"))["n"] or 0) + 1
    version = DocumentVersion(document=document, number=number, filename=filename, content_type=content_type,
                              is_pdf=is_pdf, pages=pages, size=0, sha256="", stored_size=0,
                              uploaded_by=actor.account)
    version.stored_name = f"pending/{version.crypto_id}"
    version.save()  # creates the version's own data key, in this transaction
    try:
        name, stored_size, size, sha256 = blobs.seal_to_storage(version, source, limit=limit)
    except blobs.TooLarge:
        raise _too_large(limit) from None
    stored.append(name)
    if size == 0:
        raise RuleViolation("empty_file", "ファイルが空です。", "The file is empty.", field="file")
    rows.change(version, stored_name=name, stored_size=stored_size, size=size, sha256=sha256)
    audit.record(actor, "vault.document.uploaded", version, details={
        "document": document, "designation": designation, "version": number, "size": size, "sha256": sha256,
        "pdf": is_pdf, "designation_state": designation.state_on()})
    return version


# --- copies: every view and download ---------------------------------------------------------------

@dataclass
class Delivery:
    """A rendering handed to one person: its copy record and the bytes (a temporary file)."""

    copy: Copy
    file: IO[bytes]
    filename: str
    content_type: str
    size: int

    def close(self) -> None:
        self.file.close()


def _person_name(account: Account) -> str:
    return account.person.full_name if account.person_id else account.username


def _organisation_name(actor) -> str:
    org = actor.organisation
    return f"{org.name_ja} ({org.code})" if org is not None else ""


def _new_token() -> str:
    while True:
        token = secrets.token_hex(12)
        if not Copy.objects.filter(token=token).exists():
            return token


def _safe_stem(text: str) -> str:
    keep = "".join(ch if (ch.isalnum() or ch in "-_") else "_" for ch in text)
    return keep.strip("_")[:60] or "document"


def deliver(*, actor, version: DocumentVersion | int, kind: str) -> Delivery:
    """A new, numbered, marked and stamped copy of ``version`` for ``actor`` (kind: view or download).

    PDFs come back as the PDF with the marking and the stamp on every page; other files as a ZIP
    with a marked cover sheet (a view of one shows the cover sheet alone). The copy, its custody
    event and the audit entry commit together with the copy number it carries.

    The marking is the designation's as locked in the copy's transaction: a copy issued while the
    designation is being cancelled carries the old marking only if it committed first, and from
    then on every copy carries the new one. The copy number comes from the locked document row, so
    two copies never share a number (the database's unique constraint backs it).
    """
    if kind not in (Copy.Kind.VIEW, Copy.Kind.DOWNLOAD):
        raise ValueError(f"unknown delivery kind {kind!r}")
    # Fresh from the database: the designation's state decides the marking and the rule.
    version = (DocumentVersion.objects.select_related("document__designation__organisation")
               .filter(pk=_pk(version)).first())
    if version is None:
        raise NotFound
    decision = policy.decide(actor, "vault.document.read", version)
    if not decision.allowed:
        # A read of ESI: the denial is audited here and now, and someone without need to know
        # hears "not found", exactly as for a document that does not exist.
        from .queries import refuse

        refuse(actor, "vault.document.read", decision, version)
    if actor.account is None:  # the rule refuses system actors already; a copy names a person
        raise RuleViolation("needs_a_person", "複製は個人にのみ交付されます。", "Copies are issued to a person only.")
    try:
        return _deliver(actor=actor, version=version, kind=kind)
    except _Refused as refused:
        # Refused on the rows as locked (the list, a clearance or the designation changed since the
        # first decision): audited now that the transaction has rolled back, answered as above.
        from .queries import refuse

        refuse(actor, "vault.document.read", refused.decision, version)
        raise  # refuse() always raises; never reached
    except (CryptoError, blobs.IntegrityFailure) as exc:
        # Nothing was handed out (the copy rolled back with the transaction); the failed read is
        # recorded on its own, and the reader gets a clear message instead of a server error.
        code = ("data_key_destroyed" if isinstance(exc, DataKeyDestroyed)
                else "checksum_mismatch" if isinstance(exc, blobs.IntegrityFailure) else "decryption_failed")
        audit.record(actor, "vault.document.read", version, outcome="failure", details={"error": code})
        if code == "data_key_destroyed":
            raise RuleViolation(code, "この版の暗号鍵は破棄されており、内容は復元できません。",
                                "This version's key was destroyed (crypto-shredded): its content cannot be recovered.") from None
        raise RuleViolation(code, "保存された内容の完全性を確認できないため、交付できません。管理担当者に連絡してください。",
                            "The stored content failed its integrity check and was not delivered; tell the registry.") from None


class _Refused(Exception):
    """A delivery the policy refused on the locked rows (audited after the rollback)."""

    def __init__(self, decision):
        super().__init__(decision.code)
        self.decision = decision


def _designation_id_of_document(document_id) -> int:
    pk = Document.objects.filter(pk=document_id).values_list("designation_id", flat=True).first()
    if pk is None:
        raise NotFound
    return pk


@transaction.atomic(durable=True)
def _deliver(*, actor, version: DocumentVersion, kind: str) -> Delivery:
    # The designation first (shared: copies under it do not wait for each other), then the counter.
    designation = lock_designation(version.document.designation_id, related=("organisation",))
    document = rows.lock(Document, version.document_id)
    document.designation = designation
    version.document = document
    decision = _decide_afresh(actor, "vault.document.read", version)
    if not decision.allowed:
        raise _Refused(decision)
    rows.change(document, copies_issued=document.copies_issued + 1)
    now = timezone.now()
    marking = current_marking(designation)
    stamp = stamping.Stamp(marking=marking, recipient=_person_name(actor.account),
                           organisation=_organisation_name(actor), issued_at=now,
                           copy_number=document.copies_issued, token=_new_token(),
                           reference=designation.reference or "")
    out = tempfile.SpooledTemporaryFile(max_size=blobs.SPOOL_BYTES)
    try:
        with blobs.open_plaintext(version) as plain:
            if version.is_pdf:
                out.write(stamping.stamp_pdf(plain.read(), stamp, title=document.title))
                filename, content_type = f"{_safe_stem(designation.reference or 'draft')}-{document.pk}-v{version.number}-copy{stamp.copy_number}.pdf", "application/pdf"
            else:
                facts = stamping.FileFacts(filename=version.filename, content_type=version.content_type,
                                           size=version.size, sha256=version.sha256, version=version.number,
                                           document_title=document.title, designation_reference=designation.reference or "")
                stem = f"{_safe_stem(designation.reference or 'draft')}-{document.pk}-v{version.number}-copy{stamp.copy_number}"
                if kind == Copy.Kind.VIEW:
                    out.write(stamping.cover_sheet(stamp, facts))
                    filename, content_type = f"{stem}-cover.pdf", "application/pdf"
                else:
                    stamping.package_with_cover(plain, stamp, facts, out)
                    filename, content_type = f"{stem}.zip", "application/zip"
        size = out.tell()
        out.seek(0)
        digest = hashlib.sha256()
        for chunk in iter(lambda: out.read(1024 * 1024), b""):
            digest.update(chunk)
        out.seek(0)
        copy = Copy.objects.create(
            version=version, document=document, number=stamp.copy_number, kind=kind, token=stamp.token,
            recipient=actor.account,
            recipient_name=stamp.recipient, recipient_organisation=stamp.organisation, holder=actor.account,
            holder_name=stamp.recipient, holder_organisation=actor.organisation, marking=marking,
            delivered_sha256=digest.hexdigest(), issued_at=now,
            state=Copy.State.OUT)
        _event(actor, copy, CustodyEvent.Kind.VIEWED if kind == Copy.Kind.VIEW else CustodyEvent.Kind.DOWNLOADED)
        # The entry names the copy it made (its custody history is one index range of the log,
        # replayed by `hozen.vault.reconcile`) and the version, document and designation read.
        audit.record(actor, "vault.document.viewed" if kind == Copy.Kind.VIEW else "vault.document.downloaded",
                     copy, details={"version": version, "document": document, "designation": designation,
                                    "copy": copy, **_issued(copy), "marking_state": designation.state_on()})
    except BaseException:
        out.close()
        raise
    return Delivery(copy=copy, file=out, filename=filename, content_type=content_type, size=size)


# --- custody ---------------------------------------------------------------------------------------

def _custody_details(copy: Copy, **extra) -> dict:
    """What every custody entry of a copy records (ids and codes only, never titles or content),
    so the log replays to the row: its number and kind, held or closed, and who holds it."""
    return {"copy_number": copy.number, "kind": copy.kind, "state": copy.state,
            "holder_account_id": copy.holder_id,
            "holder_organisation": copy.holder_organisation.code if copy.holder_organisation_id else None, **extra}


def _issued(copy: Copy) -> dict:
    return _custody_details(copy, issued_at=copy.issued_at)


def _event(actor, copy: Copy, kind: str, *, counterpart: Account | None = None, counterpart_name: str = "",
           witness: Account | None = None, method: str = "") -> CustodyEvent:
    name = _person_name(actor.account) if actor.account is not None else actor.describe().get("name", "")
    return CustodyEvent.objects.create(
        copy=copy, kind=kind, actor=actor.describe(), actor_name=name, counterpart=counterpart,
        counterpart_name=counterpart_name or (_person_name(counterpart) if counterpart else ""),
        witness=witness, witness_name=_person_name(witness) if witness else "", method=method[:120])


def _copy_row(copy: Copy | int) -> dict:
    """Where a copy sits (its document and designation ids), read afresh: which rows to lock, and in
    which order. Those links never change once a copy exists."""
    row = Copy.objects.filter(pk=_pk(copy)).values("document_id", "document__designation_id").first()
    if row is None:
        raise NotFound
    return row


def _locked(copy: Copy | int, *, designation: Designation | None = None) -> Copy:
    """The copy (an instance or an id) read afresh and locked for this transaction (rule 8). With
    `designation` (locked by the caller first), the copy's designation is that locked row."""
    copy = rows.lock(Copy, copy, related=("version__document__designation", "holder_organisation"))
    if designation is not None:
        copy.version.document.designation = designation
    return copy


def _check_held(copy: Copy) -> None:
    """A copy already returned or destroyed is not closed again, nor handed on: the second of two
    people recording it at once is told so (a rule, 422), and nothing is written."""
    if copy.kind != Copy.Kind.VIEW and copy.state != Copy.State.OUT:
        raise RuleViolation("copy_closed", "この複製は既に返却又は廃棄されています。",
                            "This copy has already been returned or destroyed.")


def _short_text(value: str, field: str, label_ja: str, label_en: str, *, required: bool) -> str:
    """A custody record's one-line text (medium, sender, method) by the one text policy."""
    return clean(value, field=field, label=(label_ja, label_en), max_length=120, min_visible=1 if required else 0,
                 required=required)


def _check_not_recorded_today(actor, *, doc: Document, parent: Copy | None, medium: str, received_from: str) -> None:
    """Issue 12 §5: a custody step describes a fact, and the same fact is refused a second time: the
    same person recording, on the same day, a medium of the same description copied from the same
    copy, or received for the same document from the same sender (a double submission, a retried
    request). The document's lock, held by the caller, orders two identical records at once. A
    second medium is a different fact: its description says which it is ("DVD-R 2/2")."""
    start = timezone.make_aware(dt.datetime.combine(timezone.localdate(), dt.time.min))
    events = CustodyEvent.objects.filter(at__gte=start, at__lt=start + dt.timedelta(days=1), method=medium,
                                         copy__recipient=actor.account)
    if parent is not None:
        events = events.filter(kind=CustodyEvent.Kind.COPIED, copy__parent=parent)
        what_ja, what_en = "同じ複製からの同じ媒体", "the same medium copied from the same copy"
    else:
        events = events.filter(kind=CustodyEvent.Kind.RECEIVED, copy__document=doc, counterpart_name=received_from)
        what_ja, what_en = "同じ受領元からの同じ媒体", "the same medium received from the same sender"
    if events.exists():
        raise RuleViolation(
            "duplicate_custody_record",
            f"本日、{what_ja}は既に記録されています。2つ目の媒体であれば、媒体の説明で区別してください（例: DVD-R 2枚目）。",
            f"You already recorded {what_en} today. If this is a second medium, say which in its description "
            "(for example \"DVD-R, 2 of 2\").", field="medium")


@transaction.atomic(durable=True)
def record_medium(*, actor, medium: str, parent: Copy | int | None = None, document: Document | int | None = None,
                  received_from: str = "") -> Copy:
    """A physical medium: printed or burnt from a copy the actor holds (``parent``: copied), or
    received from outside for ``document`` (received). It gets its own copy number and custodian.

    Locks the designation (the medium carries its marking as it is now), the document (the copy
    number) and the parent copy (still held by the actor), in that order."""
    if (parent is None) == (document is None):
        raise TypeError("record_medium() takes a parent copy (copied) or a document (received)")
    if parent is not None:
        where = _copy_row(parent)
        designation = lock_designation(where["document__designation_id"], related=("organisation",))
        doc = rows.lock(Document, where["document_id"])
        parent = _locked(parent, designation=designation)
        _check_held(parent)
        target = parent
    else:
        doc_pk = _pk(document)
        designation = lock_designation(_designation_id_of_document(doc_pk), related=("organisation",))
        doc = rows.lock(Document, doc_pk)
        target = doc
    doc.designation = designation
    facts.forget(actor)
    policy.require(actor, "vault.medium.record", target)
    medium = _short_text(medium, "medium", "媒体", "Medium", required=True)
    if parent is not None:
        version = parent.version
    else:
        received_from = _short_text(received_from, "received_from", "受領元", "Sender", required=True)
        version = doc.versions.order_by("-number").first()
        if version is None:
            raise RuleViolation("no_version", "この文書には版がありません。", "The document has no version.")
    _check_not_recorded_today(actor, doc=doc, parent=parent, medium=medium, received_from=received_from)
    rows.change(doc, copies_issued=doc.copies_issued + 1)
    name = _person_name(actor.account)
    copy = Copy.objects.create(
        version=version, document=doc, number=doc.copies_issued, kind=Copy.Kind.MEDIUM, token=_new_token(),
        medium=medium, parent=parent, recipient=actor.account, recipient_name=name,
        recipient_organisation=_organisation_name(actor), holder=actor.account, holder_name=name,
        holder_organisation=actor.organisation, marking=current_marking(designation))
    if parent is not None:
        _event(actor, copy, CustodyEvent.Kind.COPIED, method=medium)
    else:
        _event(actor, copy, CustodyEvent.Kind.RECEIVED, counterpart_name=received_from, method=medium)
    audit.record(actor, "vault.copy.copied" if parent else "vault.copy.received", copy,
                 details={"document": doc, "version": version, "parent": parent, **_issued(copy),
                          "marking_state": designation.state_on()})
    return copy


def _cleared_for(account: Account, designation: Designation, request_id: str) -> bool:
    """Whether ``account`` may hold this material in one of its roles (for a transfer)."""
    from hozen.core.actor import Actor

    for assignment in account.active_assignments().select_related("organisation"):
        candidate = Actor.for_account(account, assignment, channel="web", request_id=request_id)
        if policy.decide(candidate, "designation.material.handle", designation).allowed:
            return True
    return False


def _fresh_account(account: Account | int | None) -> Account | None:
    """The recipient or witness as stored now, share-locked after the copy (rule 8: decided on the
    account as it is, not as the page that named it saw it); None when there is no such account."""
    if account is None:
        return None
    try:
        return rows.lock(Account, account, shared=True)
    except NotFound:
        return None


@transaction.atomic(durable=True)
def transfer(*, actor, copy: Copy | int, to: Account) -> Copy:
    """Hand a held copy to another person, who must be cleared for the material (DOMAIN §5).

    Handing material on is handling it: only under a designation in force by its dates (refused
    from the day after the term end, whether or not the daily job has recorded the expiry). The
    designation is locked first, then the copy: a transfer and a return (or a destruction, or a
    second transfer) of the same copy are applied one after the other."""
    where = _copy_row(copy)
    designation = lock_designation(where["document__designation_id"], related=("organisation",))
    copy = _locked(copy, designation=designation)  # decide on the row as it is now, not as the caller saw it
    _check_held(copy)
    policy.require(actor, "vault.copy.transfer", copy)
    to = _fresh_account(to)
    if to is not None and not to.is_active:
        to = None
    if to is not None and to.pk == copy.holder_id:
        raise RuleViolation("same_custodian", "自分自身には引き渡せません。", "You already hold this copy.", field="to")
    if not designation.is_in_force:
        raise RuleViolation("designation_not_in_force",
                            "この指定は有効ではありません（有効期間満了又は解除）。引き渡すことはできません。返却又は廃棄を記録してください。",
                            "This designation is no longer in force: its material is not handed on. Record the "
                            "copy's return or destruction instead.", field="to")
    if to is None or not _cleared_for(to, designation, actor.request_id):
        # Least knowledge: never which of the recipient's conditions fails, nor whether an account of
        # that name exists at all (no existence oracle, issue 12 §8).
        raise RuleViolation("recipient_not_cleared",
                            "受領者はこの指定の取扱者ではありません（引渡しはできません）。",
                            "The recipient may not handle this designation's material; the copy was not transferred.",
                            field="to")
    assignment = to.active_assignments().select_related("organisation").first()
    rows.change(copy, holder=to, holder_name=_person_name(to),
                holder_organisation=assignment.organisation if assignment else None)
    _event(actor, copy, CustodyEvent.Kind.TRANSFERRED, counterpart=to)
    audit.record(actor, "vault.copy.transferred", copy, details=_custody_details(copy, to_account_id=to.pk))
    return copy


@transaction.atomic(durable=True)
def return_copy(*, actor, copy: Copy | int) -> Copy:
    """The copy comes back to the holding organ's registry and leaves the open items. A return does
    not depend on the designation (a copy must come back whatever became of it): the copy alone is
    locked."""
    copy = _locked(copy)  # decide on the row as it is now, not as the caller last saw it
    _check_held(copy)
    policy.require(actor, "vault.copy.return", copy)
    rows.change(copy, state=Copy.State.RETURNED, closed_at=timezone.now())
    _event(actor, copy, CustodyEvent.Kind.RETURNED, counterpart_name=copy.version.document.designation.organisation.code)
    audit.record(actor, "vault.copy.returned", copy, details=_custody_details(copy, closed_at=copy.closed_at))
    return copy


def destruction_review_token(copy: Copy, *, witness: Account | None, method: str) -> str:
    """What the review of a destruction showed (issue 15 "review before final"): the copy as it was
    — its state, its custodian and its latest custody event, so anything that happened to it since
    (destroyed, returned or handed over in another window) changes it — and a digest of the method
    and witness as entered. The review page sends it back with the confirmation; ``destroy_copy``
    refuses a confirmation whose token no longer matches (``changed_since_review``)."""
    last = CustodyEvent.objects.filter(copy_id=copy.pk).order_by("-id").values_list("id", flat=True).first()
    entered = canonical_json({"method": str(method or "").replace("\r\n", "\n"),
                              "witness": witness.pk if witness is not None else None})
    return f"{copy.state}:{copy.holder_id or 0}:{last or 0}:{hashlib.sha256(entered).hexdigest()[:32]}"


CHANGED_SINCE_REVIEW = (
    "changed_since_review",
    "確認画面を開いた後に、この複製の状況が変わりました（別の画面での廃棄、返却又は引渡しなど）。廃棄は記録されていません。最新の状況を確認してください。",
    "This copy changed after you opened the review (for example it was destroyed, returned or handed over in "
    "another window). The destruction was not recorded; check the copy as it is now.")


def _destruction_checked(actor, copy: Copy, *, witness: Account | None, method: str,
                         witness_known: bool = True) -> str:
    """Every rule of a destruction, on the copy and the witness as given; the method as recorded.

    ``witness_known=False`` (the review) leaves out whether the name is an active account: a review
    that answered it would tell anyone who may destroy a copy, for nothing, which user names exist
    (issue 12: no user-name oracle). The confirmation answers it, where it costs a destruction."""
    _check_held(copy)
    policy.require(actor, "vault.copy.destroy", copy)
    method = _short_text(method, "method", "廃棄の方法", "Method of destruction", required=True)
    if witness_known and (witness is None or not witness.is_active):
        raise RuleViolation("witness_required", "立会人を、有効なアカウントのユーザー名で指定してください。",
                            "Name the witness by the user name of an active account.", field="witness")
    if witness is not None and actor.account is not None and witness.pk == actor.account.pk:
        raise RuleViolation("witness_not_self", "立会人は廃棄する本人以外の者でなければなりません。",
                            "The witness must be someone other than the person destroying the copy.", field="witness")
    return method


@dataclass(frozen=True)
class DestructionReview:
    """What the review page of a destruction shows and sends back: the method as it will be recorded
    (after the text policy), the witness as stored now, and the review's token."""

    method: str
    witness: Account | None  # None: not an active account's name (told only at the confirmation)
    reviewed: str


def check_destruction(*, actor, copy: Copy | int, witness: Account | None, method: str) -> DestructionReview:
    """The rules of ``destroy_copy`` on the copy and the witness as stored now, writing nothing: the
    review page (issue 15 "review before final") shows a rule's own message before the review, not
    after the confirmation. The token is of the copy as read here; ``destroy_copy`` checks every
    rule again on the locked row."""
    fresh = (Copy.objects.select_related("version__document__designation__organisation", "holder_organisation")
             .filter(pk=_pk(copy)).first())
    if fresh is None:
        raise NotFound
    if witness is not None:
        witness = Account.objects.select_related("person").filter(pk=witness.pk).first()
    recorded = _destruction_checked(actor, fresh, witness=witness, method=method, witness_known=False)
    return DestructionReview(method=recorded, witness=witness,
                             reviewed=destruction_review_token(fresh, witness=witness, method=method))


@transaction.atomic(durable=True)
def destroy_copy(*, actor, copy: Copy | int, witness: Account | None, method: str,
                 reviewed: str | None = None) -> Copy:
    """Destroyed in front of a witness: another person, whose name goes on the record.

    ``reviewed`` is the ``destruction_review_token`` of the review page the person confirmed (the
    screens send it; the API does not, None: no review to compare): when the copy changed since, or
    the method or witness is not the one reviewed, nothing is recorded (``changed_since_review``).
    It is compared first, on the locked row: a copy closed or handed on since the review is told as
    exactly that, not as a closed copy or a copy someone else holds."""
    copy = _locked(copy)  # decide on the row as it is now, not as the caller last saw it
    witness = _fresh_account(witness)
    if reviewed is not None and reviewed != destruction_review_token(copy, witness=witness, method=method):
        raise RuleViolation(*CHANGED_SINCE_REVIEW)
    method = _destruction_checked(actor, copy, witness=witness, method=method)
    rows.change(copy, state=Copy.State.DESTROYED, closed_at=timezone.now())
    _event(actor, copy, CustodyEvent.Kind.DESTROYED, witness=witness, method=method)
    audit.record(actor, "vault.copy.destroyed", copy,
                 details=_custody_details(copy, closed_at=copy.closed_at, witness_account_id=witness.pk))
    return copy
