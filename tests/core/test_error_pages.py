"""Guidance at every refusal (issue 15): 404, 403, CSRF and 500 pages in the site's layout, in the
person's language, with the next step; the API keeps answering JSON."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.utils import translation
from django.utils.translation import gettext

from hozen.core import services
from tests import factories
from tests.handling.conftest import _frozen_today, _packs, make_designation  # noqa: F401 (fixtures)
from tests.handling_factories import make_cleared_handler

pytestmark = pytest.mark.django_db

MISSING = 987654


def ja(message: str) -> str:
    """What a Japanese page shows for a message id (the catalogue decides the words)."""
    with translation.override("ja"):
        return str(gettext(message))


def en(message: str) -> str:
    with translation.override("en"):
        return str(gettext(message))


def html(response) -> str:
    return response.content.decode()


def english(client) -> Client:
    client.post("/language/", {"language": "en", "next": "/dashboard/"})
    return client


def assert_in_layout(page: str, lang: str) -> None:
    assert f'<html lang="{lang}">' in page
    assert 'class="main-nav"' in page and 'class="top"' in page  # header and navigation of a signed-in person
    assert 'href="/profile/"' in page  # the navigation's own links
    assert 'id="back-link"' in page and 'href="/dashboard/"' in page


# --- 404 -------------------------------------------------------------------------------------------

def test_a_missing_page_is_japanese_inside_the_layout_with_a_way_back(people, signed_in):
    response = signed_in(people["investigator"]).get("/no-such-page/")
    assert response.status_code == 404
    page = html(response)
    assert_in_layout(page, "ja")
    assert f"<h1>{ja('Page not found')}</h1>" in page
    assert "ダッシュボードに戻る" in page
    assert 'id="ask-officer"' not in page  # not a page about material or a designation


def test_a_missing_page_is_english_for_an_english_account(people, signed_in):
    client = english(signed_in(people["investigator"]))
    client.cookies.pop("hozen_language", None)  # the account's choice, not only the cookie
    page = html(client.get("/no-such-page/"))
    assert_in_layout(page, "en")
    assert "<h1>Page not found</h1>" in page and "Back to your dashboard" in page


def test_a_missing_designation_names_the_organisations_security_officers(people, signed_in):
    response = signed_in(people["esi_manager"]).get(f"/designations/{MISSING}/")
    assert response.status_code == 404
    page = html(response)
    assert_in_layout(page, "ja")
    assert 'id="ask-officer"' in page
    assert ja("If you expected to see this, ask your organisation's security officer.") in page
    assert people["security_officer"].person.full_name in page
    assert people["security_officer"].username not in page  # names only


def test_a_hidden_designation_reads_exactly_as_a_missing_one(make_designation, orgs, signed_in):  # noqa: F811
    designation = make_designation()  # METI's
    mic_officer = factories.account(role="security_officer", organisation=orgs["MIC"])
    mic_manager = factories.account(role="esi_manager", organisation=orgs["MIC"])
    client = signed_in(mic_manager)
    hidden = client.get(f"/designations/{designation.pk}/")
    missing = client.get(f"/designations/{MISSING}/")
    assert hidden.status_code == missing.status_code == 404
    assert hidden.content == missing.content  # byte for byte: no token, no path, nothing about the row
    assert mic_officer.person.full_name in html(hidden)
    meti_officers = orgs["METI"].role_assignments.filter(role="security_officer")
    assert all(a.account.person.full_name not in html(hidden) for a in meti_officers)


def test_an_ended_officer_role_is_not_named(people, signed_in):
    officer = people["security_officer"]
    services.revoke_role(actor=factories.operator(), assignment=officer.role_assignments.get())
    page = html(signed_in(people["esi_manager"]).get(f"/vault/designations/{MISSING}/"))
    assert 'id="ask-officer"' in page and officer.person.full_name not in page


def test_an_anonymous_visitors_404_names_nobody_and_leads_to_sign_in(people):
    response = Client().get("/designations/nothing/here/")
    assert response.status_code == 404
    page = html(response)
    assert '<html lang="ja">' in page and f"<h1>{ja('Page not found')}</h1>" in page
    assert 'class="main-nav"' not in page and 'id="ask-officer"' not in page
    assert people["security_officer"].person.family_name not in page
    assert 'id="back-link"' in page and 'href="/signin/"' in page


# --- 403 from the policy -----------------------------------------------------------------------------

def test_an_unbriefed_handler_is_sent_to_the_briefing(make_designation, signed_in):  # noqa: F811
    designation = make_designation()
    handler = make_cleared_handler(designation, briefed=False)
    response = signed_in(handler.account).get(f"/vault/designations/{designation.pk}/")
    assert response.status_code == 403
    page = html(response)
    assert_in_layout(page, "ja")
    assert 'data-reason-code="briefing_not_acknowledged"' in page
    assert "現在の取扱いの義務の説明を確認していません。" in page  # the policy's own reason, kept
    assert re.search(r'<a [^>]*href="/handling/briefing/\?tier=esi" id="briefing-link"', page)
    assert ja("Read and acknowledge the briefing") in page
    # The link leads to the page where the briefing is acknowledged.
    assert 'id="briefing-form"' in html(signed_in(handler.account).get("/handling/briefing/?tier=esi"))


def test_an_unbriefed_handler_reads_the_next_step_in_english(make_designation, signed_in):  # noqa: F811
    designation = make_designation()
    handler = make_cleared_handler(designation, briefed=False)
    page = html(english(signed_in(handler.account)).get(f"/vault/designations/{designation.pk}/"))
    assert_in_layout(page, "en")
    assert "You have not acknowledged the current briefing on handling obligations." in page
    assert "Read and acknowledge the briefing" in page


def test_a_wrong_role_with_other_roles_gets_the_switch_role_link(people, orgs, signed_in):
    account = people["esi_manager"]
    services.assign_role(actor=factories.operator(), account=account, role="complaint_handler",
                         organisation=orgs["MIC"])
    response = signed_in(account).get("/work/investigator/")
    assert response.status_code == 403
    page = html(response)
    assert 'data-reason-code="wrong_role"' in page and '<a href="#role-switch" id="switch-role-link">' in page
    assert 'id="role-switch"' in page  # the header's role switcher the link leads to


def test_a_wrong_role_with_one_role_gets_no_switch_link(people, signed_in):
    page = html(signed_in(people["business_officer"]).get("/work/investigator/"))
    assert 'data-reason-code="wrong_role"' in page and 'id="switch-role-link"' not in page
    assert_in_layout(page, "ja")


def test_not_on_the_handler_list_names_the_security_officer(people, rf):
    """`not_on_handler_list` is answered 404 by the vault today; were it ever a 403, it says whom to ask."""
    from hozen.access.policy import PolicyDenied
    from hozen.core.middleware import ActorMiddleware
    from hozen.handling.conditions import DECISIONS
    from tests.handling_factories import actor_for

    request = rf.get("/vault/")
    request.actor = actor_for(people["esi_manager"])
    request.assignments = list(people["esi_manager"].active_assignments())
    request.user = people["esi_manager"]
    request.session = {}
    response = ActorMiddleware(lambda r: None).process_exception(
        request, PolicyDenied(DECISIONS["handler_list"], "designation.material.read", None, audited=True))
    page = html(response)
    assert response.status_code == 403 and 'data-reason-code="not_on_handler_list"' in page
    assert 'id="ask-officer"' in page and people["security_officer"].person.full_name in page


# --- CSRF --------------------------------------------------------------------------------------------

def test_a_form_sent_without_a_valid_token_gets_the_csrf_page_in_the_layout(people):
    client = factories.signed_in_client(people["investigator"])
    client.handler.enforce_csrf_checks = True
    response = client.post("/profile/notices/", {})
    assert response.status_code == 403
    page = html(response)
    assert_in_layout(page, "ja")
    assert f"<h1>{ja('The form could not be sent')}</h1>" in page
    assert ja("Go back, reload the page and try again.") in page


def test_an_anonymous_sign_in_without_a_token_gets_the_csrf_page(db):
    client = Client(enforce_csrf_checks=True)
    response = client.post("/signin/", {"username": "x", "password": "y"})
    assert response.status_code == 403
    page = html(response)
    assert f"<h1>{ja('The form could not be sent')}</h1>" in page and 'href="/signin/"' in page
    assert 'class="main-nav"' not in page


# --- 500 ---------------------------------------------------------------------------------------------

def test_a_server_error_is_a_static_page_in_the_persons_language(people, signed_in, monkeypatch):
    from hozen.core.views import shell

    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(shell, "dashboard_context", broken)
    client = english(signed_in(people["investigator"]))
    client.raise_request_exception = False
    response = client.get("/dashboard/")
    assert response.status_code == 500
    page = html(response)
    assert '<html lang="en">' in page and "<h1>Something went wrong</h1>" in page
    assert 'class="main-nav"' not in page  # static: no context processors
    assert f'<code id="request-id">{response["X-Request-ID"]}</code>' in page
    assert '<a href="/" id="back-link">' in page
    with translation.override("ja"):
        client.post("/language/", {"language": "ja", "next": "/dashboard/"})
    assert f"<h1>{ja('Something went wrong')}</h1>" in html(client.get("/dashboard/"))


# --- the API stays JSON ----------------------------------------------------------------------------

@pytest.mark.parametrize("path", ["/api/v1/no-such-thing/", f"/api/v1/designations/{MISSING}/x/"])
def test_api_errors_stay_json(people, signed_in, path):
    for client in (Client(), signed_in(people["esi_manager"])):
        response = client.get(path)
        assert response.status_code == 404
        assert response["Content-Type"].startswith("application/json")
        body = response.json()
        assert isinstance(body["detail"], str) and isinstance(body["code"], str)
        assert "<html" not in html(response)


def test_api_csrf_like_posts_stay_json(people, signed_in):
    client = signed_in(people["esi_manager"])
    client.handler.enforce_csrf_checks = True
    response = client.post("/api/v1/no-such-thing/", {})
    assert response.status_code in (403, 404, 405)
    assert response["Content-Type"].startswith("application/json")


def test_a_permission_denied_outside_the_policy_gets_the_403_page(people, signed_in, rf):
    from django.core.exceptions import PermissionDenied

    from hozen.core.views import errors

    client = signed_in(people["investigator"])
    request = rf.get("/somewhere/")
    request.actor = None
    request.user = people["investigator"]
    request.session = client.session
    response = errors.permission_denied(request, PermissionDenied())
    page = html(response)
    assert response.status_code == 403 and f"<h1>{ja('You cannot open this page')}</h1>" in page
    assert 'href="/signin/"' in page  # no actor on this request: the way back is the sign-in page
    api = errors.permission_denied(rf.get("/api/v1/x"), PermissionDenied())
    assert api.status_code == 403 and b"<html" not in api.content  # the API middleware makes it JSON


def test_a_missing_static_file_gets_the_404_page_without_guessing_who_asks(db):
    response = Client().get("/static/hozen/no-such-file.css")
    assert response.status_code == 404
    assert f"<h1>{ja('Page not found')}</h1>" in html(response)
