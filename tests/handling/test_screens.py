"""The handling screens: handler list for keepers, the add form that says why, the briefing page,
and "why can't I open this?"."""

from __future__ import annotations

import pytest

from hozen.handling.models import BriefingAcknowledgement, HandlerEntry
from tests import factories
from tests.handling_factories import make_clearance, make_cleared_handler


@pytest.fixture
def keeper_client(people, signed_in):
    return signed_in(people["esi_manager"])


def test_anonymous_is_sent_to_sign_in(client, designation):
    for url in ("/handling/", f"/handling/designations/{designation.pk}/", f"/handling/explain/{designation.pk}/",
                "/handling/briefing/"):
        response = client.get(url)
        assert response.status_code == 302 and "/signin/" in response["Location"]


def test_keeper_sees_the_list(designation, keeper_client, django_assert_max_num_queries):
    for _ in range(3):
        make_cleared_handler(designation)
    with django_assert_max_num_queries(25):
        response = keeper_client.get(f"/handling/designations/{designation.pk}/")
    assert response.status_code == 200
    html = response.content.decode()
    assert html.count('data-entry="') == 3
    assert designation.reference in html


def test_add_form_lists_only_own_staff_and_adds(designation, keeper_client, orgs):
    staff = factories.account(role="subject", organisation=orgs["METI"])
    make_clearance(staff, organ=orgs["METI"])
    outsider = factories.account(role="subject", organisation=orgs["MIC"])
    page = keeper_client.get(f"/handling/designations/{designation.pk}/add/").content.decode()
    assert staff.username in page and outsider.username not in page
    response = keeper_client.post(f"/handling/designations/{designation.pk}/add/",
                                  {"account": staff.pk, "reason": "審査担当", "ends_on": ""})
    assert response.status_code == 302
    assert HandlerEntry.objects.filter(account=staff, ended_at__isnull=True).exists()


def test_add_form_says_why_someone_cannot_be_added(designation, keeper_client, orgs):
    staff = factories.account(role="subject", organisation=orgs["METI"])
    response = keeper_client.post(f"/handling/designations/{designation.pk}/add/",
                                  {"account": staff.pk, "reason": "", "ends_on": ""}, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="eligibility-conditions"' in html
    assert 'data-condition="assessment"' in html
    assert not HandlerEntry.objects.exists()


def test_add_form_refuses_a_malformed_date(designation, keeper_client, orgs):
    staff = factories.account(role="subject", organisation=orgs["METI"])
    make_clearance(staff, organ=orgs["METI"])
    response = keeper_client.post(f"/handling/designations/{designation.pk}/add/",
                                  {"account": staff.pk, "ends_on": "next year"})
    assert response.status_code == 200 and 'has-error' in response.content.decode()
    assert not HandlerEntry.objects.exists()


def test_keeper_removes_a_handler(designation, keeper_client):
    actor = make_cleared_handler(designation)
    entry = HandlerEntry.objects.get(account=actor.account)
    response = keeper_client.post(f"/handling/entries/{entry.pk}/remove/")
    assert response.status_code == 302
    entry.refresh_from_db()
    assert entry.end_reason == "removed"


def test_wrong_role_gets_403_with_the_reason(designation, people, signed_in):
    response = signed_in(people["organ_head"]).get(f"/handling/designations/{designation.pk}/")
    assert response.status_code == 403


def test_other_organisation_gets_404(designation, orgs, signed_in):
    mic = factories.account(role="esi_manager", organisation=orgs["MIC"])
    assert signed_in(mic).get(f"/handling/designations/{designation.pk}/").status_code == 404


def test_handler_acknowledges_the_briefing_on_screen(people, signed_in):
    client = signed_in(people["subject"])
    page = client.get("/handling/briefing/").content.decode()
    assert "拘禁刑" in page and 'id="briefing-form"' in page
    from hozen.handling import briefings

    response = client.post("/handling/briefing/", {"tier": "esi", "text_sha256": briefings.current("esi").sha256,
                                                    "confirm": "on"})
    assert response.status_code == 302
    assert BriefingAcknowledgement.objects.filter(account=people["subject"]).count() == 1
    assert 'id="briefing-status"' in client.get("/handling/briefing/").content.decode()


def test_briefing_needs_the_confirmation_box(people, signed_in):
    from hozen.handling import briefings

    client = signed_in(people["subject"])
    response = client.post("/handling/briefing/", {"tier": "esi", "text_sha256": briefings.current("esi").sha256})
    assert response.status_code == 200
    assert not BriefingAcknowledgement.objects.exists()


def test_explain_shows_every_condition_to_the_handler(designation, signed_in):
    actor = make_cleared_handler(designation, briefed=False)
    html = signed_in(actor.account).get(f"/handling/explain/{designation.pk}/").content.decode()
    assert 'data-code="briefing_not_acknowledged"' in html
    for name in ("designation", "handler_list", "assessment", "contract", "briefing"):
        assert f'data-condition="{name}"' in html
    assert designation.reference in html


def test_explain_to_a_colleague_without_need_to_know_reveals_nothing_else(designation, orgs, signed_in):
    make_cleared_handler(designation)  # someone else is listed
    colleague = factories.account(role="subject", organisation=orgs["METI"])
    html = signed_in(colleague).get(f"/handling/explain/{designation.pk}/").content.decode()
    assert 'data-code="not_on_handler_list"' in html
    assert designation.reference not in html and designation.title not in html


def _page(response) -> str:
    import re

    html = response.content.decode()
    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]*"', "", html)


def test_explain_of_an_unknown_reference_looks_like_not_listed(people, signed_in):
    client = signed_in(people["subject"])
    response = client.get("/handling/explain/", {"reference": "METI-2099-9999"})
    assert response.status_code == 200
    assert 'data-code="not_on_handler_list"' in response.content.decode()


def test_explain_lookup_answers_an_unknown_and_a_not_visible_reference_alike(designation, orgs, signed_in):
    """No existence oracle: the same page for a reference that does not exist and for one the person
    may not know, and no internal id in either (no redirect to /explain/<id>/)."""
    make_cleared_handler(designation)  # someone else is listed
    colleague = factories.account(role="subject", organisation=orgs["METI"])
    client = signed_in(colleague)
    known = client.get("/handling/explain/", {"reference": designation.reference})
    unknown = client.get("/handling/explain/", {"reference": "METI-2099-9999"})
    assert known.status_code == unknown.status_code == 200
    assert "Location" not in known and "Location" not in unknown
    assert _page(known).replace(designation.reference, "METI-2099-9999") == _page(unknown)
    assert f"/handling/explain/{designation.pk}/" not in _page(known)


def test_explain_lookup_takes_a_listed_handler_to_the_designation(designation, signed_in):
    actor = make_cleared_handler(designation, briefed=False)
    response = signed_in(actor.account).get("/handling/explain/", {"reference": designation.reference})
    assert response.status_code == 302 and response["Location"] == f"/handling/explain/{designation.pk}/"


def test_index_shows_my_entries_and_briefing_status(designation, signed_in):
    actor = make_cleared_handler(designation)
    html = signed_in(actor.account).get("/handling/").content.decode()
    assert designation.reference in html and 'id="briefings"' in html


def test_business_protection_officer_keeps_the_list_of_provided_material(provided, towa_employee, people, signed_in):
    make_cleared_handler(provided, towa_employee)
    client = signed_in(people["business_officer"])
    assert provided.reference in client.get("/handling/").content.decode()
    html = client.get(f"/handling/designations/{provided.pk}/").content.decode()
    assert towa_employee.username in html and "技術部" in html


def test_list_shows_a_lapse_before_the_job_records_it(designation, keeper_client, people):
    import datetime as dt

    from hozen.assessment import services as assessment
    from hozen.assessment.models import Clearance
    from tests.handling_factories import actor_for

    actor = make_cleared_handler(designation)
    assessment.report_event(actor=actor_for(people["security_officer"]),
                            clearance=Clearance.objects.get(person=actor.account.person), kind="left",
                            occurred_on=dt.date(2026, 6, 1))
    html = keeper_client.get(f"/handling/designations/{designation.pk}/").content.decode()
    assert 'class="status-lapsed"' in html


def test_explain_links_to_the_briefing_of_the_designations_tier(make_designation, signed_in):
    sds = make_designation(tier="sds")
    actor = make_cleared_handler(sds, briefed=False)
    html = signed_in(actor.account).get(f"/handling/explain/{sds.pk}/").content.decode()
    assert "/handling/briefing/?tier=sds" in html
    page = signed_in(actor.account).get("/handling/briefing/?tier=sds").content.decode()
    assert "特定秘密" in page and "Text sha256" not in page


def test_my_entries_show_a_lapse_by_the_dates_before_the_daily_job(designation, signed_in, orgs, _frozen_today):
    """ARCHITECTURE rule 9: the person's own list says the entry has ended on its end date, not
    "listed" until the job has run."""
    import datetime as dt

    from hozen.handling import services
    from tests.handling_factories import keeper_for

    account = factories.account(role="subject", organisation=orgs["METI"])
    make_clearance(account, organ=orgs["METI"])
    services.add_handler(actor=keeper_for(orgs["METI"]), designation=designation, account=account,
                         ends_on=dt.date(2026, 8, 31))
    assert "記載中" in signed_in(account).get("/handling/").content.decode()
    _frozen_today.move_to(dt.datetime(2026, 9, 1, 3, 0, tzinfo=dt.UTC))
    html = signed_in(account).get("/handling/").content.decode()
    mine = html[html.index('id="mine"'):]
    assert "終了日の到来" in mine and "記載中" not in mine
    assert HandlerEntry.objects.get(account=account).ended_at is None  # nothing recorded yet: the dates decide
