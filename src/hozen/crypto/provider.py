"""Where the key-encryption key comes from: the one place that reads the KEK settings.

HOZEN_KEK_FILE  path of a keyring file (default: HOZEN_DATA_DIR/kek.json, created by `hozen demo`)
HOZEN_KEK       the keyring JSON itself, for platforms that inject secrets as variables
HOZEN_KEK_PROVIDER  dotted path of a factory returning another `KekProvider` (a KMS or HSM
                backend); when set, the two above are not read

Only `current_version`, `wrap` and `unwrap` are used by data-key code; `hozen keys rotate` adds
versions to a local keyring file, so with another backend rotation happens in that backend (a new
current version there), after which `rotate` re-wraps the data keys as usual.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

from django.conf import settings

from .kek import KekProvider, KeyManagementError, keyring_from_env_value, load_keyring

_lock = threading.Lock()
_cached: tuple[tuple, KekProvider] | None = None


class KekUnavailable(KeyManagementError):
    """No key-encryption key could be loaded: a start-up error in production (hozen.E001)."""


def kek_file() -> Path:
    return Path(os.environ.get("HOZEN_KEK_FILE") or getattr(settings, "HOZEN_KEK_FILE", "")
                or Path(settings.DATA_DIR) / "kek.json")


def _custom_factory() -> str:
    return os.environ.get("HOZEN_KEK_PROVIDER") or getattr(settings, "HOZEN_KEK_PROVIDER", "") or ""


def _source() -> tuple:
    """What the provider is loaded from; a changed file (new inode, size or mtime) is a new source.

    `hozen keys rotate` replaces the keyring file atomically, so every process sees the new
    version at its next key operation without a restart, and no process keeps wrapping new data
    keys under a version that `--retire-old` has removed. The price is one stat() per use.
    """
    factory = _custom_factory()
    if factory:
        return ("custom", factory)
    env = os.environ.get("HOZEN_KEK", "")
    if env.strip():
        return ("env",)
    path = kek_file()
    try:
        st = os.stat(path)
    except OSError:
        return ("file", str(path), None)
    return ("file", str(path), (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns))


def is_custom() -> bool:
    """Whether the KEKs come from a HOZEN_KEK_PROVIDER backend (a KMS or HSM) rather than a keyring."""
    return _source()[0] == "custom"


def describe_source() -> str:
    """Where the keyring comes from, for status output: ``env:HOZEN_KEK`` or ``file:<path>``."""
    source = _source()
    if source[0] == "custom":
        return f"provider:{source[1]}"
    return "env:HOZEN_KEK" if source[0] == "env" else f"file:{source[1]}"


def keyring_file_for_rotation() -> Path:
    """The keyring file that `hozen keys rotate` may change; refuses a keyring from HOZEN_KEK."""
    if _source()[0] == "custom":
        raise KeyManagementError(
            f"the key-encryption keys are held by {_custom_factory()} (HOZEN_KEK_PROVIDER), not in a file")
    if _source()[0] == "env":
        raise KeyManagementError(
            "the keyring comes from the HOZEN_KEK variable, which Hozen cannot change: rotate with a "
            "keyring file (HOZEN_KEK_FILE), or add the version in your secret store and re-deploy"
        )
    path = kek_file()
    if not path.exists():
        raise KekUnavailable(f"no key-encryption key: {path} does not exist")
    return path


def wrapped_keys_held() -> int:
    """How many keys in the database are wrapped by a KEK (live data keys and the audit signing
    keys); 0 when the tables do not exist yet (before the first migration)."""
    from django.apps import apps
    from django.db import DatabaseError, connection

    try:
        tables = set(connection.introspection.table_names())
        held = 0
        for label in ("crypto.DataKey", "audit.AuditSigningKey"):
            model = apps.get_model(label)
            if model._meta.db_table in tables:
                field = "wrapped" if label == "crypto.DataKey" else "wrapped_seed"
                held += model.objects.filter(**{f"{field}__isnull": False}).count()
        return held
    except DatabaseError as exc:  # unreachable: never assume an empty database and make a keyring
        raise KekUnavailable(f"cannot tell whether the database holds wrapped keys ({exc.__class__.__name__}); "
                             "no keyring was made") from None


def get_provider() -> KekProvider:
    """The KEK provider, loaded once per process and again whenever its source changes."""
    global _cached
    source = _source()
    with _lock:
        if _cached is not None and _cached[0] == source:
            return _cached[1]
        try:
            if source[0] == "custom":
                from django.utils.module_loading import import_string

                try:
                    factory = import_string(source[1])
                except ImportError as exc:
                    raise KekUnavailable(f"HOZEN_KEK_PROVIDER {source[1]!r} cannot be imported ({exc})") from None
                provider = factory()
            elif source[0] == "env":
                provider = keyring_from_env_value(os.environ["HOZEN_KEK"])
            else:
                path = kek_file()
                if source[2] is None and not settings.PRODUCTION:
                    # Embedded default: like the secret key, a keyring is made on first start, but
                    # never over a database that holds keys wrapped by another one (a restore
                    # without its keyring): that would mix two keyrings (issue 13 §4).
                    held = wrapped_keys_held()
                    if held:
                        raise KekUnavailable(
                            f"no key-encryption key: {path} does not exist, and the database holds {held} key(s) "
                            "wrapped by a keyring; restore the keyring that belongs to this database (a new one "
                            "is never made over existing data)")
                    from .kek import create_keyring_file

                    path.parent.mkdir(parents=True, exist_ok=True)
                    try:
                        create_keyring_file(path)
                    except KeyManagementError:
                        if not path.exists():
                            raise
                        # another process starting at the same moment created it: use theirs
                    source = _source()
                if source[2] is None:
                    raise KekUnavailable(f"no key-encryption key: {path} does not exist")
                provider = load_keyring(path)
        except KekUnavailable:
            raise
        except KeyManagementError as exc:
            raise KekUnavailable(str(exc)) from None
        _cached = (source, provider)
        return provider


def reset_cache() -> None:
    """Forget the loaded keyring (tests; a changed file is noticed without this)."""
    global _cached
    with _lock:
        _cached = None
