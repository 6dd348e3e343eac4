"""Fixtures for the key-management tests: a keyring of their own, actors, protected rows."""

from __future__ import annotations

import pytest

from hozen.core.actor import Actor
from hozen.crypto import provider
from hozen.crypto.kek import create_keyring_file
from tests import factories


@pytest.fixture
def keyring(tmp_path, monkeypatch):
    """A fresh keyring file for this test only, so rotating or retiring cannot touch other tests."""
    path = tmp_path / "keys" / "kek.json"
    path.parent.mkdir()
    create_keyring_file(path)
    monkeypatch.delenv("HOZEN_KEK", raising=False)
    monkeypatch.setenv("HOZEN_KEK_FILE", str(path))
    provider.reset_cache()
    yield path
    provider.reset_cache()


def _actor(account) -> Actor:
    return Actor.for_account(account, account.active_assignments().first(), channel="web")


@pytest.fixture
def actors(db, orgs):
    """Role holders acting on the web: investigator (may read), organ_head (may shred), sysadmin."""
    return {
        role: _actor(factories.account(role=role, organisation=orgs[factories.ROLE_HOMES[role]], totp_device=False))
        for role in ("investigator", "organ_head", "sysadmin")
    }


@pytest.fixture
def person(orgs):
    """The assessed person the protected data is about."""
    return factories.account(role="subject", organisation=orgs["TOWA"]).person


@pytest.fixture
def make_dossier(db, keyring):
    from tests.testapp.models import Dossier

    def make(notes="面接記録：問題なし", family=None, person=None) -> Dossier:
        family = {"spouse": {"name": "山田 花子", "nationality": ["JP"]}} if family is None else family
        return Dossier.objects.create(title="case", notes=notes, family=family, person=person)

    return make
