"""ARCHITECTURE rule 10 for the organ's measures: certifications and contracts replay from their
audit entries after every measure, and a date or a department changed behind the services' back
is named."""

from __future__ import annotations

import datetime as dt

from django.db import connection

from hozen.audit.reconcile import reconcile
from hozen.operators import services
from hozen.operators.models import Contract

from .conftest import TODAY

REASON = "保全措置の重大な不備が報告されたため。"
KINDS = ["certification", "contract"]


def _lines() -> list[str]:
    return [d.line() for d in reconcile(kinds=KINDS).disagreements]


def test_every_measure_replays_to_the_stored_rows(head, contract, orgs):
    cert = contract.certification
    services.suspend_certification(actor=head, certification=cert.pk, on=TODAY, reason=REASON)
    services.restore_certification(actor=head, certification=cert.pk, reason=REASON)
    services.amend_contract(actor=head, contract=contract.pk, departments_added=["研究開発部"], reason=REASON,
                            version=contract.version)
    services.terminate_contract(actor=head, contract=contract.pk, on=TODAY + dt.timedelta(days=10), reason=REASON)
    services.revoke_certification(actor=head, certification=cert.pk, on=TODAY + dt.timedelta(days=20), reason=REASON)
    report = reconcile(kinds=KINDS)
    assert report.ok, [d.line() for d in report.disagreements]
    assert report.checked == {"certification": 1, "contract": 1}


def test_a_suspension_lifted_behind_the_services_back_is_named(head, contract):
    cert = contract.certification
    services.suspend_certification(actor=head, certification=cert.pk, on=TODAY, reason=REASON)
    with connection.cursor() as cursor:
        cursor.execute("UPDATE operators_certification SET suspended_on = NULL WHERE id = %s", [cert.pk])
    assert _lines() == [f'certification {cert.pk}: suspended_on: the log says "2026-06-01", the row holds null']


def test_a_department_added_behind_the_services_back_is_named(head, contract):
    services.amend_contract(actor=head, contract=contract.pk, departments_added=["研究開発部"], reason=REASON,
                            version=contract.version)
    Contract.objects.filter(pk=contract.pk).update(authorised_departments=["技術部", "研究開発部", "営業部"])
    [line] = _lines()
    assert line.startswith(f"contract {contract.pk}: authorised_departments: the log says")
