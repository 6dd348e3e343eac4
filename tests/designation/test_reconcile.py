"""ARCHITECTURE rule 10 for designations: the record and the data never disagree, and a check that
replays the log finds any row changed behind the services' back (`hozen audit reconcile`)."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.db import connection

from hozen.audit.models import AuditEntry, ReconcileRun
from hozen.audit.reconcile import reconcile, run_and_record
from hozen.cli import main
from hozen.core.actor import Actor
from hozen.designation import services
from hozen.designation.models import Designation
from hozen.rules.queries import current_pack

pytestmark = pytest.mark.django_db


def raw(sql: str, *params) -> None:
    """A change behind the services' back: no service, no audit entry."""
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def test_the_designation_lifecycle_replays_to_the_stored_rows(make_designation, meti, orgs, draft_fields):
    d = make_designation()
    services.extend(actor=meti["head"], designation=d, new_end=dt.date(2035, 5, 31), reason="延長の理由をここに書く十分な長さ")
    draft = services.create_draft(actor=meti["manager"], organisation=orgs["METI"], **draft_fields)
    services.update_draft(actor=meti["manager"], designation=draft.pk, version=draft.version, title="改めた件名")
    gone = make_designation()
    services.cancel(actor=meti["head"], designation=gone, reason="非公知性の要件を満たさなくなったため")
    moved = make_designation()
    sds = current_pack("sds", dt.date(2026, 6, 1))
    item = sds.sub_items.select_related("category").first()
    services.move_to_sds(actor=meti["head"], designation=moved, reason="特定秘密に該当するため移行する", sds_category=item.category,
                         sds_sub_item=item, term_end=dt.date(2031, 5, 31), justification_harm="著しい支障を与えるおそれがある。")
    report = reconcile(kinds=["designation"])
    assert report.ok, [d.line() for d in report.disagreements]
    assert report.checked["designation"] == Designation.objects.count() == 5


def test_a_state_changed_with_raw_sql_is_named_by_the_reconcile_check(make_designation):
    d = make_designation()
    raw("UPDATE designation_designation SET state = 'draft', reference = NULL WHERE id = %s", d.pk)
    report = reconcile(kinds=["designation"])
    found = {(x.record_id, x.field): (x.logged, x.stored) for x in report.disagreements}
    assert found[(str(d.pk), "state")] == ("designated", "draft")
    assert found[(str(d.pk), "reference")] == ("METI-2026-0001", None)
    assert report.count == 2


def test_a_term_end_changed_with_raw_sql_is_named(make_designation):
    d = make_designation()
    raw("UPDATE designation_designation SET term_end = %s WHERE id = %s", "2040-01-01", d.pk)
    lines = [x.line() for x in reconcile(kinds=["designation"]).disagreements]
    assert lines == [f'designation {d.pk}: term_end: the log says "2031-05-31", the row holds "2040-01-01"']


def test_an_unrecorded_change_and_a_row_without_entries_are_named(make_designation):
    d = make_designation()
    raw("UPDATE designation_designation SET version = version + 1 WHERE id = %s", d.pk)
    report = reconcile(kinds=["designation"])
    assert [(x.field, x.logged, x.stored) for x in report.disagreements] == [("version", 2, 3)]
    # A row the log never heard of (its entries removed with raw SQL: the ORM refuses to delete them).
    raw("DELETE FROM audit_auditentry WHERE target_type = 'designation.designation' AND target_id = %s", str(d.pk))
    report = reconcile(kinds=["designation"])
    assert [(x.record_id, x.field, x.logged) for x in report.disagreements] == [(str(d.pk), "*", "(no lifecycle entry)")]


def test_a_row_deleted_behind_the_services_back_is_named(make_designation):
    d = make_designation()
    with connection.cursor() as cursor:
        for table in ("designation_event", "designation_holder"):
            cursor.execute(f"DELETE FROM {table} WHERE designation_id = %s", [d.pk])
        cursor.execute("DELETE FROM designation_designation WHERE id = %s", [d.pk])
    report = reconcile(kinds=["designation"])
    assert [(x.record_id, x.field, x.stored) for x in report.disagreements] == [(str(d.pk), "*", "(no row)")]


def test_each_run_is_kept_and_audited_and_a_disagreement_is_a_failure(make_designation, meti):
    d = make_designation()
    _, run = run_and_record(actor=Actor.job("audit.reconcile"))
    assert run.disagreements == 0
    entry = json.loads(AuditEntry.objects.filter(action="audit.reconciled").last().data)
    assert entry["outcome"] == "success" and entry["details"]["disagreements"] == 0
    raw("UPDATE designation_designation SET state = 'cancelled' WHERE id = %s", d.pk)
    report, run = run_and_record(actor=meti["auditor"])
    assert run.disagreements == 1 and run.details[0]["field"] == "state"
    entry = json.loads(AuditEntry.objects.filter(action="audit.reconciled").last().data)
    assert entry["outcome"] == "failure" and entry["details"]["disagreements"] == 1
    assert ReconcileRun.objects.count() == 2


def test_only_auditors_the_operator_and_the_job_may_reconcile(meti):
    from hozen.access.policy import PolicyDenied

    for who in ("head", "manager", "sysadmin", "oversight"):
        with pytest.raises(PolicyDenied):
            run_and_record(actor=meti[who])
    assert not ReconcileRun.objects.exists()


def test_the_auditor_dashboard_shows_the_disagreements(make_designation, meti, people, signed_in):
    d = make_designation()
    raw("UPDATE designation_designation SET state = 'cancelled' WHERE id = %s", d.pk)
    run_and_record(actor=Actor.job("audit.reconcile"))
    page = signed_in(people["auditor"]).get("/dashboard/").content.decode()
    assert 'id="reconcile-panel"' in page and f"designation {d.pk}" in page and "cancelled" in page


def test_cli_reconcile_names_each_disagreement_and_exits_1(make_designation, capsys):
    d = make_designation()
    assert main(["audit", "reconcile"]) == 0
    assert "state ok" in capsys.readouterr().out
    raw("UPDATE designation_designation SET state = 'expired' WHERE id = %s", d.pk)
    assert main(["audit", "reconcile", "--json"]) == 1
    out = json.loads(capsys.readouterr().out)
    assert out["disagreements"] == 1 and out["details"][0] == {
        "kind": "designation", "record_id": str(d.pk), "field": "state", "logged": "designated", "stored": "expired"}
    assert main(["audit", "reconcile", "--kind", "nonsense"]) == 1
    assert "no replay for nonsense" in capsys.readouterr().err


def test_verify_state_runs_the_reconcile_check_after_the_log_verifies(make_designation, capsys):
    d = make_designation()
    assert main(["audit", "verify", "--state"]) == 0
    assert "state ok" in capsys.readouterr().out
    raw("UPDATE designation_designation SET reference = 'METI-2026-9999' WHERE id = %s", d.pk)
    assert main(["audit", "verify", "--state"]) == 1
    assert "reference" in capsys.readouterr().out


def test_a_change_committed_while_the_check_reads_is_not_reported(meti, orgs, draft_fields, monkeypatch):
    """The check reads a page of rows, then their entries: an approval committed in between makes the
    entries newer than the rows. It asks again with the row locked and reports only what still
    disagrees (nothing here), so a busy system raises no false alarm."""
    from hozen.audit import reconcile as module

    draft = services.create_draft(actor=meti["manager"], organisation=orgs["METI"], **draft_fields)
    real = module._entries
    calls = []

    def entries_after_an_approval(replayer, ids):
        if not calls:
            services.approve(actor=meti["head"], designation=draft.pk)
        calls.append(ids)
        return real(replayer, ids)

    monkeypatch.setattr(module, "_entries", entries_after_an_approval)
    report = reconcile(kinds=["designation"])
    assert report.ok, [d.line() for d in report.disagreements]
    assert len(calls) == 2  # the page's entries, then the suspected row's again under its lock
    raw("UPDATE designation_designation SET state = 'draft' WHERE id = %s", draft.pk)
    assert [d.field for d in reconcile(kinds=["designation"]).disagreements] == ["state"]
