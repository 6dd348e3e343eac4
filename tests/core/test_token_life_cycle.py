"""API tokens through their whole life (issue 14 §3): an expiry (90 days by default), a label, last
use, a list and revocation on the profile and the command line, and revoked with the role they act
in, with a second-factor reset and with "sign out everywhere"; every step an audit entry."""

from __future__ import annotations

import datetime as dt
import json

import pytest
import time_machine
from django.test import Client
from django.utils import timezone

from hozen.access.policy import PolicyDenied
from hozen.audit.models import AuditEntry
from hozen.core import services
from hozen.core.actor import Actor
from hozen.core.errors import RuleViolation
from hozen.core.models import ApiToken
from tests import factories
from tests.concurrency.harness import race

pytestmark = pytest.mark.django_db
OPERATOR = Actor.operator("tests")


def _call(token: str) -> int:
    return Client().get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {token}").status_code


def _entries(action: str) -> list[dict]:
    return [json.loads(e.data) for e in AuditEntry.objects.filter(action=action).order_by("id")]


def _as(account) -> Actor:
    return Actor.for_account(account, account.active_assignments().first(), channel="web",
                             second_factor_verified=True)


def test_an_api_token_ends_after_its_days_by_default_ninety(people, settings):
    token = services.create_api_token(actor=OPERATOR, account=people["auditor"], label="nightly export")
    row = ApiToken.objects.get()
    assert (row.expires_at - row.created_at).days == settings.HOZEN_API_TOKEN_DAYS == 90
    assert _entries("token.created")[-1]["details"]["expires_at"]
    assert _call(token) == 200
    with time_machine.travel(row.expires_at + dt.timedelta(seconds=1)):
        assert _call(token) == 401  # dates decide: no job needs to have run
        assert ApiToken.objects.get().state == "expired"


@pytest.mark.parametrize("days", [0, -1, 367, True, "30"])
def test_a_token_lifetime_out_of_range_is_refused_and_nothing_is_made(people, days):
    with pytest.raises(RuleViolation) as refused:
        services.create_api_token(actor=OPERATOR, account=people["auditor"], days=days)
    assert (refused.value.code, refused.value.field) == ("invalid_token_days", "days")
    assert not ApiToken.objects.exists()


def test_the_owner_lists_and_revokes_a_token_on_the_profile(people, signed_in):
    account = people["esi_manager"]
    token = services.create_api_token(actor=OPERATOR, account=account, label="ledger sync")
    services.create_api_token(actor=OPERATOR, account=people["auditor"], label="someone else's")
    client = signed_in(account)
    page = client.get("/profile/").content.decode()
    prefix = ApiToken.objects.get(account=account).prefix
    assert f"hz_{prefix}_…" in page and "ledger sync" in page and "someone else" not in page
    assert token.split("_", 2)[2] not in page  # never the secret
    mine = ApiToken.objects.get(account=account)
    client.post(f"/profile/tokens/{mine.pk}/revoke/")
    assert _call(token) == 401
    entry = _entries("token.revoked")[-1]
    assert entry["details"] == {"account": account.username, "prefix": prefix, "reason": "revoked_by_owner",
                                "revoked": True}
    other = ApiToken.objects.get(account=people["auditor"])
    assert client.post(f"/profile/tokens/{other.pk}/revoke/").status_code == 404  # not theirs
    assert other.__class__.objects.get(pk=other.pk).revoked_at is None


def test_nobody_revokes_someone_elses_token_but_an_administrator(people):
    services.create_api_token(actor=OPERATOR, account=people["auditor"])
    token = ApiToken.objects.get()
    with pytest.raises(PolicyDenied):
        services.revoke_api_token(actor=_as(people["esi_manager"]), token=token)
    services.revoke_api_token(actor=_as(people["sysadmin"]), token=token)
    assert _entries("token.revoked")[-1]["details"]["reason"] == "revoked_by_administrator"
    with pytest.raises(RuleViolation) as again:
        services.revoke_api_token(actor=_as(people["sysadmin"]), token=token)
    assert again.value.code == "token_already_revoked"


def test_a_token_ends_with_the_role_it_acts_in(people, orgs):
    account = people["esi_manager"]
    services.assign_role(actor=OPERATOR, account=account, role="security_officer", organisation=orgs["METI"])
    manager = account.active_assignments().get(role="esi_manager")
    officer = account.active_assignments().get(role="security_officer")
    as_manager = services.create_api_token(actor=OPERATOR, account=account, assignment=manager)
    as_officer = services.create_api_token(actor=OPERATOR, account=account, assignment=officer)
    services.revoke_role(actor=OPERATOR, assignment=officer)
    assert ApiToken.objects.get(assignment=officer).revoked_at is not None
    assert ApiToken.objects.get(assignment=manager).revoked_at is None
    assert _call(as_officer) == 401 and _call(as_manager) == 200
    assert _entries("token.revoked")[-1]["details"]["reason"] == "role_revoked"
    assert _entries("role.revoked")[-1]["details"]["tokens_revoked"] == 1


def test_a_second_factor_reset_ends_the_persons_tokens(people):
    account = people["esi_manager"]
    token = services.create_api_token(actor=OPERATOR, account=account)
    services.reset_second_factor(actor=_as(people["sysadmin"]), account=account, reason="電話を紛失したとの申告による")
    assert _call(token) == 401
    assert _entries("token.revoked")[-1]["details"]["reason"] == "second_factor_reset"
    assert _entries("otp.reset")[-1]["details"]["tokens_revoked"] == 1


def test_tokens_on_the_command_line(people, capsys):
    from hozen.cli import main

    assert main(["tokens", "create", people["auditor"].username, "--label", "report", "--days", "7"]) == 0
    token = capsys.readouterr().out.strip()
    row = ApiToken.objects.get()
    assert 6 <= (row.expires_at - timezone.now()).days <= 7
    assert main(["tokens", "list", people["auditor"].username, "--json"]) == 0
    [listed] = json.loads(capsys.readouterr().out)
    assert (listed["token"], listed["label"], listed["state"]) == (f"hz_{row.prefix}", "report", "active")
    assert main(["tokens", "revoke", token]) == 0  # the whole token or its prefix
    assert capsys.readouterr().out.strip() == f"revoked hz_{row.prefix}"
    assert main(["tokens", "revoke", f"hz_{row.prefix}"]) == 1
    assert "already revoked" in capsys.readouterr().err
    assert main(["tokens", "revoke", "hz_nosuch"]) == 1
    assert "no API token 'hz_nosuch'" in capsys.readouterr().err
    assert main(["tokens", "create", people["auditor"].username, "--days", "400"]) == 1
    assert "1 to 366 days" in capsys.readouterr().err
    assert _entries("token.revoked")[-1]["actor"]["channel"] == "cli"


@pytest.mark.django_db(transaction=True)
def test_a_token_revoked_twice_at_once_is_revoked_once(people):
    services.create_api_token(actor=OPERATOR, account=people["auditor"])
    token = ApiToken.objects.get()
    outcomes = race(*[lambda: services.revoke_api_token(actor=_as(people["auditor"]), token=token.pk)] * 2)
    assert sorted(o.error is None for o in outcomes) == [False, True]
    assert [o.error.code for o in outcomes if o.error] == ["token_already_revoked"]
    assert len(_entries("token.revoked")) == 1


def test_an_account_without_tokens_says_so_on_the_profile(orgs, signed_in):
    account = factories.account(role="auditor", organisation=orgs["CAO"])
    assert "id=\"api-tokens\"" in signed_in(account).get("/profile/").content.decode()
