"""ARCHITECTURE rule 10 for the vault: every copy replays from its custody entries (issued, handed
over, returned, destroyed) and every version from its upload; a change made behind the services'
back is named with the record, the field, the value the log implies and the value stored."""

from __future__ import annotations

import io
import json

import pytest
from django.db import connection

from hozen.audit.models import AuditEntry
from hozen.audit.reconcile import reconcile
from hozen.vault import services
from hozen.vault.models import Copy

KINDS = ["vault_copy", "vault_version"]

pytestmark = pytest.mark.django_db


def raw(sql: str, *params) -> None:
    """A change behind the services' back: no service, no audit entry."""
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def found(report) -> dict:
    return {(d.kind, d.record_id, d.field): (d.logged, d.stored) for d in report.disagreements}


def _copy(actor, version, kind="download") -> Copy:
    delivery = services.deliver(actor=actor, version=version, kind=kind)
    delivery.close()
    return delivery.copy


def test_every_copy_and_version_replays_to_the_stored_rows(upload_pdf, handler, designation, cleared, meti):
    version = upload_pdf()
    second = services.upload(actor=handler, document=version.document, source=io.BytesIO(b"v2"), filename="v2.txt")
    _copy(handler, version, kind="view")
    kept = _copy(handler, second)
    printout = services.record_medium(actor=handler, parent=kept, medium="紙（印刷）")
    received = services.record_medium(actor=handler, document=version.document, medium="DVD-R",
                                      received_from="総務省 情報保全室")
    colleague = cleared(designation)
    services.transfer(actor=handler, copy=printout, to=colleague.account)
    services.return_copy(actor=colleague, copy=printout)
    services.destroy_copy(actor=handler, copy=kept, witness=meti["security"].account, method="細断")
    services.transfer(actor=handler, copy=received.pk, to=colleague.account)
    report = reconcile(kinds=KINDS)
    assert report.ok, [d.line() for d in report.disagreements]
    assert report.checked == {"vault_copy": 4, "vault_version": 2}
    assert sorted(Copy.objects.values_list("number", flat=True)) == [1, 2, 3, 4]


def test_the_entry_of_a_download_names_the_copy_and_what_was_read(upload_pdf, handler):
    version = upload_pdf()
    copy = _copy(handler, version)
    entry = AuditEntry.objects.get(action="vault.document.downloaded")
    assert (entry.target_type, entry.target_id) == ("vault.copy", str(copy.pk))
    d = json.loads(entry.data)["details"]
    assert d["version"] == {"type": "vault.documentversion", "id": str(version.pk)}
    assert (d["copy_number"], d["state"], d["holder_account_id"], d["marking_state"]) == (
        1, "out", handler.account.pk, "designated")
    assert "防護計画書" not in entry.data  # the title never goes into the log


def test_a_destroyed_copy_set_back_to_issued_is_named(upload_pdf, handler, meti):
    copy = services.destroy_copy(actor=handler, copy=_copy(handler, upload_pdf()), witness=meti["security"].account,
                                 method="細断")
    closed_at = copy.closed_at.isoformat().replace("+00:00", "Z")
    raw("UPDATE vault_copy SET state = 'out', closed_at = NULL WHERE id = %s", copy.pk)
    assert found(reconcile(kinds=KINDS)) == {
        ("vault_copy", str(copy.pk), "state"): ("destroyed", "out"),
        ("vault_copy", str(copy.pk), "closed_at"): (closed_at, None),
    }


def test_a_copys_holder_changed_behind_the_services_back_is_named(upload_pdf, handler, designation, cleared):
    copy = _copy(handler, upload_pdf())
    colleague = cleared(designation)
    services.transfer(actor=handler, copy=copy, to=colleague.account)
    raw("UPDATE vault_copy SET holder_id = %s WHERE id = %s", handler.account.pk, copy.pk)
    lines = [d.line() for d in reconcile(kinds=KINDS).disagreements]
    assert lines == [f"vault_copy {copy.pk}: holder: the log says {colleague.account.pk}, "
                     f"the row holds {handler.account.pk}"]


def test_a_version_whose_checksum_was_rewritten_is_named(upload_pdf):
    version = upload_pdf()
    logged = version.sha256
    raw("UPDATE vault_documentversion SET sha256 = %s WHERE id = %s", "0" * 64, version.pk)
    assert found(reconcile(kinds=KINDS)) == {("vault_version", str(version.pk), "sha256"): (logged, "0" * 64)}


def test_a_copy_with_no_custody_entry_is_named(upload_pdf, handler):
    copy = _copy(handler, upload_pdf())
    raw("DELETE FROM audit_auditentry WHERE target_type = 'vault.copy' AND target_id = %s", str(copy.pk))
    assert [(d.record_id, d.field, d.logged) for d in reconcile(kinds=["vault_copy"]).disagreements] == [
        (str(copy.pk), "*", "(no lifecycle entry)")]
