"""`hozen assessments nominate/list` and `hozen retention run` (issue 6): a bulk nomination that
names each bad row's line and writes nothing, listings that show each account only what it may
see, and the retention run on demand."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from hozen.assessment.models import AssessmentCase, CaseEvent, Exemption, RetentionRun
from hozen.audit.models import AuditEntry
from hozen.cli import main

from .conftest import cleared, new_employee, nominate, to_notified

pytestmark = pytest.mark.django_db

HEADER = "username,department,post,listing_agreed_on,date_of_birth,dispatched_worker,employing_agency"


def write_csv(tmp_path, lines: list[str], *, header: str = HEADER, bom: bool = False):
    path = tmp_path / "nominees.csv"
    text = "\r\n".join([header, *lines]) + "\r\n"
    path.write_bytes(("\ufeff" if bom else "").encode() + text.encode())
    return path


def row(person, *, department="技術部", post="主任", agreed="2026-05-20", dob="1980-01-01", dispatched="",
        agency="") -> str:
    return ",".join([person.account.username, department, post, agreed, dob, dispatched, agency])


def writes() -> tuple[int, int, int, int]:
    return (AssessmentCase.objects.count(), Exemption.objects.count(), CaseEvent.objects.count(),
            AuditEntry.objects.filter(action__startswith="assessment.nominate").count())


# --- nominate ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("bom", [True, False], ids=["with-bom", "without-bom"])
def test_nominate_from_csv_opens_a_case_per_row_with_events_and_audit_entries(world, tmp_path, capsys, bom):
    people = [new_employee(world) for _ in range(3)]
    path = write_csv(tmp_path, [row(people[0]), row(people[1]), row(people[2], dispatched="yes", agency="派遣元株式会社")],
                     bom=bom)
    assert main(["assessments", "nominate", str(path), "--as", "business-officer", "--contract", "METI-C-1"]) == 0
    out = capsys.readouterr().out
    assert "nominated 3 candidate(s) of TOWA for assessment by METI: 3 case(s) opened" in out
    cases = list(AssessmentCase.objects.order_by("id"))
    assert [c.person for c in cases] == people and all(c.contract == world.contract for c in cases)
    assert cases[2].dispatched_worker and cases[2].employing_agency == "派遣元株式会社"
    assert writes() == (3, 0, 3, 4)  # three cases, three events, three nominations and the batch entry
    entry = AuditEntry.objects.get(action="assessment.nominate_many")
    assert json.loads(entry.data)["actor"]["channel"] == "cli"


def test_nominate_with_bad_rows_names_each_line_and_column_and_writes_nothing(world, tmp_path, capsys):
    good, dispatched, busy = (new_employee(world) for _ in range(3))
    nominate(world, busy)
    before = writes()
    # The file's format first: a date that is not one (nothing is looked up in the database yet).
    path = write_csv(tmp_path, [row(good), row(good, agreed="2026/05/20")])
    assert main(["assessments", "nominate", str(path), "--as", "business-officer", "--contract", "METI-C-1"]) == 1
    err = capsys.readouterr().err.splitlines()
    assert err == [f"hozen: error: {path} line 3: listing_agreed_on: '2026/05/20' is not a date written YYYY-MM-DD "
                   "(nothing nominated)"]
    assert writes() == before
    # The format is sound: the service's rules name their lines, every one at once.
    path = write_csv(tmp_path, [
        row(good),
        row(dispatched, dispatched="yes"),         # line 3: no employing agency (a rule of the service)
        "nobody,技術部,主任,2026-05-20,,,",             # line 4: nobody on the nominator's staff
        row(busy),                                 # line 5: already in progress
        row(good, dob="1999-09-09"),               # line 6: wrong person named
    ])
    assert main(["assessments", "nominate", str(path), "--as", "business-officer", "--contract", "METI-C-1"]) == 1
    err = capsys.readouterr().err.splitlines()
    assert any(e.endswith("line 3: employing_agency: A dispatched worker's employing agency must be recorded.")
               for e in err)
    assert any("line 4: username: No one among the staff of" in e for e in err)
    assert any("line 5: person: An assessment of this person by the same organ is already in progress." in e
               for e in err)
    assert any("line 6: date_of_birth:" in e for e in err)
    assert err[-1] == "hozen: error: 4 rows refused; nothing nominated"
    assert writes() == before


@pytest.mark.parametrize(("content", "expected"), [
    ("", "line 1: the file is empty"),
    ("username,department\r\nx,y\r\n", "line 1: post: missing column(s) post, listing_agreed_on"),
    ("username,person_id,department,post,listing_agreed_on\r\n", "exactly one of the columns username or person_id"),
    ("username,department,post,listing_agreed_on,colour\r\n", "line 1: colour: unknown column(s) colour"),
])
def test_nominate_refuses_a_malformed_file(world, tmp_path, capsys, content, expected):
    path = tmp_path / "bad.csv"
    path.write_text(content, encoding="utf-8")
    assert main(["assessments", "nominate", str(path), "--as", "business-officer", "--contract", "METI-C-1"]) == 1
    err = capsys.readouterr().err
    assert expected in err and AssessmentCase.objects.count() == 0


def test_nominate_as_the_wrong_role_is_refused_with_the_policys_reason_and_audited(world, tmp_path, capsys):
    path = write_csv(tmp_path, [row(new_employee(world))])
    assert main(["assessments", "nominate", str(path), "--as", "investigator"]) == 1
    assert capsys.readouterr().err.startswith("hozen: refused: ")
    assert AuditEntry.objects.filter(action="assessment.nominate", outcome="denied").exists()
    assert main(["assessments", "nominate", str(path), "--as", "business-officer", "--contract", "MIC/NOPE"]) == 1
    assert "no contract 'MIC/NOPE'" in capsys.readouterr().err
    assert main(["assessments", "nominate", str(tmp_path / "none.csv"), "--as", "business-officer"]) == 1
    assert capsys.readouterr().err.count("\n") == 1
    assert AssessmentCase.objects.count() == 0


def test_nominate_by_an_organ_security_officer_holds_a_possible_exemption(world, tmp_path, capsys):
    staff = world.people["meti_staff"].person
    to_notified(world, _organ_case(world, staff))  # a favourable result from METI: a new nomination is held
    path = tmp_path / "staff.csv"
    path.write_text(f"person_id,department,post,listing_agreed_on\r\n{staff.pk},企画課,係長,2026-05-20\r\n",
                    encoding="utf-8")
    assert main(["assessments", "nominate", str(path), "--as", "security-officer", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["rows"] == 1 and out["cases"] == [] and len(out["possible_exemptions"]) == 1
    assert Exemption.objects.get().person == staff


def _organ_case(world, person):
    from hozen.assessment import services

    return services.nominate(actor=world["security"], person=person, department="企画課", post="係長",
                             listing_agreed_on=dt.date(2026, 5, 20)).case


# --- list --------------------------------------------------------------------------------------------

def test_list_as_an_account_shows_what_it_may_see_and_the_operator_only_counts(world, capsys):
    case = nominate(world)
    cleared(world, new_employee(world))
    assert main(["assessments", "list", "--as", "business-officer", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert {r["id"] for r in rows} == set(AssessmentCase.objects.values_list("pk", flat=True))
    assert all("state" not in r and r["status"] in ("awaiting_consent", "notified") for r in rows)
    assert main(["assessments", "list", "--as", "investigator", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == []  # assigned cases only: none
    assert main(["assessments", "list", "--as", "subject", "--json"]) == 0
    mine = json.loads(capsys.readouterr().out)
    assert [r["id"] for r in mine] == [case.pk] and mine[0]["state"] == "nominated"
    assert main(["assessments", "list", "--json"]) == 0
    counts = json.loads(capsys.readouterr().out)
    assert counts == [{"organ": "METI", "tier": "esi", "state": "nominated", "cases": 1},
                      {"organ": "METI", "tier": "esi", "state": "notified", "cases": 1}]
    assert main(["assessments", "list"]) == 0
    assert "notified" in capsys.readouterr().out
    assert main(["assessments", "list", "--state", "nonsense"]) == 1
    assert "--state must be one of" in capsys.readouterr().err


# --- retention run ----------------------------------------------------------------------------------

def test_retention_run_shreds_past_retention_and_reports_counts(world, capsys, _frozen_today):
    case, _clearance = cleared(world)
    assert main(["retention", "run", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == {"on": "2026-06-01", "cases_shredded": 0, "notices_expired": 0}
    _frozen_today.move_to(dt.datetime(2037, 1, 1, 3, 0, tzinfo=dt.UTC))
    assert main(["retention", "run", "--on", "2031-06-02"]) == 0  # a past day: the notice, not the file yet
    assert capsys.readouterr().out.strip() == ("retention run for 2031-06-02: 0 case file(s) destroyed, "
                                               "1 notice(s) to nominators expired")
    assert AssessmentCase.objects.get(pk=case.pk).shredded_at is None
    assert main(["retention", "run", "--on", "2040-01-01"]) == 1
    assert "cannot be dated in the future" in capsys.readouterr().err
    assert main(["retention", "run", "--on", "01/01/2030"]) == 1
    assert capsys.readouterr().err.strip() == "hozen: error: --on must be a date written YYYY-MM-DD, got '01/01/2030'"
    _frozen_today.move_to(dt.datetime(2036, 6, 3, 3, 0, tzinfo=dt.UTC))  # the file's 10 years have passed
    assert main(["retention", "run", "--progress"]) == 0
    captured = capsys.readouterr()
    assert "1 case file(s) destroyed" in captured.out
    assert AssessmentCase.objects.get(pk=case.pk).shredded_at is not None
    run = RetentionRun.objects.order_by("id").last()
    assert run.actor["kind"] == "system" and "retention run" in run.actor["name"]


def test_listing_cases_on_the_cli_as_an_official_is_on_each_persons_list(world, capsys):
    """Issue 12 §7: the CLI is a channel too — each person listed sees the read on their own list."""
    from hozen.audit.models import AuditEntry
    from hozen.cli import main

    case = nominate(world)
    before = AuditEntry.objects.filter(action="assessment.read", subject_person_id=case.person_id).count()
    assert main(["assessments", "list", "--as", world.people["business_officer"].username, "--json"]) == 0
    assert str(case.pk) in capsys.readouterr().out
    assert AuditEntry.objects.filter(action="assessment.read", subject_person_id=case.person_id).count() == before + 1
    assert '"view":"cli_list"' in AuditEntry.objects.filter(action="assessment.read").last().data
