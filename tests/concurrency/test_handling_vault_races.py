"""Integrity under concurrency for handler lists and the vault (issue 11): parallel requests over the
API, each thread with its own connection; exactly the allowed number succeed, the others get a clear
refusal with a code (never a 5xx), one audit entry per success, nothing ever added under a
designation after it ended, no copy number given twice, and the rows agree with the log afterwards.

Where the interleaving decides the outcome a race is run a few rounds and each possible outcome is
asserted exactly."""

from __future__ import annotations

import datetime as dt
import functools
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from hozen.audit.models import AuditEntry
from hozen.designation import services as designations
from hozen.designation.models import Designation, State
from hozen.handling.models import HandlerEntry
from hozen.rules.queries import current_pack
from hozen.vault import services as vault
from hozen.vault.models import Copy, Document, DocumentVersion
from tests import factories
from tests.handling_factories import actor_for, make_clearance, make_cleared_handler
from tests.vault.conftest import make_pdf

from .harness import (
    api_client,
    assert_no_server_errors,
    assert_reconciled,
    assert_refusals_are_clear,
    audit_count,
    bearer,
    post,
    race,
    statuses,
)

pytestmark = pytest.mark.django_db(transaction=True)

TODAY = dt.date(2026, 6, 1)
#: The records these races change. (The clearances the handlers hold are test data made directly by
#: `make_clearance`, not by the assessment workflow, so the assessment kinds have no log to replay.)
KINDS = ("designation", "handler_entry", "handler_review", "vault_copy", "vault_version", "certification",
         "contract")
CANCEL = {"reason": "非公知性の要件を満たさなくなったため"}


@pytest.fixture(autouse=True)
def _vault_folder(settings, tmp_path):
    """Documents go to this test's own folder (the default local storage)."""
    settings.DATA_DIR = tmp_path
    settings.STORAGES = {k: v for k, v in settings.STORAGES.items() if k != "vault"}
    return tmp_path / "vault"


@pytest.fixture
def meti(db):
    orgs = factories.organisations()
    people = {
        "manager": factories.account(role="esi_manager", organisation=orgs["METI"]),
        "security": factories.account(role="security_officer", organisation=orgs["METI"]),
        "head": factories.account(role="organ_head", organisation=orgs["METI"]),
    }
    tokens = {name: bearer(factories.api_token(account)) for name, account in people.items()}
    return orgs, people, tokens


def designate(orgs, people) -> Designation:
    item = current_pack("esi", TODAY).sub_items.select_related("category").get(code="A-1")
    draft = designations.create_draft(
        actor=actor_for(people["manager"]), organisation=orgs["METI"], title="発電設備の防護計画に関する情報",
        summary="基幹インフラの発電設備に係る防護措置の計画（内容は記載しない）", category=item.category, sub_item=item,
        justification_category="法第2条第4項第1号の措置に関する計画であり細目A-1に該当する。",
        justification_not_public="公表されておらず、関係者以外に知られていない。",
        justification_harm="漏えいすれば設備への妨害行為を容易にし安全保障に支障を与える。",
        designated_on=TODAY, term_end=dt.date(2031, 5, 31), protective_measure="marking")
    return designations.approve(actor=actor_for(people["head"]), designation=draft.pk)


def cleared_staff(orgs):
    """A person of METI with a valid favourable assessment, not yet on any list."""
    account = factories.account(role="subject", organisation=orgs["METI"])
    make_clearance(account, organ=orgs["METI"])
    return account


def entry_id(action: str, target_type: str, target_id) -> int:
    """The id of the one successful entry `action` about the target (the log's order of commits:
    the writers serialised on the designation row insert their entries in that order)."""
    return AuditEntry.objects.get(action=action, outcome="success", target_type=target_type,
                                  target_id=str(target_id)).pk


def upload_call(designation_id: int, headers: dict, name: str = "plan.pdf"):
    body = make_pdf(1)

    def call():
        return api_client().post(f"/api/v1/vault/designations/{designation_id}/documents",
                                 data={"title": "防護計画書", "file": SimpleUploadedFile(name, body, "application/pdf")},
                                 **headers)
    return call


def download_call(document_id: int, headers: dict, version: int | None = None):
    path = f"/api/v1/vault/documents/{document_id}/download" + (f"?version={version}" if version else "")

    def call():
        response = api_client().post(path, **headers)
        if response.status_code == 200:
            b"".join(response.streaming_content)  # read it all, as a client does, and let it close
        return response
    return call


# --- handler lists -----------------------------------------------------------------------------------

def test_two_keepers_adding_the_same_person_at_once_list_them_once(meti):
    orgs, people, tokens = meti
    d = designate(orgs, people)
    staff = cleared_staff(orgs)
    body = {"account": staff.username, "reason": "審査担当"}
    outcomes = race(*[post(f"/api/v1/handling/designations/{d.pk}/handlers", body,
                           tokens["manager" if i % 2 else "security"]) for i in range(4)])
    assert_refusals_are_clear(outcomes)
    assert statuses(outcomes) == {201: 1, 422: 3}, statuses(outcomes)
    assert {o.json()["code"] for o in outcomes if o.status == 422} == {"already_listed"}
    assert HandlerEntry.objects.filter(account=staff, ended_at__isnull=True).count() == 1
    assert audit_count("handling.handler.added") == 1
    assert_reconciled(*KINDS)


def test_adding_a_person_while_their_entry_is_removed_is_applied_in_one_order(meti):
    orgs, people, tokens = meti
    d = designate(orgs, people)
    readded = 0
    for _ in range(4):
        staff = cleared_staff(orgs)
        first = make_cleared_handler(d, staff)  # listed once already
        old = HandlerEntry.objects.get(account=first.account)
        remove, add = race(post(f"/api/v1/handling/handlers/{old.pk}/remove", None, tokens["manager"]),
                           post(f"/api/v1/handling/designations/{d.pk}/handlers", {"account": staff.username},
                                tokens["security"]))
        assert_refusals_are_clear([remove, add])
        assert remove.status == 200 and remove.json()["status"] == "ended"
        rows = list(HandlerEntry.objects.filter(account=staff).order_by("pk"))
        assert rows[0].end_reason == "removed"
        if add.status == 201:  # the removal came first: a new entry, open
            assert [r.ended_at is None for r in rows] == [False, True]
            readded += 1
        else:  # the addition came first and found the person still listed
            assert (add.status, add.json()["code"]) == (422, "already_listed") and len(rows) == 1
    assert audit_count("handling.handler.removed") == 4
    assert audit_count("handling.handler.added") == 4 + readded  # the first listings, and each re-listing
    assert_reconciled(*KINDS)


def test_an_addition_and_a_cancellation_at_once_never_list_anyone_after_the_end(meti):
    orgs, people, tokens = meti
    added = 0
    for _ in range(5):
        d = designate(orgs, people)
        staff = cleared_staff(orgs)
        add, cancel = race(post(f"/api/v1/handling/designations/{d.pk}/handlers", {"account": staff.username},
                                tokens["manager"]),
                           post(f"/api/v1/designations/{d.pk}/cancel", CANCEL, tokens["head"]))
        assert_refusals_are_clear([add, cancel])
        assert cancel.status == 200 and Designation.objects.get(pk=d.pk).state == State.CANCELLED
        cancelled = entry_id("designation.cancelled", "designation.designation", d.pk)
        if add.status == 201:  # added while in force: its entry precedes the cancellation's
            entry = HandlerEntry.objects.get(designation=d)
            assert entry_id("handling.handler.added", "handling.handlerentry", entry.pk) < cancelled
            added += 1
        else:  # the cancellation came first: refused on the designation as it then was
            assert (add.status, add.json()["code"], add.json()["field"]) == (422, "cannot_add_handler", "account")
            assert not HandlerEntry.objects.filter(designation=d).exists()
    assert audit_count("handling.handler.added") == added and audit_count("designation.cancelled") == 5
    assert_reconciled(*KINDS)


# --- the vault ---------------------------------------------------------------------------------------

def test_an_upload_and_a_cancellation_at_once_never_file_anything_after_the_end(meti, _vault_folder):
    orgs, people, tokens = meti
    uploaded = 0
    for _ in range(5):
        d = designate(orgs, people)
        handler = make_cleared_handler(d)
        upload, cancel = race(upload_call(d.pk, bearer(factories.api_token(handler.account))),
                              post(f"/api/v1/designations/{d.pk}/cancel", CANCEL, tokens["head"]))
        # Uploading under an ended designation is the material policy's refusal (403, with its
        # code), before the race as well as in it.
        assert_refusals_are_clear([upload, cancel], allowed=(403,))
        assert cancel.status == 200
        cancelled = entry_id("designation.cancelled", "designation.designation", d.pk)
        if upload.status == 201:  # filed while in force; its copies now carry the new marking
            version = DocumentVersion.objects.get(document__designation=d)
            assert entry_id("vault.document.uploaded", "vault.documentversion", version.pk) < cancelled
            assert vault.current_marking(Designation.objects.get(pk=d.pk)) == "重要経済安保情報（指定解除）"
            uploaded += 1
        else:
            assert upload.json()["code"] == "designation_not_in_force"
            assert not Document.objects.filter(designation=d).exists()
    assert audit_count("vault.document.uploaded") == uploaded
    assert len(list(_vault_folder.rglob("*.hzv"))) == uploaded  # a refused upload leaves no object behind
    assert_reconciled(*KINDS)


def test_parallel_copies_of_one_document_are_numbered_without_repeats(meti):
    orgs, people, tokens = meti
    d = designate(orgs, people)
    readers = [make_cleared_handler(d) for _ in range(3)]
    first = vault.upload(actor=readers[0], designation=d, title="防護計画書", source=io.BytesIO(make_pdf(1)),
                         filename="plan.pdf", content_type="application/pdf")
    vault.upload(actor=readers[0], document=first.document, source=io.BytesIO(make_pdf(1)), filename="plan.pdf",
                 content_type="application/pdf")
    headers = [bearer(factories.api_token(r.account)) for r in readers]
    outcomes = race(*[download_call(first.document_id, headers[i % 3], version=1 + i % 2) for i in range(8)])
    assert_refusals_are_clear(outcomes)
    assert statuses(outcomes) == {200: 8}
    numbers = sorted(int(o.value["X-Hozen-Copy"]) for o in outcomes)
    assert numbers == list(range(1, 9))
    assert sorted(Copy.objects.values_list("number", flat=True)) == numbers
    assert Document.objects.get(pk=first.document_id).copies_issued == 8
    assert audit_count("vault.document.downloaded") == 8
    assert_reconciled(*KINDS)


def _held_copy(d, reader) -> Copy:
    version = vault.upload(actor=reader, designation=d, title="防護計画書", source=io.BytesIO(make_pdf(1)),
                           filename="plan.pdf", content_type="application/pdf")
    delivery = vault.deliver(actor=reader, version=version, kind="download")
    delivery.close()
    return delivery.copy


def test_a_transfer_and_a_return_of_one_copy_at_once_are_applied_in_one_order(meti):
    orgs, people, tokens = meti
    d = designate(orgs, people)
    holder, colleague = make_cleared_handler(d), make_cleared_handler(d)
    holder_token = bearer(factories.api_token(holder.account))
    transferred = 0
    for _ in range(4):
        copy = _held_copy(d, holder)
        transfer, returned = race(
            post(f"/api/v1/vault/copies/{copy.pk}/transfer", {"to": colleague.account.username}, holder_token),
            post(f"/api/v1/vault/copies/{copy.pk}/return", None, tokens["security"]))  # the registry
        assert_refusals_are_clear([transfer, returned])
        assert returned.status == 200
        row = Copy.objects.get(pk=copy.pk)
        assert row.state == "returned"
        if transfer.status == 200:  # handed over first, then returned by the registry from the colleague
            assert row.holder_id == colleague.account.pk and returned.json()["custodian"] == row.holder_name
            transferred += 1
        else:  # returned first: nothing more to hand over
            assert transfer.json()["code"] == "copy_closed" and row.holder_id == holder.account.pk
    assert audit_count("vault.copy.returned") == 4 and audit_count("vault.copy.transferred") == transferred
    assert_reconciled(*KINDS)


def test_a_copy_destroyed_twice_at_once_is_destroyed_once(meti):
    orgs, people, tokens = meti
    d = designate(orgs, people)
    holder = make_cleared_handler(d)
    holder_token = bearer(factories.api_token(holder.account))
    for _ in range(3):
        copy = _held_copy(d, holder)
        witness = {"witness": people["security"].username, "method": "細断"}
        outcomes = race(post(f"/api/v1/vault/copies/{copy.pk}/destroy", witness, holder_token),
                        post(f"/api/v1/vault/copies/{copy.pk}/destroy", {**witness, "witness": holder.account.username},
                             tokens["manager"]),
                        post(f"/api/v1/vault/copies/{copy.pk}/destroy", witness, holder_token))
        assert_refusals_are_clear(outcomes)
        assert statuses(outcomes) == {200: 1, 422: 2}, statuses(outcomes)
        assert {o.json()["code"] for o in outcomes if o.status == 422} == {"copy_closed"}
        assert Copy.objects.get(pk=copy.pk).state == "destroyed"
    assert audit_count("vault.copy.destroyed") == 3
    assert_reconciled(*KINDS)


def _window(client):
    """Another window of the same browser: the same session cookie, server errors as 500 responses."""
    from http.cookies import SimpleCookie

    from django.test import Client

    other = Client(raise_request_exception=False)
    other.cookies = SimpleCookie()
    for name, morsel in client.cookies.items():
        other.cookies[name] = morsel.value
    return other


def test_two_confirmations_of_one_reviewed_destruction_at_once_record_it_once(meti):
    """Issue 15 "review before final": the review page's Confirm clicked twice, or in two windows, at
    the same moment: one records the destruction, the other is told the copy changed since the
    review (409), and nothing is recorded twice."""
    import re

    orgs, people, tokens = meti
    d = designate(orgs, people)
    holder = make_cleared_handler(d)
    client = factories.signed_in_client(holder.account)
    for _ in range(3):
        copy = _held_copy(d, holder)
        path = f"/vault/copies/{copy.pk}/"
        entered = {"action": "destroy", "destroy-method": "細断", "destroy-witness": people["security"].username}
        review = client.post(path, entered)
        assert review.status_code == 200, review.content[:300]
        reviewed = re.search(r'name="reviewed" value="([^"]+)"', review.content.decode()).group(1)
        confirm = {**entered, "step": "confirm", "reviewed": reviewed}
        outcomes = race(*[functools.partial(_window(client).post, path, confirm) for _ in range(2)])
        assert_no_server_errors(outcomes)
        assert statuses(outcomes) == {302: 1, 409: 1}, statuses(outcomes)
        refused = next(o for o in outcomes if o.status == 409)
        assert "確認画面を開いた後に、この複製の状況が変わりました" in refused.value.content.decode()
        assert Copy.objects.get(pk=copy.pk).state == "destroyed"
    assert audit_count("vault.copy.destroyed") == 3
    assert_reconciled(*KINDS)
