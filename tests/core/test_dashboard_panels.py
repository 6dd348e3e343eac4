"""Dashboards are work queues, not placeholders (issue 15 §1): the system administrator sees the
background work (late jobs first), the auditor the signed checkpoints, oversight its statistics."""

from __future__ import annotations

import re

import pytest

from hozen.core import jobs

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
    job = next(j for j in jobs.registered() if j.name == "core.idempotency_expiry")
    jobs.run_leased(job, force=True)
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
