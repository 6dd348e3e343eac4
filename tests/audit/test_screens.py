"""Issue 4's screens: the auditor's log viewer and CSV export, and "who has read my data"."""

from __future__ import annotations

import csv
import datetime as dt
import importlib
import io
import json
from types import SimpleNamespace

import pytest
import time_machine
from django.apps import apps
from django.db import connection
from django.test import Client
from django.utils import timezone

from hozen import audit
from hozen.access import policy
from hozen.audit import integrator, queries
from hozen.audit.canonical import canonical_json
from hozen.audit.models import AuditEntry
from hozen.core.actor import Actor
from hozen.crypto import reveal
from tests import factories
from tests.testapp.models import Dossier, DossierEntry

from .helpers import recorded

pytestmark = pytest.mark.django_db

LOG = "/audit/log/"
EXPORT = "/audit/log/export.csv"
MY_READS = "/audit/my-reads/"


def _actor(account, channel="web") -> Actor:
    return Actor.for_account(account, account.active_assignments().first(), channel=channel)


def _html(response) -> str:
    return response.content.decode()


def _shown_ids(response) -> list[int]:
    return [r.id for r in response.context["page"].rows]


def _csv(response) -> list[list[str]]:
    body = b"".join(response.streaming_content).decode("utf-8")
    assert body.startswith("\ufeff")
    return list(csv.reader(io.StringIO(body[1:])))


@pytest.fixture
def auditor(people, signed_in):
    return signed_in(people["auditor"])


@pytest.fixture
def events(people, orgs):
    """A few entries from different people, organisations, actions, objects and outcomes."""
    meti = _actor(people["esi_manager"])
    towa = _actor(people["business_officer"])
    return {
        "meti_created": recorded(meti, "designation.created", {"type": "designation.designation", "id": "7"},
                                     details={"reference": "METI-2025-0001"}),
        "meti_denied": recorded(meti, "designation.cancel", {"type": "designation.designation", "id": "7"},
                                    outcome="denied", details={"reason": "not_organ_head"}),
        "towa_signed_in": recorded(towa, "session.signed_in", towa.account, details={"method": "password"}),
        "towa_signed_out": recorded(towa, "session.signed_out", towa.account),
        "towa_failed": recorded(towa, "otp.enrolment_failed", towa.account, outcome="failure"),
    }


# --- who may open the screens ------------------------------------------------------------------

@pytest.mark.parametrize("url", [LOG, EXPORT, MY_READS])
def test_anonymous_visitor_is_sent_to_sign_in(db, url):
    response = Client().get(url)
    assert response.status_code == 302 and response["Location"].startswith("/signin/")


@pytest.mark.parametrize("url", [LOG, EXPORT])
@pytest.mark.parametrize("role", ["security_officer", "sysadmin", "oversight", "subject"])
def test_only_the_auditor_may_browse_or_export_the_log_and_a_refusal_is_audited(people, signed_in, role, url):
    response = signed_in(people[role]).get(url)
    assert response.status_code == 403
    assert "この操作は監査担当のみが行えます。" in _html(response)
    action = "audit.browse" if url == LOG else "audit.export"
    denial = AuditEntry.objects.filter(action=action).last()
    assert denial.outcome == "denied" and denial.actor_name == people[role].username
    assert json.loads(denial.data)["details"] == {"reason": "not_auditor"}
    assert not AuditEntry.objects.filter(action="audit.exported").exists()


def test_oversight_is_refused_in_english_with_the_policys_reason(people, signed_in):
    client = signed_in(people["oversight"])
    client.post("/language/", {"language": "en"})
    response = client.get(LOG)
    assert response.status_code == 403
    assert "Only the Auditor role may do this; your active role is Oversight inspector." in _html(response)


@pytest.mark.parametrize("role", ["auditor", "oversight", "sysadmin", "subject", "security_officer"])
def test_browse_scope_agrees_with_decide_row_by_row(people, events, role):
    actor = _actor(people[role])
    visible = set(AuditEntry.objects.filter(policy.scope(actor, "audit.browse", AuditEntry)).values_list("pk", flat=True))
    for entry in AuditEntry.objects.all():
        assert policy.decide(actor, "audit.browse", entry).allowed == (entry.pk in visible)
    assert bool(visible) == (role == "auditor")


# --- the log viewer ----------------------------------------------------------------------------

def test_auditor_sees_entries_newest_first_with_the_leaf_index_once_sequenced(auditor, events):
    response = auditor.get(LOG)
    assert response.status_code == 200
    rows = response.context["page"].rows
    assert [(r.time, r.id) for r in rows] == sorted(((r.time, r.id) for r in rows), reverse=True)
    assert all(r.index is None for r in rows)
    assert "まだ採番されていません" in _html(response)

    integrator.integrate()
    rows = auditor.get(LOG).context["page"].rows
    created = next(r for r in rows if r.id == events["meti_created"].pk)
    assert created.index == events["meti_created"].leaf.index
    assert created.actor == "esi-manager" and created.role == "esi_manager" and created.organisation == "METI"
    assert (created.target_type, created.target_id) == ("designation.designation", "7")
    html = _html(auditor.get(LOG))
    assert "<h1>監査ログ</h1>" in html and "designation.created" in html


def test_auditor_filters_by_operator_user_name(auditor, events):
    response = auditor.get(LOG, {"actor": "business-officer"})
    assert set(_shown_ids(response)) == {events["towa_signed_in"].pk, events["towa_signed_out"].pk,
                                         events["towa_failed"].pk}


def test_auditor_filters_by_organisation_code_in_either_case(auditor, events):
    response = auditor.get(LOG, {"organisation": "meti"})
    assert set(_shown_ids(response)) == {events["meti_created"].pk, events["meti_denied"].pk}
    assert response.context["form"]["organisation"].value() == "meti"


def test_auditor_filters_by_exact_action(auditor, events):
    assert _shown_ids(auditor.get(LOG, {"action": "session.signed_out"})) == [events["towa_signed_out"].pk]


@pytest.mark.parametrize("prefix", ["session.", "session.*", "session*"])
def test_auditor_filters_by_action_prefix(auditor, events, prefix):
    shown = AuditEntry.objects.filter(pk__in=_shown_ids(auditor.get(LOG, {"action": prefix})))
    assert {events["towa_signed_in"].pk, events["towa_signed_out"].pk} <= {e.pk for e in shown}
    assert all(e.action.startswith("session") for e in shown)
    assert events["meti_created"].pk not in {e.pk for e in shown}


def test_auditor_filters_by_object_type_and_id(auditor, events):
    both = {events["meti_created"].pk, events["meti_denied"].pk}
    assert set(_shown_ids(auditor.get(LOG, {"target_type": "designation.designation"}))) == both
    assert set(_shown_ids(auditor.get(LOG, {"target_type": "designation.designation", "target_id": "7"}))) == both
    assert _shown_ids(auditor.get(LOG, {"target_type": "designation.designation", "target_id": "8"})) == []


@pytest.mark.parametrize("outcome", ["denied", "failure"])
def test_auditor_filters_by_outcome(auditor, events, outcome):
    expected = events["meti_denied"] if outcome == "denied" else events["towa_failed"]
    assert _shown_ids(auditor.get(LOG, {"outcome": outcome})) == [expected.pk]


def test_auditor_filters_by_success_outcome(auditor, events):
    shown = AuditEntry.objects.filter(pk__in=_shown_ids(auditor.get(LOG, {"outcome": "success"})))
    assert shown.exists() and set(shown.values_list("outcome", flat=True)) == {"success"}


def test_date_range_is_in_japan_time_and_inclusive(auditor, people):
    actor = _actor(people["esi_manager"])
    times = {
        # 2025-06-01 23:30 in Tokyo is still 1 June there, though 14:30 UTC.
        "late_on_the_first": dt.datetime(2025, 6, 1, 14, 30, tzinfo=dt.UTC),
        # 2025-06-02 00:10 in Tokyo is 1 June 15:10 UTC: the second in Japan.
        "early_on_the_second": dt.datetime(2025, 6, 1, 15, 10, tzinfo=dt.UTC),
        "the_third": dt.datetime(2025, 6, 3, 3, 0, tzinfo=dt.UTC),
    }
    made = {}
    for name, when in times.items():
        with time_machine.travel(when, tick=False):
            made[name] = recorded(actor, "test.dated", details={"name": name})
    one_day = auditor.get(LOG, {"date_from": "2025-06-01", "date_to": "2025-06-01"})
    assert _shown_ids(one_day) == [made["late_on_the_first"].pk]
    two_days = auditor.get(LOG, {"date_from": "2025-06-02", "date_to": "2025-06-03"})
    assert _shown_ids(two_days) == [made["the_third"].pk, made["early_on_the_second"].pk]
    assert _shown_ids(auditor.get(LOG, {"action": "test.dated", "date_to": "2025-06-01"})) == \
        [made["late_on_the_first"].pk]
    html = _html(one_day)
    assert "令和7年6月1日 23:30" in html  # shown in Tokyo time with the project's jdatetime


def test_filters_combine(auditor, events):
    response = auditor.get(LOG, {"organisation": "METI", "action": "designation.", "outcome": "denied"})
    assert _shown_ids(response) == [events["meti_denied"].pk]


@pytest.mark.parametrize("date", ["2025-13-01", "yesterday", "2025-02-30", "1999-12-31"])
def test_a_malformed_date_is_an_error_beside_the_field_and_shows_no_entries(auditor, events, date):
    response = auditor.get(LOG, {"date_from": date, "organisation": "METI"})
    assert response.status_code == 200
    form = response.context["form"]
    assert list(form.errors) == ["date_from"]
    assert response.context["page"] is None
    html = _html(response)
    assert 'id="id_date_from_error"' in html
    assert 'aria-invalid="true"' in html
    assert 'id="audit-entries"' not in html  # no table: never an unfiltered or half-filtered list


def test_an_end_date_before_the_start_date_is_an_error_beside_the_end_date(auditor, events):
    response = auditor.get(LOG, {"date_from": "2025-06-02", "date_to": "2025-06-01"})
    assert response.status_code == 200
    assert list(response.context["form"].errors) == ["date_to"]
    assert "終了日が開始日より前です。" in _html(response)


def test_an_object_id_without_its_type_is_an_error_because_no_index_serves_it(auditor, events):
    response = auditor.get(LOG, {"target_id": "7"})
    assert response.status_code == 200
    assert list(response.context["form"].errors) == ["target_type"]


@pytest.mark.parametrize("field,value", [("action", "Session"), ("action", "session..x"), ("action", "*"),
                                         ("organisation", "M"), ("organisation", "ME TI"),
                                         ("outcome", "maybe"), ("target_type", "Core.Account"),
                                         ("actor", "bad\x00name")])
def test_malformed_filter_values_are_errors_beside_their_field(auditor, events, field, value):
    response = auditor.get(LOG, {field: value})
    assert response.status_code == 200
    assert list(response.context["form"].errors) == [field]
    assert response.context["page"] is None


@pytest.mark.parametrize("cursor", [{"before": "abc"}, {"after": "-3"}, {"before": "5", "after": "4"},
                                    {"before": "999999"}, {"after": "999999"}])
def test_a_broken_page_link_is_an_error_not_a_silently_different_page(auditor, events, cursor):
    response = auditor.get(LOG, cursor)
    assert response.status_code == 200
    assert response.context["page"] is None
    assert 'id="form-errors"' in _html(response)


def test_keyset_pages_walk_every_matching_entry_once_both_ways(auditor, people, monkeypatch):
    monkeypatch.setattr(queries, "PAGE_SIZE", 4)
    actor = _actor(people["esi_manager"])
    written = [recorded(actor, "test.paged", details={"n": i}).pk for i in range(10)]
    seen, pages, params = [], [], {"action": "test.paged"}
    while True:
        page = auditor.get(LOG, params).context["page"]
        pages.append(page)
        seen += [r.id for r in page.rows]
        if page.older is None:
            break
        params = {"action": "test.paged", "before": page.older}
    assert seen == sorted(written, reverse=True)
    assert [len(p.rows) for p in pages] == [4, 4, 2]
    assert pages[0].newer is None
    # And back again with the "newer" links, ending on the newest page.
    back = auditor.get(LOG, {"action": "test.paged", "after": pages[-1].newer}).context["page"]
    assert [r.id for r in back.rows] == [r.id for r in pages[1].rows]
    newest = auditor.get(LOG, {"action": "test.paged", "after": back.newer}).context["page"]
    assert [r.id for r in newest.rows] == [r.id for r in pages[0].rows] and newest.newer is None


def test_entries_are_newest_first_by_time_then_id_even_when_ids_arrive_out_of_time_order(auditor, people):
    # Two app servers: the one whose clock reads later inserts first. The list follows the time.
    actor = _actor(people["esi_manager"])
    with time_machine.travel(dt.datetime(2025, 7, 1, 3, 0, 5, tzinfo=dt.UTC), tick=False):
        later = recorded(actor, "test.skewed")
    with time_machine.travel(dt.datetime(2025, 7, 1, 3, 0, 1, tzinfo=dt.UTC), tick=False):
        earlier = recorded(actor, "test.skewed")
    assert earlier.pk > later.pk
    assert _shown_ids(auditor.get(LOG, {"action": "test.skewed"})) == [later.pk, earlier.pk]


def test_keyset_pages_break_ties_in_time_by_id_without_losing_or_repeating_entries(auditor, people, monkeypatch):
    monkeypatch.setattr(queries, "PAGE_SIZE", 3)
    actor = _actor(people["esi_manager"])
    with time_machine.travel(dt.datetime(2025, 7, 2, 3, 0, tzinfo=dt.UTC), tick=False):
        same_time = [recorded(actor, "test.tied").pk for _ in range(7)]
    seen, params = [], {"action": "test.tied"}
    while True:
        page = auditor.get(LOG, params).context["page"]
        seen += [r.id for r in page.rows]
        if page.older is None:
            break
        params = {"action": "test.tied", "before": page.older}
    assert seen == sorted(same_time, reverse=True)


def test_page_links_keep_the_filter(auditor, people, monkeypatch):
    monkeypatch.setattr(queries, "PAGE_SIZE", 2)
    actor = _actor(people["esi_manager"])
    for i in range(3):
        audit.record(actor, "test.linked", details={"n": i})
    html = _html(auditor.get(LOG, {"action": "test.linked", "organisation": "METI"}))
    assert "?action=test.linked&amp;organisation=METI&amp;before=" in html
    assert "/audit/log/export.csv?action=test.linked&amp;organisation=METI" in html


def test_log_page_query_count_does_not_grow_with_the_rows(auditor, people, django_assert_max_num_queries):
    actor = _actor(people["esi_manager"])
    for i in range(60):
        audit.record(actor, "test.counted", {"type": "core.account", "id": str(i)}, details={"n": i})
    integrator.integrate()
    with django_assert_max_num_queries(12):
        response = auditor.get(LOG, {"action": "test.", "organisation": "METI"})
    assert len(response.context["page"].rows) == queries.PAGE_SIZE


def test_auditor_navigation_and_dashboard_link_to_the_log(auditor):
    html = _html(auditor.get("/dashboard/"))
    assert 'href="/audit/log/"' in html


# --- CSV export --------------------------------------------------------------------------------

def test_csv_export_streams_the_current_filter_with_a_bom_and_is_audited_before_streaming(auditor, events):
    integrator.integrate()
    response = auditor.get(EXPORT, {"organisation": "METI", "action": "designation."})
    assert response.status_code == 200
    assert response.streaming
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="hozen-audit-log-')
    # Recorded (and committed) before a single byte was read from the response.
    exported = AuditEntry.objects.get(action="audit.exported")
    record = json.loads(exported.data)
    assert record["details"] == {"filter": {"organisation": "METI", "action_prefix": "designation."},
                                 "format": "csv", "rows": 2, "capped": False}
    assert exported.actor_name == "auditor" and record["actor"]["role"] == "auditor"

    header, *rows = _csv(response)
    assert header == ["葉番号", "日時（UTC）", "操作者", "役割", "組織", "操作", "対象の種類", "対象のID", "結果",
                      "目的", "リクエストID"]
    assert [int(r[0]) for r in rows] == [events["meti_denied"].leaf.index, events["meti_created"].leaf.index]
    denied = rows[0]
    when = events["meti_denied"].time.astimezone(dt.UTC)
    assert denied[1] == when.isoformat().replace("+00:00", "Z")
    assert denied[2:] == ["esi-manager", "esi_manager", "METI", "designation.cancel", "designation.designation", "7",
                          "denied", "", json.loads(events["meti_denied"].data)["request_id"]]


def test_csv_export_headers_follow_the_language(auditor, events):
    auditor.post("/language/", {"language": "en"})
    header = _csv(auditor.get(EXPORT, {"action": "session.signed_out"}))[0]
    assert header == ["Leaf index", "Time (UTC)", "Operator", "Role", "Organisation", "Action", "Object type",
                      "Object id", "Outcome", "Purpose", "Request id"]


def test_csv_export_of_an_invalid_filter_shows_the_error_and_exports_nothing(auditor, events):
    response = auditor.get(EXPORT, {"date_to": "2025-02-30"})
    assert response.status_code == 200 and not response.streaming
    assert response["Content-Type"].startswith("text/html")
    assert list(response.context["form"].errors) == ["date_to"]
    assert not AuditEntry.objects.filter(action="audit.exported").exists()


def test_csv_export_over_the_cap_is_explained_and_then_capped_to_the_newest_entries(auditor, people, monkeypatch):
    monkeypatch.setattr(queries, "EXPORT_CAP", 3)
    actor = _actor(people["esi_manager"])
    written = [recorded(actor, "test.many", details={"n": i}).pk for i in range(5)]
    response = auditor.get(EXPORT, {"action": "test.many"})
    assert response.status_code == 200 and not response.streaming
    assert "3 件を超えています" in _html(response)
    assert "/audit/log/export.csv?action=test.many&amp;capped=1" in _html(response)
    assert not AuditEntry.objects.filter(action="audit.exported").exists()

    response = auditor.get(EXPORT, {"action": "test.many", "capped": "1"})
    assert response["X-Export-Capped"] == "3"
    rows = _csv(response)[1:]
    assert len(rows) == 3
    assert json.loads(AuditEntry.objects.get(action="audit.exported").data)["details"] == {
        "filter": {"action": "test.many"}, "format": "csv", "rows": 3, "capped": True}
    exported_ids = set(AuditEntry.objects.filter(action="test.many").order_by("-pk").values_list("pk", flat=True)[:3])
    assert exported_ids == set(written[-3:])


def test_csv_export_streams_in_chunks_without_losing_or_repeating_rows(auditor, people, monkeypatch):
    monkeypatch.setattr(queries, "_EXPORT_CHUNK", 4)
    actor = _actor(people["esi_manager"])
    for i in range(11):
        audit.record(actor, "test.chunked", {"type": "core.account", "id": str(i)})
    rows = _csv(auditor.get(EXPORT, {"action": "test.chunked"}))[1:]
    assert [r[7] for r in rows] == [str(i) for i in reversed(range(11))]


def test_csv_export_does_not_include_its_own_entry(auditor, events):
    rows = _csv(auditor.get(EXPORT, {"action": "audit."}))[1:]
    assert rows == []
    assert AuditEntry.objects.filter(action="audit.exported").count() == 1


def test_csv_cells_that_a_spreadsheet_would_run_as_formulas_are_neutralised(auditor):
    sneaky = Actor(account=None, assignment=None, channel="cli", system_name="=HYPERLINK(\"http://x\")")
    audit.record(sneaky, "test.formula")
    [row] = _csv(auditor.get(EXPORT, {"action": "test.formula"}))[1:]
    assert row[2] == "'=HYPERLINK(\"http://x\")"
    assert row[3] == "system:cli"


def test_export_query_count_is_bounded_per_chunk(auditor, people, django_assert_max_num_queries):
    actor = _actor(people["esi_manager"])
    for i in range(30):
        audit.record(actor, "test.exported_rows", details={"n": i})
    with django_assert_max_num_queries(18):
        response = auditor.get(EXPORT, {"action": "test.exported_rows"})
        assert len(_csv(response)) == 31


# --- who has read my data ----------------------------------------------------------------------

@pytest.fixture
def investigator(people):
    return _actor(people["investigator"])


@pytest.fixture
def dossier_of(db):
    def make(person, notes="面接記録：問題なし") -> Dossier:
        return Dossier.objects.get(pk=Dossier.objects.create(title="case", notes=notes, family={}, person=person).pk)

    return make


def test_record_copies_the_subject_person_into_its_column_and_leaves_the_canonical_bytes_alone(people):
    actor = _actor(people["investigator"])
    person_id = people["subject"].person_id
    entry = recorded(actor, "personal_data.read", {"type": "testapp.dossier", "id": "1"},
                         details={"field": "notes", "subject_person_id": person_id}, purpose="investigation")
    entry.refresh_from_db()
    assert entry.subject_person_id == person_id
    record = json.loads(entry.data)
    assert canonical_json(record).decode() == entry.data
    assert set(record) == {"v", "time", "actor", "action", "target", "outcome", "request_id", "details", "purpose"}
    assert record["details"] == {"field": "notes", "subject_person_id": person_id}
    for odd in ({"subject_person_id": True}, {"subject_person_id": "12"}, {"other": 1}, None):
        assert recorded(actor, "test.odd", details=odd).subject_person_id is None


def test_the_migration_copies_the_subject_person_of_entries_written_before_the_column(people):
    actor = _actor(people["investigator"])
    person_id = people["subject"].person_id
    old = recorded(actor, "personal_data.read", {"type": "testapp.dossier", "id": "1"},
                       details={"field": "notes", "subject_person_id": person_id}, purpose="investigation")
    unrelated = recorded(actor, "session.signed_in", details={"subject_person_id": person_id})
    AuditEntry.objects.filter(pk__in=[old.pk, unrelated.pk]).update(subject_person_id=None)  # as before 0003
    data_before = AuditEntry.objects.get(pk=old.pk).data
    migration = importlib.import_module("hozen.audit.migrations.0003_auditentry_subject_person_id")
    migration.copy_subject_person_id(apps, SimpleNamespace(connection=connection))
    old.refresh_from_db()
    assert old.subject_person_id == person_id and old.data == data_before
    assert AuditEntry.objects.get(pk=unrelated.pk).subject_person_id is None


def test_the_subject_sees_exactly_the_reads_of_their_own_data(people, orgs, signed_in, investigator, dossier_of):
    subject = people["subject"]
    other = factories.account(role="subject", organisation=orgs["TOWA"])
    mine, theirs = dossier_of(subject.person), dossier_of(other.person)
    entry = DossierEntry.objects.create(dossier=mine, body="渡航歴")
    reveal(investigator, mine, "notes", purpose="investigation")
    reveal(investigator, DossierEntry.objects.get(pk=entry.pk), "body", purpose="adjudication")
    reveal(investigator, theirs, "notes", purpose="investigation")
    reveal(investigator, theirs, "family", purpose="complaint")

    response = signed_in(subject).get(MY_READS)
    assert response.status_code == 200
    mine_ids = set(AuditEntry.objects.filter(action="personal_data.read", subject_person_id=subject.person_id)
                   .values_list("pk", flat=True))
    assert len(mine_ids) == 2
    # Two purposes: two lines of one read each (repeated reads are grouped, issue 12 §7).
    assert [row["group"].count for row in response.context["rows"]] == [1, 1]
    assert response.context["page"].total == len(mine_ids)
    html = _html(response)
    assert "2 件の閲覧が記録されています。" in html
    assert html.count("内閣府調査担当") == 2 and "内閣府 (CAO)" in html
    assert "適性評価調査" in html and "適性評価の判定" in html
    assert "苦情" not in html  # the other person's read
    read = AuditEntry.objects.filter(pk__in=mine_ids).order_by("pk").first()
    assert f'datetime="{read.time.isoformat()}"' in html
    # The reader's role and organisation, not the reader's name.
    assert people["investigator"].username not in html
    assert people["investigator"].person.given_name not in html


def test_another_persons_reads_are_never_shown(people, orgs, signed_in, investigator, dossier_of):
    other = factories.account(role="subject", organisation=orgs["TOWA"])
    reveal(investigator, dossier_of(other.person), "notes", purpose="investigation")
    response = signed_in(people["subject"]).get(MY_READS)
    assert response.context["rows"] == []
    assert "あなたの個人情報を閲覧した記録はありません。" in _html(response)


def test_a_failed_read_is_shown_as_an_attempt(people, signed_in, investigator, dossier_of):
    from hozen.crypto import shred

    dossier = dossier_of(people["subject"].person)
    shred(Actor.operator("tests"), dossier, "retention_expired")
    with pytest.raises(Exception, match="destroyed"):
        reveal(investigator, Dossier.objects.get(pk=dossier.pk), "notes", purpose="investigation")
    html = _html(signed_in(people["subject"]).get(MY_READS))
    assert "閲覧が試みられましたが、復号できませんでした" in html


def test_a_person_with_another_active_role_sees_their_own_reads_from_the_profile(people, signed_in, investigator,
                                                                                dossier_of):
    manager = people["esi_manager"]
    reveal(investigator, dossier_of(manager.person), "notes", purpose="investigation")
    client = signed_in(manager)
    assert 'href="/audit/my-reads/"' in _html(client.get("/profile/"))
    response = client.get(MY_READS)
    assert response.status_code == 200 and len(response.context["rows"]) == 1


def test_a_person_whose_roles_were_all_revoked_still_sees_their_own_reads(people, signed_in, investigator,
                                                                          dossier_of):
    subject = people["subject"]
    client = signed_in(subject)
    # No revocation service yet (a later issue): revoke as its data would look.
    subject.role_assignments.update(revoked_at=timezone.now())
    reveal(investigator, dossier_of(subject.person), "notes", purpose="investigation")
    response = client.get(MY_READS)
    assert response.status_code == 200 and len(response.context["rows"]) == 1


def test_the_subject_dashboard_links_to_who_has_read_my_data(people, signed_in):
    html = _html(signed_in(people["subject"]).get("/dashboard/"))
    assert html.count('href="/audit/my-reads/"') >= 2  # the navigation and the dashboard panel


@pytest.mark.parametrize("role", ["subject", "auditor", "investigator", "sysadmin"])
def test_own_reads_scope_agrees_with_decide_row_by_row(people, orgs, investigator, dossier_of, role):
    other = factories.account(role="subject", organisation=orgs["TOWA"])
    for person in {p.pk: p for p in (people[role].person, people["subject"].person, other.person)}.values():
        reveal(investigator, dossier_of(person), "notes", purpose="investigation")
    audit.record(investigator, "data_key.shredded", details={"subject_person_id": people[role].person_id})
    actor = _actor(people[role])
    visible = set(AuditEntry.objects.filter(policy.scope(actor, "audit.view_own_reads", AuditEntry))
                  .values_list("pk", flat=True))
    assert len(visible) == 1
    for entry in AuditEntry.objects.all():
        assert policy.decide(actor, "audit.view_own_reads", entry).allowed == (entry.pk in visible)


def test_own_reads_of_someone_else_are_refused(people):
    actor = _actor(people["subject"])
    decision = policy.decide(actor, "audit.view_own_reads", people["investigator"].person)
    assert not decision.allowed and decision.code == "not_your_data"
    assert policy.decide(actor, "audit.view_own_reads", people["subject"].person).allowed
    assert not policy.decide(Actor.operator("tests"), "audit.view_own_reads", people["subject"].person).allowed


def test_own_reads_are_paginated_and_none_is_left_out(people, signed_in, investigator, dossier_of, monkeypatch):
    monkeypatch.setattr(queries, "READS_PAGE_ENTRIES", 3)
    dossier = dossier_of(people["subject"].person)
    days = [dt.datetime(2026, 4, d, 3, 0, tzinfo=dt.UTC) for d in (1, 2, 3, 4, 5, 6, 7)]
    for day in days:
        with time_machine.travel(day, tick=False):
            reveal(investigator, dossier, "notes", purpose="investigation")
    client = signed_in(people["subject"])
    seen, query = [], {}
    for _ in range(4):  # keyset pages, newest first: 3 + 3 + 1 reads, one line per day
        page = client.get(MY_READS, query).context["page"]
        seen += [(g.day, g.count) for g in page.groups]
        if page.older is None:
            break
        query = {"before": page.older}
    assert seen == [(day.date(), 1) for day in reversed(days)]


def test_own_reads_page_query_count_does_not_grow_with_the_rows(people, signed_in, investigator, dossier_of,
                                                                 django_assert_max_num_queries):
    dossier = dossier_of(people["subject"].person)
    for _ in range(30):
        reveal(investigator, dossier, "notes", purpose="investigation")
    client = signed_in(people["subject"])
    with django_assert_max_num_queries(13):  # 12, and the menu's one question: does the vault serve them?
        response = client.get(MY_READS)
    assert [row["group"].count for row in response.context["rows"]] == [30]  # one purpose, one day: one line
