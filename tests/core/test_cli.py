"""The `hozen` command line (issue 3 §10): JSON listings, tokens, one-line errors."""

from __future__ import annotations

import datetime as dt
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


def _panel(html: str, element_id: str) -> str:
    """The HTML of the <section> (or element) with this id, up to its closing tag."""
    import re

    match = re.search(rf'<(section|p)[^>]*id="{element_id}"[^>]*>(.*?)</\1>', html, re.S)
    assert match, f"#{element_id} is not on the page"
    return match.group(0)


@pytest.fixture
def demo_scenarios(db):
    from hozen.core import demo
    from hozen.core.actor import Actor

    demo.load(actor=Actor.operator("demo"))
    return demo.load_scenarios(actor=Actor.operator("demo"))


def test_demo_scenarios_are_made_through_the_services_and_loading_twice_creates_nothing(demo_scenarios):
    from hozen.assessment.models import AssessmentCase, CaseDuty, Clearance
    from hozen.audit.models import AuditEntry
    from hozen.core import demo
    from hozen.core.actor import Actor
    from hozen.designation.models import Designation, Extension, Provision
    from hozen.operators.models import Certification, Contract

    assert demo_scenarios == {"accounts": 3, "certifications": 1, "contracts": 1, "designations": 4,
                              "assessment_cases": 3}
    models = (Account, Certification, Contract, Designation, Extension, Provision, AssessmentCase, CaseDuty,
              Clearance, AuditEntry)
    before = {m.__name__: m.objects.count() for m in models}
    again = demo.load(actor=Actor.operator("demo")) | demo.load_scenarios(actor=Actor.operator("demo"))
    assert set(again.values()) == {0}
    assert {m.__name__: m.objects.count() for m in models} == before

    # Designations: one designated, one draft awaiting approval, one extended, one provided to TOWA-HI.
    by_title = {d.title: d for d in Designation.objects.filter(organisation__code="METI")}
    states = {title: by_title[title].state for title, *_ in demo.DESIGNATIONS}
    assert sorted(states.values()) == ["designated", "designated", "designated", "draft"]
    drafted = by_title[demo.DESIGNATIONS[0][0]]
    assert drafted.prepared_by.username == "esi.meti" and drafted.approved_by.username == "head.meti"
    assert Extension.objects.get().designation.title == demo.DESIGNATIONS[2][0]
    provision = Provision.objects.get()
    assert provision.designation.title == demo.DESIGNATIONS[3][0]
    assert provision.recipient.code == "TOWA-HI" and provision.contract.reference == demo.CONTRACT_REFERENCE
    # Every write was made by the person who would make it, and is in the audit log.
    assert AuditEntry.objects.filter(action="designation.designated").count() == 3
    assert AuditEntry.objects.filter(action="designation.extended").count() == 1

    # Assessments: awaiting consent (nominated by the company), under investigation, notified favourable.
    case = {c.person.account.username: c for c in AssessmentCase.objects.select_related("person__account")}
    assert case["subject.towa"].state == "notice_given" and case["subject.towa"].contract.business.code == "TOWA-HI"
    assert case["subject2.meti"].state == "under_investigation" and case["subject2.meti"].contract is None
    assert CaseDuty.objects.get(case=case["subject2.meti"], kind="investigator").account.username == "investigator.cao"
    assert case["engineer.towa"].state == "notified"
    clearance = case["engineer.towa"].clearance
    assert clearance.favourable and clearance.valid_until > dt.date.today()


def _demo_client(username: str):
    from django.test import Client

    from hozen.core import demo

    client = Client()
    response = client.post("/signin/", {"username": username, "password": demo.DEMO_PASSWORD})
    assert response.status_code == 302, response.content[:300]
    if not username.startswith(("subject", "engineer")):
        assert client.post("/signin/verify/", {"token": demo.current_code(username)}).status_code == 302
    return client


def _demo_dashboard(username: str, client=None) -> str:
    response = (client or _demo_client(username)).get("/dashboard/")
    assert response.status_code == 200
    return response.content.decode()


def test_each_demo_login_sees_its_scenario_on_its_dashboard(demo_scenarios):
    from django.utils import translation

    from hozen.assessment.models import AssessmentCase
    from hozen.core import demo
    from hozen.core.templatetags.hozen import jdate

    case = {c.person.account.username: c for c in AssessmentCase.objects.select_related("person__account")}
    draft_title = demo.DESIGNATIONS[1][0]

    # The assessed people: the notice waiting for consent, the case under investigation, the clearance.
    for username in ("subject.towa", "subject2.meti"):
        assert f"/assessment/portal/{case[username].pk}/" in _panel(_demo_dashboard(username), "portal-cases")
    subject = _demo_client("subject.towa")
    notice = subject.get(f"/assessment/portal/{case['subject.towa'].pk}/notice/")
    assert notice.status_code == 200 and "同意しないことができます" in notice.content.decode()
    with translation.override("ja"):
        valid_until = jdate(case["engineer.towa"].clearance.valid_until)
    assert valid_until in _panel(_demo_dashboard("engineer.towa"), "portal-clearances")

    # The nominating sides: the company's two nominees (one notified), METI's own staff member.
    counts = _panel(_demo_dashboard("officer.towa"), "nomination-counts")
    assert 'data-total="2"' in counts and 'data-notified="1"' in counts and 'data-awaiting="1"' in counts
    assert 'data-total="1"' in _panel(_demo_dashboard("security.meti"), "nomination-counts")

    # The investigator's queue holds the case under investigation, not the finished one.
    queue = _panel(_demo_dashboard("investigator.cao"), "panel-investigation")
    assert f"/assessment/staff/investigation/{case['subject2.meti'].pk}/" in queue
    assert f"/assessment/staff/investigation/{case['engineer.towa'].pk}/" not in queue

    # Designations: the ESI manager's draft waits for the organ head; the provision to TOWA-HI is listed.
    manager = _demo_dashboard("esi.meti")
    assert draft_title in _panel(manager, "panel-drafts")
    assert "東和重工業株式会社" in _panel(manager, "panel-provisions")
    assert draft_title in _panel(_demo_dashboard("head.meti"), "panel-approvals")


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


def test_users_revoke_role_ends_the_role_once_and_is_audited(people, capsys):
    from hozen.audit.models import AuditEntry
    from hozen.cli import main

    officer = people["security_officer"]
    assert main(["users", "revoke-role", officer.username, "--role", "security_officer@METI"]) == 0
    assert "revoked security_officer@METI" in capsys.readouterr().out
    assert not officer.active_assignments().filter(role="security_officer").exists()
    assert AuditEntry.objects.filter(action="role.revoked", outcome="success").count() == 1
    assert main(["users", "revoke-role", officer.username, "--role", "security_officer@METI"]) == 1
    assert "already revoked" in capsys.readouterr().err
    assert main(["users", "revoke-role", officer.username, "--role", "nonsense"]) == 1
    assert "ROLE@ORG" in capsys.readouterr().err
    assert main(["users", "revoke-role", "nobody", "--role", "subject@TOWA"]) == 1
    assert AuditEntry.objects.filter(action="role.revoked", outcome="success").count() == 1
