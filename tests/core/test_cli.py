"""The `hozen` command line (issue 3 §10): JSON listings, tokens, one-line errors."""

from __future__ import annotations

import io
import json

import pytest

from hozen.cli import main
from hozen.core.models import Account, ApiToken

pytestmark = pytest.mark.django_db


def test_users_create_then_list_as_json(orgs, capsys, monkeypatch):
    monkeypatch.setattr("sys.stdin", io.StringIO("a long enough pass phrase\n"))
    assert main(["users", "create", "tanaka.k", "--role", "security_officer", "--organisation", "METI",
                 "--password-stdin", "--name", "田中 健", "--kana", "タナカ ケン"]) == 0
    capsys.readouterr()
    assert main(["users", "list", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    row = next(r for r in rows if r["username"] == "tanaka.k")
    assert row["roles"] == ["security_officer@METI"] and row["kana"] == "タナカ ケン"
    assert Account.objects.get(username="tanaka.k").check_password("a long enough pass phrase")


def test_users_create_with_unknown_organisation_is_one_line_and_writes_nothing(orgs, capsys):
    assert main(["users", "create", "nobody", "--role", "subject", "--organisation", "NOPE"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "NOPE" in err
    assert not Account.objects.filter(username="nobody").exists()


def test_users_create_with_unknown_role_names_it(orgs, capsys):
    assert main(["users", "create", "nobody", "--role", "emperor", "--organisation", "METI"]) == 1
    assert "emperor" in capsys.readouterr().err
    assert not Account.objects.filter(username="nobody").exists()


def test_tokens_create_prints_only_the_token(people, capsys):
    assert main(["tokens", "create", "auditor"]) == 0
    out = capsys.readouterr().out
    assert out.count("\n") == 1 and out.startswith("hz_")
    assert ApiToken.objects.filter(account__username="auditor").count() == 1


def test_tokens_create_for_a_missing_user_fails(db, capsys):
    assert main(["tokens", "create", "ghost"]) == 1
    assert "ghost" in capsys.readouterr().err


def test_organisations_list_json(orgs, capsys):
    assert main(["organisations", "list", "--json"]) == 0
    codes = [o["code"] for o in json.loads(capsys.readouterr().out)]
    assert codes == sorted(codes) and "METI" in codes


def test_bad_usage_exits_2(capsys):
    with pytest.raises(SystemExit) as info:
        main(["users", "explode"])
    assert info.value.code == 2


def test_check_reports_ok(db, capsys):
    assert main(["check"]) == 0
    assert "ok" in capsys.readouterr().out


def test_demo_data_loads_twice_without_duplicates(db):
    from hozen.core import demo
    from hozen.core.actor import Actor

    first = demo.load(actor=Actor.operator("demo"))
    second = demo.load(actor=Actor.operator("demo"))
    assert first["accounts"] == len(demo.ACCOUNTS) and second == {"organisations": 0, "accounts": 0}
    roles = {a.role for acc in Account.objects.all() for a in acc.active_assignments()}
    from hozen.core.roles import Role

    assert roles == set(Role.values), "one demo login per role"


def test_demo_codes_are_accepted_at_sign_in(db):
    from django.test import Client

    from hozen.core import demo
    from hozen.core.actor import Actor

    demo.load(actor=Actor.operator("demo"))
    client = Client()
    client.post("/signin/", {"username": "investigator.cao", "password": demo.DEMO_PASSWORD})
    assert client.post("/signin/verify/", {"token": demo.current_code("investigator.cao")}).status_code == 302
    assert client.get("/dashboard/").status_code == 200


def test_a_refusal_inside_a_service_carries_its_actor_so_the_cli_can_audit_it(orgs, capsys):
    from hozen.audit.models import AuditEntry

    # The operator may not draft designations (a draft needs an ESI manager as its preparer).
    before = AuditEntry.objects.filter(outcome="denied").count()
    from hozen.access.policy import PolicyDenied
    from hozen.core.actor import Actor
    from hozen.designation import services

    with pytest.raises(PolicyDenied) as info:
        services.create_draft(actor=Actor.operator("tests"), organisation=orgs["METI"])
    assert info.value.actor is not None and not info.value.audited
    from hozen.access.policy import audit_unrecorded_denial

    audit_unrecorded_denial(info.value.actor, info.value)
    assert AuditEntry.objects.filter(outcome="denied").count() == before + 1
