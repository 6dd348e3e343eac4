"""Reads of designations (who sees what, every read audited) and the written notices' acknowledgement.

DOMAIN §2 (every holder and recipient is notified in writing), §1 and §8 (oversight sees ledgers:
designations ever in force, not an organ's drafts), ARCHITECTURE rule 1 (reads of ESI records are
recorded). Time is frozen at 2026-06-01 (conftest).
"""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.test import Client

from hozen.access import policy
from hozen.access.policy import PolicyDenied
from hozen.audit.models import AuditEntry
from hozen.core.errors import NotFound, RuleViolation
from hozen.designation import queries, services
from hozen.designation.models import Designation, Holder, Notification
from tests import factories

from .conftest import actor_of

pytestmark = pytest.mark.django_db

PROVISION = {"basis": "法第10条第1項", "items": "防護計画書 第2版 1部", "handler_list": ["山本 浩二"],
             "provided_on": dt.date(2026, 6, 1)}


def entries(action: str, outcome: str = "success"):
    return [json.loads(e.data) for e in AuditEntry.objects.filter(action=action, outcome=outcome).order_by("id")]


# --- the holding organ holds its drafts (the scope's premise) ------------------------------------------

def test_the_holding_organ_holds_its_draft_from_the_start(meti, orgs, draft_fields):
    draft = services.create_draft(actor=meti["manager"], organisation=orgs["METI"],
                                  **{**draft_fields, "designated_on": dt.date(2026, 7, 1)})
    assert list(Holder.objects.filter(designation=draft).values_list("organisation__code", "since")) == [
        ("METI", dt.date(2026, 7, 1))]
    services.update_draft(actor=meti["manager"], designation=draft, version=draft.version, designated_on=dt.date(2026, 6, 1))
    services.approve(actor=meti["head"], designation=Designation.objects.get(pk=draft.pk))
    # One row still, holding from the designation date.
    assert list(Holder.objects.filter(designation=draft).values_list("organisation__code", "since")) == [
        ("METI", dt.date(2026, 6, 1))]


def test_the_data_migration_gives_existing_drafts_their_holder_row(meti, orgs, draft_fields, make_designation):
    from importlib import import_module

    from django.apps import apps

    migration = import_module("hozen.designation.migrations.0004_holding_organ_holds_its_drafts")
    draft = services.create_draft(actor=meti["manager"], organisation=orgs["METI"], **draft_fields)
    designated = make_designation()
    Holder.objects.filter(designation=draft).delete()  # as a draft made before this release
    assert not queries.designations_for(meti["manager"]).filter(pk=draft.pk).exists()
    migration.add_holder_rows(apps, None)
    assert Holder.objects.filter(designation=draft, organisation=orgs["METI"]).exists()
    assert Holder.objects.filter(designation=designated).count() == 1  # untouched, no duplicate
    assert queries.designations_for(meti["manager"]).filter(pk=draft.pk).exists()


@pytest.mark.parametrize("who", ["manager", "head", "security", "oversight", "head_mic", "business", "sysadmin",
                                 "auditor"])
def test_scope_agrees_with_decide_for_drafts_provisions_and_other_organs(make_designation, meti, orgs, draft_fields,
                                                                          people, who):
    provided = make_designation()
    services.record_provision(actor=meti["manager"], designation=provided, recipient_kind="organ",
                              recipient=orgs["MIC"], **PROVISION)
    make_designation()
    services.create_draft(actor=meti["manager"], organisation=orgs["METI"], **draft_fields)
    mic_draft = services.create_draft(actor=actor_of(factories.account(role="esi_manager", organisation=orgs["MIC"])),
                                      organisation=orgs["MIC"], **draft_fields)
    actor = meti[who]
    visible = set(Designation.objects.filter(policy.scope(actor, "designation.view", Designation))
                  .values_list("pk", flat=True))
    for d in Designation.objects.all():
        assert policy.decide(actor, "designation.view", d).allowed == (d.pk in visible), (who, d.pk, d.state)
    if who == "head_mic":  # the recipient organ sees what was provided to it, and its own draft
        assert visible == {provided.pk, mic_draft.pk}


# --- oversight and drafts (the decision documented in docs/architecture.md) ------------------------------

def test_oversight_sees_designations_in_force_but_not_drafts(make_designation, meti, orgs, draft_fields):
    designated = make_designation()
    draft = services.create_draft(actor=meti["manager"], organisation=orgs["METI"], **draft_fields)
    oversight = meti["oversight"]
    assert list(queries.designations_for(oversight).values_list("pk", flat=True)) == [designated.pk]
    with pytest.raises(NotFound):
        queries.designation_for(oversight, draft.pk)
    decision = policy.decide(oversight, "designation.view", draft)
    assert not decision.allowed and decision.code == "draft_not_for_oversight"
    # Once designated, the same record is on the ledger and visible to oversight.
    services.approve(actor=meti["head"], designation=draft)
    assert queries.designation_for(oversight, draft.pk).pk == draft.pk


def test_oversight_gets_404_for_a_draft_on_screen_and_in_the_api(meti, orgs, draft_fields, people, signed_in):
    draft = services.create_draft(actor=meti["manager"], organisation=orgs["METI"], **draft_fields)
    assert signed_in(people["oversight"]).get(f"/designations/{draft.pk}/").status_code == 404
    token = {"HTTP_AUTHORIZATION": f"Bearer {factories.api_token(people['oversight'])}"}
    assert Client().get(f"/api/v1/designations/{draft.pk}", **token).status_code == 404
    assert Client().get("/api/v1/designations", **token).json()["total"] == 0


# --- every read of a designation is audited -----------------------------------------------------------

def test_reading_a_designations_page_is_audited(make_designation, people, signed_in):
    d = make_designation()
    assert signed_in(people["esi_manager"]).get(f"/designations/{d.pk}/").status_code == 200
    [entry] = entries("designation.read")
    assert entry["target"] == {"type": "designation.designation", "id": str(d.pk)}
    assert entry["actor"]["account"] == people["esi_manager"].username
    assert d.title not in json.dumps(entry, ensure_ascii=False)  # no content in the log


def test_reading_a_designation_over_the_api_is_audited(make_designation, people):
    d = make_designation()
    token = {"HTTP_AUTHORIZATION": f"Bearer {factories.api_token(people['oversight'])}"}
    assert Client().get(f"/api/v1/designations/{d.pk}", **token).status_code == 200
    [entry] = entries("designation.read")
    assert entry["target"]["id"] == str(d.pk) and entry["actor"]["role"] == "oversight"


def test_a_refused_or_missing_read_is_audited_as_denied_and_answered_404(make_designation, orgs, signed_in):
    d = make_designation()
    outsider = signed_in(factories.account(role="organ_head", organisation=orgs["MIC"]))
    assert outsider.get(f"/designations/{d.pk}/").status_code == 404
    assert outsider.get("/designations/987654/").status_code == 404
    denied = entries("designation.read", "denied")
    assert [(e["target"]["id"], e["details"]["reason"]) for e in denied] == [
        (str(d.pk), "no_access_to_designation"), ("987654", "not_found")]
    assert not entries("designation.read")


# --- acknowledging notices ----------------------------------------------------------------------------

@pytest.fixture
def notified(make_designation, meti, orgs):
    """A designation of METI provided to MIC, then cancelled: both organs get a written notice."""
    d = make_designation()
    services.record_provision(actor=meti["manager"], designation=d, recipient_kind="organ", recipient=orgs["MIC"],
                              **PROVISION)
    services.cancel(actor=meti["head"], designation=d, reason="非公知性の要件を満たさなくなったため")
    return d


def test_a_recipient_acknowledges_a_notice_and_the_acknowledgement_is_audited(notified, meti, orgs):
    notice = Notification.objects.get(designation=notified, recipient=orgs["MIC"])
    services.acknowledge_notification(actor=meti["head_mic"], notification=notice)
    notice.refresh_from_db()
    assert notice.acknowledged_at is not None
    assert notice.acknowledged_by["organisation"] == "MIC" and notice.acknowledged_by["role"] == "organ_head"
    [entry] = entries("designation.notification_acknowledged")
    assert entry["target"] == {"type": "designation.notification", "id": str(notice.pk)}


def test_a_notice_is_acknowledged_only_once(notified, meti, orgs):
    notice = Notification.objects.get(designation=notified, recipient=orgs["MIC"])
    services.acknowledge_notification(actor=meti["head_mic"], notification=notice)
    first = Notification.objects.get(pk=notice.pk).acknowledged_at
    with pytest.raises(RuleViolation) as info:
        services.acknowledge_notification(actor=meti["head_mic"], notification=notice)
    assert info.value.code == "already_acknowledged"
    assert Notification.objects.get(pk=notice.pk).acknowledged_at == first


def test_only_the_recipient_organisation_acknowledges_its_notice(notified, meti, orgs):
    notice = Notification.objects.get(designation=notified, recipient=orgs["MIC"])
    for who in ("head", "manager", "oversight", "sysadmin"):
        with pytest.raises(PolicyDenied):
            services.acknowledge_notification(actor=meti[who], notification=notice)
    assert Notification.objects.get(pk=notice.pk).acknowledged_at is None
    # And on the screen, another organisation's notice is simply not there (404).
    with pytest.raises(NotFound):
        queries.notification_for(meti["head"], notice.pk)


def test_the_sender_and_oversight_see_which_notices_are_unacknowledged(notified, meti, orgs):
    mic_notice = Notification.objects.get(designation=notified, recipient=orgs["MIC"])
    services.acknowledge_notification(actor=meti["manager"],
                                      notification=Notification.objects.get(designation=notified,
                                                                             recipient=orgs["METI"]))
    for who in ("head", "security", "oversight"):
        open_ = list(queries.notices_sent_for(meti[who], unacknowledged=True))
        assert open_ == [mic_notice], who
        assert queries.notices_sent_for(meti[who]).count() == 2
    # The recipient organ is not the sender: it sees its own notices only (designation.notification.track).
    assert not queries.notices_sent_for(meti["head_mic"]).exists()
    assert not queries.notices_sent_for(meti["business"]).exists()


def test_acknowledging_on_the_notices_screen(notified, orgs, signed_in):
    head_mic = factories.account(role="organ_head", organisation=orgs["MIC"])
    client = signed_in(head_mic)
    notice = Notification.objects.get(designation=notified, recipient=orgs["MIC"])
    page = client.get("/designations/notifications/?unacknowledged=1")
    assert f'/designations/notifications/{notice.pk}/acknowledge/' in page.content.decode()
    response = client.post(f"/designations/notifications/{notice.pk}/acknowledge/", follow=True)
    assert response.redirect_chain[-1][0] == "/designations/notifications/"
    assert Notification.objects.get(pk=notice.pk).acknowledged_by["account"] == head_mic.username
    # A second press changes nothing and says why.
    again = client.post(f"/designations/notifications/{notice.pk}/acknowledge/", follow=True)
    assert Notification.objects.get(pk=notice.pk).acknowledged_at is not None
    assert len(entries("designation.notification_acknowledged")) == 1
    assert again.status_code == 200
    # GET is not an acknowledgement.
    assert client.get(f"/designations/notifications/{notice.pk}/acknowledge/").status_code == 405


def test_another_organisations_notice_cannot_be_acknowledged_on_screen(notified, orgs, people, signed_in):
    notice = Notification.objects.get(designation=notified, recipient=orgs["MIC"])
    response = signed_in(people["organ_head"]).post(f"/designations/notifications/{notice.pk}/acknowledge/")
    assert response.status_code == 404
    assert Notification.objects.get(pk=notice.pk).acknowledged_at is None


def test_notices_sent_screen_for_the_sender_and_oversight_and_refused_to_others(notified, orgs, people, signed_in):
    for who in ("esi_manager", "oversight"):
        page = signed_in(people[who]).get("/designations/notifications/sent/?unacknowledged=1")
        assert page.status_code == 200
        text = page.content.decode()
        assert text.count('id="sent-') == 2 and notified.reference in text
    for who in ("business_officer", "sysadmin"):
        assert signed_in(people[who]).get("/designations/notifications/sent/").status_code == 403


def test_notices_api_acknowledge_and_sent(notified, orgs, people):
    head_mic = factories.account(role="organ_head", organisation=orgs["MIC"])
    mic = {"HTTP_AUTHORIZATION": f"Bearer {factories.api_token(head_mic)}"}
    meti = {"HTTP_AUTHORIZATION": f"Bearer {factories.api_token(people['organ_head'])}"}
    received = Client().get("/api/v1/designations/notifications?unacknowledged=true", **mic).json()
    [item] = received["items"]
    assert item["recipient"] == "MIC" and item["organisation"] == "METI" and item["acknowledged_at"] is None
    # METI may not acknowledge MIC's notice: it is not among METI's received notices (404).
    assert Client().post(f"/api/v1/designations/notifications/{item['id']}/acknowledge", **meti).status_code == 404
    done = Client().post(f"/api/v1/designations/notifications/{item['id']}/acknowledge", **mic)
    assert done.status_code == 200 and done.json()["acknowledged_by"] == head_mic.username
    again = Client().post(f"/api/v1/designations/notifications/{item['id']}/acknowledge", **mic)
    assert again.status_code == 422 and again.json()["code"] == "already_acknowledged"
    sent = Client().get("/api/v1/designations/notifications/sent?unacknowledged=true", **meti).json()
    assert [n["recipient"] for n in sent["items"]] == ["METI"]
    assert Client().get("/api/v1/designations/notifications/sent", **mic).status_code == 200  # MIC's own: none
    assert Client().get("/api/v1/designations/notifications/sent", **mic).json()["total"] == 0
    business = {"HTTP_AUTHORIZATION": f"Bearer {factories.api_token(people['business_officer'])}"}
    assert Client().get("/api/v1/designations/notifications/sent", **business).status_code == 403


# --- the PostgreSQL search indexes degrade gracefully ---------------------------------------------------

class _Cursor:
    def __init__(self, log, fail_on):
        self.log, self.fail_on = log, fail_on

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def execute(self, sql, params=None):
        from django.db import DatabaseError

        self.log.append(sql)
        if self.fail_on in sql:
            raise DatabaseError('extension "pg_trgm" is not available')


class _Connection:
    vendor = "postgresql"
    alias = "default"

    def __init__(self, fail_on):
        self.log, self.fail_on = [], fail_on

    def cursor(self):
        return _Cursor(self.log, self.fail_on)


class _SchemaEditor:
    def __init__(self, connection):
        self.connection = connection


def _trigram_migration():
    from importlib import import_module

    return import_module("hozen.designation.migrations.0005_search_trigram_indexes_postgresql")


def test_trigram_indexes_are_created_where_pg_trgm_is_available():
    connection = _Connection(fail_on="never")
    _trigram_migration().create_trigram_indexes(None, _SchemaEditor(connection))
    assert connection.log[0] == "CREATE EXTENSION IF NOT EXISTS pg_trgm"
    assert [s.split(" ON ")[0] for s in connection.log[1:]] == [
        "CREATE INDEX IF NOT EXISTS designation_title_trgm", "CREATE INDEX IF NOT EXISTS designation_reference_trgm"]


def test_without_pg_trgm_the_migration_warns_and_the_search_still_works(caplog, make_designation, meti):
    connection = _Connection(fail_on="CREATE EXTENSION")
    with caplog.at_level("WARNING", logger="hozen.designation"):
        _trigram_migration().create_trigram_indexes(None, _SchemaEditor(connection))
    assert connection.log == ["CREATE EXTENSION IF NOT EXISTS pg_trgm"]  # no index attempted
    assert "pg_trgm is not available" in caplog.text
    d = make_designation()
    assert list(queries.designations_for(meti["manager"], search="発電設備")) == [d]


def test_the_trigram_migration_does_nothing_on_sqlite():
    connection = _Connection(fail_on="never")
    connection.vendor = "sqlite"
    _trigram_migration().create_trigram_indexes(None, _SchemaEditor(connection))
    assert connection.log == []


def test_a_page_fetched_ids_first_has_the_lists_rows_in_its_order(make_designation, meti, orgs, draft_fields):
    for _ in range(4):
        make_designation()
    services.create_draft(actor=meti["manager"], organisation=orgs["METI"], **draft_fields)
    qs = queries.designations_for(meti["manager"])
    everything = list(qs)
    assert len(everything) == 5
    assert queries.designation_page(qs, 0, 2) == everything[:2]
    assert queries.designation_page(qs, 2, 5) == everything[2:]
    assert queries.designation_page(qs, 5, 10) == []
    # The long texts are deferred in lists, but still there when a row is read.
    row = queries.designation_page(qs, 0, 1)[0]
    assert "summary" in row.get_deferred_fields() and row.summary == everything[0].summary
