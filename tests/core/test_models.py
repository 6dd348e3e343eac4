"""Core model invariants and services (issue 3 §4)."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from hozen.audit.models import AuditEntry
from hozen.core import services
from hozen.core.calendars import wareki
from hozen.core.errors import RuleViolation
from hozen.core.models import Account, Person
from tests import factories

pytestmark = pytest.mark.django_db


def test_person_names_are_normalised_with_nfkc(orgs):
    account = services.create_account(
        actor=factories.operator(), username="hankaku", family_name="ＹＡＭＡ田", given_name="太郎",
        family_name_kana="ﾔﾏﾀﾞ", given_name_kana="ﾀﾛｳ", date_of_birth=dt.date(1990, 1, 1),
        role="subject", organisation=orgs["TOWA"],
    )
    person = Person.objects.get(pk=account.person_id)
    assert person.family_name == "YAMA田"
    assert person.family_name_kana == "ヤマダ" and person.given_name_kana == "タロウ"


def test_reading_must_be_katakana(orgs):
    with pytest.raises(RuleViolation) as info:
        services.create_account(actor=factories.operator(), username="bad-kana", family_name="山田",
                                family_name_kana="やまだ", role="subject", organisation=orgs["TOWA"])
    assert info.value.field == "family_name_kana"
    assert not Account.objects.filter(username="bad-kana").exists()


def test_role_must_fit_the_kind_of_organisation(orgs):
    with pytest.raises(RuleViolation) as info:
        services.create_account(actor=factories.operator(), username="inv-at-company", family_name="山田",
                                role="investigator", organisation=orgs["TOWA"])
    assert info.value.code == "role_not_for_organisation"
    assert not Account.objects.filter(username="inv-at-company").exists(), "bad input changes nothing"


def test_unknown_role_is_refused(orgs):
    with pytest.raises(RuleViolation) as info:
        services.create_account(actor=factories.operator(), username="x-role", family_name="山田",
                                role="king", organisation=orgs["METI"])
    assert info.value.field == "role"


def test_one_person_can_hold_several_roles_in_several_organisations(people, orgs):
    account = people["adjudicator"]
    services.assign_role(actor=factories.operator(), account=account, role="complaint_handler", organisation=orgs["MIC"])
    assert {str(a) for a in account.active_assignments()} == {"adjudicator@METI", "complaint_handler@MIC"}
    with pytest.raises(RuleViolation):
        services.assign_role(actor=factories.operator(), account=account, role="complaint_handler",
                             organisation=orgs["MIC"])


def test_every_service_write_has_its_audit_entry(orgs):
    before = AuditEntry.objects.count()
    account = factories.account(role="subject", organisation=orgs["TOWA"], username="audited")
    actions = [json.loads(e.data)["action"] for e in AuditEntry.objects.order_by("id")[before:]]
    assert actions == ["account.created", "role.assigned"]
    assert AuditEntry.objects.filter(target_id=str(account.pk), action="account.created").exists()


def test_weak_password_is_refused(orgs):
    with pytest.raises(RuleViolation) as info:
        services.create_account(actor=factories.operator(), username="weak", family_name="山田", role="subject",
                                organisation=orgs["TOWA"], password="123")
    assert info.value.field == "password"
    assert not Account.objects.filter(username="weak").exists()


@pytest.mark.parametrize(("day", "text"), [
    (dt.date(2025, 5, 16), "令和7年5月16日"),
    (dt.date(2019, 5, 1), "令和元年5月1日"),
    (dt.date(2019, 4, 30), "平成31年4月30日"),
    (dt.date(1989, 1, 7), "昭和64年1月7日"),
    (dt.date(1989, 1, 8), "平成元年1月8日"),
])
def test_japanese_era_dates(day, text):
    assert wareki(day) == text


def test_era_date_of_a_utc_time_is_the_tokyo_day():
    # 2025-05-15 20:00 UTC is already 16 May in Tokyo.
    assert wareki(dt.datetime(2025, 5, 15, 20, 0, tzinfo=dt.UTC)) == "令和7年5月16日"
