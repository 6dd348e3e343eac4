"""`hozen handling list|add|remove|lapse`: the keeper's list from the shell, refusals in one line."""

from __future__ import annotations

import json

from hozen.cli import main
from hozen.handling.models import HandlerEntry
from tests import factories
from tests.handling_factories import make_clearance, make_cleared_handler


def test_add_list_remove(designation, people, orgs, capsys):
    staff = factories.account(role="subject", organisation=orgs["METI"])
    make_clearance(staff, organ=orgs["METI"])
    assert main(["handling", "add", designation.reference, staff.username, "--as", "esi-manager",
                 "--reason", "審査担当"]) == 0
    assert "added" in capsys.readouterr().out
    assert main(["handling", "list", designation.reference, "--as", "esi-manager", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["account"] for r in rows] == [staff.username] and rows[0]["status"] == "active"
    assert main(["handling", "remove", str(rows[0]["id"]), "--as", "esi-manager"]) == 0
    assert HandlerEntry.objects.get(pk=rows[0]["id"]).end_reason == "removed"
    assert main(["handling", "list", designation.reference, "--as", "esi-manager"]) == 0
    assert "nobody" in capsys.readouterr().out


def test_add_refused_with_the_reason_and_nothing_written(designation, orgs, capsys):
    nobody = factories.account(role="subject", organisation=orgs["METI"])
    assert main(["handling", "add", designation.reference, nobody.username, "--as", "esi-manager"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("hozen: error: This person cannot be added") and err.count("\n") == 1
    assert not HandlerEntry.objects.exists()


def test_wrong_role_is_refused(designation, people, capsys):
    assert main(["handling", "list", designation.reference, "--as", "organ-head"]) == 1
    assert "refused" in capsys.readouterr().err


def test_malformed_date_is_one_line(designation, people, capsys):
    assert main(["handling", "add", designation.reference, "subject", "--as", "esi-manager",
                 "--ends-on", "tomorrow"]) == 1
    assert "--ends-on" in capsys.readouterr().err


def test_lapse_job_on_demand(designation, people, capsys):
    make_cleared_handler(designation)
    assert main(["handling", "lapse"]) == 0
    assert "0 entries lapsed" in capsys.readouterr().out
