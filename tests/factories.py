"""Test data built through the services, as production data is."""

from __future__ import annotations

import datetime as dt

from django.test import Client
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from hozen.core import services
from hozen.core.actor import Actor
from hozen.core.models import Organisation
from hozen.core.roles import OrganisationKind as K

PASSWORD = "correct horse battery staple"

ORGS = [
    ("CAO", K.CABINET_OFFICE, "内閣府", "Cabinet Office"),
    ("METI", K.ADMINISTRATIVE_ORGAN, "経済産業省", "METI"),
    ("MIC", K.ADMINISTRATIVE_ORGAN, "総務省", "MIC"),
    ("IPRMS", K.OVERSIGHT_BODY, "独立公文書管理監", "IPRMS"),
    ("TOWA", K.BUSINESS, "東和重工業株式会社", "Towa Heavy Industries"),
]

ROLE_HOMES = {
    "organ_head": "METI", "esi_manager": "METI", "security_officer": "METI", "investigator": "CAO",
    "adjudicator": "METI", "complaint_handler": "METI", "business_officer": "TOWA", "subject": "TOWA",
    "oversight": "IPRMS", "auditor": "CAO", "sysadmin": "CAO",
}

TOTP_KEY = "3132333435363738393031323334353637383930"  # RFC 6238's test secret, for tests only


def operator() -> Actor:
    return Actor.operator("tests")


def organisations() -> dict[str, Organisation]:
    out = {}
    for code, kind, ja, en in ORGS:
        out[code] = Organisation.objects.filter(code=code).first() or services.create_organisation(
            actor=operator(), code=code, kind=kind, name_ja=ja, name_en=en)
    return out


_counter = iter(range(1, 10**6))


def account(*, role: str, organisation: Organisation, username: str | None = None, totp_device: bool = True,
            password: str = PASSWORD):
    n = next(_counter)
    return services.create_account(
        actor=operator(), username=username or f"{role.replace('_', '-')}{n}", family_name="山田",
        given_name=f"太郎{n}", family_name_kana="ヤマダ", given_name_kana="タロウ",
        date_of_birth=dt.date(1980, 1, 1), role=role, organisation=organisation, password=password,
        totp_key_hex=TOTP_KEY if (totp_device and role != "subject") else None,
    )


def people(orgs) -> dict:
    return {role: account(role=role, organisation=orgs[home], username=role.replace("_", "-"))
            for role, home in ROLE_HOMES.items()}


def current_totp(account) -> str:
    device = TOTPDevice.objects.get(user=account, confirmed=True)
    return f"{totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits):0{device.digits}d}"


def signed_in_client(account, assignment=None) -> Client:
    """A client past both sign-in steps, through the real views (so the audit entries are real)."""
    client = Client()
    response = client.post("/signin/", {"username": account.username, "password": PASSWORD})
    assert response.status_code == 302, response.content[:500]
    if TOTPDevice.objects.filter(user=account, confirmed=True).exists():
        response = client.post("/signin/verify/", {"token": current_totp(account)})
        assert response.status_code == 302, response.content[:500]
    if assignment is not None:
        client.post("/role/", {"assignment": assignment.pk})
    return client


def api_token(account, assignment=None) -> str:
    return services.create_api_token(actor=operator(), account=account, assignment=assignment)
