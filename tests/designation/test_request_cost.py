"""SQL statements per request on the hot read paths (issue 13 §5); counted, never timed.

The throughput benchmark (benchmarks/throughput_bench.py) measures the speed; these tests keep
the statement counts it relies on from creeping back: the API list in at most three statements
whatever its length (the token, the page's ids with the total, the page's rows), the audited detail
in three (the token, the designation, the audit entry), and a signed-in dashboard that writes
nothing when its session was refreshed less than a minute ago.
"""

from __future__ import annotations

import json

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from hozen.audit.models import AuditEntry
from tests import factories

pytestmark = pytest.mark.django_db

BASE = "/api/v1/designations"


@pytest.fixture
def bearer(people):
    return {"HTTP_AUTHORIZATION": f"Bearer {factories.api_token(people['esi_manager'])}"}


def test_the_api_list_takes_at_most_three_statements_whatever_its_length(make_designation, bearer,
                                                                         django_assert_max_num_queries):
    client = Client()
    make_designation()
    client.get(BASE, **bearer)  # the token's first use writes its "last used" hint (once a minute)
    for _ in range(12):
        make_designation()
    with django_assert_max_num_queries(3):
        response = client.get(BASE + "?limit=25", **bearer)
    assert response.status_code == 200 and response.json()["total"] == 13 and len(response.json()["items"]) == 13


def test_the_audited_detail_takes_three_statements_one_of_them_its_audit_entry(make_designation, bearer,
                                                                               django_assert_max_num_queries):
    client = Client()
    d = make_designation()
    client.get(BASE, **bearer)
    before = AuditEntry.objects.filter(action="designation.read").count()
    with django_assert_max_num_queries(3):
        response = client.get(f"{BASE}/{d.pk}", **bearer)
    assert response.status_code == 200 and response.json()["reference"] == d.reference
    entries = [json.loads(e.data) for e in AuditEntry.objects.filter(action="designation.read").order_by("id")]
    assert len(entries) == before + 1 and entries[-1]["target"] == {"type": "designation.designation", "id": str(d.pk)}


def test_a_dashboard_within_a_minute_of_the_last_session_refresh_writes_nothing(make_designation, people, signed_in):
    client = signed_in(people["esi_manager"])
    make_designation()
    assert client.get("/dashboard/").status_code == 200  # refreshes the session's expiry (a write)
    with CaptureQueriesContext(connection) as ctx:
        assert client.get("/dashboard/").status_code == 200
    writes = [q["sql"] for q in ctx.captured_queries if not q["sql"].lstrip().upper().startswith("SELECT")]
    assert writes == []
    assert len(ctx.captured_queries) <= 8


def test_the_api_lists_total_is_right_on_every_page_and_past_the_end(make_designation, bearer):
    client = Client()
    made = [make_designation() for _ in range(7)]
    seen = []
    for offset in (0, 3, 6):
        body = client.get(f"{BASE}?limit=3&offset={offset}", **bearer).json()
        assert body["total"] == 7
        seen += [item["reference"] for item in body["items"]]
    assert sorted(seen) == sorted(d.reference for d in made)  # every one once, none twice
    past = client.get(f"{BASE}?limit=3&offset=20", **bearer).json()
    assert past["total"] == 7 and past["items"] == []
    filtered = client.get(f"{BASE}?limit=3&q=no-such-text", **bearer).json()
    assert filtered["total"] == 0 and filtered["items"] == []
