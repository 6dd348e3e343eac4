"""Keyring files, KEK rotation and data-key wrapping."""

from __future__ import annotations

import base64
import json
import os
import stat

import pytest

from hozen.crypto.envelope import CryptoError, DecryptionError, aad_for, new_data_key
from hozen.crypto.kek import (
    KEYRING_FORMAT,
    KekProvider,
    KeyManagementError,
    LocalKeyring,
    UnknownKekVersion,
    add_version,
    create_keyring_file,
    keyring_from_env_value,
    load_keyring,
    retire_versions,
)

AAD = aad_for("case:42", "dek")


def _mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def _key_b64() -> str:
    return base64.b64encode(os.urandom(32)).decode()


def _write(path, content: str, mode: int = 0o600):
    path.write_text(content)
    os.chmod(path, mode)
    return path


@pytest.fixture
def ring_path(tmp_path):
    path = tmp_path / "keyring.json"
    create_keyring_file(path)
    return path


# --- creating and loading --------------------------------------------------------------------


def test_keyring_file_created_with_mode_0600_even_with_permissive_umask(tmp_path):
    path = tmp_path / "keyring.json"
    old = os.umask(0)
    try:
        ring = create_keyring_file(path)
    finally:
        os.umask(old)
    assert _mode(path) == 0o600
    assert ring.current_version() == 1
    data = json.loads(path.read_text())
    assert data["format"] == KEYRING_FORMAT and data["current"] == 1
    assert len(base64.b64decode(data["keys"]["1"])) == 32
    assert load_keyring(path).versions() == (1,)


def test_create_refuses_to_overwrite(ring_path):
    before = ring_path.read_bytes()
    with pytest.raises(KeyManagementError, match="refusing to overwrite"):
        create_keyring_file(ring_path)
    assert ring_path.read_bytes() == before


def test_create_in_missing_directory_is_a_clear_error(tmp_path):
    with pytest.raises(KeyManagementError, match="cannot create keyring file"):
        create_keyring_file(tmp_path / "nope" / "keyring.json")


def test_missing_file_is_a_clear_error(tmp_path):
    with pytest.raises(KeyManagementError, match="keyring file not found"):
        load_keyring(tmp_path / "absent.json")


@pytest.mark.parametrize("mode", [0o640, 0o604, 0o644, 0o620, 0o660])
def test_group_or_world_accessible_keyring_refused(ring_path, mode):
    os.chmod(ring_path, mode)
    with pytest.raises(KeyManagementError, match=f"mode {mode:04o}.*chmod 600"):
        load_keyring(ring_path)


def test_directory_is_not_a_keyring(tmp_path):
    os.chmod(tmp_path, 0o700)
    with pytest.raises(KeyManagementError, match="not a regular file"):
        load_keyring(tmp_path)


def _doc(**overrides):
    doc = {"format": KEYRING_FORMAT, "current": 1, "keys": {"1": _key_b64()}}
    doc.update(overrides)
    return json.dumps(doc)


MALFORMED = [
        ("{not json", "not valid JSON"),
        ("[]", "top level must be a JSON object"),
        (_doc(current=None), "'current' must be a positive integer"),
        (_doc(current=True), "'current' must be a positive integer"),
        (_doc(current=2), "no key for that version"),
        (_doc(keys={}), "'keys' must be a non-empty object"),
        (_doc(keys={"1": "not base64!"}), "version 1 is not valid base64"),
        (_doc(keys={"1": base64.b64encode(b"short").decode()}), "version 1 is 5 bytes, expected 32"),
        (_doc(keys={"1": 12}), "version 1 must be a base64 string"),
        (_doc(keys={"01": _key_b64()}), "key version '01' is not a positive integer"),
        (_doc(format="other"), "'format' must be"),
        (_doc(extra=1), "unknown field"),
        (json.dumps({"format": KEYRING_FORMAT, "keys": {"1": _key_b64()}}), "missing field.*'current'"),
        (_doc(keys={"1": _key_b64()}).replace('"1": ', '"1": "dup", "1": ', 1), "duplicate entry '1'"),
]


# Named by the problem, not the content: the content holds random keys, and test ids must be the
# same in every pytest-xdist worker.
@pytest.mark.parametrize("content, problem", MALFORMED, ids=[problem for _, problem in MALFORMED])
def test_malformed_keyring_error_names_the_problem(tmp_path, content, problem):
    path = _write(tmp_path / "keyring.json", content)
    with pytest.raises(KeyManagementError, match=problem) as excinfo:
        load_keyring(path)
    message = str(excinfo.value)
    assert "\n" not in message
    assert str(path) in message


def test_same_key_under_two_versions_refused(tmp_path):
    key = _key_b64()
    path = _write(tmp_path / "k.json", _doc(keys={"1": key, "2": key}))
    with pytest.raises(KeyManagementError, match="same key under two versions"):
        load_keyring(path)


def test_error_messages_never_contain_key_material(tmp_path):
    key = base64.b64encode(b"x" * 31).decode()
    path = _write(tmp_path / "k.json", _doc(keys={"1": key}))
    with pytest.raises(KeyManagementError) as excinfo:
        load_keyring(path)
    assert key not in str(excinfo.value)


def test_repr_does_not_leak_keys(ring_path):
    ring = load_keyring(ring_path)
    key = json.loads(ring_path.read_text())["keys"]["1"]
    assert key not in repr(ring)
    assert repr(ring) == "<LocalKeyring versions=(1,) current=1>"


def test_keyring_from_env_value(ring_path):
    ring = keyring_from_env_value(ring_path.read_text())
    file_ring = load_keyring(ring_path)
    version, wrapped = file_ring.wrap(None, new_data_key(), AAD)
    assert len(ring.unwrap(version, wrapped, AAD)) == 32


@pytest.mark.parametrize(
    "value, problem", [("", "empty"), ("  \n", "empty"), ("{", "environment value: not valid JSON")]
)
def test_keyring_from_bad_env_value(value, problem):
    with pytest.raises(KeyManagementError, match=problem):
        keyring_from_env_value(value)


def test_error_types():
    assert issubclass(KeyManagementError, CryptoError)


# --- wrapping --------------------------------------------------------------------------------


def test_local_keyring_is_a_kek_provider(ring_path):
    assert isinstance(load_keyring(ring_path), KekProvider)


def test_wrap_unwrap_round_trip(ring_path):
    ring = load_keyring(ring_path)
    dek = new_data_key()
    version, wrapped = ring.wrap(None, dek, AAD)
    assert version == 1
    assert dek not in wrapped
    assert ring.unwrap(version, wrapped, AAD) == dek


def test_wrapped_key_for_one_case_does_not_unwrap_for_another(ring_path):
    ring = load_keyring(ring_path)
    version, wrapped = ring.wrap(None, new_data_key(), aad_for("case:1", "dek"))
    with pytest.raises(DecryptionError, match="KEK version 1"):
        ring.unwrap(version, wrapped, aad_for("case:2", "dek"))


def test_tampered_wrapped_key_refused(ring_path):
    ring = load_keyring(ring_path)
    version, wrapped = ring.wrap(None, new_data_key(), AAD)
    tampered = bytearray(wrapped)
    tampered[-1] ^= 0x80
    with pytest.raises(DecryptionError):
        ring.unwrap(version, bytes(tampered), AAD)


def test_unknown_version_refused(ring_path):
    ring = load_keyring(ring_path)
    with pytest.raises(KeyManagementError, match="unknown KEK version 7"):
        ring.unwrap(7, b"\x01" * 61, AAD)
    with pytest.raises(KeyManagementError, match="unknown KEK version"):
        ring.wrap(7, new_data_key(), AAD)


def test_wrap_refuses_wrong_size_data_key(ring_path):
    with pytest.raises(KeyManagementError, match="32 bytes"):
        load_keyring(ring_path).wrap(None, b"short", AAD)


def test_in_memory_keyring_validation():
    with pytest.raises(KeyManagementError, match="no keys"):
        LocalKeyring({}, 1)
    with pytest.raises(KeyManagementError, match="current version 2"):
        LocalKeyring({1: os.urandom(32)}, 2)
    with pytest.raises(KeyManagementError, match="32 bytes"):
        LocalKeyring({1: os.urandom(16)}, 1)


# --- rotation --------------------------------------------------------------------------------


def test_add_version_makes_new_current_version_and_old_versions_still_unwrap(ring_path):
    before = load_keyring(ring_path)
    dek = new_data_key()
    v1, wrapped_v1 = before.wrap(None, dek, AAD)

    assert add_version(ring_path) == 2
    assert add_version(ring_path) == 3

    after = load_keyring(ring_path)
    assert after.versions() == (1, 2, 3)
    assert after.current_version() == 3
    assert _mode(ring_path) == 0o600
    assert after.unwrap(v1, wrapped_v1, AAD) == dek  # wrapped under v1 survives rotation

    v_new, wrapped_new = after.wrap(None, dek, AAD)
    assert v_new == 3
    assert after.unwrap(3, wrapped_new, AAD) == dek
    with pytest.raises(DecryptionError):
        after.unwrap(1, wrapped_new, AAD)  # a wrapped key only opens under its own version
    assert after.unwrap(2, after.wrap(2, dek, AAD)[1], AAD) == dek


def test_add_version_leaves_no_temporary_files(ring_path):
    add_version(ring_path)
    assert sorted(p.name for p in ring_path.parent.iterdir()) == ["keyring.json"]


def test_add_version_keeps_existing_keys_byte_for_byte(ring_path):
    old = json.loads(ring_path.read_text())["keys"]
    add_version(ring_path)
    new = json.loads(ring_path.read_text())["keys"]
    assert new["1"] == old["1"]
    assert new["2"] != old["1"]


def test_add_version_refuses_insecure_keyring(ring_path):
    os.chmod(ring_path, 0o644)
    before = ring_path.read_bytes()
    with pytest.raises(KeyManagementError, match="chmod 600"):
        add_version(ring_path)
    assert ring_path.read_bytes() == before


def test_add_version_on_missing_file(tmp_path):
    with pytest.raises(KeyManagementError, match="not found"):
        add_version(tmp_path / "absent.json")


def test_add_version_through_symlink_updates_target(ring_path, tmp_path):
    link = tmp_path / "link.json"
    link.symlink_to(ring_path)
    add_version(link)
    assert link.is_symlink()
    assert load_keyring(ring_path).current_version() == 2


@pytest.mark.skipif(os.geteuid() != 0, reason="changing file ownership needs root")
def test_add_version_as_root_preserves_owner(ring_path):
    os.chown(ring_path, 12345, 12345)
    add_version(ring_path)
    st = os.stat(ring_path)
    assert (st.st_uid, st.st_gid) == (12345, 12345)


# --- retiring versions -----------------------------------------------------------------------


def test_retire_versions_removes_old_keys_and_keeps_the_rest_byte_for_byte(ring_path):
    dek = new_data_key()
    _, wrapped_v1 = load_keyring(ring_path).wrap(None, dek, AAD)
    add_version(ring_path)
    add_version(ring_path)
    kept = json.loads(ring_path.read_text())["keys"]["3"]
    assert retire_versions(ring_path, keep={3}) == (1, 2)
    data = json.loads(ring_path.read_text())
    assert data["keys"] == {"3": kept} and data["current"] == 3
    assert _mode(ring_path) == 0o600
    assert sorted(p.name for p in ring_path.parent.iterdir()) == ["keyring.json"]
    with pytest.raises(UnknownKekVersion, match="unknown KEK version 1"):
        load_keyring(ring_path).unwrap(1, wrapped_v1, AAD)  # what version 1 wrapped is now unrecoverable


def test_retire_versions_with_nothing_to_retire_is_a_no_op(ring_path):
    before = json.loads(ring_path.read_text())
    assert retire_versions(ring_path, keep=[1]) == ()
    assert json.loads(ring_path.read_text()) == before


def test_retire_versions_refuses_to_retire_the_current_version(ring_path):
    add_version(ring_path)
    before = ring_path.read_bytes()
    with pytest.raises(KeyManagementError, match="refusing to retire the current KEK version 2"):
        retire_versions(ring_path, keep={1})
    assert ring_path.read_bytes() == before


@pytest.mark.parametrize("keep", [{2, 7}, {2, 0}, {2, "1"}])
def test_retire_versions_refuses_to_keep_versions_that_do_not_exist(ring_path, keep):
    add_version(ring_path)
    before = ring_path.read_bytes()
    with pytest.raises(KeyManagementError, match="cannot keep|not a positive integer"):
        retire_versions(ring_path, keep=keep)
    assert ring_path.read_bytes() == before


def test_retire_versions_refuses_insecure_keyring(ring_path):
    add_version(ring_path)
    os.chmod(ring_path, 0o644)
    with pytest.raises(KeyManagementError, match="chmod 600"):
        retire_versions(ring_path, keep={2})
