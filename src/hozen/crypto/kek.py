"""Key-encryption keys (KEKs): the keys that wrap per-subject data keys.

Data keys (see ``hozen.crypto.envelope``) are never stored in the clear; they are stored wrapped
by a KEK. KEKs are versioned so they can be rotated: a new version becomes current for new
wraps, while old versions stay available to unwrap what they wrapped until everything has been
re-wrapped. Callers store the version next to each wrapped key.

``KekProvider`` is the interface the rest of Hozen depends on, so the local keyring below can be
replaced by an HSM or cloud KMS backend without touching callers. ``LocalKeyring`` keeps the KEKs
in a JSON keyring file (or an environment variable) of this shape::

    {"format": "hozen-keyring-v1", "current": 2, "keys": {"1": "<base64>", "2": "<base64>"}}

where each key is 32 random bytes in standard base64. The file must be mode 0600: anyone who can
read it can read every subject's data.

A wrapped data key is an ``envelope.encrypt`` field blob made with the KEK, with associated data
``length_prefixed(b"hozen.kek-wrap.v1", str(version), caller_aad)`` so a wrapped key only unwraps
under its own version and for the owner it was wrapped for.

File operations are POSIX-only (permission bits, ``flock``), which is what Hozen is deployed on.
A ``LocalKeyring`` object keeps the keys it loaded; ``hozen.crypto.provider`` notices a changed
keyring file and reloads it, so running processes follow ``add_version`` and ``retire_versions``
without a restart. Deployments with several hosts must give every host the new file before
data keys are re-wrapped under the new version.
"""

from __future__ import annotations

import base64
import binascii
import fcntl
import json
import os
import re
import stat
import tempfile
from collections.abc import Iterable, Mapping
from typing import Protocol, runtime_checkable

from . import envelope
from .envelope import KEY_SIZE, CryptoError, DecryptionError, length_prefixed

__all__ = [
    "KeyManagementError",
    "UnknownKekVersion",
    "KekProvider",
    "LocalKeyring",
    "KEYRING_FORMAT",
    "create_keyring_file",
    "add_version",
    "retire_versions",
    "load_keyring",
    "keyring_from_env_value",
]

KEYRING_FORMAT = "hozen-keyring-v1"
_MAX_KEYRING_BYTES = 1024 * 1024
_VERSION_RE = re.compile(r"[1-9][0-9]{0,8}")
_FIELDS = {"format", "current", "keys"}


class KeyManagementError(CryptoError):
    """A keyring could not be created, loaded or used; the message is one readable line."""


class UnknownKekVersion(KeyManagementError):
    """The keyring holds no key of the requested version (never created, or retired)."""


@runtime_checkable
class KekProvider(Protocol):
    """Wraps and unwraps data keys under versioned key-encryption keys."""

    def current_version(self) -> int:
        """Version used by ``wrap`` when no version is given."""
        ...

    def wrap(self, version: int | None, dek: bytes, aad: bytes) -> tuple[int, bytes]:
        """Wrap ``dek`` under ``version`` (``None``: the current one); return (version, wrapped)."""
        ...

    def unwrap(self, version: int, wrapped: bytes, aad: bytes) -> bytes:
        """Return the data key wrapped under ``version``; raise ``CryptoError`` if it does not verify."""
        ...


def _wrap_aad(version: int, aad: bytes) -> bytes:
    return length_prefixed(b"hozen.kek-wrap.v1", str(version).encode("ascii"), bytes(aad))


class LocalKeyring:
    """KEKs held in process memory, loaded from a keyring file or environment value."""

    def __init__(self, keys: Mapping[int, bytes], current: int) -> None:
        if not keys:
            raise KeyManagementError("keyring has no keys")
        for version, key in keys.items():
            if not _is_version(version):
                raise KeyManagementError(f"keyring version {version!r} is not a positive integer")
            if not isinstance(key, bytes) or len(key) != KEY_SIZE:
                raise KeyManagementError(f"key for version {version} must be {KEY_SIZE} bytes")
        if len(set(keys.values())) != len(keys):
            raise KeyManagementError("keyring holds the same key under two versions")
        if not _is_version(current) or current not in keys:
            raise KeyManagementError(f"current version {current!r} is not one of the keyring's versions")
        self._keys = dict(keys)
        self._current = current

    def __repr__(self) -> str:  # never show key material
        return f"<LocalKeyring versions={self.versions()} current={self._current}>"

    def versions(self) -> tuple[int, ...]:
        """All versions held, ascending."""
        return tuple(sorted(self._keys))

    def current_version(self) -> int:
        return self._current

    def _key(self, version: int) -> bytes:
        if not _is_version(version) or version not in self._keys:
            held = ", ".join(map(str, self.versions()))
            raise UnknownKekVersion(f"unknown KEK version {version!r} (keyring holds {held})")
        return self._keys[version]

    def wrap(self, version: int | None, dek: bytes, aad: bytes) -> tuple[int, bytes]:
        version = self._current if version is None else version
        if len(dek) != KEY_SIZE:
            raise KeyManagementError(f"data key to wrap must be {KEY_SIZE} bytes")
        return version, envelope.encrypt(self._key(version), dek, _wrap_aad(version, aad))

    def unwrap(self, version: int, wrapped: bytes, aad: bytes) -> bytes:
        kek = self._key(version)
        try:
            dek = envelope.decrypt(kek, wrapped, _wrap_aad(version, aad))
        except DecryptionError:
            raise DecryptionError(
                f"wrapped data key failed authentication under KEK version {version}: wrong version, "
                "wrong associated data, or tampered wrapped key"
            ) from None
        if len(dek) != KEY_SIZE:
            raise KeyManagementError(f"unwrapped data key has {len(dek)} bytes, expected {KEY_SIZE}")
        return dek


def _is_version(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 1


# --- serialisation ---------------------------------------------------------------------------


def _reject_duplicates(pairs: list[tuple[str, object]]) -> dict[str, object]:
    result: dict[str, object] = {}
    for name, value in pairs:
        if name in result:
            raise KeyManagementError(f"duplicate entry {name!r}")
        result[name] = value
    return result


def _parse(text: str, source: str) -> LocalKeyring:
    """Parse keyring JSON, naming ``source`` and the exact problem in every error."""
    try:
        try:
            data = json.loads(text, object_pairs_hook=_reject_duplicates)
        except json.JSONDecodeError as exc:
            raise KeyManagementError(
                f"not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno})"
            ) from None
        if not isinstance(data, dict):
            raise KeyManagementError("top level must be a JSON object")
        unknown = sorted(set(data) - _FIELDS)
        if unknown:
            raise KeyManagementError(f"unknown field(s) {', '.join(map(repr, unknown))}")
        missing = sorted(_FIELDS - set(data))
        if missing:
            raise KeyManagementError(f"missing field(s) {', '.join(map(repr, missing))}")
        if data["format"] != KEYRING_FORMAT:
            raise KeyManagementError(f"field 'format' must be {KEYRING_FORMAT!r}")
        current = data["current"]
        if not _is_version(current):
            raise KeyManagementError("field 'current' must be a positive integer")
        if not isinstance(data["keys"], dict) or not data["keys"]:
            raise KeyManagementError("field 'keys' must be a non-empty object of version -> base64 key")
        keys: dict[int, bytes] = {}
        for name, encoded in data["keys"].items():
            if not _VERSION_RE.fullmatch(name):
                raise KeyManagementError(f"key version {name!r} is not a positive integer")
            if not isinstance(encoded, str):
                raise KeyManagementError(f"key for version {name} must be a base64 string")
            try:
                raw = base64.b64decode(encoded, validate=True)
            except (binascii.Error, ValueError):
                raise KeyManagementError(f"key for version {name} is not valid base64") from None
            if len(raw) != KEY_SIZE:
                raise KeyManagementError(f"key for version {name} is {len(raw)} bytes, expected {KEY_SIZE}")
            keys[int(name)] = raw
        if current not in keys:
            raise KeyManagementError(f"field 'current' is {current} but there is no key for that version")
        return LocalKeyring(keys, current)
    except KeyManagementError as exc:
        raise KeyManagementError(f"malformed keyring in {source}: {exc}") from None


def _serialise(keys: Mapping[int, bytes], current: int) -> bytes:
    data = {
        "format": KEYRING_FORMAT,
        "current": current,
        "keys": {str(v): base64.b64encode(keys[v]).decode("ascii") for v in sorted(keys)},
    }
    return (json.dumps(data, indent=2) + "\n").encode("ascii")


# --- files -----------------------------------------------------------------------------------


def _fsync_dir(directory: str) -> None:
    """Make a create or rename durable: the directory entry must reach the disk too."""
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _read_keyring_file(path: str) -> tuple[LocalKeyring, os.stat_result]:
    """Open, check and parse a keyring file; checks use the open descriptor (no check/use race)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except FileNotFoundError:
        raise KeyManagementError(f"keyring file not found: {path}") from None
    except OSError as exc:
        raise KeyManagementError(f"cannot open keyring file {path}: {exc.strerror}") from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise KeyManagementError(f"keyring path is not a regular file: {path}")
        if st.st_mode & 0o077:
            raise KeyManagementError(
                f"keyring file {path} is accessible to group or others "
                f"(mode {stat.S_IMODE(st.st_mode):04o}); run: chmod 600 {path}"
            )
        with os.fdopen(os.dup(fd), "rb") as fh:
            raw = fh.read(_MAX_KEYRING_BYTES + 1)
    finally:
        os.close(fd)
    if len(raw) > _MAX_KEYRING_BYTES:
        raise KeyManagementError(
            f"malformed keyring in {path}: file is larger than {_MAX_KEYRING_BYTES} bytes"
        )
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise KeyManagementError(f"malformed keyring in {path}: not UTF-8 text") from None
    return _parse(text, path), st


def load_keyring(path: str | os.PathLike[str]) -> LocalKeyring:
    """Load a keyring file, refusing it if missing, malformed, or readable by anyone but its owner."""
    return _read_keyring_file(os.fspath(path))[0]


def keyring_from_env_value(text: str) -> LocalKeyring:
    """Load a keyring passed in an environment variable: the same JSON as the keyring file."""
    if not text or not text.strip():
        raise KeyManagementError("keyring environment value is empty")
    return _parse(text, "keyring environment value")


def create_keyring_file(path: str | os.PathLike[str]) -> LocalKeyring:
    """Create a new keyring file holding version 1, mode 0600; never overwrite an existing file."""
    path = os.fspath(path)
    keys = {1: envelope.new_data_key()}
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
    except FileExistsError:
        raise KeyManagementError(f"refusing to overwrite existing keyring file {path}") from None
    except OSError as exc:
        raise KeyManagementError(f"cannot create keyring file {path}: {exc.strerror}") from None
    try:
        os.fchmod(fd, 0o600)  # the umask can only remove bits, but be explicit
        _write_all(fd, _serialise(keys, 1))
        os.fsync(fd)
    except BaseException:
        os.close(fd)
        os.unlink(path)
        raise
    os.close(fd)
    _fsync_dir(os.path.dirname(os.path.abspath(path)))
    return LocalKeyring(keys, 1)


def _rewrite_keyring(path: str | os.PathLike[str], change) -> object:
    """Read, change and atomically replace a keyring file under an exclusive directory lock.

    ``change(keys, current)`` gets a copy of the keys and the current version and returns
    ``(keys, current, result)``; ``result`` is returned. The file is replaced atomically (write a
    0600 temporary file in the same directory, fsync, rename, fsync the directory), so a crash
    leaves either the old or the new keyring, never a partial one. The lock on the directory
    serialises concurrent changes, which could otherwise silently drop a version that a process
    had already wrapped keys under.
    """
    path = os.path.realpath(os.fspath(path))
    directory = os.path.dirname(path)
    dir_fd = os.open(directory, os.O_RDONLY | os.O_CLOEXEC)
    try:
        fcntl.flock(dir_fd, fcntl.LOCK_EX)
        keyring, st = _read_keyring_file(path)
        keys, current, result = change(dict(keyring._keys), keyring.current_version())
        LocalKeyring(keys, current)  # validate before writing anything
        fd, tmp = tempfile.mkstemp(dir=directory, prefix=f".{os.path.basename(path)}.", suffix=".tmp")
        try:
            os.fchmod(fd, 0o600)
            if os.geteuid() == 0:  # changing it as root must not leave the service unable to read it
                os.fchown(fd, st.st_uid, st.st_gid)
            _write_all(fd, _serialise(keys, current))
            os.fsync(fd)
            os.close(fd)
            fd = -1
            os.replace(tmp, path)
        except BaseException:
            if fd >= 0:
                os.close(fd)
            os.unlink(tmp)
            raise
        _fsync_dir(directory)
        return result
    finally:
        os.close(dir_fd)  # also releases the lock


def add_version(path: str | os.PathLike[str]) -> int:
    """Add a new KEK version and make it current; return the new version number.

    Atomic and serialised with other keyring changes (see ``_rewrite_keyring``).
    """

    def change(keys: dict[int, bytes], current: int):
        new_version = max(keys) + 1
        keys[new_version] = envelope.new_data_key()
        return keys, new_version, new_version

    return _rewrite_keyring(path, change)


def retire_versions(path: str | os.PathLike[str], keep: Iterable[int]) -> tuple[int, ...]:
    """Remove every KEK version not in ``keep`` from the keyring file; return the removed versions.

    This is the second step of crypto-shredding (see ``hozen.crypto.rotation``): once no live data
    key is wrapped under an old version, removing that version makes every wrapped key still
    held elsewhere under it (database backups, dumps, WAL archives, free pages) unreadable.

    The current version must be kept, and every version in ``keep`` must exist: a typo must not
    retire the wrong key. Atomic and serialised like ``add_version``.

    What this cannot do: erase copies of the keyring itself. Backups of the keyring file, the
    same JSON in ``HOZEN_KEK`` of another deployment, or old blocks on the disk that held the
    previous file (``os.replace`` does not overwrite them) still hold the retired keys. Keep
    keyring backups under a retention shorter than the shredding promise, and on disks where
    that matters use an encrypted file system or an HSM/KMS provider.
    """
    wanted = set(keep)
    for version in wanted:
        if not _is_version(version):
            raise KeyManagementError(f"version to keep {version!r} is not a positive integer")

    def change(keys: dict[int, bytes], current: int):
        missing = sorted(wanted - set(keys))
        if missing:
            raise KeyManagementError(
                f"cannot keep KEK version(s) {', '.join(map(str, missing))}: not in the keyring "
                f"(it holds {', '.join(map(str, sorted(keys)))})"
            )
        if current not in wanted:
            raise KeyManagementError(f"refusing to retire the current KEK version {current}")
        retired = tuple(sorted(set(keys) - wanted))
        return {v: k for v, k in keys.items() if v in wanted}, current, retired

    return _rewrite_keyring(path, change)
