"""Custody (DOMAIN §5: every read, copy, transfer, return and destruction is recorded) and open items."""

from __future__ import annotations

import datetime as dt

import pytest

from hozen.access.policy import PolicyDenied
from hozen.audit.models import AuditEntry
from hozen.core.errors import RuleViolation
from hozen.vault import queries, services
from hozen.vault.models import Copy, CustodyEvent


def _copy(actor, version, kind="download") -> Copy:
    delivery = services.deliver(actor=actor, version=version, kind=kind)
    delivery.close()
    return delivery.copy


def _kinds(copy):
    return list(CustodyEvent.objects.filter(copy=copy).order_by("id").values_list("kind", flat=True))


def test_every_copy_read_copy_transfer_return_and_destruction_is_recorded(upload_pdf, handler, designation, cleared,
                                                                           meti):
    version = upload_pdf()
    download = _copy(handler, version)
    printout = services.record_medium(actor=handler, parent=download, medium="紙（印刷）")
    assert (printout.kind, printout.parent_id, printout.number) == ("medium", download.pk, 2)
    colleague = cleared(designation)
    services.transfer(actor=handler, copy=printout, to=colleague.account)
    services.return_copy(actor=colleague, copy=printout)
    services.destroy_copy(actor=handler, copy=download, witness=meti["security"].account, method="消去ソフトで完全消去")
    assert _kinds(download) == ["downloaded", "destroyed"]
    assert _kinds(printout) == ["copied", "transferred", "returned"]
    transferred = CustodyEvent.objects.get(kind="transferred")
    assert transferred.counterpart_id == colleague.account.pk
    destroyed = CustodyEvent.objects.get(kind="destroyed")
    assert destroyed.witness_id == meti["security"].account.pk and destroyed.witness_name
    actions = set(AuditEntry.objects.filter(action__startswith="vault.copy.").values_list("action", flat=True))
    assert actions == {"vault.copy.copied", "vault.copy.transferred", "vault.copy.returned", "vault.copy.destroyed"}


def test_received_medium_names_its_sender(upload_pdf, handler):
    version = upload_pdf()
    medium = services.record_medium(actor=handler, document=version.document, medium="DVD-R",
                                    received_from="総務省 情報保全室")
    event = CustodyEvent.objects.get(copy=medium)
    assert (event.kind, event.counterpart_name, event.method) == ("received", "総務省 情報保全室", "DVD-R")
    with pytest.raises(RuleViolation) as exc:
        services.record_medium(actor=handler, document=version.document, medium="DVD-R", received_from=" ")
    assert exc.value.field == "received_from"


def test_destruction_needs_a_witness_other_than_the_destroyer(upload_pdf, handler):
    copy = _copy(handler, upload_pdf())
    with pytest.raises(RuleViolation) as exc:
        services.destroy_copy(actor=handler, copy=copy, witness=None, method="shredded")
    assert exc.value.code == "witness_required"
    with pytest.raises(RuleViolation) as exc:
        services.destroy_copy(actor=handler, copy=copy, witness=handler.account, method="shredded")
    assert exc.value.code == "witness_not_self"
    copy.refresh_from_db()
    assert copy.state == "out" and _kinds(copy) == ["downloaded"]


def test_open_items_show_copies_not_yet_returned_or_destroyed(upload_pdf, handler, meti):
    version = upload_pdf()
    _copy(handler, version, kind="view")  # an on-screen view is not held
    kept = _copy(handler, version)
    returned = _copy(handler, version)
    services.return_copy(actor=meti["security"], copy=returned)  # the registry takes it back
    assert list(queries.open_items_for(handler)) == [kept]
    assert list(queries.open_items_for(meti["security"])) == [kept]  # the registry sees its organ's copies
    assert list(queries.open_items_for(meti["head_mic"])) == []  # another organ sees none


def test_a_closed_copy_cannot_be_closed_again_or_handed_on(upload_pdf, handler, designation, cleared, meti):
    """Decided on the copy as it is now (ARCHITECTURE rule 8), even when the caller's instance still
    says "held": a broken rule (422 `copy_closed`), nothing written."""
    copy = _copy(handler, upload_pdf())
    stale = Copy.objects.get(pk=copy.pk)  # loaded before the return, as a screen would have
    services.return_copy(actor=handler, copy=copy)
    colleague = cleared(designation)
    for attempt in (lambda: services.destroy_copy(actor=handler, copy=stale, witness=meti["security"].account,
                                                  method="shredded"),
                    lambda: services.return_copy(actor=meti["security"], copy=stale),
                    lambda: services.transfer(actor=handler, copy=stale, to=colleague.account),
                    lambda: services.record_medium(actor=handler, parent=stale, medium="紙（印刷）")):
        with pytest.raises(RuleViolation) as exc:
            attempt()
        assert exc.value.code == "copy_closed"
    copy.refresh_from_db()
    assert (copy.state, copy.holder_id) == ("returned", handler.account.pk)
    assert _kinds(copy) == ["downloaded", "returned"] and Copy.objects.count() == 1
    assert AuditEntry.objects.filter(action__startswith="vault.copy.").count() == 1


def test_a_view_is_not_a_held_copy(upload_pdf, handler):
    view = _copy(handler, upload_pdf(), kind="view")
    with pytest.raises(PolicyDenied) as exc:
        services.return_copy(actor=handler, copy=view)
    assert exc.value.decision.code == "view_not_held"


def test_the_custodian_returns_a_copy_after_their_clearance_lapsed(upload_pdf, designation, cleared, _frozen_today):
    reader = cleared(designation, valid_until=dt.date(2026, 6, 30))
    copy = _copy(reader, upload_pdf())
    _frozen_today.move_to(dt.datetime(2026, 7, 2, 3, 0, tzinfo=dt.UTC))
    services.return_copy(actor=reader, copy=copy)
    copy.refresh_from_db()
    assert copy.state == "returned"


def test_only_the_custodian_hands_a_copy_on(upload_pdf, handler, designation, cleared, meti):
    copy = _copy(handler, upload_pdf())
    other = cleared(designation)
    with pytest.raises(PolicyDenied) as exc:
        services.transfer(actor=other, copy=copy, to=other.account)
    assert exc.value.decision.code == "not_custodian"


def test_a_copy_is_never_handed_to_someone_without_need_to_know(upload_pdf, handler, meti):
    copy = _copy(handler, upload_pdf())
    with pytest.raises(RuleViolation) as exc:
        services.transfer(actor=handler, copy=copy, to=meti["manager"].account)
    assert exc.value.code == "recipient_not_cleared" and exc.value.field == "to"
    copy.refresh_from_db()
    assert copy.holder_id == handler.account.pk


def test_a_copy_handed_to_no_account_is_refused_as_to_someone_not_cleared(upload_pdf, handler, meti):
    """The web form sends an unknown user name as no account; the answer is the one a real person
    without need to know gets, so the form is no test of whether a name exists (issue 12 §8)."""
    copy = _copy(handler, upload_pdf())
    with pytest.raises(RuleViolation) as none:
        services.transfer(actor=handler, copy=copy, to=None)
    with pytest.raises(RuleViolation) as someone:
        services.transfer(actor=handler, copy=copy, to=meti["manager"].account)
    assert (none.value.code, none.value.message_en) == (someone.value.code, someone.value.message_en)
    copy.refresh_from_db()
    assert copy.holder_id == handler.account.pk


def test_copy_numbers_run_per_document_across_versions_and_media(upload_pdf, handler):
    import io

    v1 = upload_pdf()
    first = _copy(handler, v1)
    v2 = services.upload(actor=handler, document=v1.document, source=io.BytesIO(b"v2"), filename="v2.txt")
    second = _copy(handler, v2)
    medium = services.record_medium(actor=handler, parent=second, medium="USBメモリ")
    assert [first.number, second.number, medium.number] == [1, 2, 3]


def test_scope_and_decide_agree_on_every_copy(upload_pdf, handler, designation, cleared, meti):
    from hozen.access import policy

    version = upload_pdf()
    other = cleared(designation)
    copies = [_copy(handler, version), _copy(other, version), _copy(handler, version, kind="view")]
    for actor in (handler, other, meti["security"], meti["manager"], meti["head_mic"], meti["sysadmin"]):
        visible = set(Copy.objects.filter(policy.scope(actor, "vault.custody.view", Copy)).values_list("pk", flat=True))
        decided = {c.pk for c in copies if policy.decide(actor, "vault.copy.view", c).allowed}
        assert visible == decided, actor.role


def test_provided_material_a_business_employee_downloads_and_the_protection_officer_keeps_the_record(
        upload_pdf, designation, cleared, meti, orgs, people):
    """DOMAIN §3–§5: a certified business receives ESI under its contract; its listed employee reads
    it; the business's protection officer sees and closes the copies held in the business."""
    from hozen.designation import services as designations
    from tests import factories
    from tests.handling_factories import make_contract
    from tests.vault.conftest import actor_of

    contract = make_contract(orgs["METI"], orgs["TOWA"])
    designations.record_provision(actor=meti["head"], designation=designation, recipient_kind="business",
                                  recipient=orgs["TOWA"], contract=contract, basis="契約に基づく提供",
                                  provided_on=designation.designated_on, items="防護計画の一部",
                                  handler_list=["東和 技術部"])
    employee = cleared(designation, factories.account(role="subject", organisation=orgs["TOWA"]))
    version = upload_pdf()
    copy = _copy(employee, version)
    assert copy.holder_organisation_id == orgs["TOWA"].pk
    officer = actor_of(people["business_officer"])
    assert list(queries.open_items_for(officer)) == [copy]
    services.destroy_copy(actor=officer, copy=copy, witness=employee.account, method="細断")
    assert list(queries.open_items_for(officer)) == [] and list(queries.open_items_for(meti["security"])) == []


def test_a_denied_or_missing_copy_record_is_audited_and_both_look_missing(upload_pdf, handler, designation, orgs):
    """ARCHITECTURE rule 1: every denial of a read is audited; the caller hears 404 either way."""
    from hozen.audit.models import AuditEntry
    from hozen.core.errors import NotFound
    from hozen.vault import queries
    from tests import factories
    from tests.vault.conftest import actor_of

    copy, _, _ = _download_for_denial_test(handler, upload_pdf())
    outsider = actor_of(factories.account(role="subject", organisation=orgs["METI"]))
    with pytest.raises(NotFound):
        queries.copy_for(outsider, copy.pk)
    with pytest.raises(NotFound):
        queries.copy_for(outsider, copy.pk + 1000)
    denied = list(AuditEntry.objects.filter(action="vault.copy.view", outcome="denied").order_by("time", "pk"))
    assert len(denied) == 2
    assert denied[0].target_id == str(copy.pk) and denied[0].actor_name == outsider.account.username
    assert queries.copy_for(handler, copy.pk) == copy  # the custodian still sees it


def _download_for_denial_test(actor, version):
    delivery = services.deliver(actor=actor, version=version, kind="download")
    try:
        return delivery.copy, delivery.file.read(), delivery
    finally:
        delivery.close()
