"""A KMS or HSM plugs in through HOZEN_KEK_PROVIDER (a factory returning a `KekProvider`): data keys
are wrapped by it, `hozen keys status` names it, and rotation re-wraps every data key under the
backend's current version (versions are made and retired in the backend, not by Hozen)."""

from __future__ import annotations

import pytest

from hozen.crypto import provider, reveal
from hozen.crypto.kek import KeyManagementError, LocalKeyring
from hozen.crypto.models import DataKey
from hozen.crypto.rotation import rotate
from tests.testapp.models import Dossier

# The "backend": a keyring held outside Hozen's files, whose current version the test moves.
BACKEND = {"keys": {1: b"\x11" * 32, 2: b"\x22" * 32}, "current": 1}


def backend_factory():
    return LocalKeyring(dict(BACKEND["keys"]), BACKEND["current"])


@pytest.fixture
def backend(monkeypatch, db):
    BACKEND["current"] = 1
    monkeypatch.delenv("HOZEN_KEK", raising=False)
    monkeypatch.setenv("HOZEN_KEK_PROVIDER", f"{__name__}.backend_factory")
    provider.reset_cache()
    yield BACKEND
    provider.reset_cache()


def _make(n=3):
    return [Dossier.objects.create(title="case", notes=f"notes {i}", family={}) for i in range(n)]


def test_a_configured_backend_wraps_the_data_keys(backend, actors):
    dossiers = _make()
    assert provider.describe_source() == f"provider:{__name__}.backend_factory"
    assert set(DataKey.objects.values_list("kek_version", flat=True)) == {1}
    assert reveal(actors["investigator"], dossiers[0], "notes", purpose="investigation") == "notes 0"


def test_rotation_rewraps_under_the_backends_new_current_version(backend, actors, operator):
    dossiers = _make()
    backend["current"] = 2  # the new version is made in the KMS
    provider.reset_cache()
    report = rotate(actor=operator, batch_size=2)
    assert (report.target_version, report.rewrapped, report.added_version) == (2, 3, False)
    assert set(DataKey.objects.values_list("kek_version", flat=True)) == {2}
    assert reveal(actors["investigator"], Dossier.objects.get(pk=dossiers[2].pk), "notes",
                  purpose="investigation") == "notes 2"


def test_retiring_old_versions_is_refused_with_a_backend(backend, operator):
    _make(1)
    with pytest.raises(KeyManagementError, match="retired in the HOZEN_KEK_PROVIDER backend"):
        rotate(actor=operator, retire_old=True)
    assert set(DataKey.objects.values_list("kek_version", flat=True)) == {1}


def test_a_backend_that_cannot_be_imported_is_a_start_up_error(monkeypatch, db):
    from hozen.crypto.apps import check_kek

    monkeypatch.setenv("HOZEN_KEK_PROVIDER", "no.such.module.factory")
    provider.reset_cache()
    try:
        [error] = check_kek()
        assert error.id == "hozen.E001" and "'no.such.module.factory' cannot be imported" in error.msg
    finally:
        provider.reset_cache()
