"""The demo data set: ministries, the Cabinet Office, oversight bodies, three fictional companies,
fictional people with Japanese names, and one account per role. Idempotent: loading twice is fine.

Every write goes through the services, so the demo's own creation is in the audit log.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib

from django_otp.oath import totp

from . import services
from .models import Account, Organisation
from .roles import OrganisationKind as K

DEMO_PASSWORD = "hozen-demo-2025"

ORGANISATIONS = [
    ("CAO", K.CABINET_OFFICE, "内閣府", "Cabinet Office"),
    ("METI", K.ADMINISTRATIVE_ORGAN, "経済産業省", "Ministry of Economy, Trade and Industry"),
    ("MIC", K.ADMINISTRATIVE_ORGAN, "総務省", "Ministry of Internal Affairs and Communications"),
    ("MLIT", K.ADMINISTRATIVE_ORGAN, "国土交通省", "Ministry of Land, Infrastructure, Transport and Tourism"),
    ("MOFA", K.ADMINISTRATIVE_ORGAN, "外務省", "Ministry of Foreign Affairs"),
    ("IPRMS", K.OVERSIGHT_BODY, "独立公文書管理監", "Independent Public Records Management Supervisor"),
    ("DIET-HR-ISC", K.OVERSIGHT_BODY, "衆議院情報監視審査会", "House of Representatives Board of Oversight and Review of Specially Designated Secrets"),
    ("TOWA-HI", K.BUSINESS, "東和重工業株式会社", "Towa Heavy Industries Co., Ltd."),
    ("HOKUTO-NET", K.BUSINESS, "北斗通信株式会社", "Hokuto Telecommunications Inc."),
    ("ASAGIRI-SEMI", K.BUSINESS, "朝霧半導体株式会社", "Asagiri Semiconductor Corporation"),
]

# username, role, organisation, family, given, family kana, given kana, date of birth
ACCOUNTS = [
    ("head.meti", "organ_head", "METI", "高橋", "誠一", "タカハシ", "セイイチ", dt.date(1966, 4, 12)),
    ("esi.meti", "esi_manager", "METI", "佐藤", "美咲", "サトウ", "ミサキ", dt.date(1978, 9, 3)),
    ("security.meti", "security_officer", "METI", "鈴木", "健太", "スズキ", "ケンタ", dt.date(1983, 1, 27)),
    ("investigator.cao", "investigator", "CAO", "田中", "由美", "タナカ", "ユミ", dt.date(1981, 11, 8)),
    ("adjudicator.meti", "adjudicator", "METI", "伊藤", "大輔", "イトウ", "ダイスケ", dt.date(1972, 6, 19)),
    ("complaints.meti", "complaint_handler", "METI", "渡辺", "直子", "ワタナベ", "ナオコ", dt.date(1975, 2, 14)),
    ("officer.towa", "business_officer", "TOWA-HI", "山本", "浩二", "ヤマモト", "コウジ", dt.date(1970, 8, 30)),
    ("subject.towa", "subject", "TOWA-HI", "中村", "陽菜", "ナカムラ", "ハルナ", dt.date(1990, 5, 21)),
    ("oversight.iprms", "oversight", "IPRMS", "小林", "正樹", "コバヤシ", "マサキ", dt.date(1964, 10, 2)),
    ("auditor.cao", "auditor", "CAO", "加藤", "里美", "カトウ", "サトミ", dt.date(1979, 3, 16)),
    ("admin.cao", "sysadmin", "CAO", "吉田", "翔", "ヨシダ", "ショウ", dt.date(1988, 12, 5)),
]


def demo_totp_key_hex(username: str) -> str:
    """A fixed, public secret per demo account, so `make demo` can print working codes. Demo only."""
    return hashlib.sha1(f"hozen-demo-totp:{username}".encode()).hexdigest()


def demo_totp_secret_b32(username: str) -> str:
    return base64.b32encode(bytes.fromhex(demo_totp_key_hex(username))).decode()


def current_code(username: str) -> str:
    return f"{totp(bytes.fromhex(demo_totp_key_hex(username))):06d}"


def load(*, actor) -> dict:
    """Create whatever of the demo set is missing. Returns counts of what was created."""
    created = {"organisations": 0, "accounts": 0}
    for code, kind, name_ja, name_en in ORGANISATIONS:
        if not Organisation.objects.filter(code=code).exists():
            services.create_organisation(actor=actor, code=code, kind=kind, name_ja=name_ja, name_en=name_en)
            created["organisations"] += 1
    for username, role, org, family, given, family_kana, given_kana, born in ACCOUNTS:
        if Account.objects.filter(username=username).exists():
            continue
        services.create_account(
            actor=actor, username=username, family_name=family, given_name=given,
            family_name_kana=family_kana, given_name_kana=given_kana, date_of_birth=born,
            role=role, organisation=Organisation.objects.get(code=org), password=DEMO_PASSWORD,
            totp_key_hex=None if role == "subject" else demo_totp_key_hex(username),
        )
        created["accounts"] += 1
    # One person with two roles, to show switching: the METI ESI manager also reviews complaints at MIC.
    esi = Account.objects.get(username="esi.meti")
    if not esi.role_assignments.filter(role="complaint_handler", organisation__code="MIC").exists():
        services.assign_role(actor=actor, account=esi, role="complaint_handler",
                             organisation=Organisation.objects.get(code="MIC"))
    return created
