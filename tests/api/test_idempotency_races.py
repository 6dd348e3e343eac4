"""Idempotency-Key under concurrency (issue 12 §5): requests with one key sent at once, each thread
with its own database connection, are never both executed — one runs, each other one is told to
retry (409) or gets the first answer replayed."""

# ruff: noqa: F811  (fixtures imported by name)
from __future__ import annotations

import pytest

from hozen.api.idempotency import REPLAYED_HEADER
from hozen.designation.models import Designation
from tests import factories
from tests.api.test_idempotency import URL, draft_body
from tests.concurrency.conftest import _frozen_today, _packs  # noqa: F401  (fixtures)
from tests.concurrency.harness import assert_no_server_errors, bearer, post, race

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.mark.parametrize("round_", range(3))
def test_four_requests_with_one_key_at_once_create_one_draft(round_):
    orgs = factories.organisations()
    manager = factories.account(role="esi_manager", organisation=orgs["METI"])
    headers = bearer(factories.api_token(manager), HTTP_IDEMPOTENCY_KEY=f"race-{round_}-0b6f1c")
    outcomes = race(*[post(URL, draft_body(), headers) for _ in range(4)])
    assert_no_server_errors(outcomes)
    assert [o.error for o in outcomes] == [None] * 4
    ran = [o for o in outcomes if o.status == 201 and not o.value.has_header(REPLAYED_HEADER)]
    assert len(ran) == 1, [(o.status, o.value.content[:200]) for o in outcomes]
    for other in outcomes:
        if other is ran[0]:
            continue
        if other.status == 201:
            assert other.value[REPLAYED_HEADER] == "true" and other.value.content == ran[0].value.content
        else:
            assert other.status == 409 and other.json()["code"] == "idempotency_key_in_progress"
    assert Designation.objects.count() == 1
