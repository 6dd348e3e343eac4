"""ARCHITECTURE rules 8 and 9 for the vault: uploads, copies, media and hand-overs decide on the rows as
they are in their own transaction (the designation locked first), with the access facts read again;
and a designation past its term end is ended for the vault on that day, before the expiry job has
recorded it. Every refusal writes nothing."""

from __future__ import annotations

import datetime as dt
import io

import pytest

from hozen.access.policy import PolicyDenied, decide
from hozen.audit.models import AuditEntry
from hozen.core.errors import NotFound, RuleViolation
from hozen.designation.models import Designation
from hozen.handling.models import HandlerEntry
from hozen.vault import queries, services
from hozen.vault.models import Copy, CustodyEvent, Document, DocumentVersion
from tests.handling_factories import unseen

pytestmark = pytest.mark.django_db

AFTER_TERM = dt.datetime(2031, 6, 1, 3, 0, tzinfo=dt.UTC)  # the term ended 2031-05-31; no job has run


def _copy(actor, version, kind="download") -> Copy:
    delivery = services.deliver(actor=actor, version=version, kind=kind)
    delivery.close()
    return delivery.copy


def _committed_elsewhere_before_the_lock(monkeypatch, change):
    """Run `change` as if another process committed it just before the service's designation lock
    was granted."""
    real = services.lock_designation

    def lock(target, **kwargs):
        unseen(change)
        return real(target, **kwargs)

    monkeypatch.setattr(services, "lock_designation", lock)


def test_nothing_is_uploaded_after_the_term_end_even_before_the_expiry_job(upload_pdf, handler, designation,
                                                                          _frozen_today, _vault_folder):
    version = upload_pdf()
    _frozen_today.move_to(AFTER_TERM)
    assert Designation.objects.get(pk=designation.pk).state == "designated"
    for attempt in (lambda: services.upload(actor=handler, designation=designation, title="t",
                                            source=io.BytesIO(b"x"), filename="a.txt"),
                    lambda: services.upload(actor=handler, document=version.document, source=io.BytesIO(b"x"),
                                            filename="a.txt")):
        with pytest.raises(PolicyDenied) as exc:
            attempt()
        assert exc.value.decision.code == "designation_not_in_force"
    assert Document.objects.count() == 1 and DocumentVersion.objects.count() == 1
    assert len(list((_vault_folder).rglob("*.hzv"))) == 1
    assert AuditEntry.objects.filter(action="vault.document.uploaded", outcome="success").count() == 1


def test_an_upload_as_the_designation_is_cancelled_is_refused_on_the_locked_row(handler, designation, monkeypatch,
                                                                               _vault_folder):
    """The cancellation commits between the upload's first decision and its transaction: the
    upload decides again on the designation as locked and files nothing."""
    _committed_elsewhere_before_the_lock(monkeypatch, lambda: Designation.objects.filter(pk=designation.pk).update(
        state="cancelled", ended_on=dt.date(2026, 6, 1)))
    with pytest.raises(PolicyDenied) as exc:
        services.upload(actor=handler, designation=designation, title="t", source=io.BytesIO(b"x"), filename="a.txt")
    assert exc.value.decision.code == "designation_not_in_force"
    assert not Document.objects.exists() and not list(_vault_folder.rglob("*.hzv"))
    assert not AuditEntry.objects.filter(action="vault.document.uploaded").exists()


def test_a_copy_issued_as_the_designation_is_cancelled_carries_the_new_marking(upload_pdf, handler, designation,
                                                                             monkeypatch):
    version = upload_pdf()
    _committed_elsewhere_before_the_lock(monkeypatch, lambda: Designation.objects.filter(pk=designation.pk).update(
        state="cancelled", ended_on=dt.date(2026, 6, 1)))
    copy = _copy(handler, version)  # still a valid handler: ended material, under its new marking
    assert copy.marking == "重要経済安保情報（指定解除）"
    entry = AuditEntry.objects.get(action="vault.document.downloaded")
    assert '"marking_state":"cancelled"' in entry.data


def test_a_copy_is_not_issued_to_someone_taken_off_the_list_meanwhile(upload_pdf, handler, monkeypatch):
    """Removed from the handler list between the first decision and the copy's transaction (in
    another process): the copy's transaction decides again on facts read afresh. 404 as for anyone
    without need to know; the refused read is audited after the rollback; no copy, no number used."""
    version = upload_pdf()
    _committed_elsewhere_before_the_lock(monkeypatch, lambda: HandlerEntry.objects.filter(
        account=handler.account).update(ended_at=dt.datetime(2026, 6, 1, 2, 0, tzinfo=dt.UTC), end_reason="removed"))
    assert decide(handler, "vault.document.read", version).allowed  # the request's facts, cached
    with pytest.raises(NotFound):
        services.deliver(actor=handler, version=version, kind="download")
    assert not Copy.objects.exists() and Document.objects.get().copies_issued == 0
    denied = AuditEntry.objects.get(action="vault.document.read", outcome="denied")
    assert denied.target_id == str(version.pk)


def test_no_copy_is_handed_on_after_the_term_end_even_before_the_expiry_job(upload_pdf, handler, designation,
                                                                           cleared, _frozen_today):
    colleague = cleared(designation)
    copy = _copy(handler, upload_pdf())
    _frozen_today.move_to(AFTER_TERM)
    with pytest.raises(RuleViolation) as exc:
        services.transfer(actor=handler, copy=copy, to=colleague.account)
    assert (exc.value.code, exc.value.field) == ("designation_not_in_force", "to")
    copy.refresh_from_db()
    assert copy.holder_id == handler.account.pk
    assert list(CustodyEvent.objects.filter(copy=copy).values_list("kind", flat=True)) == ["downloaded"]
    # The copy still comes back: a return does not depend on the designation.
    services.return_copy(actor=handler, copy=copy)
    assert Copy.objects.get(pk=copy.pk).state == "returned"


def test_the_holding_organ_keeps_material_past_its_term_before_the_expiry_job(upload_pdf, designation, meti,
                                                                             _frozen_today):
    upload_pdf()
    assert not decide(meti["manager"], "vault.material.read", designation).allowed  # in force: need to know
    _frozen_today.move_to(AFTER_TERM)
    decision = decide(meti["manager"], "vault.material.read", Designation.objects.get(pk=designation.pk))
    assert (decision.allowed, decision.code) == (True, "holding_organ_keeper")
    assert [d.pk for d in queries.designations_for(meti["manager"])] == [designation.pk]


def test_copy_numbers_are_unique_per_document_in_the_database(upload_pdf, handler):
    from django.db import IntegrityError, transaction

    version = upload_pdf()
    first = _copy(handler, version)
    second = services.upload(actor=handler, document=version.document, source=io.BytesIO(b"v2"), filename="v2.txt")
    with pytest.raises(IntegrityError), transaction.atomic():
        Copy.objects.create(version=second, document=version.document, number=first.number, kind="medium",
                            token="f" * 24, recipient_name="x", recipient_organisation="x", holder_name="x")


def test_services_take_ids_and_read_the_rows_themselves(upload_pdf, handler, designation, meti):
    """A service receives ids (or a row it locks itself), never relies on an instance a view loaded."""
    version = upload_pdf()
    second = services.upload(actor=handler, document=version.document_id, source=io.BytesIO(b"v2"), filename="v2.txt")
    delivery = services.deliver(actor=handler, version=second.pk, kind="download")
    delivery.close()
    medium = services.record_medium(actor=handler, document=version.document_id, medium="DVD-R", received_from="MIC")
    services.return_copy(actor=handler, copy=delivery.copy.pk)
    services.destroy_copy(actor=handler, copy=medium.pk, witness=meti["security"].account, method="細断")
    assert (second.number, delivery.copy.number, medium.number) == (2, 1, 2)
    assert sorted(Copy.objects.values_list("state", flat=True)) == ["destroyed", "returned"]
    with pytest.raises(NotFound):
        services.deliver(actor=handler, version=10**6, kind="view")
    with pytest.raises(NotFound):
        services.upload(actor=handler, designation="nonsense", title="t", source=io.BytesIO(b"x"), filename="a.txt")
