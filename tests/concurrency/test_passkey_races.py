"""Passkeys under parallel requests (issue 14 §4): removals run one after the other under the
account's lock, so each passkey is removed once, with one entry, and the count each entry states is
the count that was left; a removal racing an administrator's reset never leaves a passkey behind."""

from __future__ import annotations

import json
from http.cookies import SimpleCookie

import pytest
from django.test import Client
from django_otp_webauthn.models import WebAuthnCredential

from hozen.audit.models import AuditEntry
from hozen.core import services
from hozen.core.actor import Actor
from hozen.core.errors import NotFound
from tests import factories
from tests.core.test_passkeys import registration

from .harness import assert_no_server_errors, audit_count, race

pytestmark = pytest.mark.django_db(transaction=True)


def _actor(account) -> Actor:
    return Actor.for_account(account, account.active_assignments().first(), channel="web",
                             second_factor_verified=True)


def _add(account, name: str) -> WebAuthnCredential:
    return services.add_passkey(actor=_actor(account), name=name, registration=registration())


def _window(client: Client) -> Client:
    other = Client(raise_request_exception=False)
    other.cookies = SimpleCookie()
    for name, morsel in client.cookies.items():
        other.cookies[name] = morsel.value
    return other


def test_two_windows_removing_one_passkey_at_once_remove_it_once(orgs):
    account = factories.account(role="investigator", organisation=orgs["CAO"])
    credential = _add(account, "laptop")
    client = factories.signed_in_client(account)
    client.raise_request_exception = False
    path = f"/profile/passkeys/{credential.pk}/remove/"
    outcomes = race(*[(lambda c=c: c.post(path)) for c in (client, _window(client), _window(client))])
    assert_no_server_errors(outcomes)
    assert sorted(o.status for o in outcomes) == [302, 404, 404]
    assert not WebAuthnCredential.objects.filter(pk=credential.pk).exists()
    assert audit_count("otp.passkey_removed") == 1


def test_parallel_removals_of_different_passkeys_each_state_what_was_left(orgs):
    account = factories.account(role="investigator", organisation=orgs["CAO"])
    made = [_add(account, f"key {n}") for n in range(3)]
    outcomes = race(*[(lambda pk=c.pk: services.remove_passkey(actor=_actor(account), passkey=pk)) for c in made])
    assert [o.error for o in outcomes] == [None] * 3
    assert not WebAuthnCredential.objects.filter(user=account).exists()
    left = [json.loads(d)["details"]["passkeys"] for d in
            AuditEntry.objects.filter(action="otp.passkey_removed").order_by("id").values_list("data", flat=True)]
    assert left == [2, 1, 0]  # serialised by the account's lock: no two saw the same count


def test_a_removal_racing_an_administrators_reset_leaves_no_passkey_and_records_it_once(orgs):
    account = factories.account(role="investigator", organisation=orgs["CAO"])
    admin = factories.account(role="sysadmin", organisation=orgs["CAO"])
    credential = _add(account, "phone")
    outcomes = race(
        lambda: services.remove_passkey(actor=_actor(account), passkey=credential.pk),
        lambda: services.reset_second_factor(actor=_actor(admin), account=account.pk,
                                             reason="Phone lost; identity checked at the desk"))
    assert outcomes[1].error is None
    assert not WebAuthnCredential.objects.filter(user=account).exists()
    reset = json.loads(AuditEntry.objects.get(action="otp.reset").data)["details"]["passkeys_removed"]
    if outcomes[0].error is None:  # the removal came first: the reset found none
        assert reset == [] and audit_count("otp.passkey_removed") == 1
    else:  # the reset came first: the removal is refused (the session ended), nothing more recorded
        assert isinstance(outcomes[0].error, (services.ChangedMeanwhile, NotFound)), repr(outcomes[0].error)
        assert reset == [{"passkey": credential.pk}] and audit_count("otp.passkey_removed") == 0
