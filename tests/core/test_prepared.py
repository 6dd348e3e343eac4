"""Reads compiled once per process (hozen.core.prepared, issue 13 §5): the same instances as the
ORM's own iterator, related rows included, with each call's values in their places."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.utils import timezone

from hozen.api.auth import _TOKEN
from hozen.core.models import ApiToken, Organisation
from hozen.core.prepared import PreparedRead
from tests import factories

pytestmark = pytest.mark.django_db


def _orm(prefix, now):
    return next(iter(ApiToken.objects.select_related("account", "assignment__organisation")
                     .filter(prefix=prefix, revoked_at__isnull=True, expires_at__gt=now)[:1]), None)


def test_a_prepared_read_gives_what_the_orm_gives_related_rows_included(people, django_assert_num_queries):
    factories.api_token(people["esi_manager"])
    token = ApiToken.objects.get()
    now = timezone.now()
    organisation = people["esi_manager"].active_assignments().first().organisation.code
    with django_assert_num_queries(1):
        row = _TOKEN.first(prefix=token.prefix, now=now)
        # The joined rows came with it: reading them takes no statement.
        assert row.assignment.organisation.code == organisation
        assert row.account.username == people["esi_manager"].username
    expected = _orm(token.prefix, now)
    assert row == expected and row.expires_at == expected.expires_at and row.expires_at.tzinfo is not None
    assert {f.attname: getattr(row, f.attname) for f in ApiToken._meta.concrete_fields} == \
        {f.attname: getattr(expected, f.attname) for f in ApiToken._meta.concrete_fields}


def test_each_call_puts_its_own_values_in_place(people):
    factories.api_token(people["esi_manager"])
    token = ApiToken.objects.get()
    assert _TOKEN.first(prefix=token.prefix, now=timezone.now()) is not None
    assert _TOKEN.first(prefix="nosuchprefix", now=timezone.now()) is None
    after_expiry = token.expires_at + dt.timedelta(seconds=1)
    assert _TOKEN.first(prefix=token.prefix, now=after_expiry) is None  # dates decide, per call
    ApiToken.objects.filter(pk=token.pk).update(revoked_at=timezone.now())
    assert _TOKEN.first(prefix=token.prefix, now=timezone.now()) is None


def test_a_sample_that_does_not_appear_exactly_once_is_refused_naming_it(orgs):
    twice = PreparedRead(lambda code: Organisation.objects.filter(code=code).exclude(name_ja=code), code="\x00x\x00")
    with pytest.raises(ImproperlyConfigured, match="'code' appears 2 times"):
        twice.all(code="METI")
    with pytest.raises(TypeError, match="exactly"):
        PreparedRead(lambda code: Organisation.objects.filter(code=code), code="\x00y\x00").all(name="METI")


def test_a_prepared_read_keeps_the_querysets_order(orgs):
    ordered = PreparedRead(lambda kind: Organisation.objects.filter(kind=kind).order_by("-code"), kind="\x00k\x00")
    kind = Organisation.objects.values_list("kind", flat=True).first()
    assert ordered.all(kind=kind) == list(Organisation.objects.filter(kind=kind).order_by("-code"))
