"""The API's contract, fuzzed in the test run (issue 12 §9): Schemathesis over every operation of
/api/v1/openapi.json, in-process against the WSGI application, with the bearer tokens of several
roles and no token at all.

Each response is checked for: no server error (5xx), a status code the operation documents, a
documented content type, a body that conforms to the documented schema (errors included), and
documented response headers. Cases come from the schema (positive and negative data); path ids are
drawn three times in four from records that exist (a designation, cases at several stages, a
clearance, a complaint, a document and its copy, a handler entry...), so the handlers' real paths
run, not only their 404s. Writes accumulate: later operations see what earlier ones did.

Bounded and seeded: ``HOZEN_FUZZ_EXAMPLES`` cases per operation (default 150 in the test run: about
18,000 requests, under four minutes on the 2-core machine with SQLite or PostgreSQL),
``HOZEN_FUZZ_BUDGET_SECONDS`` for the whole run (default 720: a ceiling for a loaded machine, about
three times the unloaded run, since the run must reach nine operations in ten to pass; 0 for no
limit: ``make fuzz``, which also raises the examples), ``HOZEN_FUZZ_SEED`` (default fixed, so a CI failure replays). When the
budget runs out, the operations not reached are named in the output and the run still fails if
any failure was found. Every failure names the operation, the role, the check and a curl command
that reproduces it.
"""

# ruff: noqa: F811  (fixtures imported by name)
from __future__ import annotations

import datetime as dt
import io
import os
import time
from collections import Counter, defaultdict

import pytest
import schemathesis
from django.core import signals
from django.core.handlers.wsgi import WSGIHandler
from django.db import close_old_connections
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import Failure, FailureGroup
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests import factories
from tests.assessment.conftest import (  # noqa: F401  (fixtures)
    _frozen_today,
    nominate,
    to_consented,
    to_notified,
    world,
)

pytestmark = pytest.mark.django_db(transaction=True)

EXAMPLES = int(os.environ.get("HOZEN_FUZZ_EXAMPLES", "150"))
BUDGET_SECONDS = float(os.environ.get("HOZEN_FUZZ_BUDGET_SECONDS", "720"))
SEED = int(os.environ.get("HOZEN_FUZZ_SEED", "20260601"))

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance,
          response_headers_conformance]

#: Personas whose tokens the cases are sent with (None: no token).
ROLES = ("subject", "esi_manager", "organ_head", "security_officer", "investigator", "adjudicator",
         "complaint_handler", "business_officer", "oversight", "auditor", "sysadmin", None)


def _schema():
    from hozen.api.urls import api

    loaded = schemathesis.openapi.from_dict(api.get_openapi_schema(path_prefix="/api/v1/"))
    loaded.app = WSGIHandler()
    return loaded


SCHEMA = _schema()


@pytest.fixture
def _fuzz_packs(transactional_db):
    """The shipped rules packs (a transactional test's flush removes what the migration loaded)."""
    from hozen.rules.models import Category, RulesPack, SubItem
    from hozen.rules.storage import load_shipped

    load_shipped(RulesPack, Category, SubItem, published_by={"kind": "system", "name": "tests", "channel": "cli"})


@pytest.fixture
def _vault_folder(settings, tmp_path):
    settings.DATA_DIR = tmp_path
    settings.STORAGES = {k: v for k, v in settings.STORAGES.items() if k != "vault"}


@pytest.fixture
def _in_process_wsgi():
    """Requests run in the test's thread: keep its database connection open between them, as
    Django's test client does (the WSGI handler would close it at the end of every request)."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


def _records(world) -> dict[str, list]:
    """Records of every kind the paths name, made through the services as production data is."""
    from hozen.assessment import services as assessment
    from hozen.designation import services as designation_services
    from hozen.rules.queries import current_pack
    from hozen.vault import services as vault
    from tests.handling_factories import make_cleared_handler
    from tests.vault.conftest import make_pdf

    today = dt.date(2026, 6, 1)
    item = current_pack("esi", today).sub_items.select_related("category").get(code="A-1")
    draft = designation_services.create_draft(
        actor=world["esi_manager"], organisation=world.orgs["METI"], title="発電設備の防護計画に関する情報",
        summary="基幹インフラの発電設備に係る防護措置の計画", category=item.category, sub_item=item,
        justification_category="法第2条第4項第1号の措置に関する計画であり細目A-1に該当する。",
        justification_not_public="公表されておらず、関係者以外に知られていない。",
        justification_harm="漏えいすれば設備への妨害行為を容易にし安全保障に支障を与える。",
        in_advance=False, advance_reason="", designated_on=today, term_end=dt.date(2031, 5, 31),
        protective_measure="marking")
    designated = designation_services.approve(actor=world["head"], designation=draft)
    second_draft = designation_services.create_draft(
        actor=world["esi_manager"], organisation=world.orgs["METI"], title="送電網の脆弱性に関する情報",
        summary="送電網の脆弱性の評価", category=item.category, sub_item=item,
        justification_category="法第2条第4項第1号の措置に関する計画であり細目A-1に該当する。",
        justification_not_public="公表されておらず、関係者以外に知られていない。",
        justification_harm="漏えいすれば設備への妨害行為を容易にし安全保障に支障を与える。",
        in_advance=False, advance_reason="", designated_on=today, term_end=dt.date(2031, 5, 31),
        protective_measure="marking")
    correction = designation_services.request_correction(
        actor=world["oversight"], designation=designated, kind="amend",
        request="指定の理由の記載が不十分であるため補足を求める。")

    notified = to_notified(world, nominate(world))
    consented = to_consented(world, nominate(world, factories.account(
        role="subject", organisation=world.orgs["TOWA"]).person))
    nominated = nominate(world, factories.account(role="subject", organisation=world.orgs["TOWA"]).person)
    complaint = assessment.file_complaint(actor=world["subject"], case=notified,
                                          text="調査の進め方について説明を求めます。十分な説明がありませんでした。")

    handler = make_cleared_handler(designated)
    pdf = make_pdf(1)
    version = vault.upload(actor=handler, designation=designated, title="防護計画書", source=io.BytesIO(pdf),
                           filename="plan.pdf", content_type="application/pdf", declared_size=len(pdf))
    copy = vault.record_medium(actor=handler, document=version.document, medium="usb",
                               received_from="経済産業省 技術部")
    from hozen.handling.models import HandlerEntry

    return {
        "designation_id": [designated.pk, second_draft.pk],
        "case_id": [notified.pk, consented.pk, nominated.pk],
        "clearance_id": [notified.clearance.pk],
        "complaint_id": [complaint.pk],
        "correction_id": [correction.pk],
        "document_id": [version.document_id],
        "copy_id": [copy.pk],
        "entry_id": list(HandlerEntry.objects.values_list("pk", flat=True)[:3]),
        "inquiry_id": list(notified.inquiries.values_list("pk", flat=True)[:2]),
        "notification_id": [1],
        "exemption_id": [1],
        "report_id": [1],
        "index": [0, 1],
        "organisation": ["METI", "MIC", "CAO"],
    }


def _tokens(world) -> dict[str | None, dict]:
    tokens: dict[str | None, dict] = {None: {}}
    for role in ROLES:
        if role is not None:
            tokens[role] = {"Authorization": f"Bearer {factories.api_token(world.people[role])}"}
    return tokens


class Run:
    """What the campaign found, grouped by operation; and what it did not reach."""

    def __init__(self):
        self.failures: dict[str, list[str]] = defaultdict(list)
        self.unreached: list[str] = []
        self.cases = 0
        self.statuses: Counter[int] = Counter()

    def record(self, label: str, role, case, exc: BaseException) -> None:
        failures = exc.exceptions if isinstance(exc, FailureGroup) else [exc]
        for failure in failures:
            title = failure.title if isinstance(failure, Failure) else type(failure).__name__
            message = failure.message if isinstance(failure, Failure) else str(failure)
            key = f"{title}: {message.splitlines()[0] if message else ''}"
            if not any(key in seen for seen in self.failures[label]):
                self.failures[label].append(f"{key}\n    role: {role}\n    {message[:600]}\n    "
                                            f"reproduce: {case.as_curl_command()}")


def _fuzz_operation(operation, tokens, records, run: Run, index: int) -> None:
    strategies = st.one_of(operation.as_strategy(GenerationMode.POSITIVE),
                           operation.as_strategy(GenerationMode.NEGATIVE))

    @seed(SEED + index)
    @settings(max_examples=EXAMPLES, deadline=None, database=None, phases=[Phase.explicit, Phase.generate],
              suppress_health_check=list(HealthCheck))
    @given(case=strategies, role=st.sampled_from(ROLES), data=st.data())
    def fuzz(case, role, data):
        if case.path_parameters and data.draw(st.integers(0, 3), label="existing records") > 0:
            for name in list(case.path_parameters):
                known = records.get(name)
                if known:
                    case.path_parameters[name] = data.draw(st.sampled_from(known), label=name)
        run.cases += 1
        try:
            response = case.call(headers=tokens[role])
            run.statuses[response.status_code] += 1
            case.validate_response(response, checks=CHECKS, headers=tokens[role])
        except (Failure, FailureGroup) as exc:
            run.record(operation.label, role, case, exc)

    fuzz()


def test_every_operation_answers_as_documented_for_every_role(world, _fuzz_packs, _vault_folder, _in_process_wsgi):
    operations = [result.ok() for result in SCHEMA.get_all_operations()]
    assert len(operations) > 100
    records = _records(world)
    tokens = _tokens(world)
    run = Run()
    started = time.monotonic()
    for index, operation in enumerate(operations):
        if BUDGET_SECONDS and time.monotonic() - started > BUDGET_SECONDS:
            run.unreached = [op.label for op in operations[index:]]
            break
        _fuzz_operation(operation, tokens, records, run, index)
    elapsed = time.monotonic() - started
    print(f"\nfuzzed {len(operations) - len(run.unreached)} of {len(operations)} operations, {run.cases} cases, "
          f"{elapsed:.0f} s, seed {SEED}; statuses {dict(sorted(run.statuses.items()))}")
    if run.unreached:
        print("not reached within the budget:", ", ".join(run.unreached))
    report = "\n".join(f"{label}\n  " + "\n  ".join(found) for label, found in sorted(run.failures.items()))
    assert not run.failures, f"{sum(map(len, run.failures.values()))} failures\n{report}"
    # The budget is for slow machines: the run must cover (nearly) every operation to pass.
    assert len(run.unreached) <= len(operations) // 10, f"only {len(operations) - len(run.unreached)} reached"


def test_the_campaign_reports_a_server_error_with_a_reproduction(monkeypatch, _in_process_wsgi):
    """The harness is not vacuous: an operation that fails is reported, with the check and a curl line."""
    import hozen.api.core

    monkeypatch.setattr(hozen.api.core, "__version__", 123)  # HealthOut.version is a string: a 500
    operation = next(r.ok() for r in SCHEMA.get_all_operations() if r.ok().label == "GET /api/v1/health")
    run = Run()
    _fuzz_operation(operation, {role: {} for role in ROLES}, {}, run, 0)
    found = run.failures["GET /api/v1/health"]
    assert found and "Server error" in found[0] and "curl -X GET" in found[0]
