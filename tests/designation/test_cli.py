"""`hozen designations import/export/list/expire` (issue 5): all-or-nothing import naming the line and
the field, an audited export that reads back, JSON listings, the expiry job on demand."""

from __future__ import annotations

import csv
import datetime as dt
import json

import pytest

from hozen.audit.models import AuditEntry
from hozen.cli import main
from hozen.designation.cli import ledger_csv_columns
from hozen.designation.models import Designation, Event, State

pytestmark = pytest.mark.django_db

HEADER = ("title,summary,category,sub_item,designated_on,term_end,protective_measure,justification_category,"
          "justification_not_public,justification_harm,in_advance,advance_reason")


def row(title="発電設備の防護計画に関する情報", *, category="1", sub_item="A-1", designated_on="2026-06-01",
        term_end="2031-05-31", measure="marking", in_advance="", advance_reason="") -> str:
    return ",".join([
        title, "基幹インフラの発電設備に係る防護措置の計画（内容は記載しない）", category, sub_item, designated_on, term_end,
        measure, "法第2条第4項第1号の措置に関する計画であり細目に該当する。", "公表されておらず関係者以外に知られていない。",
        "漏えいすれば設備への妨害行為を容易にし安全保障に支障を与える。", in_advance, advance_reason,
    ])


def write_csv(tmp_path, lines: list[str], *, bom: bool = False, name: str = "drafts.csv"):
    path = tmp_path / name
    text = "\r\n".join([HEADER, *lines]) + "\r\n"
    path.write_bytes(("\ufeff" if bom else "").encode("utf-8") + text.encode("utf-8"))
    return path


def designation_writes() -> tuple[int, int, int]:
    return (Designation.objects.count(), Event.objects.count(),
            AuditEntry.objects.filter(action__startswith="designation.").count())


# --- import ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("bom", [True, False], ids=["with-bom", "without-bom"])
def test_import_creates_every_row_as_a_draft_with_events_and_audit_entries(meti, tmp_path, capsys, bom):
    path = write_csv(tmp_path, [row("一件目の情報"), row("二件目の情報", sub_item="A-2", measure="written_notice"),
                                row("三件目の情報", category="", in_advance="true",
                                    advance_reason="研究成果が来月生じる見込みのため")], bom=bom)
    assert main(["designations", "import", str(path), "--as", "esi-manager"]) == 0
    out = capsys.readouterr()
    assert out.out.startswith("imported 3 drafts into METI") and out.err == ""
    drafts = list(Designation.objects.order_by("pk"))
    assert [d.title for d in drafts] == ["一件目の情報", "二件目の情報", "三件目の情報"]
    assert all(d.state == State.DRAFT and d.organisation.code == "METI" for d in drafts)
    assert drafts[0].prepared_by == meti["manager"].account and drafts[0].rules_pack.code == "jp-esi-2025"
    assert drafts[1].sub_item.code == "A-2" and drafts[1].protective_measure == "written_notice"
    assert drafts[2].category.code == "1" and drafts[2].in_advance
    assert drafts[0].term_end == dt.date(2031, 5, 31)
    # The same events and audit entries as a draft made on screen, plus one for the import.
    assert Event.objects.filter(kind="drafted").count() == 3
    drafted = [json.loads(e.data) for e in AuditEntry.objects.filter(action="designation.drafted").order_by("id")]
    assert [e["target"]["id"] for e in drafted] == [str(d.pk) for d in drafts]
    assert drafted[0]["actor"]["account"] == "esi-manager" and drafted[0]["actor"]["channel"] == "cli"
    imported = json.loads(AuditEntry.objects.get(action="designation.imported").data)
    assert imported["details"]["count"] == 3 and imported["details"]["organisation"] == "METI"
    assert len(imported["details"]["sha256"]) == 64


def test_import_with_one_bad_row_in_the_middle_reports_its_line_and_writes_nothing(meti, tmp_path, capsys):
    path = write_csv(tmp_path, [row("一件目"), row("二件目"), row("三件目", term_end="2031-06-01"), row("四件目")])
    before = designation_writes()
    assert main(["designations", "import", str(path), "--as", "esi-manager"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert f"{path} line 4: term_end: A term can be at most 5 years" in err and "nothing imported" in err
    assert designation_writes() == before == (0, 0, 0)


@pytest.mark.parametrize(("change", "field"), [
    ({"designated_on": "2026/06/01"}, "designated_on"),
    ({"sub_item": "Z-99"}, "sub_item"),
    ({"category": "9"}, "category"),
    ({"measure": "shouting"}, "protective_measure"),
    ({"in_advance": "perhaps"}, "in_advance"),
    ({"in_advance": "yes"}, "advance_reason"),
    ({"designated_on": "2025-05-15", "term_end": "2026-05-01"}, "designated_on"),
    ({"title": ""}, "title"),
])
def test_import_names_the_field_of_a_bad_row(meti, tmp_path, capsys, change, field):
    path = write_csv(tmp_path, [row(), row(**change)])
    assert main(["designations", "import", str(path), "--as", "esi-manager"]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"hozen: error: {path} line 3: {field}: ") and err.count("\n") == 1
    assert not Designation.objects.exists()


def test_import_reports_every_bad_row_and_counts_lines_of_multi_line_cells(meti, tmp_path, capsys):
    multi_line = (row().replace("基幹インフラの発電設備", '"基幹インフラの\n発電設備')
                  .replace("（内容は記載しない）", '（内容は記載しない）"'))
    path = write_csv(tmp_path, [multi_line, row(sub_item="Z-1"), row(term_end="soon")])
    assert main(["designations", "import", str(path), "--as", "esi-manager"]) == 1
    lines = capsys.readouterr().err.splitlines()
    assert lines[0].startswith(f"hozen: error: {path} line 4: sub_item: ")
    assert lines[1].startswith(f"hozen: error: {path} line 5: term_end: ")
    assert lines[2] == "hozen: error: 2 rows refused; nothing imported"
    assert not Designation.objects.exists()


@pytest.mark.parametrize(("content", "expected"), [
    (b"", "line 1: the file is empty"),
    (b"title,summary\r\n", "line 1: category: missing column(s) category, sub_item"),
    ((HEADER + ",colour\r\n").encode(), "line 1: colour: unknown column(s) colour"),
    ((HEADER + "\r\n").encode(), "line 2: the file has a header but no rows"),
    ((HEADER + "\r\n" + row()).encode("shift_jis"), "not UTF-8 text"),
])
def test_import_refuses_a_malformed_file_in_one_line(meti, tmp_path, capsys, content, expected):
    path = tmp_path / "bad.csv"
    path.write_bytes(content)
    assert main(["designations", "import", str(path), "--as", "esi-manager"]) == 1
    err = capsys.readouterr().err
    assert expected in err and err.count("\n") == 1
    assert not Designation.objects.exists()


def test_import_as_someone_who_is_not_an_esi_manager_is_refused_with_the_reason(meti, tmp_path, capsys):
    path = write_csv(tmp_path, [row()])
    assert main(["designations", "import", str(path), "--as", "security-officer"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("hozen: refused: Only the ESI manager role may do this") and err.count("\n") == 1
    assert not Designation.objects.exists()
    assert main(["designations", "import", str(path), "--as", "nobody"]) == 1
    assert "nobody" in capsys.readouterr().err


def test_import_of_a_missing_file_is_one_line(meti, tmp_path, capsys):
    assert main(["designations", "import", str(tmp_path / "none.csv"), "--as", "esi-manager"]) == 1
    assert capsys.readouterr().err.count("\n") == 1


def test_import_dry_run_checks_and_writes_nothing(meti, tmp_path, capsys):
    path = write_csv(tmp_path, [row(), row()])
    assert main(["designations", "import", str(path), "--as", "esi-manager", "--dry-run"]) == 0
    assert "2 rows are valid" in capsys.readouterr().out
    assert designation_writes() == (0, 0, 0)


def test_import_progress_bar_goes_to_stderr_only(meti, tmp_path, capsys):
    path = write_csv(tmp_path, [row(), row()])
    assert main(["designations", "import", str(path), "--as", "esi-manager", "--progress"]) == 0
    out = capsys.readouterr()
    assert out.out.startswith("imported 2 drafts") and "━" not in out.out
    assert Designation.objects.count() == 2


def test_import_help_documents_the_columns(capsys):
    with pytest.raises(SystemExit):
        main(["designations", "import", "--help"])
    text = capsys.readouterr().out
    for column in HEADER.split(","):
        assert column in text


# --- export ---------------------------------------------------------------------------------------------

def _read_csv(path) -> list[dict]:
    columns = dict((header, key) for key, header in ledger_csv_columns())
    with open(path, encoding="utf-8-sig", newline="") as f:
        return [{columns[h]: v for h, v in r.items()} for r in csv.DictReader(f)]


def test_export_csv_reads_back_as_the_ledger(make_designation, meti, tmp_path, capsys):
    first = make_designation()
    # A title is one line (issue 12's text policy); the summary carries the line break the CSV must quote.
    make_designation(title="二件目, with a comma and \"quotes\"",
                     summary="二件目の概要, with a comma and \"quotes\"\nand a second line")
    from hozen.designation import services

    services.extend(actor=meti["head"], designation=first, new_end=dt.date(2036, 5, 31),
                    reason="要件を引き続き満たすため延長する")
    out = tmp_path / "ledger.csv"
    assert main(["designations", "export", "--organisation", "METI", "--output", str(out)]) == 0
    assert "exported 2 ledger rows of 1 organ(s)" in capsys.readouterr().err
    assert out.read_bytes().startswith("\ufeff".encode())  # Excel reads the Japanese right
    assert main(["designations", "export", "--organisation", "METI", "--format", "json"]) == 0
    as_json = json.loads(capsys.readouterr().out)
    assert _read_csv(out) == [{k: str(v) for k, v in r.items()} for r in as_json]
    assert [r["reference"] for r in as_json] == ["METI-2026-0001", "METI-2026-0002"]
    assert as_json[0]["state"] == "指定中（延長）" and as_json[0]["term_end"] == "2036-05-31"
    entries = [json.loads(e.data) for e in AuditEntry.objects.filter(action="designation.ledger_exported")]
    assert [e["details"]["format"] for e in entries] == ["csv", "json"]
    assert entries[0]["details"]["organisations"] == ["METI"] and entries[0]["details"]["rows"] == 2
    assert entries[0]["actor"]["kind"] == "system" and entries[0]["actor"]["channel"] == "cli"


def test_export_without_an_organisation_takes_every_organ(make_designation, meti, orgs, draft_fields, capsys):
    from hozen.designation import services
    from tests import factories

    from .conftest import actor_of

    make_designation()
    mic_manager = actor_of(factories.account(role="esi_manager", organisation=orgs["MIC"]))
    services.approve(actor=meti["head_mic"], designation=services.create_draft(
        actor=mic_manager, organisation=orgs["MIC"], **draft_fields))
    services.create_draft(actor=meti["manager"], organisation=orgs["METI"], **draft_fields)  # not on the ledger
    assert main(["designations", "export", "--format", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [(r["organisation"], r["reference"]) for r in rows] == [("METI", "METI-2026-0001"),
                                                                  ("MIC", "MIC-2026-0001")]
    assert main(["designations", "export"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("行政機関,指定番号,件名") and len(lines) == 3
    assert not lines[0].startswith("\ufeff")  # no byte-order mark on a pipe


def test_export_of_an_unknown_organisation_is_one_line(meti, capsys):
    assert main(["designations", "export", "--organisation", "NOPE"]) == 1
    err = capsys.readouterr().err
    assert "NOPE" in err and err.count("\n") == 1
    assert not AuditEntry.objects.filter(action="designation.ledger_exported").exists()


def test_export_cells_that_a_spreadsheet_would_run_are_escaped(make_designation, tmp_path, capsys):
    make_designation(title="=HYPERLINK(\"http://example.invalid\")")
    out = tmp_path / "ledger.csv"
    assert main(["designations", "export", "--organisation", "METI", "--output", str(out)]) == 0
    assert _read_csv(out)[0]["title"].startswith("'=HYPERLINK")


# --- list -----------------------------------------------------------------------------------------------

def test_list_json_shows_the_ledgers_designations_to_the_operator(make_designation, meti, orgs, draft_fields, capsys):
    from hozen.designation import services

    d = make_designation()
    services.create_draft(actor=meti["manager"], organisation=orgs["METI"], **draft_fields)
    assert main(["designations", "list", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert rows == [{"id": d.pk, "reference": "METI-2026-0001", "organisation": "METI", "tier": "esi",
                     "state": "designated", "title": d.title, "category": "1", "sub_item": "A-1",
                     "designated_on": "2026-06-01", "term_end": "2031-05-31", "review_due": "2027-06-01"}]
    assert main(["designations", "list", "--state", "cancelled", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == []
    assert main(["designations", "list", "--organisation", "MIC", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == []


def test_list_as_an_account_shows_what_its_role_sees_drafts_included(make_designation, meti, orgs, draft_fields,
                                                                     capsys):
    from hozen.designation import services

    make_designation()
    draft = services.create_draft(actor=meti["manager"], organisation=orgs["METI"], **draft_fields)
    assert main(["designations", "list", "--as", "esi-manager", "--state", "draft", "--json"]) == 0
    assert [r["id"] for r in json.loads(capsys.readouterr().out)] == [draft.pk]
    assert main(["designations", "list", "--as", "auditor", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == []


def test_list_table_and_bad_state(make_designation, capsys):
    make_designation()
    assert main(["designations", "list"]) == 0
    assert "METI-2026-0001" in capsys.readouterr().out
    assert main(["designations", "list", "--state", "secret"]) == 1
    assert "--state" in capsys.readouterr().err


# --- expire ---------------------------------------------------------------------------------------------

def test_expire_runs_the_expiry_job_now(make_designation, _frozen_today, capsys):
    d = make_designation(term_end=dt.date(2026, 12, 31))
    assert main(["designations", "expire"]) == 0
    assert capsys.readouterr().out.startswith("expired 0 designation(s)")
    _frozen_today.move_to(dt.datetime(2027, 1, 1, 3, 0, tzinfo=dt.UTC))
    assert main(["designations", "expire"]) == 0
    assert capsys.readouterr().out.startswith("expired 1 designation(s)")
    d.refresh_from_db()
    assert d.state == State.EXPIRED
    entry = json.loads(AuditEntry.objects.get(action="designation.expired").data)
    assert entry["actor"]["name"].endswith(":designations expire")


def test_import_then_list_round_trip(meti, tmp_path, capsys):
    path = write_csv(tmp_path, [row("一件目"), row("二件目")])
    assert main(["designations", "import", str(path), "--as", "esi-manager"]) == 0
    capsys.readouterr()
    assert main(["designations", "list", "--as", "esi-manager", "--json"]) == 0
    titles = sorted(r["title"] for r in json.loads(capsys.readouterr().out))
    assert titles == ["一件目", "二件目"]
