from django.apps import AppConfig
from django.core import checks
from django.utils.translation import gettext_lazy as _


class CryptoConfig(AppConfig):
    name = "hozen.crypto"
    label = "crypto"
    verbose_name = _("Keys and encryption")

    def ready(self) -> None:
        checks.register(check_kek, checks.Tags.security, deploy=False)


def check_kek(app_configs=None, **kwargs):
    """A missing key-encryption key is an error at start-up, not at the first decryption."""
    from .provider import KekUnavailable, get_provider

    try:
        get_provider()
    except KekUnavailable as exc:
        return [checks.Error(str(exc), hint="Set HOZEN_KEK_FILE to a keyring file (mode 0600) or HOZEN_KEK "
                             "to the keyring JSON; `hozen keys init` creates one.", id="hozen.E001")]
    return []
