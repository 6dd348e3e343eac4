from django.apps import AppConfig
from django.core import checks
from django.utils.translation import gettext_lazy as _


class CryptoConfig(AppConfig):
    name = "hozen.crypto"
    label = "crypto"
    verbose_name = _("Keys and encryption")

    def ready(self) -> None:
        checks.register(check_kek, checks.Tags.security, deploy=False)
        checks.register(check_keys_open, checks.Tags.database)


def check_kek(app_configs=None, **kwargs):
    """A missing key-encryption key is an error at start-up, not at the first decryption."""
    from .provider import KekUnavailable, get_provider

    try:
        get_provider()
    except KekUnavailable as exc:
        return [checks.Error(str(exc), hint="Set HOZEN_KEK_FILE to a keyring file (mode 0600) or HOZEN_KEK "
                             "to the keyring JSON; `hozen keys init` creates one for a new database (after a restore, restore "
                             "the database's own keyring).", id="hozen.E001")]
    return []


def check_keys_open(app_configs=None, databases=None, **kwargs):
    """With a database (`hozen check`): the keyring opens the keys the database holds (issue 13 §4)."""
    from django.db import DatabaseError

    from .probe import problems
    from .provider import KekUnavailable, get_provider

    if not databases:
        return []
    try:
        get_provider()
    except KekUnavailable:  # hozen.E001 says so
        return []
    try:
        found = problems()
    except DatabaseError:  # not migrated yet: `hozen check` says so next
        return []
    return [checks.Error(text, hint="Restore the keyring that belongs to this database (HOZEN_KEK_FILE or HOZEN_KEK); "
                         "see docs/security.md, \"Keys cannot be replaced silently\".", id="hozen.E002") for text in found]
