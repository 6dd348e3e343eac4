"""Issue 12 in the vault: custody records hold typed text by the one text policy (§1), and a custody
step that describes a fact is refused when the same fact is recorded again (§5): same person, same
day, same medium, from the same copy or the same sender. Steps that change a copy's state
(transfer, return, destruction) cannot be recorded twice: the second is refused on the copy's state.
Time is frozen at 2026-06-01 03:00 UTC (conftest)."""

from __future__ import annotations

import datetime as dt
import io

import pytest

from hozen.audit.models import AuditEntry
from hozen.core.errors import RuleViolation
from hozen.vault import services
from hozen.vault.models import Copy, CustodyEvent, Document


def _copy(actor, version) -> Copy:
    delivery = services.deliver(actor=actor, version=version, kind="download")
    delivery.close()
    return delivery.copy


def _writes() -> tuple:
    return Copy.objects.count(), CustodyEvent.objects.count(), AuditEntry.objects.filter(outcome="success").count()


def _refused(call, field: str | None, code: str) -> RuleViolation:
    before = _writes()
    with pytest.raises(RuleViolation) as info:
        call()
    assert (info.value.code, info.value.field) == (code, field), info.value.message_en
    assert info.value.message_ja and info.value.message_en
    assert _writes() == before
    return info.value


# --- facts recorded once ------------------------------------------------------------------------------

def test_the_same_medium_received_twice_from_the_same_sender_on_one_day_is_refused(upload_pdf, handler):
    document = upload_pdf().document
    services.record_medium(actor=handler, document=document, medium="DVD-R", received_from="総務省 情報保全室")
    violation = _refused(lambda: services.record_medium(actor=handler, document=document, medium="DVD-R",
                                                        received_from="総務省 情報保全室"),
                         "medium", "duplicate_custody_record")
    assert "2 of 2" in violation.message_en
    # A second disc said to be one is another fact; so is the same disc from another sender.
    services.record_medium(actor=handler, document=document, medium="DVD-R 2枚目", received_from="総務省 情報保全室")
    services.record_medium(actor=handler, document=document, medium="DVD-R", received_from="内閣府 情報保全室")
    assert CustodyEvent.objects.filter(kind="received").count() == 3


def test_the_same_medium_received_on_another_day_is_recorded(upload_pdf, handler, _frozen_today):
    document = upload_pdf().document
    services.record_medium(actor=handler, document=document, medium="DVD-R", received_from="総務省")
    _frozen_today.move_to(dt.datetime(2026, 6, 2, 3, 0, tzinfo=dt.UTC))
    services.record_medium(actor=handler, document=document, medium="DVD-R", received_from="総務省")
    assert CustodyEvent.objects.filter(kind="received").count() == 2


def test_the_same_medium_copied_twice_from_one_copy_on_one_day_is_refused(upload_pdf, handler):
    download = _copy(handler, upload_pdf())
    services.record_medium(actor=handler, parent=download, medium="紙（印刷）")
    _refused(lambda: services.record_medium(actor=handler, parent=download, medium="紙（印刷）"),
             "medium", "duplicate_custody_record")
    services.record_medium(actor=handler, parent=download, medium="紙（印刷）2部目")
    assert Copy.objects.filter(parent=download).count() == 2


def test_a_transfer_return_or_destruction_recorded_twice_is_refused_the_second_time(upload_pdf, handler, designation,
                                                                                    cleared, meti):
    version = upload_pdf()
    colleague = cleared(designation)
    handed = _copy(handler, version)
    services.transfer(actor=handler, copy=handed, to=colleague.account)
    _refused(lambda: services.transfer(actor=colleague, copy=handed, to=colleague.account), "to", "same_custodian")
    services.return_copy(actor=colleague, copy=handed)
    _refused(lambda: services.return_copy(actor=colleague, copy=handed), None, "copy_closed")
    burnt = _copy(handler, version)
    services.destroy_copy(actor=handler, copy=burnt, witness=meti["security"].account, method="シュレッダー")
    _refused(lambda: services.destroy_copy(actor=handler, copy=burnt, witness=meti["security"].account,
                                           method="シュレッダー"), None, "copy_closed")


# --- the one text policy on custody records and documents ------------------------------------------------

@pytest.mark.parametrize(("field", "value"), [("medium", "DVD\x00-R"), ("received_from", "総務省\u202e室全保報情")])
def test_a_received_mediums_texts_follow_the_policy(upload_pdf, handler, field, value):
    document = upload_pdf().document
    values = {"medium": "DVD-R", "received_from": "総務省", field: value}
    _refused(lambda: services.record_medium(actor=handler, document=document, **values), field, "invalid_character")


def test_a_method_of_destruction_follows_the_policy(upload_pdf, handler, meti):
    copy = _copy(handler, upload_pdf())
    _refused(lambda: services.destroy_copy(actor=handler, copy=copy, witness=meti["security"].account,
                                           method="\x00" * 11), "method", "invalid_character")
    _refused(lambda: services.destroy_copy(actor=handler, copy=copy, witness=meti["security"].account,
                                           method="\u200b\u200b"), "method", "text_too_short")
    services.destroy_copy(actor=handler, copy=copy, witness=meti["security"].account, method="ｼｭﾚｯﾀﾞｰ（ｸﾛｽｶｯﾄ）")
    assert CustodyEvent.objects.get(kind="destroyed").method == "シュレッダー(クロスカット)"


def test_a_document_title_with_an_override_is_refused_and_half_width_kana_stored_full_width(handler, designation):
    _refused(lambda: services.upload(actor=handler, designation=designation, title="計画\u202e書", filename="a.txt",
                                     source=io.BytesIO(b"x")), "title", "invalid_character")
    version = services.upload(actor=handler, designation=designation, title="ﾎﾞｳｺﾞ計画書", filename="ﾒﾓ.txt",
                              source=io.BytesIO(b"x"))
    assert Document.objects.get(pk=version.document_id).title == "ボウゴ計画書"
    assert version.filename == "メモ.txt"
