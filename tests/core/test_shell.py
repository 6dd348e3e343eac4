"""The UI shell: dashboards per role, role switching, language, security headers (issue 3 §8)."""

from __future__ import annotations

import json

import pytest

from hozen.audit.models import AuditEntry
from hozen.core import services
from hozen.core.roles import Role
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("role", Role.values)
def test_every_role_has_a_dashboard_with_empty_states(people, signed_in, role):
    client = signed_in(people[role])
    response = client.get("/dashboard/")
    assert response.status_code == 200
    assert response.templates[0].name == f"core/dashboards/{role}.html"
    assert b'class="empty"' in response.content


def test_a_role_trying_another_roles_page_is_refused_with_the_policys_reason(people, signed_in):
    client = signed_in(people["business_officer"])
    response = client.get("/work/investigator/", HTTP_ACCEPT_LANGUAGE="ja")
    assert response.status_code == 403
    assert "内閣府調査担当のみ" in response.content.decode()
    entry = json.loads(AuditEntry.objects.filter(action="workspace.view").last().data)
    assert entry["outcome"] == "denied" and entry["details"] == {"reason": "wrong_role"}
    assert entry["actor"]["role"] == "business_officer"


def test_own_workspace_page_is_allowed(people, signed_in):
    client = signed_in(people["investigator"])
    assert client.get("/work/investigator/").status_code == 200


def test_anonymous_visitor_is_sent_to_sign_in(db):
    from django.test import Client

    response = Client().get("/dashboard/")
    assert response.status_code == 302 and response["Location"].startswith("/signin/")


def test_person_with_two_roles_switches_the_active_one(people, orgs, signed_in):
    account = people["esi_manager"]
    second = services.assign_role(actor=factories.operator(), account=account, role="complaint_handler",
                                  organisation=orgs["MIC"])
    client = signed_in(account)
    assert client.get("/dashboard/").templates[0].name == "core/dashboards/esi_manager.html"
    client.post("/role/", {"assignment": second.pk})
    assert client.get("/dashboard/").templates[0].name == "core/dashboards/complaint_handler.html"
    entry = json.loads(AuditEntry.objects.filter(action="role.switched").last().data)
    assert entry["details"] == {"organisation": "MIC", "role": "complaint_handler", "assignment": second.pk}


def test_cannot_switch_to_someone_elses_role(people, signed_in):
    client = signed_in(people["esi_manager"])
    other = people["sysadmin"].role_assignments.first()
    assert client.post("/role/", {"assignment": other.pk}).status_code == 404
    assert client.get("/dashboard/").templates[0].name == "core/dashboards/esi_manager.html"


def test_language_choice_persists_on_the_account(people, signed_in):
    account = people["subject"]
    client = signed_in(account)
    client.post("/language/", {"language": "en", "next": "/dashboard/"})
    account.refresh_from_db()
    assert account.language == "en"
    # A new session on another device starts in English too.
    other = factories.signed_in_client(account)
    response = other.get("/dashboard/")
    assert response["Content-Language"] == "en"
    other.post("/language/", {"language": "ja"})
    assert other.get("/dashboard/")["Content-Language"] == "ja"


def test_japanese_is_the_default_language(db, client):
    response = client.get("/signin/")
    assert response["Content-Language"] == "ja"
    assert '<html lang="ja">' in response.content.decode()


def test_security_headers_and_csp_without_inline_scripts(db, client):
    response = client.get("/signin/")
    csp = response["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert "frame-ancestors 'none'" in csp
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "<script>" not in response.content.decode(), "no inline scripts"


def test_every_response_carries_a_request_id_that_reaches_the_audit_log(people):
    from django.test import Client

    client = Client()
    response = client.post("/signin/", {"username": "nobody", "password": "x"}, HTTP_X_REQUEST_ID="abcdef0123456789")
    assert response["X-Request-ID"] == "abcdef0123456789"
    entry = json.loads(AuditEntry.objects.filter(action="session.sign_in_failed").last().data)
    assert entry["request_id"] == "abcdef0123456789"


def test_forms_are_labelled(db, client):
    html = client.get("/signin/").content.decode()
    assert '<label for="id_username">' in html and '<label for="id_password">' in html


def test_organisation_list_is_scoped(people, signed_in):
    mine = signed_in(people["security_officer"]).get("/organisations/")
    assert [o.code for o in mine.context["organisations"]] == ["METI"]
    everything = signed_in(people["oversight"]).get("/organisations/")
    assert len(everything.context["organisations"]) == 5


def test_browser_language_does_not_override_the_japanese_default(db, client):
    response = client.get("/signin/", HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9")
    assert response["Content-Language"] == "ja"


def test_english_cookie_switches_signed_out_pages(db, client):
    client.cookies["hozen_language"] = "en"
    assert client.get("/signin/")["Content-Language"] == "en"
