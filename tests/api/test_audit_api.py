"""The audit log API contract (issue 4): checkpoint, entries, proofs; 400 naming the parameter; 403 by role.
And the assessed person's "who has read my data" (issue 6 §2: for the UI and the API alike)."""

# ruff: noqa: F811  (the assessment fixtures are imported by name)

from __future__ import annotations

import base64

import pytest

from hozen.audit import checkpoints, integrator, merkle
from hozen.audit.canonical import canonical_json
from hozen.audit.models import AuditEntry
from hozen.audit.note import Checkpoint, Verifier, open_note
from tests import factories
from tests.assessment.conftest import _frozen_today, _packs, world  # noqa: F401  (fixtures)

pytestmark = pytest.mark.django_db

BASE = "/api/v1/audit"


def _b64(text: str) -> bytes:
    return base64.b64decode(text, validate=True)


@pytest.fixture
def auditor(people):
    return {"HTTP_AUTHORIZATION": f"Bearer {factories.api_token(people['auditor'])}"}


@pytest.fixture
def oversight(people):
    return {"HTTP_AUTHORIZATION": f"Bearer {factories.api_token(people['oversight'])}"}


@pytest.fixture
def log_size(people):
    """The people fixture already wrote audit entries through the services; integrate them."""
    return integrator.integrate().size


def _checkpoint(client, headers) -> Checkpoint:
    response = client.get(f"{BASE}/checkpoint", **headers)
    assert response.status_code == 200
    verifier = Verifier.from_key_text(checkpoints.verifier_key_text())
    text, _ = open_note(response.content.decode(), [verifier])
    return Checkpoint.parse(text)


def test_auditor_gets_the_latest_checkpoint_as_a_signed_plain_text_note(client, auditor, log_size):
    response = client.get(f"{BASE}/checkpoint", **auditor)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    verifier = Verifier.from_key_text(checkpoints.verifier_key_text())
    cp = Checkpoint.parse(open_note(response.content.decode(), [verifier])[0])
    assert cp.origin == "hozen.local/audit" and cp.size >= log_size


def test_checkpoint_is_issued_on_demand_when_there_is_none(client, oversight, log_size):
    assert checkpoints.latest() is None
    assert _checkpoint(client, oversight).size >= log_size
    assert checkpoints.latest() is not None


def test_entry_reserialised_canonically_hashes_to_its_leaf_hash(client, auditor, log_size):
    response = client.get(f"{BASE}/entries/0", **auditor)
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"index", "leaf_hash", "entry"} and body["index"] == 0
    assert merkle.leaf_hash(canonical_json(body["entry"])) == _b64(body["leaf_hash"])
    assert body["entry"]["v"] == 1 and "action" in body["entry"]


def test_inclusion_proof_from_the_api_verifies_against_the_signed_checkpoint(client, auditor, log_size):
    cp = _checkpoint(client, auditor)
    for index in (0, cp.size // 2, cp.size - 1):
        entry = client.get(f"{BASE}/entries/{index}", **auditor).json()
        response = client.get(f"{BASE}/proof/inclusion", {"index": index, "tree_size": cp.size}, **auditor)
        assert response.status_code == 200
        body = response.json()
        assert body["index"] == index and body["tree_size"] == cp.size and set(body) == {
            "index", "tree_size", "audit_path"}
        assert merkle.verify_inclusion(merkle.leaf_hash(canonical_json(entry["entry"])), index, cp.size,
                                       [_b64(h) for h in body["audit_path"]], cp.root_hash)


def test_consistency_proof_from_the_api_verifies_between_two_checkpoints(client, auditor, people):
    integrator.integrate()
    first = _checkpoint(client, auditor)
    factories.api_token(people["subject"])  # a service call: one more audit entry
    second = checkpoints.issue_checkpoint()
    assert second.size > first.size
    response = client.get(f"{BASE}/proof/consistency", {"first": first.size, "second": second.size}, **auditor)
    assert response.status_code == 200
    body = response.json()
    assert (body["first"], body["second"]) == (first.size, second.size)
    assert merkle.verify_consistency(first.size, second.size, first.root_hash, bytes(second.root_hash),
                                     [_b64(h) for h in body["consistency_path"]])


def test_an_entry_written_after_the_last_integration_is_served_on_demand(client, auditor, log_size, people):
    factories.api_token(people["subject"])  # written, not yet integrated
    response = client.get(f"{BASE}/entries/{log_size}", **auditor)
    assert response.status_code == 200 and response.json()["index"] == log_size


@pytest.mark.parametrize("raw", ["abc", "-1", "1.0", "1e3", " 1", "0x10", "", "99999999999999999999"])
def test_malformed_entry_index_is_400_naming_the_parameter(client, auditor, log_size, raw):
    response = client.get(f"{BASE}/entries/{raw}", **auditor)
    if raw == "":
        assert response.status_code == 404  # no such route
        return
    assert response.status_code == 400, response.content
    assert response.json()["field"] == "index" and "index" in response.json()["detail"]


def test_entry_index_beyond_the_log_is_400_naming_index(client, auditor, log_size):
    response = client.get(f"{BASE}/entries/{log_size + 10}", **auditor)
    assert response.status_code == 400
    assert response.json()["field"] == "index" and response.json()["code"] == "out_of_range"


@pytest.mark.parametrize(("query", "field"), [
    ({"tree_size": "3"}, "index"),
    ({"index": "0"}, "tree_size"),
    ({"index": "x", "tree_size": "3"}, "index"),
    ({"index": "0", "tree_size": "-3"}, "tree_size"),
    ({"index": "0", "tree_size": "0"}, "tree_size"),
    ({"index": "0", "tree_size": "2.5"}, "tree_size"),
    ({"index": ["0", "1"], "tree_size": "3"}, "index"),
])
def test_malformed_inclusion_parameters_are_400_naming_the_parameter(client, auditor, log_size, query, field):
    response = client.get(f"{BASE}/proof/inclusion", query, **auditor)
    assert response.status_code == 400, response.content
    assert response.json()["field"] == field and field in response.json()["detail"]


def test_inclusion_index_not_below_tree_size_is_400_naming_index(client, auditor, log_size):
    response = client.get(f"{BASE}/proof/inclusion", {"index": 2, "tree_size": 2}, **auditor)
    assert response.status_code == 400 and response.json()["field"] == "index"


def test_inclusion_tree_size_beyond_the_log_is_400_naming_tree_size(client, auditor, log_size):
    response = client.get(f"{BASE}/proof/inclusion", {"index": 0, "tree_size": log_size + 100}, **auditor)
    assert response.status_code == 400 and response.json()["field"] == "tree_size"
    assert str(log_size) in response.json()["detail"]


@pytest.mark.parametrize(("query", "field"), [
    ({"second": "3"}, "first"),
    ({"first": "1"}, "second"),
    ({"first": "one", "second": "3"}, "first"),
    ({"first": "1", "second": "three"}, "second"),
    ({"first": "3", "second": "2"}, "first"),
    ({"first": "0", "second": "99999999"}, "second"),
])
def test_bad_consistency_parameters_are_400_naming_the_parameter(client, auditor, log_size, query, field):
    response = client.get(f"{BASE}/proof/consistency", query, **auditor)
    assert response.status_code == 400, response.content
    assert response.json()["field"] == field and field in response.json()["detail"]


def test_errors_follow_the_callers_language(client, people, log_size):
    from hozen.core import services
    from hozen.core.actor import Actor

    account = people["auditor"]
    services.set_language(actor=Actor.for_account(account, None, channel="web"), language="ja")
    headers = {"HTTP_AUTHORIZATION": f"Bearer {factories.api_token(account)}"}
    response = client.get(f"{BASE}/proof/inclusion", {"index": "x", "tree_size": "1"}, **headers)
    assert "整数" in response.json()["detail"]


@pytest.mark.parametrize("role", ["sysadmin", "investigator", "subject", "esi_manager", "business_officer"])
@pytest.mark.parametrize("path", ["/checkpoint", "/entries/0", "/proof/inclusion?index=0&tree_size=1",
                                  "/proof/consistency?first=0&second=1", "/proof/inclusion?index=bad"])
def test_other_roles_get_403_with_the_policy_reason(client, people, log_size, role, path):
    token = factories.api_token(people[role])
    before = AuditEntry.objects.filter(action="audit.read", outcome="denied").count()
    response = client.get(f"{BASE}{path}", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 403
    body = response.json()
    assert body["code"] == "not_audit_reader"
    assert "監査担当" in body["detail"] or "auditor" in body["detail"]
    assert AuditEntry.objects.filter(action="audit.read", outcome="denied").count() == before + 1


def test_anonymous_callers_get_401(client, log_size):
    for path in ("/checkpoint", "/entries/0", "/proof/inclusion?index=0&tree_size=1"):
        assert client.get(f"{BASE}{path}").status_code == 401


def test_openapi_documents_the_audit_endpoints(client):
    schema = client.get("/api/v1/openapi.json").json()
    paths = schema["paths"]
    inclusion = paths["/api/v1/audit/proof/inclusion"]["get"]
    assert inclusion["summary"]
    assert {p["name"]: p["schema"]["type"] for p in inclusion["parameters"]} == {
        "index": "integer", "tree_size": "integer"}
    assert set(inclusion["responses"]) >= {"200", "400", "403"}
    assert paths["/api/v1/audit/entries/{index}"]["get"]["parameters"][0]["schema"]["type"] == "integer"
    assert "text/plain" in paths["/api/v1/audit/checkpoint"]["get"]["responses"]["200"]["content"]
    consistency = paths["/api/v1/audit/proof/consistency"]["get"]
    assert {p["name"] for p in consistency["parameters"]} == {"first", "second"}
    assert "Error" in schema["components"]["schemas"]  # the one error schema (issue 12 §3)
    assert set(schema["components"]["schemas"]["InclusionProofOut"]["properties"]) == {
        "index", "tree_size", "audit_path"}


# --- the subject's "who has read my data" (issue 6 §2: for the UI and the API alike) -----------------

def _read_ids(person) -> set[int]:
    return set(AuditEntry.objects.filter(action="personal_data.read", subject_person_id=person.pk)
               .values_list("id", flat=True))


def _setup_reads(world):
    from hozen.assessment import queries as assessment_queries
    from hozen.assessment import services as assessment_services
    from tests.assessment.conftest import new_employee, nominate, to_submitted

    mine = to_submitted(world, nominate(world))
    assessment_services.assign_investigator(actor=world["cao_head"], case=mine,
                                            investigator=world.people["investigator"])
    assessment_queries.answers_for(world["investigator"], mine, purpose="investigation")
    other = new_employee(world)
    to_submitted(world, nominate(world, other))
    return mine, other


def _get(client, account, query=""):
    return client.get(f"{BASE}/my-reads{query}", HTTP_AUTHORIZATION=f"Bearer {factories.api_token(account)}")


def test_the_subject_gets_exactly_the_reads_of_their_own_data(client, world):
    mine, other = _setup_reads(world)
    subject = world.people["subject"]
    response = _get(client, subject, "?limit=200")
    assert response.status_code == 200, response.content[:400]
    body = response.json()
    ids = {row["id"] for row in body["items"]}
    assert ids == _read_ids(subject.person) and body["total"] == len(ids) > 0
    assert not ids & _read_ids(other)  # another person's reads never
    by_role = {row["role"]: row for row in body["items"]}
    investigator = by_role["investigator"]
    assert investigator["organisation"] == world.orgs["CAO"].code and investigator["purpose"] == "investigation"
    assert investigator["organisation_name"] and investigator["role_label"] and investigator["purpose_label"]
    assert set(investigator) == {"id", "time", "role", "role_label", "organisation", "organisation_name", "purpose",
                                 "purpose_label", "outcome", "outcome_label", "reader_shown"}
    assert "subject" in by_role  # their own reads (submission) are on their list too
    times = [row["time"] for row in body["items"]]
    assert times == sorted(times, reverse=True)  # newest first


def test_my_reads_is_paged_with_limit_and_offset(client, world):
    _setup_reads(world)
    subject = world.people["subject"]
    everything = _get(client, subject, "?limit=200").json()["items"]
    page = _get(client, subject, "?limit=1&offset=1").json()
    assert (page["limit"], page["offset"], page["total"]) == (1, 1, len(everything))
    assert [row["id"] for row in page["items"]] == [everything[1]["id"]]


@pytest.mark.parametrize("query,field", [("?limit=0", "limit"), ("?limit=201", "limit"), ("?offset=-1", "offset"),
                                         ("?limit=x", "limit"), ("?offset=1&offset=2", "offset")])
def test_bad_paging_parameters_are_422_naming_the_parameter(client, world, query, field):
    # The one paging policy of every list (issue 12 §2): 422 naming the parameter (was 400 here alone).
    response = _get(client, world.people["subject"], query)
    assert response.status_code == 422 and response.json()["field"] == field


@pytest.mark.parametrize("who", ["investigator", "business", "auditor", "sysadmin", "head", "security"])
def test_other_roles_are_refused_my_reads_with_the_policy_reason(client, world, who):
    _setup_reads(world)
    before = AuditEntry.objects.filter(action="workspace.view", outcome="denied").count()
    response = _get(client, world[who].account)
    assert response.status_code == 403 and response.json()["code"] == "wrong_role"
    assert AuditEntry.objects.filter(action="workspace.view", outcome="denied").count() == before + 1


def test_my_reads_needs_a_token(client, world):
    assert client.get(f"{BASE}/my-reads").status_code == 401


def test_openapi_documents_my_reads(client):
    operation = client.get("/api/v1/openapi.json").json()["paths"]["/api/v1/audit/my-reads"]["get"]
    assert operation["summary"] and {p["name"] for p in operation["parameters"]} == {"limit", "offset"}
    assert set(operation["responses"]) >= {"200", "400", "403"}
