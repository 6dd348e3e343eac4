"""ARCHITECTURE rule 10 for accounts and API tokens: their lifecycle replays from the audit log to
the stored rows, and a change made behind the services' back is named with the record, the field,
the logged and the stored value (`hozen audit reconcile`)."""

from __future__ import annotations

import pytest
from django.db import connection

from hozen import audit
from hozen.audit.reconcile import reconcile
from hozen.core import services
from hozen.core.actor import Actor
from hozen.core.models import Account, ApiToken
from tests import factories

pytestmark = pytest.mark.django_db


def raw(sql: str, *params) -> None:
    """A change behind the services' back: no service, no audit entry."""
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def _actor(account) -> Actor:
    return Actor.for_account(account, account.active_assignments().first(), channel="web",
                             second_factor_verified=True)


def _found(*kinds: str) -> dict:
    return {(d.kind, d.record_id, d.field): (d.logged, d.stored) for d in reconcile(kinds=kinds).disagreements}


def test_the_account_and_token_lifecycle_replays_to_the_stored_rows(people, orgs):
    account = people["esi_manager"]
    second = services.assign_role(actor=factories.operator(), account=account, role="complaint_handler",
                                  organisation=orgs["MIC"])
    services.assign_role(actor=factories.operator(), account=account, role="adjudicator", organisation=orgs["MIC"])
    factories.api_token(account, second)
    services.revoke_role(actor=factories.operator(), assignment=second)
    services.set_language(actor=_actor(account), language="en")
    services.sign_out_everywhere(actor=_actor(account))
    services.reset_second_factor(actor=_actor(people["sysadmin"]), account=account,
                                 reason="Phone lost; identity checked at the desk")
    factories.api_token(account)  # live after the sign-out
    report = reconcile(kinds=["account", "api_token"])
    assert report.ok, [d.line() for d in report.disagreements]
    assert report.checked == {"account": Account.objects.count(), "api_token": ApiToken.objects.count()}
    stored = Account.objects.get(pk=account.pk)
    assert (stored.language, stored.session_generation) == ("en", 2)


def test_a_role_revoked_or_restored_behind_the_services_back_is_named(people, orgs):
    account = people["investigator"]
    second = services.assign_role(actor=factories.operator(), account=account, role="complaint_handler",
                                  organisation=orgs["METI"])
    services.revoke_role(actor=factories.operator(), assignment=second)
    raw("UPDATE core_roleassignment SET revoked_at = NULL WHERE id = %s", second.pk)
    raw("UPDATE core_roleassignment SET revoked_at = CURRENT_TIMESTAMP WHERE account_id = %s AND role = %s",
        account.pk, "investigator")
    assert _found("account") == {
        ("account", str(account.pk), "roles"): (["investigator@CAO"], ["complaint_handler@METI"])}


def test_a_language_a_session_generation_or_a_user_name_changed_with_raw_sql_is_named(people):
    account = people["auditor"]
    services.set_language(actor=_actor(account), language="en")
    raw("UPDATE core_account SET language = 'ja', session_generation = 5, username = 'renamed' WHERE id = %s",
        account.pk)
    lines = sorted(d.line() for d in reconcile(kinds=["account"]).disagreements)
    assert lines == [
        f'account {account.pk}: language: the log says "en", the row holds "ja"',
        f'account {account.pk}: session_generation: the log says 0, the row holds 5',
        f'account {account.pk}: username: the log says "auditor", the row holds "renamed"',
    ]


def test_an_account_deactivated_behind_the_services_back_is_named(people):
    account = people["oversight"]
    raw("UPDATE core_account SET is_active = %s WHERE id = %s", False, account.pk)
    assert _found("account") == {("account", str(account.pk), "active"): (True, False)}


def test_a_revoked_token_made_live_again_with_raw_sql_is_named(people):
    account = people["subject"]
    factories.api_token(account)
    services.sign_out_everywhere(actor=_actor(account))
    token = ApiToken.objects.get(account=account)
    raw("UPDATE core_apitoken SET revoked_at = NULL WHERE id = %s", token.pk)
    assert _found("api_token") == {("api_token", str(token.pk), "revoked"): (True, False)}


def test_a_token_moved_to_another_role_or_revoked_without_an_entry_is_named(people):
    token = ApiToken.objects.get(prefix=factories.api_token(people["sysadmin"]).split("_")[1])
    other = people["auditor"].active_assignments().get()
    raw("UPDATE core_apitoken SET assignment_id = %s, revoked_at = CURRENT_TIMESTAMP WHERE id = %s",
        other.pk, token.pk)
    assert _found("api_token") == {
        ("api_token", str(token.pk), "assignment"): (token.assignment_id, other.pk),
        ("api_token", str(token.pk), "revoked"): (False, True),
    }


def test_entries_written_before_issue_11_are_not_guessed_beyond_what_they_say(orgs):
    """Old entries lack the new detail keys: a token whose creation entry does not say `revoked` was
    revoked without an entry of its own by the old sign-out; an account's old creation entry does
    not name its language. Those fields are left out, not guessed; the rest is still compared."""
    operator = factories.operator()
    account = factories.account(role="investigator", organisation=orgs["CAO"], username="legacy")
    token = ApiToken.objects.get(prefix=factories.api_token(account).split("_")[1])
    # Rewrite history as the old services wrote it: the same actions, the old details.
    raw("DELETE FROM audit_auditentry WHERE target_type IN ('core.account', 'core.apitoken') AND target_id IN (%s, %s)",
        str(account.pk), str(token.pk))
    audit.record(operator, "account.created", account, details={"username": "legacy", "totp_preset": True})
    audit.record(operator, "role.assigned", account, details={"role": "investigator", "organisation": "CAO"})
    audit.record(operator, "token.created", token, details={"account": "legacy", "prefix": token.prefix})
    audit.record(Actor.for_account(account, None, channel="web"), "session.signed_out_everywhere", account)
    raw("UPDATE core_account SET session_generation = 1, language = 'en' WHERE id = %s", account.pk)
    raw("UPDATE core_apitoken SET revoked_at = CURRENT_TIMESTAMP WHERE id = %s", token.pk)
    report = reconcile(kinds=["account", "api_token"])
    assert report.ok, [d.line() for d in report.disagreements]
    raw("UPDATE core_account SET session_generation = 2 WHERE id = %s", account.pk)  # an old-style count still counts
    assert _found("account") == {("account", str(account.pk), "session_generation"): (1, 2)}


def test_the_demo_accounts_replay_to_the_stored_rows(db):
    from hozen.core import demo

    demo.load(actor=Actor.operator("demo"))
    report = reconcile(kinds=["account", "api_token"])
    assert report.ok, [d.line() for d in report.disagreements]
    assert report.checked["account"] == len(demo.ACCOUNTS)
