"""Issue 15 "review before final" for the record of a copy's destruction, which cannot be undone.
The form's POST shows a review page — the copy, the method, the witness, who records it and when —
and writes nothing; "Confirm" records it through ``destroy_copy(reviewed=)`` with the review's
token, so a copy destroyed, returned or handed over in another window between the review and the
confirmation is refused (409, the reason shown) and nothing is written; "Go back to edit" keeps
what was typed; bad input and the service's own rules are answered before any review. The API
keeps its contract: no token, no review (``reviewed=None``)."""

from __future__ import annotations

import re

import pytest

from hozen.audit.models import AuditEntry
from hozen.core.errors import RuleViolation
from hozen.vault import services
from hozen.vault.models import Copy, CustodyEvent

pytestmark = pytest.mark.django_db

CHANGED = "確認画面を開いた後に、この複製の状況が変わりました"


def token_of(page: str) -> str:
    return re.search(r'name="reviewed" value="([^"]+)"', page).group(1)


@pytest.fixture
def held(handler, upload_pdf):
    """A downloaded copy the handler holds."""
    delivery = services.deliver(actor=handler, version=upload_pdf(), kind="download")
    delivery.close()
    return delivery.copy


@pytest.fixture
def client(signed_in, handler):
    return signed_in(handler.account, handler.assignment)


@pytest.fixture
def entered(meti):
    return {"action": "destroy", "destroy-method": "シュレッダー（クロスカット）",
            "destroy-witness": meti["security"].account.username}


def url(copy) -> str:
    return f"/vault/copies/{copy.pk}/"


def _unchanged(copy) -> bool:
    row = Copy.objects.get(pk=copy.pk)
    return (row.state == "out" and row.closed_at is None
            and not CustodyEvent.objects.filter(copy=copy, kind="destroyed").exists()
            and not AuditEntry.objects.filter(action="vault.copy.destroyed").exists())


def test_the_destruction_review_lists_what_will_be_recorded_and_writes_nothing(client, held, entered, handler,
                                                                               designation):
    entries = AuditEntry.objects.count()
    response = client.post(url(held), entered)
    page = response.content.decode()
    assert response.status_code == 200 and 'id="destruction-review"' in page
    facts = page[page.index('id="destruction-review"'):]
    facts = facts[:facts.index("</dl>")]
    for shown in (designation.reference, f"#{held.version.document_id}", entered["destroy-witness"],
                  handler.account.person.full_name, "（2026-06-01）"):
        assert shown in facts, shown
    # The method as it will be recorded (the text policy's NFKC form), not only as typed.
    assert re.search(r'id="review-method">シュレッダー\(クロスカット\)<', facts)
    assert 'id="confirm-destruction"' in page and 'id="edit-destruction"' in page
    assert _unchanged(held) and AuditEntry.objects.count() == entries


def test_the_review_shows_the_method_as_it_will_be_recorded(client, held, entered):
    page = client.post(url(held), {**entered, "destroy-method": "ｼｭﾚｯﾀﾞｰ"}).content.decode()
    assert re.search(r'id="review-method">シュレッダー<', page)  # the text policy's form (NFKC), as stored
    assert _unchanged(held)


def test_confirming_the_review_records_the_destruction_once(client, held, entered, meti):
    page = client.post(url(held), entered).content.decode()
    confirm = {**entered, "step": "confirm", "reviewed": token_of(page)}
    response = client.post(url(held), confirm)
    assert response.status_code == 302 and response["Location"] == url(held)
    row = Copy.objects.get(pk=held.pk)
    assert row.state == "destroyed" and row.closed_at is not None
    event = CustodyEvent.objects.get(copy=held, kind="destroyed")
    assert (event.method, event.witness_id) == ("シュレッダー(クロスカット)", meti["security"].account.pk)
    assert AuditEntry.objects.filter(action="vault.copy.destroyed", outcome="success").count() == 1
    # The same confirmation again (a double click, a reload): refused, nothing more recorded.
    again = client.post(url(held), confirm)
    assert again.status_code == 409 and CHANGED in again.content.decode()
    assert CustodyEvent.objects.filter(copy=held, kind="destroyed").count() == 1
    assert AuditEntry.objects.filter(action="vault.copy.destroyed").count() == 1


def test_a_copy_destroyed_in_another_window_after_the_review_is_refused_with_the_reason(client, held, entered,
                                                                                         meti, handler):
    page = client.post(url(held), entered).content.decode()
    # The registry records the destruction meanwhile (another person, another screen).
    services.destroy_copy(actor=meti["security"], copy=held.pk, witness=handler.account, method="溶解")
    response = client.post(url(held), {**entered, "step": "confirm", "reviewed": token_of(page)})
    body = response.content.decode()
    assert response.status_code == 409 and CHANGED in body
    assert 'id="destroy-form"' not in body  # the copy as it is now: destroyed, nothing more to record
    event = CustodyEvent.objects.get(copy=held, kind="destroyed")
    assert event.method == "溶解" and event.witness_id == handler.account.pk
    assert AuditEntry.objects.filter(action="vault.copy.destroyed").count() == 1


def test_a_copy_handed_over_after_the_review_is_not_recorded_as_destroyed(client, held, entered, handler, cleared,
                                                                          designation):
    page = client.post(url(held), entered).content.decode()
    colleague = cleared(designation)
    services.transfer(actor=handler, copy=held.pk, to=colleague.account)  # in another window
    response = client.post(url(held), {**entered, "step": "confirm", "reviewed": token_of(page)})
    assert response.status_code == 409 and CHANGED in response.content.decode()
    row = Copy.objects.get(pk=held.pk)
    assert row.state == "out" and row.holder_id == colleague.account.pk
    assert not CustodyEvent.objects.filter(copy=held, kind="destroyed").exists()
    assert not AuditEntry.objects.filter(action="vault.copy.destroyed").exists()


def test_going_back_from_the_review_keeps_the_values_typed(client, held, entered):
    page = client.post(url(held), entered).content.decode()
    response = client.post(url(held), {**entered, "step": "edit", "reviewed": token_of(page)})
    back = response.content.decode()
    assert response.status_code == 200 and 'id="destroy-form"' in back and 'id="destruction-review"' not in back
    assert 'value="シュレッダー（クロスカット）"' in back and f'value="{entered["destroy-witness"]}"' in back
    assert 'class="error-summary"' not in back
    assert _unchanged(held)


@pytest.mark.parametrize(("change", "field", "said"), [
    ({"destroy-method": ""}, "method", None),  # the form's own check
    ({"destroy-witness": ""}, "witness", None),
    ("self", "witness", "立会人は廃棄する本人以外の者でなければなりません。"),  # the service's rule
    ({"destroy-method": "\u200b\u200b"}, "method", None),  # nothing visible: the text policy
])
def test_bad_input_is_answered_beside_the_field_before_any_review(client, held, entered, handler, change, field,
                                                                  said):
    data = {**entered, **({"destroy-witness": handler.account.username} if change == "self" else change)}
    response = client.post(url(held), data)
    page = response.content.decode()
    assert response.status_code == 422 and 'id="destruction-review"' not in page
    assert f'id="id_destroy-{field}_error"' in page
    if said:
        assert said in page
    assert _unchanged(held)


def test_the_review_does_not_tell_which_user_names_exist_the_confirmation_refuses_an_unknown_witness(
        client, held, entered):
    """No user-name oracle (issue 12): the review shows any witness name as typed, known or not; an
    unknown name is refused at the confirmation, beside the field, with nothing recorded."""
    known = client.post(url(held), entered)
    unknown_entry = {**entered, "destroy-witness": "nobody-of-that-name"}
    unknown = client.post(url(held), unknown_entry)
    assert known.status_code == unknown.status_code == 200
    assert 'id="destruction-review"' in unknown.content.decode() and "nobody-of-that-name" in unknown.content.decode()
    confirmed = client.post(url(held), {**unknown_entry, "step": "confirm", "reviewed": token_of(unknown.content.decode())})
    page = confirmed.content.decode()
    assert confirmed.status_code == 422 and 'id="id_destroy-witness_error"' in page
    assert "立会人を、有効なアカウントのユーザー名で指定してください。" in page
    assert _unchanged(held)


def test_a_confirmation_other_than_what_was_reviewed_is_refused(client, held, entered):
    page = client.post(url(held), entered).content.decode()
    altered = {**entered, "destroy-method": "焼却", "step": "confirm", "reviewed": token_of(page)}
    assert client.post(url(held), altered).status_code == 409
    no_token = {**entered, "step": "confirm"}
    assert client.post(url(held), no_token).status_code == 409
    assert _unchanged(held)


def test_the_service_refuses_a_token_of_another_review_and_the_api_needs_none(held, handler, meti):
    witness = meti["security"].account
    reviewed = services.destruction_review_token(held, witness=witness, method="細断")
    # A physical medium made from the copy is the medium's record, not a change of this copy.
    services.record_medium(actor=handler, parent=held.pk, medium="紙")
    assert services.destruction_review_token(Copy.objects.get(pk=held.pk), witness=witness, method="細断") == reviewed
    with pytest.raises(RuleViolation) as info:  # not the method reviewed
        services.destroy_copy(actor=handler, copy=held.pk, witness=witness, method="焼却", reviewed=reviewed)
    assert info.value.code == "changed_since_review" and _unchanged(held)
    with pytest.raises(RuleViolation) as info:  # not the witness reviewed
        services.destroy_copy(actor=handler, copy=held.pk, witness=meti["manager"].account, method="細断",
                              reviewed=reviewed)
    assert info.value.code == "changed_since_review" and _unchanged(held)
    # Without a token (the API's contract, reviewed=None): recorded as before.
    services.destroy_copy(actor=handler, copy=held.pk, witness=witness, method="細断")
    assert Copy.objects.get(pk=held.pk).state == "destroyed"
