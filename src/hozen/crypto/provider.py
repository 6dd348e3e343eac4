"""Where the key-encryption key comes from: the one place that reads the KEK settings.

HOZEN_KEK_FILE  path of a keyring file (default: HOZEN_DATA_DIR/kek.json, created by `hozen demo`)
HOZEN_KEK       the keyring JSON itself, for platforms that inject secrets as variables

A KMS or HSM backend plugs in here by returning another `KekProvider`.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

from django.conf import settings

from .kek import KekProvider, KeyManagementError, keyring_from_env_value, load_keyring

_lock = threading.Lock()
_cached: tuple[str, KekProvider] | None = None


class KekUnavailable(KeyManagementError):
    pass


def kek_file() -> Path:
    return Path(os.environ.get("HOZEN_KEK_FILE") or getattr(settings, "HOZEN_KEK_FILE", "")
                or Path(settings.DATA_DIR) / "kek.json")


def _source() -> str:
    env = os.environ.get("HOZEN_KEK", "")
    return "env" if env.strip() else f"file:{kek_file()}"


def get_provider() -> KekProvider:
    """The KEK provider, loaded once per process (and again if the source setting changes)."""
    global _cached
    source = _source()
    with _lock:
        if _cached is not None and _cached[0] == source:
            return _cached[1]
        try:
            if source == "env":
                provider = keyring_from_env_value(os.environ["HOZEN_KEK"])
            else:
                path = kek_file()
                if not path.exists() and not settings.PRODUCTION:
                    # Embedded default: like the secret key, a keyring is made on first start.
                    from .kek import create_keyring_file

                    path.parent.mkdir(parents=True, exist_ok=True)
                    create_keyring_file(path)
                if not path.exists():
                    raise KekUnavailable(f"no key-encryption key: {path} does not exist")
                provider = load_keyring(path)
        except KekUnavailable:
            raise
        except KeyManagementError as exc:
            raise KekUnavailable(str(exc)) from None
        _cached = (source, provider)
        return provider


def reset_cache() -> None:
    """After `hozen keys rotate` adds a version, and in tests."""
    global _cached
    with _lock:
        _cached = None
