"""Sign-in that resists abuse without locking out the innocent (issue 14 §2): failures count per
(user name, client address) pair and per user name, never per address alone; the client address
comes through trusted proxies only; many user names from one address are slowed, not locked; the lock
page says when it ends; a system administrator unlocks, on the screen or the command line, audited."""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import subprocess
import sys

import pytest
import time_machine
from django.test import Client, RequestFactory
from django.utils import timezone

from hozen.audit.models import AuditEntry
from hozen.core import lockout
from tests import factories
from tests.concurrency.harness import race

pytestmark = pytest.mark.django_db
PROXY = "10.0.0.1"


def _try(username: str, password: str = "wrong password", *, ip: str = "192.0.2.10", forwarded: str | None = None):
    extra = {"REMOTE_ADDR": ip}
    if forwarded is not None:
        extra["HTTP_X_FORWARDED_FOR"] = forwarded
    return Client().post("/signin/", {"username": username, "password": password}, **extra)


def _fail(username: str, times: int, **where) -> None:
    for _ in range(times):
        assert _try(username, **where).status_code in (200, 429)  # the failure that reaches a limit locks


def _entries(action: str) -> list[dict]:
    return [json.loads(e.data) for e in AuditEntry.objects.filter(action=action).order_by("id")]


def test_lock_out_counts_a_user_name_from_one_address_never_the_address_alone(people, settings):
    who, other = people["auditor"].username, people["esi_manager"].username
    _fail(who, settings.AXES_FAILURE_LIMIT, ip="192.0.2.10")
    assert _try(who, factories.PASSWORD, ip="192.0.2.10").status_code == 429  # the pair is locked
    assert _try(who, factories.PASSWORD, ip="192.0.2.77").status_code == 302  # the same name elsewhere is not
    assert _try(other, factories.PASSWORD, ip="192.0.2.10").status_code == 302  # nor others at that address


def test_behind_a_trusted_proxy_each_client_is_its_forwarded_address(people, settings):
    settings.HOZEN_TRUSTED_PROXIES = (ipaddress.ip_network(PROXY),)
    who = people["auditor"].username
    _fail(who, settings.AXES_FAILURE_LIMIT, ip=PROXY, forwarded="203.0.113.5")
    assert _try(who, factories.PASSWORD, ip=PROXY, forwarded="203.0.113.5").status_code == 429
    assert _try(who, factories.PASSWORD, ip=PROXY, forwarded="198.51.100.7").status_code == 302


def test_a_forwarded_address_from_an_untrusted_client_is_ignored(people, settings):
    who = people["auditor"].username
    _fail(who, settings.AXES_FAILURE_LIMIT, ip="192.0.2.10", forwarded="198.51.100.1")
    # Claiming another address in the header does not escape the lock.
    assert _try(who, factories.PASSWORD, ip="192.0.2.10", forwarded="198.51.100.2").status_code == 429


@pytest.mark.parametrize(("remote", "forwarded", "expected"), [
    ("192.0.2.10", "198.51.100.1", "192.0.2.10"),           # not a trusted proxy: its own address
    (PROXY, "198.51.100.1", "198.51.100.1"),                  # the client the proxy saw
    (PROXY, "6.6.6.6, 198.51.100.1", "198.51.100.1"),         # left of the last untrusted hop: the client's word
    (PROXY, "198.51.100.1, 10.0.0.2", "198.51.100.1"),        # through two trusted proxies
    (PROXY, "not-an-address", PROXY),                          # a malformed hop: no further than the proxy
    (PROXY, "", PROXY),
])
def test_the_client_address_comes_through_trusted_proxies_only(settings, remote, forwarded, expected):
    settings.HOZEN_TRUSTED_PROXIES = (ipaddress.ip_network("10.0.0.0/30"),)
    request = RequestFactory().get("/", REMOTE_ADDR=remote, HTTP_X_FORWARDED_FOR=forwarded)
    assert lockout.client_ip(request) == expected


def test_a_user_name_guessed_from_many_addresses_is_locked_everywhere(people, settings):
    settings.HOZEN_LOGIN_USERNAME_FAILURE_LIMIT = 6
    who = people["auditor"].username
    for n in range(3):
        _fail(who, 2, ip=f"192.0.2.{20 + n}")
    response = _try(who, factories.PASSWORD, ip="192.0.2.99")
    assert response.status_code == 429
    assert "this user name" in response.content.decode() or "ユーザー名" in response.content.decode()


def test_the_lock_page_says_when_the_lock_ends(people, settings):
    who = people["auditor"].username
    with time_machine.travel(dt.datetime(2026, 3, 2, 1, 0, tzinfo=dt.UTC), tick=False):  # 10:00 in Japan
        _fail(who, settings.AXES_FAILURE_LIMIT)
        response = _try(who, factories.PASSWORD)
    assert response.status_code == 429
    assert "10:15" in response.content.decode()
    assert response["Retry-After"] == "900"


def test_many_user_names_from_one_address_are_slowed_not_locked(people, settings, monkeypatch):
    from hozen.core.views import auth

    settings.HOZEN_LOGIN_DELAY_MAX_SECONDS = 4
    waits: list[float] = []
    monkeypatch.setattr(auth.time, "sleep", waits.append)
    for n in range(8):
        _try(f"guess{n}", ip="192.0.2.50")
    assert waits == [0.25, 0.5, 1.0, 2.0, 4.0]  # after three free failures, doubling up to the cap
    assert _try(people["auditor"].username, factories.PASSWORD, ip="192.0.2.50").status_code == 302
    assert waits[-1] == 4.0


def test_an_administrator_unlocks_a_user_name_on_the_screen_audited(people, settings, signed_in):
    who = people["auditor"].username
    _fail(who, settings.AXES_FAILURE_LIMIT)
    admin = signed_in(people["sysadmin"])
    page = admin.get("/admin/sign-in-locks/").content.decode()
    assert f"<td>{who}</td>" in page
    response = admin.post("/admin/sign-in-locks/", {"username": who}, follow=True)
    assert f"<td>{who}</td>" not in response.content.decode()
    assert _try(who, factories.PASSWORD).status_code == 302
    [entry] = _entries("session.sign_in_unlocked")
    assert entry["details"]["failures_cleared"] == settings.AXES_FAILURE_LIMIT
    assert entry["target"]["type"] == "username_hmac" and who not in json.dumps(entry)


def test_only_a_system_administrator_unlocks(people, settings, signed_in):
    who = people["esi_manager"].username
    _fail(who, settings.AXES_FAILURE_LIMIT)
    client = signed_in(people["auditor"])
    assert client.get("/admin/sign-in-locks/").status_code == 403
    assert client.post("/admin/sign-in-locks/", {"username": who}).status_code == 403
    assert _try(who, factories.PASSWORD).status_code == 429
    assert not _entries("session.sign_in_unlocked")


def test_unlocking_a_name_that_is_not_locked_says_so_and_records_nothing(people, signed_in):
    response = signed_in(people["sysadmin"]).post("/admin/sign-in-locks/", {"username": "nobody"}, follow=True)
    assert "nobody のサインインはロックされていません" in response.content.decode()
    assert not _entries("session.sign_in_unlocked")


def test_hozen_users_unlock_on_the_command_line_is_audited(people, settings, capsys):
    from hozen.cli import main

    who = people["auditor"].username
    _fail(who, settings.AXES_FAILURE_LIMIT)
    assert main(["users", "unlock", who.upper()]) == 0
    assert capsys.readouterr().out.strip() == f"unlocked {who} ({settings.AXES_FAILURE_LIMIT} failed sign-in(s) cleared)"
    assert _entries("session.sign_in_unlocked")[-1]["actor"]["channel"] == "cli"
    assert main(["users", "unlock", who]) == 1  # now nothing to unlock: a one-line error
    assert "is not locked" in capsys.readouterr().err


@pytest.mark.django_db(transaction=True)
def test_two_administrators_unlocking_at_once_unlock_once(people, settings):
    from hozen.core import services
    from hozen.core.actor import Actor

    who = people["auditor"].username
    _fail(who, settings.AXES_FAILURE_LIMIT)
    admins = [Actor.for_account(a, a.active_assignments().first(), channel="web", second_factor_verified=True)
              for a in (people["sysadmin"], factories.account(role="sysadmin", organisation=people["sysadmin"]
                                                                .active_assignments().first().organisation))]
    outcomes = race(*[lambda a=a: services.unlock_sign_in(actor=a, username=who) for a in admins])
    assert sorted(o.value or 0 for o in outcomes) == [0, settings.AXES_FAILURE_LIMIT]
    assert [getattr(o.error, "code", None) for o in outcomes if o.error] == ["not_locked"]
    assert len(_entries("session.sign_in_unlocked")) == 1


def test_a_bad_trusted_proxy_setting_is_refused_naming_it(tmp_path):
    done = subprocess.run([sys.executable, "-c", "import django; django.setup()"], capture_output=True, text=True,
                          env={"DJANGO_SETTINGS_MODULE": "hozen.settings", "HOZEN_TRUSTED_PROXIES": "10.0.0.1, proxy",
                               "HOZEN_DATA_DIR": str(tmp_path), "PATH": "/usr/bin:/bin"})
    assert done.returncode != 0
    assert "HOZEN_TRUSTED_PROXIES: 'proxy' is not an IP address or network" in done.stderr


def test_the_lock_ends_after_the_cool_off_by_itself(people, settings):
    who = people["auditor"].username
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        _fail(who, settings.AXES_FAILURE_LIMIT)
    with time_machine.travel(start + dt.timedelta(minutes=16), tick=False):
        assert _try(who, factories.PASSWORD).status_code == 302


def _password_checks() -> int:
    return sum(1 for entry in _entries("session.sign_in_failed") if entry["details"]["reason"] == "password")


@pytest.mark.django_db(transaction=True)
def test_parallel_guesses_get_no_more_password_checks_than_the_limit(people, settings):
    """Guesses sent at once all arrive before any has failed: they must not all pass the check."""
    who = people["auditor"].username
    outcomes = race(*[lambda: _try(who) for _ in range(12)])
    assert [o.error for o in outcomes] == [None] * 12
    # The failure that reaches the limit is answered with the lock page already.
    statuses = sorted(o.status for o in outcomes)
    assert statuses == [200] * (settings.AXES_FAILURE_LIMIT - 1) + [429] * (13 - settings.AXES_FAILURE_LIMIT)
    assert _password_checks() == settings.AXES_FAILURE_LIMIT
    assert _try(who, factories.PASSWORD).status_code == 429  # and the pair is locked afterwards
    assert not lockout._in_flight().exists()  # every check in flight was let go


@pytest.mark.django_db(transaction=True)
def test_parallel_guesses_from_many_addresses_get_no_more_checks_than_the_user_name_limit(people, settings):
    settings.HOZEN_LOGIN_USERNAME_FAILURE_LIMIT = 6
    who = people["auditor"].username
    outcomes = race(*[lambda n=n: _try(who, ip=f"198.51.100.{n}") for n in range(1, 11)])
    assert sorted(o.status for o in outcomes) == [200] * 6 + [429] * 4
    assert _password_checks() == 6
    assert _try(who, factories.PASSWORD, ip="203.0.113.99").status_code == 429


@pytest.mark.django_db(transaction=True)
def test_a_burst_from_one_address_holds_no_more_than_a_few_server_threads(people, settings, monkeypatch):
    """While sign-ins from one address wait out their delay, more from it are answered at once."""
    monkeypatch.setattr(lockout, "delay_for", lambda ip: 2.0)
    monkeypatch.setattr(lockout, "MAX_IN_FLIGHT_PER_ADDRESS", 3)
    outcomes = race(*[lambda n=n: _try(f"nobody-{n}") for n in range(6)])
    statuses = sorted(o.status for o in outcomes)
    assert statuses == [200] * 3 + [429] * 3
    busy = next(o.value for o in outcomes if o.status == 429)
    assert "処理中のサインインが多すぎます" in busy.content.decode()  # Japanese by default
    assert int(busy["Retry-After"]) in range(1, lockout.BUSY_RETRY_SECONDS + 1)


def test_a_check_left_in_flight_by_a_crashed_process_stops_counting(people, settings):
    from hozen.core.models import SignInInFlight

    who = people["auditor"].username
    start = timezone.now()
    for _ in range(settings.AXES_FAILURE_LIMIT):
        SignInInFlight.objects.create(username=who, ip_address="192.0.2.10", started_at=start)
    assert lockout.lock_for(who, "192.0.2.10") is not None
    with time_machine.travel(start + dt.timedelta(seconds=lockout.IN_FLIGHT_SECONDS + 1), tick=False):
        assert lockout.lock_for(who, "192.0.2.10") is None
        assert _try(who, factories.PASSWORD).status_code == 302
    assert not SignInInFlight.objects.exists()  # the stale rows were cleared on the way
