"""The API's request budget per account (issue 12 §3): 429 is documented on every operation, so the
server really answers it, in the error schema, with Retry-After; the refused request does nothing."""

from __future__ import annotations

import pytest
import time_machine
from django.core.cache import cache
from django.core.exceptions import ImproperlyConfigured

from hozen.api.errors import ErrorOut
from hozen.api.throttle import parse_rate
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_counts():
    cache.clear()
    yield
    cache.clear()


def _auth(account) -> dict:
    return {"HTTP_AUTHORIZATION": f"Bearer {factories.api_token(account)}"}


def test_requests_beyond_the_budget_are_429_in_the_error_schema_with_retry_after(client, settings, people):
    settings.HOZEN_API_RATE = "3/60"
    auth = _auth(people["investigator"])
    with time_machine.travel("2026-06-01 10:00:10+09:00", tick=False):
        assert [client.get("/api/v1/me", **auth).status_code for _ in range(3)] == [200, 200, 200]
        refused = client.get("/api/v1/me", **auth)
    assert refused.status_code == 429 and refused["Content-Type"].startswith("application/json")
    body = refused.json()
    assert body["code"] == "too_many_requests" and body["detail"]
    ErrorOut.model_validate(body)  # the documented schema
    assert refused["Retry-After"] == "50"  # the window (a minute) ends 50 seconds later


def test_the_budget_is_per_account_and_starts_again_with_the_next_window(client, settings, people):
    settings.HOZEN_API_RATE = "2/60"
    first, second = _auth(people["investigator"]), _auth(people["auditor"])
    with time_machine.travel("2026-06-01 10:00:00+09:00", tick=False):
        assert [client.get("/api/v1/me", **first).status_code for _ in range(3)] == [200, 200, 429]
        assert client.get("/api/v1/me", **second).status_code == 200  # another account: its own budget
    with time_machine.travel("2026-06-01 10:01:00+09:00", tick=False):
        assert client.get("/api/v1/me", **first).status_code == 200


def test_a_refused_write_changes_nothing(client, settings, people):
    from hozen.core.models import Account

    settings.HOZEN_API_RATE = "1/60"
    subject = people["subject"]
    auth = _auth(subject)
    with time_machine.travel("2026-06-01 10:00:00+09:00", tick=False):
        assert client.get("/api/v1/me", **auth).status_code == 200
        refused = client.patch("/api/v1/me", {"language": "en"}, content_type="application/json", **auth)
    assert refused.status_code == 429
    assert Account.objects.get(pk=subject.pk).language == subject.language


def test_a_request_without_a_valid_token_is_401_not_counted(client, settings):
    settings.HOZEN_API_RATE = "1/60"
    answers = [client.get("/api/v1/me", HTTP_AUTHORIZATION="Bearer hz_x_y").status_code for _ in range(3)]
    assert answers == [401, 401, 401]


@pytest.mark.parametrize("value", ["fast", "10", "10/", "/60", "0/60", "10/0", "-1/60"])
def test_a_malformed_rate_is_refused_naming_the_setting(value):
    with pytest.raises(ImproperlyConfigured, match="HOZEN_API_RATE"):
        parse_rate(value)


def test_off_means_no_budget():
    assert parse_rate("off") is None and parse_rate("1200/60") == (1200, 60)


def _redis_answers() -> bool:
    import socket

    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=1):
            return True
    except OSError:
        return False


@pytest.mark.skipif(not _redis_answers(), reason="no Redis on 127.0.0.1:6379")
def test_with_a_shared_redis_two_processes_share_one_budget(tmp_path):
    """Two processes (as two gunicorn workers) counting one account's requests in one Redis."""
    import os
    import subprocess
    import sys
    import uuid

    script = (
        "import django, os; django.setup()\n"
        "from django.core.cache import cache\n"
        "from types import SimpleNamespace\n"
        "from hozen.api.throttle import AccountRateThrottle\n"
        "t = AccountRateThrottle()\n"
        "r = SimpleNamespace(auth=SimpleNamespace(pk=int(os.environ['ACCOUNT'])))\n"
        "print(sum(t.allow_request(r) for _ in range(3)))\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HOZEN_", "DJANGO_"))}
    env.update(DJANGO_SETTINGS_MODULE="hozen.settings", HOZEN_DATA_DIR=str(tmp_path), HOZEN_API_RATE="4/3600",
               HOZEN_REDIS_URL="redis://127.0.0.1:6379/15", ACCOUNT=str(uuid.uuid4().int % 10**9))
    allowed = [int(subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True,
                                  timeout=60, check=True).stdout) for _ in range(2)]
    assert allowed == [3, 1]  # one budget of 4 across both processes
