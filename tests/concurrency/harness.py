"""Two people clicking at once: run requests (or service calls) in parallel threads, each with its
own database connection, released together, and check what a user relies on afterwards.

On SQLite the test database is a file (tests/settings.py), so the threads meet SQLite's real
locking (WAL, busy timeout, BEGIN IMMEDIATE) exactly as the embedded default does; on PostgreSQL
they meet row locks. Tests using this run with `django_db(transaction=True)`: what each thread
commits is what the others see.
"""

from __future__ import annotations

import json
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db import connection
from django.test import Client

from hozen.audit.models import AuditEntry
from hozen.audit.reconcile import reconcile


@dataclass
class Outcome:
    """What one parallel call gave: its return value (an HTTP response for requests) or the error."""

    value: Any = None
    error: BaseException | None = None

    @property
    def status(self) -> int | None:
        return getattr(self.value, "status_code", None)

    def json(self) -> dict:
        return json.loads(self.value.content)


def race(*calls: Callable[[], Any], timeout: float = 120) -> list[Outcome]:
    """Run every call in its own thread, all released at the same moment by a barrier; each thread
    closes its own database connection when done. Returns one Outcome per call, in order."""
    barrier = threading.Barrier(len(calls))
    outcomes = [Outcome() for _ in calls]

    def run(i: int, call: Callable[[], Any]) -> None:
        try:
            barrier.wait(timeout)
            outcomes[i].value = call()
        except BaseException as exc:  # noqa: BLE001 - reported to the test
            outcomes[i].error = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, call), daemon=True) for i, call in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout)
    stuck = [i for i, t in enumerate(threads) if t.is_alive()]
    assert not stuck, f"calls {stuck} did not finish within {timeout} s (a deadlock?)"
    return outcomes


def api_client() -> Client:
    """A client whose server errors come back as 5xx responses (never raised into the thread), so a
    test can assert that none happened."""
    return Client(raise_request_exception=False)


def bearer(token: str, **extra) -> dict:
    return {"HTTP_AUTHORIZATION": f"Bearer {token}", **extra}


def post(path: str, body: dict | None, headers: dict) -> Callable[[], Any]:
    """A POST of `body` as JSON, to run later (in a thread)."""
    def call():
        return api_client().post(path, data=json.dumps(body or {}), content_type="application/json", **headers)
    return call


def patch(path: str, body: dict, headers: dict) -> Callable[[], Any]:
    def call():
        return api_client().patch(path, data=json.dumps(body), content_type="application/json", **headers)
    return call


def put(path: str, body: dict, headers: dict) -> Callable[[], Any]:
    def call():
        return api_client().put(path, data=json.dumps(body), content_type="application/json", **headers)
    return call


def statuses(outcomes: list[Outcome]) -> Counter:
    """How many calls answered each status (an exception counts as "error: <type>")."""
    return Counter(o.status if o.error is None else f"error: {type(o.error).__name__}: {o.error}" for o in outcomes)


def assert_no_server_errors(outcomes: list[Outcome]) -> None:
    bad = [o for o in outcomes if o.error is not None or (o.status is not None and o.status >= 500)]
    assert not bad, [(o.status, o.error, getattr(o.value, "content", b"")[:300]) for o in bad]


def assert_refusals_are_clear(outcomes: list[Outcome], allowed=(409, 422)) -> None:
    """Every refused call answered 409 or 422 with a stable code and a message (never a 5xx)."""
    assert_no_server_errors(outcomes)
    for o in outcomes:
        if o.status is not None and o.status >= 300:
            assert o.status in allowed, (o.status, o.value.content[:300])
            body = o.json()
            assert body.get("code") and body.get("detail"), body


def audit_count(action: str, **filters) -> int:
    return AuditEntry.objects.filter(action=action, outcome="success", **filters).count()


def assert_reconciled(*kinds: str) -> None:
    """The rows agree with the log (ARCHITECTURE rule 10)."""
    report = reconcile(kinds=kinds or None)
    assert report.ok, [d.line() for d in report.disagreements]
