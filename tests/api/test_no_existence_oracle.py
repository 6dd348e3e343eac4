"""No existence oracle (issue 12 §6): for every API operation that names a record by id, a record
outside the caller's scope answers exactly as a missing one — the same status and the same body,
byte for byte — for every role of another organisation.

The world is the demo's METI and TOWA-HI (designations, a contract, cases at three stages, a
clearance) plus what the demo lacks (a handler entry, a vault document and its copy, a correction
request, a complaint, an adverse-treatment report), all made through the services. The callers are
MIC's officials in every role, an unassigned Cabinet Office investigator, another business's
officer and an assessed person of MIC: none of them may see any of those records. The test walks
the OpenAPI document, so an operation added later is walked too.
"""

from __future__ import annotations

import io
import json
import re

import pytest
from django.test import Client
from django.utils import timezone

from hozen.core.actor import Actor
from tests import factories

pytestmark = pytest.mark.django_db

#: Path parameter -> the model whose rows it names (the id walked, foreign and missing).
PARAMS = {
    "designation_id": "designation.Designation",
    "notification_id": "designation.Notification",
    "correction_id": "designation.CorrectionRequest",
    "case_id": "assessment.AssessmentCase",
    "exemption_id": "assessment.Exemption",
    "inquiry_id": "assessment.Inquiry",
    "clearance_id": "assessment.Clearance",
    "complaint_id": "assessment.Complaint",
    "report_id": "assessment.AdverseTreatmentReport",
    "entry_id": "handling.HandlerEntry",
    "document_id": "vault.Document",
    "copy_id": "vault.Copy",
}
#: Other path parameters, given a valid value (they select within the record named by id).
FIXED = {"section": "identity", "item": "item_1"}
MISSING = 987_654_321
KIND = "other"


@pytest.fixture
def world(db):
    """The demo's records, and one of each kind the demo does not make."""
    from django.apps import apps

    from hozen.core import demo

    demo.load(actor=Actor.operator("demo"))
    demo.load_scenarios(actor=Actor.operator("demo"))
    _complete_the_world()
    ids = {}
    for param, label in PARAMS.items():
        row = apps.get_model(label).objects.order_by("pk").first()
        if row is not None:
            ids[param] = row.pk
    return ids


def factories_account(username: str):
    from hozen.core.models import Account

    return Account.objects.get(username=username)


def _complete_the_world() -> None:
    """What the demo does not make, through the services, at METI."""
    from hozen.assessment import services as assessment
    from hozen.assessment.models import AssessmentCase
    from hozen.core.models import Organisation
    from hozen.designation import services as designations
    from hozen.designation.models import Designation, State
    from hozen.vault import services as vault
    from tests.handling_factories import actor_for, make_cleared_handler

    meti = Organisation.objects.get(code="METI")
    d = Designation.objects.filter(organisation=meti, state=State.DESIGNATED).order_by("pk").first()
    oversight_org = Organisation.objects.filter(kind="oversight_body").first()
    if oversight_org is not None:
        overseer = factories.account(role="oversight", organisation=oversight_org)
        designations.request_correction(actor=actor_for(overseer), designation=d.pk, kind="amend",
                                        request="記録の記載に誤りがあるため是正を求める。")
    handler = make_cleared_handler(d)
    version = vault.upload(actor=handler, designation=d.pk, title="防護計画書", source=io.BytesIO(b"plan: text, not a PDF"),
                           filename="plan.txt", content_type="text/plain")
    vault.deliver(actor=handler, version=version, kind="download")
    # The demo's notified case: its subject complains and reports adverse treatment.
    case = AssessmentCase.objects.get(person__account__username="engineer.towa")
    subject = actor_for(case.person.account, role="subject")
    assessment.file_complaint(actor=subject, case=case.pk, text="結果について再検討を求めます。理由を具体的に記載します。")
    assessment.report_adverse_treatment(actor=subject, case=case.pk, kind=KIND,
                                        text="不利益な取扱いを受けたため報告します。詳細を記載します。")
    # Nominated again by the employer: the earlier favourable result of the same organ head makes an
    # exemption possible, held for METI to confirm.
    from hozen.operators.models import Contract

    officer = actor_for(factories_account("officer.towa"), role="business_officer")
    held = assessment.nominate(actor=officer, person=case.person_id, department=case.department, post="技師",
                               listing_agreed_on=timezone.localdate(), contract=Contract.objects.get())
    assert held.exemption is not None, "the walk needs a held exemption"


@pytest.fixture
def callers(world):
    """Bearer headers of people outside METI's and TOWA-HI's scope, in every role."""
    from hozen.core import services
    from hozen.core.models import Organisation
    from hozen.core.roles import OrganisationKind

    mic = Organisation.objects.filter(code="MIC").first() or services.create_organisation(
        actor=Actor.operator("tests"), code="MIC", kind=OrganisationKind.ADMINISTRATIVE_ORGAN, name_ja="総務省",
        name_en="MIC")
    other_business = services.create_organisation(actor=Actor.operator("tests"), code="OTHERBIZ",
                                                  kind=OrganisationKind.BUSINESS, name_ja="他社株式会社",
                                                  name_en="Other Co.")
    cao = Organisation.objects.get(kind=OrganisationKind.CABINET_OFFICE)
    people = {role: factories.account(role=role, organisation=mic)
              for role in ("organ_head", "esi_manager", "security_officer", "adjudicator", "complaint_handler",
                           "subject")}
    people["investigator"] = factories.account(role="investigator", organisation=cao)
    people["business_officer"] = factories.account(role="business_officer", organisation=other_business)
    return {role: {"HTTP_AUTHORIZATION": f"Bearer {factories.api_token(account)}"} for role, account in people.items()}


def _operations():
    from hozen.api.urls import api

    schema = api.get_openapi_schema()
    for path, methods in schema["paths"].items():
        names = re.findall(r"{(\w+)}", path)
        if not any(n in PARAMS for n in names):
            continue
        for method in methods:
            if method in ("get", "post", "put", "patch", "delete"):
                yield method, path, names


def _call(client: Client, method: str, path: str, headers: dict, ids: dict):
    """(status, content type, body) with the ids the caller itself named put back as placeholders: an
    answer may echo what was asked (`explain` says which designation it explains), never more."""
    body = {} if method in ("post", "put", "patch") else None
    kwargs = {"content_type": "application/json", "data": json.dumps(body)} if body is not None else {}
    response = getattr(client, method)(path, **kwargs, **headers)
    content = response.content
    if response.get("Content-Type", "").startswith("application/json"):
        content = json.dumps(_asked(json.loads(content), set(ids.values())), sort_keys=True).encode()
    return response.status_code, response.get("Content-Type", ""), content


def _asked(value, ids: set):
    if isinstance(value, dict):
        return {k: _asked(v, ids) for k, v in value.items()}
    if isinstance(value, list):
        return [_asked(v, ids) for v in value]
    if not isinstance(value, bool) and value in ids or (isinstance(value, str) and value.isdigit() and int(value) in ids):
        return "<the id asked>"
    return value


def _fill(path: str, names: list[str], ids: dict) -> str:
    out = path
    for name in names:
        value = ids.get(name, FIXED.get(name))
        out = out.replace("{" + name + "}", str(value))
    return out


def test_a_record_outside_the_callers_scope_answers_exactly_as_a_missing_one(world, callers):
    client = Client(raise_request_exception=False)
    walked, oracles = set(), []
    for method, path, names in _operations():
        if not all(n in world or n in FIXED for n in names):
            continue
        asked_foreign = {n: world[n] for n in names if n in PARAMS}
        asked_missing = {n: MISSING for n in names if n in PARAMS}
        foreign, missing = _fill(path, names, asked_foreign), _fill(path, names, asked_missing)
        for role, headers in callers.items():
            a = _call(client, method, foreign, headers, asked_foreign)
            b = _call(client, method, missing, headers, asked_missing)
            walked.add((method, path))
            if a != b:
                oracles.append(f"{method.upper()} {path} as {role}: foreign {a[0]} {a[2][:120]!r} / "
                               f"missing {b[0]} {b[2][:120]!r}")
    assert len(walked) >= 60, sorted(walked)  # the walk reached the id-addressed operations
    assert not oracles, "\n".join(oracles)


def test_the_walk_covers_every_kind_of_record_it_names(world):
    assert set(world) == set(PARAMS), sorted(set(PARAMS) - set(world))


def test_a_contract_named_in_a_nomination_answers_alike_whether_another_business_holds_it_or_none(world, callers):
    """A lookup by id in a request's body too: another business's contract is answered as a missing
    one, for every caller (it was 403 `other_business` against 422 `unknown_contract`)."""
    from hozen.operators.models import Contract

    client = Client(raise_request_exception=False)
    theirs = Contract.objects.get().pk
    for role, headers in callers.items():
        answers = []
        for contract_id in (theirs, MISSING):
            body = {"username": "nobody", "contract_id": contract_id, "department": "技術部", "post": "技師",
                    "listing_agreed_on": "2026-06-01"}
            r = client.post("/api/v1/assessment/nominations", data=json.dumps(body), content_type="application/json",
                            **headers)
            answers.append((r.status_code, r.content))
        assert answers[0] == answers[1], (role, answers)
