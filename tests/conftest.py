"""Shared fixtures: personas for every role, signed-in clients, frozen time helpers."""

from __future__ import annotations

import email
import os
import socket
from email.policy import default as default_policy

import pytest
from django.test import Client

# Playwright's sync API runs an event loop in the test thread; Django's ORM guard would refuse it.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

from tests import factories  # noqa: E402


@pytest.fixture(autouse=True)
def _fast_hashers(settings, request):
    # Argon2 is what production uses (a test checks the setting); tests need not pay for it each time.
    if "argon2" not in request.keywords:
        settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _fresh_pack_caches():
    """Forget the rules packs remembered by id (handling facts, rendered briefings) before each test.

    Hozen keeps them for the process's lifetime because a published pack never changes and its id
    is never reused. In the test run ids are reused: a test's rolled-back transaction and a
    transactional test's flush free them, and the next pack gets the same id with another content
    (a v2 published by one test, the shipped v1 reloaded after a flush). Under pytest-xdist the
    order of files changed and a handler's acknowledged briefing was checked against a stale pack.
    """
    from hozen.handling import briefings, facts

    facts._PACKS.clear()
    briefings._render.cache_clear()


@pytest.fixture
def operator():
    from hozen.core.actor import Actor

    return Actor.operator("tests")


@pytest.fixture
def orgs(db):
    return factories.organisations()


@pytest.fixture
def people(db, orgs):
    """One account per role: people['investigator'] etc."""
    return factories.people(orgs)


@pytest.fixture
def signed_in(db):
    """signed_in(account) -> a Client signed in with the second factor verified."""

    def make(account, assignment=None) -> Client:
        return factories.signed_in_client(account, assignment)

    return make


@pytest.fixture(autouse=True, scope="session")
def _test_keyring(tmp_path_factory):
    """Every test run gets its own key-encryption keyring, never the demo's."""
    from hozen.crypto import provider
    from hozen.crypto.kek import create_keyring_file

    path = tmp_path_factory.mktemp("keys") / "kek.json"
    create_keyring_file(path)
    old = os.environ.get("HOZEN_KEK_FILE")
    os.environ["HOZEN_KEK_FILE"] = str(path)
    provider.reset_cache()
    yield path
    if old is None:
        os.environ.pop("HOZEN_KEK_FILE", None)
    else:
        os.environ["HOZEN_KEK_FILE"] = old
    provider.reset_cache()


# --- a real SMTP server on 127.0.0.1 (issue 14 §6: notices go through Django's e-mail framework) ---

class _Collect:
    def __init__(self):
        self.messages: list = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        message = email.message_from_bytes(envelope.content, policy=default_policy)
        self.messages.append({"to": envelope.rcpt_tos, "subject": str(message["subject"]),
                              "body": message.get_content()})
        return "250 OK"


@pytest.fixture
def smtp(settings):
    """An SMTP server (aiosmtpd) started on 127.0.0.1 for the test; yields the messages it received."""
    from aiosmtpd.controller import Controller

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    handler = _Collect()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_USE_TLS = "127.0.0.1", port, False
    settings.HOZEN_BASE_URL = "https://hozen.example.go.jp"
    try:
        yield handler.messages
    finally:
        controller.stop()
