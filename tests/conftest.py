"""Shared fixtures: personas for every role, signed-in clients, frozen time helpers."""

from __future__ import annotations

import os

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
