"""Dashboards are work queues, not placeholders (issue 15 §1): the system administrator sees the
background work (late jobs first), the auditor the signed checkpoints, oversight its statistics."""

from __future__ import annotations

import re

import pytest

from hozen.core import jobs
from tests.core.test_email_notices import make_designation_for_meti  # noqa: F401 - a fixture

pytestmark = pytest.mark.django_db


def _panel(page: str, panel_id: str) -> str:
    start = page.index(f'id="{panel_id}"')
    return page[start:page.index("</section>", start)]


def test_the_system_administrator_sees_every_periodic_job_and_which_are_late(people, signed_in):
    client = signed_in(people["sysadmin"])
    panel = _panel(client.get("/dashboard/").content.decode(), "panel-health")
    for job in jobs.registered():
        assert f"<code>{job.name}</code>" in panel
    late = len(jobs.registered())
    assert f"{late}件の定期処理が遅れているか失敗しています" in panel  # none has run on a new database
    from django.utils import timezone

    from hozen.core.models import JobLease

    now = timezone.now()  # as a worker leaves the row once the job has run
    JobLease.objects.update_or_create(name="core.idempotency_expiry", defaults={
        "last_started_at": now, "last_finished_at": now, "last_outcome": "ok", "runs": 1})
    panel = _panel(client.get("/dashboard/").content.decode(), "panel-health")
    row = re.search(r"<code>core\.idempotency_expiry</code>.*?</tr>", panel, re.S).group(0)
    assert "完了" in row and "遅れ" not in row
    assert f"{late - 1}件の定期処理" in panel
    assert 'id="task-queue"' in panel


def test_only_the_system_administrator_sees_the_background_work(people, signed_in):
    page = signed_in(people["auditor"]).get("/dashboard/").content.decode()
    assert 'id="panel-health"' not in page


def test_the_auditor_sees_the_latest_signed_checkpoint(people, signed_in):
    from hozen.audit import checkpoints

    client = signed_in(people["auditor"])
    assert "まだ署名されたチェックポイントはありません" in _panel(client.get("/dashboard/").content.decode(),
                                                         "panel-checkpoints")
    checkpoint = checkpoints.issue_checkpoint()
    panel = _panel(client.get("/dashboard/").content.decode(), "panel-checkpoints")
    assert f"最初の{checkpoint.size}件" in panel


def test_oversight_reaches_the_statistics_from_its_menu_and_dashboard(people, signed_in):
    page = signed_in(people["oversight"]).get("/dashboard/").content.decode()
    menu = page[page.index('class="main-nav"'):page.index("</nav>")]
    assert 'href="/designations/statistics/"' in menu
    assert 'href="/designations/statistics/"' in _panel(page, "panel-statistics")


def test_a_business_sees_its_certification_and_contracts_on_its_dashboard(people, orgs, signed_in):
    from tests.handling_factories import make_contract

    client = signed_in(people["business_officer"])
    panel = _panel(client.get("/dashboard/").content.decode(), "panel-certification")
    assert "まだどの機関からも認定を受けていません" in panel  # the honest empty state, not a placeholder
    contract = make_contract(orgs["METI"], orgs["TOWA"], departments=("技術部",))
    panel = _panel(client.get("/dashboard/").content.decode(), "panel-certification")
    assert "（2025-06-01）" in panel and contract.reference in panel and "技術部" in panel


def test_a_certification_is_seen_by_its_two_sides_and_oversight_only(people, orgs):
    from hozen.access import policy
    from hozen.core.actor import Actor
    from hozen.operators import queries
    from tests import factories
    from tests.handling_factories import make_contract

    certification = make_contract(orgs["METI"], orgs["TOWA"]).certification

    def actor(account):
        return Actor.for_account(account, account.active_assignments().first(), channel="web",
                                 second_factor_verified=True)

    for role in ("business_officer", "organ_head", "security_officer", "oversight"):
        assert list(queries.certifications_for(actor(people[role]))) == [certification], role
        assert policy.decide(actor(people[role]), "certification.view", certification).allowed
    from hozen.core import services
    from hozen.core.roles import OrganisationKind

    other = services.create_organisation(actor=factories.operator(), code="KITA", kind=OrganisationKind.BUSINESS,
                                         name_ja="北工業株式会社", name_en="Kita Industries")
    other_business = factories.account(role="business_officer", organisation=other)
    for who in (people["investigator"], people["subject"], other_business):
        assert not queries.certifications_for(actor(who)).exists()
        assert policy.decide(actor(who), "certification.view", certification).code == "no_access_to_certification"


def test_a_keepers_dashboard_counts_the_handler_lists_the_list_page_shows(people, orgs, signed_in,
                                                                           make_designation_for_meti):  # noqa: F811
    client = signed_in(people["security_officer"])
    assert "保管する取扱者名簿はありません" in _panel(client.get("/dashboard/").content.decode(), "panel-handler-lists")
    made = [make_designation_for_meti() for _ in range(2)]
    panel = _panel(client.get("/dashboard/").content.decode(), "panel-handler-lists")
    index = client.get("/handling/").content.decode()
    for d in made:
        assert f"/handling/designations/{d.pk}/" in panel and f"/handling/designations/{d.pk}/" in index


def test_the_organ_head_sees_the_businesses_it_certified(people, orgs, signed_in):
    from tests.handling_factories import make_contract

    client = signed_in(people["organ_head"])
    assert "認定した事業者はまだありません" in _panel(client.get("/dashboard/").content.decode(), "panel-certified")
    make_contract(orgs["METI"], orgs["TOWA"])
    panel = _panel(client.get("/dashboard/").content.decode(), "panel-certified")
    assert "東和重工業株式会社" in panel and "（2025-06-01）" in panel


def test_the_organ_head_is_told_which_cases_wait_for_an_assignment(people, signed_in):
    client = signed_in(people["organ_head"])
    panel = _panel(client.get("/dashboard/").content.decode(), "panel-assign")
    assert "担当者の指名を待っている事案はありません" in panel
    assert 'href="/assessment/staff/assignments/"' in panel
