"""Replaying copies and document versions from the audit log (ARCHITECTURE rule 10;
`hozen.audit.reconcile`).

Copies (`vault.copy`), from their custody entries — `vault.document.viewed` and `.downloaded` (the
entry of a view or download names the copy it made), `vault.copy.copied`, `.received`,
`.transferred`, `.returned` and `.destroyed`: held, returned or destroyed; the copy number and
kind; the document and version; who holds it and in which organisation after every hand-over;
when it was issued and closed. Document versions (`vault.documentversion`, from
`vault.document.uploaded`): the version number, its document, size, SHA-256 and whether it is a
PDF. Entries carry ids, numbers and checksums only, never titles or content.

Entries written before a detail was recorded leave that field out of the comparison.
"""

from __future__ import annotations

from hozen.audit.reconcile import Replayer, details

from .models import Copy, DocumentVersion

ISSUED = {"vault.document.viewed": Copy.Kind.VIEW, "vault.document.downloaded": Copy.Kind.DOWNLOAD,
          "vault.copy.copied": Copy.Kind.MEDIUM, "vault.copy.received": Copy.Kind.MEDIUM}
CLOSED = {"vault.copy.returned": Copy.State.RETURNED, "vault.copy.destroyed": Copy.State.DESTROYED}
COPY_ACTIONS = frozenset({*ISSUED, *CLOSED, "vault.copy.transferred"})
COPY_FIELDS = ("state", "number", "kind", "holder", "holder_organisation", "document", "version", "issued_at",
               "closed_at")


def _id(ref) -> str | None:
    """The id of a target reference as the log writes one (``{"type", "id"}``), or None."""
    return str(ref["id"]) if isinstance(ref, dict) and "id" in ref else None


def replay_copy(entries: list[dict]) -> dict:
    out: dict = {}
    for entry in entries:
        action, d = entry["action"], details(entry)
        if action in ISSUED:
            out.update(state=Copy.State.OUT, kind=ISSUED[action], closed_at=None)
        elif action in CLOSED:
            out["state"] = CLOSED[action]
            out.pop("closed_at", None)  # known only from entries that record it (below)
        elif action == "vault.copy.transferred":
            if isinstance(d.get("to_account_id"), int):
                out["holder"] = d["to_account_id"]
            out.pop("holder_organisation", None)  # likewise
        if isinstance(d.get("copy_number"), int):
            out["number"] = d["copy_number"]
        if isinstance(d.get("holder_account_id"), int):
            out["holder"] = d["holder_account_id"]
        for key in ("state", "kind", "holder_organisation", "issued_at", "closed_at"):
            if key in d:
                out[key] = d[key]
        for key in ("document", "version"):
            if _id(d.get(key)) is not None:
                out[key] = _id(d[key])
    return out


def stored_copy(row: Copy) -> dict:
    return {"state": row.state, "number": row.number, "kind": row.kind, "holder": row.holder_id,
            "holder_organisation": row.holder_organisation.code if row.holder_organisation_id else None,
            "document": str(row.document_id), "version": str(row.version_id), "issued_at": row.issued_at,
            "closed_at": row.closed_at}


COPIES = Replayer(kind="vault_copy", model=Copy, target_type="vault.copy", actions=COPY_ACTIONS,
                  replay=replay_copy, stored=stored_copy, fields=COPY_FIELDS, related=("holder_organisation",))


VERSION_FIELDS = ("number", "document", "size", "sha256", "is_pdf")


def replay_version(entries: list[dict]) -> dict:
    out: dict = {}
    for entry in entries:
        d = details(entry)
        if isinstance(d.get("version"), int):
            out["number"] = d["version"]
        if _id(d.get("document")) is not None:
            out["document"] = _id(d["document"])
        for key in ("size", "sha256"):
            if key in d:
                out[key] = d[key]
        if "pdf" in d:
            out["is_pdf"] = d["pdf"]
    return out


def stored_version(row: DocumentVersion) -> dict:
    return {"number": row.number, "document": str(row.document_id), "size": row.size, "sha256": row.sha256,
            "is_pdf": row.is_pdf}


VERSIONS = Replayer(kind="vault_version", model=DocumentVersion, target_type="vault.documentversion",
                    actions=frozenset({"vault.document.uploaded"}), replay=replay_version, stored=stored_version,
                    fields=VERSION_FIELDS)

REPLAYERS = (COPIES, VERSIONS)
