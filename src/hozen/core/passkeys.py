"""Passkeys (WebAuthn) as a second factor beside TOTP (issue 14 §4): the ceremonies' checks.

django-otp-webauthn gives the credential model (a django-otp device, so ``otp_login`` with it marks
the session verified) and a helper around py_webauthn that builds the options a browser needs and
verifies what it answers. Its own views are not used: they save credentials outside a service and
without an audit entry. Here the helper only *verifies* (``verify_registration``,
``verify_assertion``: no write); the services (``add_passkey``, ``use_passkey``) write, under the
account's lock and with their entries.

The relying party ID is ``HOZEN_PASSKEY_RP_ID``, or else the host name the request came to (Django
has checked it against ``HOZEN_ALLOWED_HOSTS``). The origin a browser reports must be the request's
own origin: every ceremony runs from a page of this site, by a same-origin ``fetch``.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.http.request import split_domain_port
from django_otp_webauthn import exceptions as library_errors
from django_otp_webauthn.helpers import WebAuthnHelper
from webauthn.helpers import exceptions as webauthn_errors
from webauthn.helpers import parse_attestation_object
from webauthn.helpers.structs import CredentialDeviceType

from .errors import RuleViolation

#: Session keys of a ceremony in progress (the challenge; spent by the answer, used once).
REGISTRATION_STATE = "hozen_passkey_registration"
AUTHENTICATION_STATE = "hozen_passkey_authentication"


def rp_id(request) -> str:
    """The domain passkeys belong to: the configured one, or the request's host name."""
    configured = getattr(settings, "HOZEN_PASSKEY_RP_ID", "")
    if configured:
        return configured
    domain, _port = split_domain_port(request.get_host())
    return domain


def origin(request) -> str:
    return f"{request.scheme}://{request.get_host()}"


class PasskeyHelper(WebAuthnHelper):
    """The library's helper with Hozen's relying party, origin, and no write of its own."""

    def get_relying_party_domain(self) -> str:
        return rp_id(self.request)

    def get_allowed_origins(self) -> list[str]:
        return [origin(self.request)]

    def get_credential_display_name(self, user) -> str:
        return user.username

    def create_attestation(self, credential, attestation_object, client_data_json):  # pragma: no cover
        raise RuntimeError("passkeys are saved by hozen.core.services.add_passkey, never by the helper")


@dataclass(frozen=True)
class Registration:
    """A new passkey the browser made and the server verified, not yet saved. The public key is
    not a secret, but it never goes into an audit entry either (nothing there needs it)."""

    credential_id: bytes
    public_key: bytes
    sign_count: int
    aaguid: str
    transports: tuple[str, ...]
    discoverable: bool | None
    backup_eligible: bool
    backup_state: bool
    attestation_fmt: str
    attestation_object: bytes
    client_data_json: bytes


@dataclass(frozen=True)
class Assertion:
    """A passkey that signed this session's challenge: which one, and its new signature counter."""

    credential_pk: int
    sign_count: int
    backup_state: bool


def ceremony_failed(detail_en: str = "") -> RuleViolation:
    return RuleViolation(
        "passkey_not_accepted",
        "パスキーを確認できませんでした。もう一度お試しください。解決しない場合は、認証アプリのコードまたはリカバリーコードを使ってください。",
        "The passkey could not be confirmed. Try again; if it keeps failing, use the code from your authenticator "
        "app or a recovery code." + (f" ({detail_en})" if detail_en else ""),
        field="passkey")


def no_ceremony() -> RuleViolation:
    return RuleViolation(
        "passkey_not_started", "パスキーの確認が開始されていないか、既に使われました。もう一度お試しください。",
        "No passkey request is in progress (or it was already used). Try again.", field="passkey")


def begin_registration(request) -> dict:
    """The options for ``navigator.credentials.create`` (the challenge kept in the session)."""
    options, state = PasskeyHelper(request).register_begin(user=request.user)
    request.session[REGISTRATION_STATE] = state
    return options


def _pop_state(request, key: str) -> dict:
    state = request.session.pop(key, None)
    request.session.save()  # spent even when the answer is refused: a challenge is used once
    if not isinstance(state, dict):
        raise no_ceremony()
    return state


def verify_registration(request, data: dict) -> Registration:
    """Check the browser's answer to this session's registration challenge. Nothing is saved."""
    from webauthn import base64url_to_bytes, verify_registration_response
    from webauthn.helpers import parse_registration_credential_json

    state = _pop_state(request, REGISTRATION_STATE)
    helper = PasskeyHelper(request)
    try:
        credential = parse_registration_credential_json(data)
        response = verify_registration_response(
            credential=credential, expected_challenge=base64url_to_bytes(state["challenge"]),
            expected_rp_id=helper.get_relying_party_domain(), expected_origin=helper.get_allowed_origins(),
            require_user_verification=state["require_user_verification"])
        fmt = parse_attestation_object(response.attestation_object).fmt
    except (webauthn_errors.WebAuthnException, library_errors.OTPWebAuthnApiError, KeyError, TypeError,
            ValueError) as exc:
        raise ceremony_failed(type(exc).__name__) from None
    transports = tuple(t.value for t in credential.response.transports or ())
    return Registration(
        credential_id=response.credential_id, public_key=response.credential_public_key,
        sign_count=response.sign_count, aaguid=str(response.aaguid), transports=transports,
        discoverable=helper._check_discoverable(data), backup_eligible=response.credential_device_type
        == CredentialDeviceType.MULTI_DEVICE, backup_state=response.credential_backed_up,
        attestation_fmt=getattr(fmt, "value", str(fmt)), attestation_object=response.attestation_object,
        client_data_json=credential.response.client_data_json)


def begin_authentication(request) -> dict:
    """The options for ``navigator.credentials.get``: this account's passkeys only (a second
    factor, after the password: never a sign-in by passkey alone)."""
    options, state = PasskeyHelper(request).authenticate_begin(user=request.user, require_user_verification=False)
    request.session[AUTHENTICATION_STATE] = state
    return options


def verify_assertion(request, data: dict) -> Assertion:
    """Check the browser's answer to this session's sign-in challenge, made by one of the signed-in
    account's own passkeys. Nothing is saved (``services.use_passkey`` moves the counter)."""
    from django_otp_webauthn.models import WebAuthnCredential
    from webauthn import base64url_to_bytes, verify_authentication_response
    from webauthn.helpers import parse_authentication_credential_json

    state = _pop_state(request, AUTHENTICATION_STATE)
    helper = PasskeyHelper(request)
    try:
        credential = parse_authentication_credential_json(data)
        device = WebAuthnCredential.get_by_credential_id(credential.raw_id)
    except (webauthn_errors.WebAuthnException, WebAuthnCredential.DoesNotExist, KeyError, TypeError, ValueError):
        raise ceremony_failed() from None
    if device.user_id != request.user.pk or not device.confirmed:
        raise ceremony_failed()
    try:
        response = verify_authentication_response(
            credential=credential, credential_current_sign_count=device.sign_count,
            credential_public_key=device.public_key, expected_challenge=base64url_to_bytes(state["challenge"]),
            expected_rp_id=helper.get_relying_party_domain(), expected_origin=helper.get_allowed_origins(),
            require_user_verification=state["require_user_verification"])
    except (webauthn_errors.WebAuthnException, KeyError, TypeError, ValueError) as exc:
        raise ceremony_failed(type(exc).__name__) from None
    return Assertion(credential_pk=device.pk, sign_count=response.new_sign_count,
                     backup_state=response.credential_backed_up)
