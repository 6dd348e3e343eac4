"""Issue 12 §1-2 in the core services: organisations, accounts, people's names and API token labels
by the one text policy, applied before any query (a NUL reaching PostgreSQL is a server error), and
dates of birth by the date policy. Each refusal names the field and writes nothing."""

from __future__ import annotations

import datetime as dt

import pytest

from hozen.audit.models import AuditEntry
from hozen.core import services
from hozen.core.errors import RuleViolation
from hozen.core.models import Account, ApiToken, Organisation, Person
from tests import factories

pytestmark = pytest.mark.django_db


def _writes() -> tuple:
    return (Organisation.objects.count(), Account.objects.count(), Person.objects.count(), ApiToken.objects.count(),
            AuditEntry.objects.count())


def _refused(call, field: str, code: str = "invalid_character") -> None:
    before = _writes()
    with pytest.raises(RuleViolation) as info:
        call()
    assert (info.value.code, info.value.field) == (code, field), info.value.message_en
    assert info.value.message_ja and info.value.message_en
    assert _writes() == before


@pytest.mark.parametrize(("field", "value"), [("code", "NEW\x00ORG"), ("name_ja", "新組織\x00"),
                                              ("name_en", "New \u202eorganisation")])
def test_an_organisation_with_a_nul_or_an_override_is_refused_naming_the_field(orgs, field, value):
    values = {"code": "NEWORG", "kind": "administrative_organ", "name_ja": "新組織", "name_en": "New organisation",
              field: value}
    _refused(lambda: services.create_organisation(actor=factories.operator(), **values), field)


def test_an_organisations_name_is_stored_normalised(orgs):
    org = services.create_organisation(actor=factories.operator(), code="NEWORG", kind="administrative_organ",
                                       name_ja=" ｼﾝｿｼｷ（仮称） ", name_en="Ｎｅｗ")
    assert (Organisation.objects.get(pk=org.pk).name_ja, org.name_en) == ("シンソシキ(仮称)", "New")


@pytest.mark.parametrize(("field", "value"), [
    ("username", "new\x00user"), ("family_name", "山田\x00"), ("given_name", "\u202e郎太"),
    ("family_name_kana", "ﾔﾏﾀﾞ\x85"), ("email", "a@example.jp\x00"),
])
def test_an_account_with_a_nul_or_an_override_is_refused_before_any_query(orgs, field, value):
    values = {"username": "new-user", "family_name": "山田", "given_name": "太郎", "family_name_kana": "ﾔﾏﾀﾞ",
              "role": "esi_manager", "organisation": orgs["METI"], field: value}
    _refused(lambda: services.create_account(actor=factories.operator(), **values), field)


def test_a_date_of_birth_in_1800_or_in_the_future_is_refused(orgs):
    for born in (dt.date(1800, 1, 1), dt.date(2200, 1, 1)):
        _refused(lambda born=born: services.create_account(
            actor=factories.operator(), username="new-user", family_name="山田", date_of_birth=born,
            role="esi_manager", organisation=orgs["METI"]), "date_of_birth", "date_out_of_range")


def test_an_api_token_label_with_an_override_is_refused(people):
    _refused(lambda: services.create_api_token(actor=factories.operator(), account=people["auditor"],
                                               label="ci\u202etoken"), "label")
