"""The designation screens (issue 5): list and search, detail, every step's form, the ledger with
its CSV and PDF exports, the 指定書, notices and the dashboards' panels.

Personas for every endpoint (STYLE): anonymous → sign-in; another organ's head → 404; a wrong
role → 403 with the policy's reason (audited); the happy path with its audit entry; bad input →
the error beside the field and nothing written. Time is frozen at 2026-06-01 (conftest).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json

import pytest
from django.test import Client
from django.utils import translation
from django.utils.translation import gettext

from hozen.audit.models import AuditEntry
from hozen.designation import queries, services
from hozen.designation.models import (
    CorrectionRequest,
    Designation,
    Extension,
    Notification,
    Provision,
    Review,
    State,
)
from hozen.operators import services as operators
from tests import factories

from .conftest import actor_of, sub_item

pytestmark = pytest.mark.django_db

BASE = "/designations/"


def ja(message: str) -> str:
    with translation.override("ja"):
        return str(gettext(message))


def html(response) -> str:
    return response.content.decode()


def audits(action: str, outcome: str = "success"):
    return AuditEntry.objects.filter(action=action, outcome=outcome)


def last_audit(action: str) -> dict:
    return json.loads(audits(action).last().data)


def field_errors(response, field: str) -> list[str]:
    return list(response.context["form"].errors.get(field, []))


def assert_denied(response, code: str):
    assert response.status_code == 403, response.status_code
    assert response.context["code"] == code
    # The policy's own reason is on the page, and the denial is in the audit log.
    assert response.context["reason"] in html(response)
    assert AuditEntry.objects.filter(outcome="denied").exists()


@pytest.fixture
def c(people, signed_in):
    """Signed-in clients, made on first use (a TOTP code works once per frozen instant and account)."""
    made = {}

    class Clients:
        def __getitem__(self, who):
            if who not in made:
                made[who] = signed_in(people[who])
            return made[who]

    return Clients()


@pytest.fixture
def mic_head(orgs, signed_in):
    return signed_in(factories.account(role="organ_head", organisation=orgs["MIC"]))


@pytest.fixture
def d(make_designation):
    return make_designation()


@pytest.fixture
def draft(meti, orgs, draft_fields):
    return services.create_draft(actor=meti["manager"], organisation=orgs["METI"], **draft_fields)


def form_data(fields: dict) -> dict:
    data = {}
    for key, value in fields.items():
        if hasattr(value, "pk"):
            data[key] = value.pk
        elif isinstance(value, dt.date):
            data[key] = value.isoformat()
        elif isinstance(value, bool):
            if value:
                data[key] = "on"
        else:
            data[key] = value
    return data


# --- who may open what ---------------------------------------------------------------------------

def _urls(d, draft, correction):
    return {
        "detail": f"{BASE}{d.pk}/",
        "edit": f"{BASE}{draft.pk}/edit/",
        "approve": f"{BASE}{draft.pk}/approve/",
        "extend": f"{BASE}{d.pk}/extend/",
        "cancel": f"{BASE}{d.pk}/cancel/",
        "review": f"{BASE}{d.pk}/review/",
        "move_to_sds": f"{BASE}{d.pk}/move-to-sds/",
        "provide": f"{BASE}{d.pk}/provisions/new/",
        "request_correction": f"{BASE}{d.pk}/corrections/new/",
        "answer_correction": f"{BASE}{d.pk}/corrections/{correction.pk}/answer/",
        "document": f"{BASE}{d.pk}/document.pdf",
        "ledger": f"{BASE}ledger/METI/",
        "ledger_csv": f"{BASE}ledger/METI/ledger.csv",
        "ledger_pdf": f"{BASE}ledger/METI/ledger.pdf",
    }


@pytest.fixture
def urls(d, draft, meti):
    correction = services.request_correction(actor=meti["oversight"], designation=d, kind="amend",
                                             request="記録の記載に誤りがあるため是正を求める。")
    return _urls(d, draft, correction)


ALL = ["detail", "edit", "approve", "extend", "cancel", "review", "move_to_sds", "provide", "request_correction",
       "answer_correction", "document", "ledger", "ledger_csv", "ledger_pdf"]


@pytest.mark.parametrize("name", ALL)
def test_anonymous_visitor_is_sent_to_sign_in(urls, name):
    response = Client().get(urls[name])
    assert response.status_code == 302 and response["Location"].startswith("/signin/")


@pytest.mark.parametrize("url", [BASE, f"{BASE}new/", f"{BASE}ledger/", f"{BASE}notifications/"])
def test_anonymous_visitor_is_sent_to_sign_in_from_the_lists(db, url):
    response = Client().get(url)
    assert response.status_code == 302 and response["Location"].startswith("/signin/")


@pytest.mark.parametrize("name", ALL)
def test_another_organs_head_gets_not_found_as_for_a_missing_designation(urls, name, mic_head):
    assert mic_head.get(urls[name]).status_code == 404
    assert mic_head.post(urls[name], {}).status_code in (404, 405)


def test_a_missing_designation_is_not_found(c):
    assert c["organ_head"].get(f"{BASE}999999/").status_code == 404
    assert c["organ_head"].get(f"{BASE}ledger/NOPE/").status_code == 404


GET_ONLY = {"detail", "document", "ledger", "ledger_csv", "ledger_pdf"}

WRONG_ROLE = [
    ("edit", "organ_head", "wrong_role"),
    ("approve", "esi_manager", "wrong_role"),
    ("extend", "esi_manager", "wrong_role"),
    ("cancel", "security_officer", "wrong_role"),
    ("review", "security_officer", "wrong_role"),
    ("move_to_sds", "esi_manager", "wrong_role"),
    ("provide", "security_officer", "wrong_role"),
    ("request_correction", "organ_head", "not_oversight"),
    ("answer_correction", "esi_manager", "wrong_role"),
    ("ledger", "business_officer", "wrong_role"),
    ("ledger_csv", "auditor", "wrong_role"),
    ("ledger_pdf", "sysadmin", "wrong_role"),
]


@pytest.mark.parametrize(("name", "who", "code"), WRONG_ROLE)
def test_a_wrong_role_is_refused_with_the_policys_reason(urls, c, name, who, code):
    assert_denied(c[who].get(urls[name]), code)
    if name not in GET_ONLY:
        assert_denied(c[who].post(urls[name], {"reason": "理由を十分に記載した文章です。"}), code)


def test_a_wrong_role_cannot_open_the_new_draft_form(c):
    assert_denied(c["organ_head"].get(f"{BASE}new/"), "wrong_role")
    assert_denied(c["organ_head"].post(f"{BASE}new/", {"title": "x"}), "wrong_role")
    assert not Designation.objects.exists()


def test_a_business_holding_the_designation_sees_it_but_not_its_document(d, meti, orgs, c):
    contract = _contract(orgs)
    services.record_provision(actor=meti["manager"], designation=d, recipient_kind="business", recipient=orgs["TOWA"],
                              contract=contract, **PROVISION)
    response = c["business_officer"].get(f"{BASE}{d.pk}/")
    assert response.status_code == 200
    page = html(response)
    assert d.reference in page and d.justification_harm not in page  # the record is the organ's
    assert not response.context["actions"]["document"]
    assert_denied(c["business_officer"].get(f"{BASE}{d.pk}/document.pdf"), "wrong_role")
    assert not audits("designation.document_exported").exists()


# --- list and search -----------------------------------------------------------------------------

def test_list_shows_the_organs_designations_and_filters_by_state_category_and_text(make_designation, meti, orgs,
                                                                                  draft_fields, esi_pack, c):
    a = make_designation(title="発電設備の防護計画")
    b = make_designation(title="通信網の脆弱性", category=sub_item(esi_pack, "A-3").category,
                         sub_item=sub_item(esi_pack, "A-3"))
    services.cancel(actor=meti["head"], designation=b, reason="非公知性の要件を満たさなくなったため")
    draft = services.create_draft(actor=meti["manager"], organisation=orgs["METI"], **draft_fields)
    client = c["esi_manager"]

    def shown(query=""):
        response = client.get(BASE + query)
        assert response.status_code == 200
        return {row.pk for row in response.context["page"]}

    assert shown() == {a.pk, b.pk, draft.pk}
    assert shown("?state=cancelled") == {b.pk}
    assert shown("?category=2") == {b.pk}
    assert shown("?q=防護") == {a.pk, draft.pk}
    assert shown(f"?q={a.reference}") == {a.pk}


def test_list_refuses_an_unknown_state_with_the_error_beside_the_field(c, d):
    response = c["esi_manager"].get(BASE + "?state=secret")
    assert response.status_code == 200 and response.context["page"] is None
    assert field_errors(response, "state")


def test_another_organ_sees_none_of_the_organs_designations(d, mic_head):
    response = mic_head.get(BASE)
    assert response.status_code == 200 and list(response.context["page"]) == []
    assert d.reference not in html(response)


def test_list_query_count_does_not_grow_with_the_rows(make_designation, c, django_assert_max_num_queries):
    client = c["esi_manager"]
    make_designation()
    client.get(BASE)  # warm the session
    with django_assert_max_num_queries(30) as few:
        client.get(BASE)
    for _ in range(12):
        make_designation()
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = client.get(BASE)
    assert len(response.context["page"]) == 13


def test_list_is_paginated(make_designation, c):
    for _ in range(27):
        make_designation()
    response = c["organ_head"].get(BASE + "?page=2")
    assert len(response.context["page"]) == 2 and response.context["page"].number == 2


# --- detail ---------------------------------------------------------------------------------------

def test_detail_shows_every_field_with_japanese_era_dates_and_the_rules_pack(d, meti, c):
    services.review(actor=meti["manager"], designation=d, requirements_met=True, note="要件を確認した")
    services.request_correction(actor=meti["oversight"], designation=d, kind="amend",
                                request="記録の記載に誤りがあるため是正を求める。")
    response = c["organ_head"].get(f"{BASE}{d.pk}/")
    page = html(response)
    for text in (d.reference, d.title, d.summary, d.justification_category, d.justification_not_public,
                 d.justification_harm, "令和8年6月1日", "令和13年5月31日", "重要経済安保情報", str(d.rules_pack),
                 "A-1", "記録の記載に誤りがあるため是正を求める。", "要件を確認した", "経済産業省"):
        assert text in page, text
    assert [e.kind for e in response.context["events"]] == ["drafted", "designated", "reviewed",
                                                            "correction_requested"]
    # The pack's 60-year cap is shown as awaiting confirmation.
    notes = {n["key"]: n for n in response.context["pack_notes"]}
    assert notes["cumulative.absolute_cap_years"]["to_verify"]
    assert "60年（要確認）" in page


def test_detail_shows_a_sub_item_awaiting_confirmation_as_such(make_designation, esi_pack, c):
    item = sub_item(esi_pack, "A-4")
    d = make_designation(category=item.category, sub_item=item)
    page = html(c["esi_manager"].get(f"{BASE}{d.pk}/"))
    assert ja("Awaiting confirmation against the Operational Standards") in page


def test_detail_offers_only_the_actions_the_policy_allows(d, draft, c):
    head = c["organ_head"].get(f"{BASE}{d.pk}/").context["actions"]
    assert head["extend"] and head["cancel"] and head["move_to_sds"] and head["document"] and head["review"]
    assert not head["edit"] and not head["request_correction"]
    manager = c["esi_manager"].get(f"{BASE}{d.pk}/").context["actions"]
    assert manager["review"] and manager["provide"] and not manager["extend"] and not manager["cancel"]
    on_draft = c["esi_manager"].get(f"{BASE}{draft.pk}/").context["actions"]
    assert on_draft["edit"] and not on_draft["approve"] and not on_draft["document"]
    assert c["organ_head"].get(f"{BASE}{draft.pk}/").context["actions"]["approve"]
    oversight = c["oversight"].get(f"{BASE}{d.pk}/").context["actions"]
    assert oversight["request_correction"] and oversight["document"] and not oversight["extend"]


def test_the_preparer_with_the_organ_head_role_sees_no_approve_button_and_is_refused(meti, orgs, draft_fields,
                                                                                     signed_in):
    from hozen.core import services as core_services

    manager = meti["manager"].account
    head_role = core_services.assign_role(actor=factories.operator(), account=manager, role="organ_head",
                                          organisation=orgs["METI"])
    draft = services.create_draft(actor=meti["manager"], organisation=orgs["METI"], **draft_fields)
    client = signed_in(manager, head_role)
    response = client.get(f"{BASE}{draft.pk}/")
    assert not response.context["actions"]["approve"] and response.context["preparer_cannot_approve"]
    assert f'href="{BASE}{draft.pk}/approve/"' not in html(response)
    assert "指定案の作成者は自ら承認できません。" in html(response)
    assert_denied(client.post(f"{BASE}{draft.pk}/approve/"), "preparer_cannot_approve")
    assert Designation.objects.get(pk=draft.pk).state == State.DRAFT


# --- drafting and approval --------------------------------------------------------------------------

def test_esi_manager_creates_a_draft_from_the_current_pack(c, draft_fields):
    client = c["esi_manager"]
    form = client.get(f"{BASE}new/").context["form"]
    assert {s.pack.code for s in form.fields["sub_item"].queryset} == {"jp-esi-2025"}
    response = client.post(f"{BASE}new/", form_data(draft_fields))
    d = Designation.objects.get()
    assert response.status_code == 302 and response["Location"] == f"{BASE}{d.pk}/"
    assert d.state == State.DRAFT and d.title == draft_fields["title"]
    assert last_audit("designation.drafted")["target"] == {"type": "designation.designation", "id": str(d.pk)}


@pytest.mark.parametrize(("change", "field"), [
    ({"term_end": "2031-06-01"}, "term_end"),
    ({"designated_on": "2025-05-15", "term_end": "2026-05-01"}, "designated_on"),
    ({"in_advance": "on", "advance_reason": ""}, "advance_reason"),
    ({"justification_harm": "短い"}, "justification_harm"),
    ({"title": ""}, "title"),
    ({"term_end": "31/05/2031"}, "term_end"),
])
def test_a_bad_draft_shows_the_error_beside_the_field_and_writes_nothing(c, draft_fields, change, field):
    data = {**form_data(draft_fields), **change}
    if change.get("in_advance") is None:
        data.pop("in_advance", None)
    response = c["esi_manager"].post(f"{BASE}new/", data)
    assert response.status_code == 200
    assert field_errors(response, field), response.context["form"].errors
    assert 'aria-invalid="true"' in html(response)
    assert not Designation.objects.exists()
    assert not audits("designation.drafted").exists()


def test_a_sub_item_of_the_sds_pack_is_not_offered_for_an_esi_draft(c, draft_fields, sds_pack):
    other = sds_pack.sub_items.first()
    response = c["esi_manager"].post(f"{BASE}new/", {**form_data(draft_fields), "sub_item": other.pk})
    assert field_errors(response, "sub_item") and not Designation.objects.exists()


def test_esi_manager_edits_a_draft(draft, c):
    data = form_data({f: getattr(draft, f) for f in (
        "title", "summary", "category", "sub_item", "justification_category", "justification_not_public",
        "justification_harm", "in_advance", "advance_reason", "designated_on", "term_end", "protective_measure")})
    response = c["esi_manager"].post(f"{BASE}{draft.pk}/edit/", {**data, "title": "改めた件名", "version": draft.version})
    assert response.status_code == 302
    assert Designation.objects.get(pk=draft.pk).title == "改めた件名"
    assert audits("designation.draft_updated").count() == 1
    data["version"] = Designation.objects.get(pk=draft.pk).version
    bad = c["esi_manager"].post(f"{BASE}{draft.pk}/edit/", {**data, "title": "別の件名", "term_end": "2040-01-01"})
    assert field_errors(bad, "term_end")
    assert Designation.objects.get(pk=draft.pk).title == "改めた件名"


def test_organ_head_approves_a_draft(draft, c):
    client = c["organ_head"]
    assert client.get(f"{BASE}{draft.pk}/approve/").status_code == 200
    response = client.post(f"{BASE}{draft.pk}/approve/", {"version": draft.version})
    draft.refresh_from_db()
    assert response.status_code == 302 and draft.state == State.DESIGNATED and draft.reference == "METI-2026-0001"
    assert last_audit("designation.designated")["details"]["reference"] == "METI-2026-0001"
    again = client.post(f"{BASE}{draft.pk}/approve/", {"version": draft.version})  # already approved: said on the form
    assert again.status_code == 200 and again.context["form"].non_field_errors()
    assert audits("designation.designated").count() == 1


# --- life after designation ----------------------------------------------------------------------------

def test_organ_head_extends_within_the_cap(d, c):
    client = c["organ_head"]
    page = client.get(f"{BASE}{d.pk}/extend/")
    limits = page.context["limits"]
    assert limits[0]["date"] == dt.date(2036, 5, 31) and limits[1]["date"] == dt.date(2056, 5, 31)
    assert limits[2]["date"] == dt.date(2086, 5, 31) and limits[2]["to_verify"]
    assert ja("this figure is awaiting confirmation against the Operational Standards") in html(page)
    response = client.post(f"{BASE}{d.pk}/extend/", {"new_end": "2036-05-31", "reason": "要件を引き続き満たすため延長する",
                                                     "cabinet_approval_ref": ""})
    assert response.status_code == 302
    d.refresh_from_db()
    assert d.term_end == dt.date(2036, 5, 31)
    assert last_audit("designation.extended")["details"]["until"] == "2036-05-31"


@pytest.mark.parametrize(("data", "field"), [
    ({"new_end": "2036-06-01", "reason": "要件を引き続き満たすため延長する"}, "new_end"),
    ({"new_end": "2030-01-01", "reason": "要件を引き続き満たすため延長する"}, "new_end"),
    ({"new_end": "2036-05-31", "reason": "短い"}, "reason"),
    ({"new_end": "", "reason": "要件を引き続き満たすため延長する"}, "new_end"),
])
def test_a_bad_extension_shows_the_error_beside_the_field_and_changes_nothing(d, c, data, field):
    response = c["organ_head"].post(f"{BASE}{d.pk}/extend/", data)
    assert response.status_code == 200 and field_errors(response, field)
    d.refresh_from_db()
    assert d.term_end == dt.date(2031, 5, 31) and not Extension.objects.exists()


def test_going_past_the_unconfirmed_absolute_cap_needs_an_exemption_from_the_packs_list(d, meti, c):
    end = d.term_end
    while end < dt.date(2086, 5, 31):
        end = end.replace(year=end.year + 5)
        services.extend(actor=meti["head"], designation=d, new_end=end, reason="要件を引き続き満たすため延長する",
                        cabinet_approval_ref="閣議決定")
    url = f"{BASE}{d.pk}/extend/"
    page = c["organ_head"].get(url)
    assert "cryptography" in dict(page.context["form"].fields["cap_exemption"].choices)
    assert ja("Only to go past the absolute cap on the total period. This list is awaiting confirmation against "
              "the Operational Standards.") in html(page)
    data = {"new_end": "2091-05-31", "reason": "要件を引き続き満たすため延長する", "cabinet_approval_ref": "閣議決定"}
    refused = c["organ_head"].post(url, data)
    assert any("照合待ち" in e for e in field_errors(refused, "new_end"))
    assert field_errors(c["organ_head"].post(url, {**data, "cap_exemption": "made_up"}), "cap_exemption")
    assert Extension.objects.filter(designation=d).count() == 11
    assert c["organ_head"].post(url, {**data, "cap_exemption": "cryptography"}).status_code == 302
    assert Extension.objects.filter(designation=d).last().cap_exemption == "cryptography"


def test_organ_head_cancels_and_holders_are_notified(d, c):
    response = c["organ_head"].post(f"{BASE}{d.pk}/cancel/", {"reason": "非公知性の要件を満たさなくなったため"})
    assert response.status_code == 302
    d.refresh_from_db()
    assert d.state == State.CANCELLED and Notification.objects.filter(designation=d, kind="cancelled").exists()
    assert last_audit("designation.cancelled")["details"]["notified"] == 1
    page = html(c["organ_head"].get(f"{BASE}{d.pk}/"))
    assert "重要経済安保情報（指定解除）" in page
    assert not c["organ_head"].get(f"{BASE}{d.pk}/").context["actions"]["extend"]


def test_a_cancellation_without_a_reason_changes_nothing(d, c):
    response = c["organ_head"].post(f"{BASE}{d.pk}/cancel/", {"reason": "短い"})
    assert field_errors(response, "reason")
    d.refresh_from_db()
    assert d.state == State.DESIGNATED and not audits("designation.cancelled").exists()


def test_review_records_requirements_still_met(d, c):
    response = c["esi_manager"].post(f"{BASE}{d.pk}/review/", {"outcome": "met", "note": ""})
    assert response.status_code == 302
    assert Review.objects.get(designation=d).next_due == dt.date(2027, 6, 1)
    assert last_audit("designation.reviewed")["details"]["outcome"] == "requirements_met"


def test_review_finding_a_requirement_failed_needs_a_note(d, c):
    response = c["esi_manager"].post(f"{BASE}{d.pk}/review/", {"outcome": "not_met", "note": ""})
    assert field_errors(response, "note")
    assert not Review.objects.exists()
    response = c["esi_manager"].post(f"{BASE}{d.pk}/review/", {"outcome": "not_met", "note": "報道により公知となったため"})
    d.refresh_from_db()
    assert response.status_code == 302 and d.state == State.CANCELLED


def test_organ_head_moves_a_designation_to_sds(d, c, sds_pack):
    item = sds_pack.sub_items.select_related("category").first()
    data = {"sds_category": item.category.pk, "sds_sub_item": item.pk, "term_end": "2031-05-31",
            "justification_harm": "漏えいすれば安全保障に著しい支障を与えるおそれがある。",
            "reason": "著しい支障のおそれがあると判断したため"}
    form = c["organ_head"].get(f"{BASE}{d.pk}/move-to-sds/").context["form"]
    assert {s.pack_id for s in form.fields["sds_sub_item"].queryset} == {sds_pack.pk}
    bad = c["organ_head"].post(f"{BASE}{d.pk}/move-to-sds/", {**data, "term_end": "2031-06-01"})
    assert field_errors(bad, "term_end") and not Designation.objects.filter(tier="sds").exists()
    response = c["organ_head"].post(f"{BASE}{d.pk}/move-to-sds/", data)
    sds = Designation.objects.get(tier="sds")
    assert response.status_code == 302 and response["Location"] == f"{BASE}{sds.pk}/"
    d.refresh_from_db()
    assert d.state == State.MOVED_TO_SDS and d.successor == sds
    assert last_audit("designation.moved_to_sds")["details"]["successor"] == sds.reference


# --- provisions ---------------------------------------------------------------------------------------

PROVISION = {"basis": "法第10条第1項", "items": "防護計画書 第2版 1部", "handler_list": ["山本 浩二", "中村 陽菜"],
             "provided_on": dt.date(2026, 6, 1)}


def _contract(orgs):
    cert = operators.record_certification(actor=factories.operator(), organ=orgs["METI"], business=orgs["TOWA"],
                                          certified_on=dt.date(2026, 1, 10))
    return operators.record_contract(actor=factories.operator(), certification=cert, reference="METI-C-2026-01",
                                     form="receives", authorised_departments=["防衛事業部"],
                                     valid_from=dt.date(2026, 1, 10), valid_until=dt.date(2028, 3, 31))


def _provision_form(**overrides):
    return {"recipient_kind": "organ", "recipient": "", "recipient_name": "", "contract": "",
            "basis": PROVISION["basis"], "provided_on": "2026-06-01", "items": PROVISION["items"],
            "equivalence_finding": "", "handler_list": "山本 浩二\n\n中村 陽菜\n", **overrides}


def test_esi_manager_records_a_provision_to_another_organ_with_its_handler_list(d, orgs, c):
    response = c["esi_manager"].post(f"{BASE}{d.pk}/provisions/new/", _provision_form(recipient=orgs["MIC"].pk))
    assert response.status_code == 302
    p = Provision.objects.get()
    assert p.recipient == orgs["MIC"] and p.handler_list == ["山本 浩二", "中村 陽菜"]
    assert last_audit("provision.recorded")["details"] == {"designation": d.pk, "kind": "organ"}
    page = html(c["esi_manager"].get(f"{BASE}{d.pk}/"))
    assert "山本 浩二, 中村 陽菜" in page and "総務省" in page


def test_esi_manager_records_a_provision_to_a_business_under_its_contract(d, orgs, c):
    contract = _contract(orgs)
    form = c["esi_manager"].get(f"{BASE}{d.pk}/provisions/new/").context["form"]
    assert list(form.fields["contract"].queryset) == [contract]
    missing = c["esi_manager"].post(f"{BASE}{d.pk}/provisions/new/",
                                    _provision_form(recipient_kind="business", recipient=orgs["TOWA"].pk))
    assert field_errors(missing, "contract") and not Provision.objects.exists()
    response = c["esi_manager"].post(f"{BASE}{d.pk}/provisions/new/", _provision_form(
        recipient_kind="business", recipient=orgs["TOWA"].pk, contract=contract.pk))
    assert response.status_code == 302 and Provision.objects.get().contract == contract


@pytest.mark.parametrize(("overrides", "field"), [
    ({"recipient_kind": "foreign", "recipient_name": "Government of Australia"}, "equivalence_finding"),
    ({"recipient_kind": "diet_or_court", "recipient_name": ""}, "recipient_name"),
    ({"recipient_kind": "organ"}, "recipient"),
    ({"handler_list": "\n \n"}, "handler_list"),
    ({"provided_on": "tomorrow"}, "provided_on"),
])
def test_a_bad_provision_shows_the_error_beside_the_field_and_writes_nothing(d, orgs, c, overrides, field):
    data = _provision_form(recipient=orgs["MIC"].pk if overrides.get("recipient_kind") is None else "", **overrides)
    response = c["esi_manager"].post(f"{BASE}{d.pk}/provisions/new/", data)
    assert response.status_code == 200 and field_errors(response, field), response.context["form"].errors
    assert not Provision.objects.exists() and not audits("provision.recorded").exists()


# --- oversight corrections ---------------------------------------------------------------------------------

def test_oversight_requests_a_correction_and_the_organ_head_answers(d, c):
    response = c["oversight"].post(f"{BASE}{d.pk}/corrections/new/",
                                   {"kind": "cancel", "request": "要件(b)を満たしていないため解除を求める。"})
    assert response.status_code == 302
    correction = CorrectionRequest.objects.get()
    assert last_audit("designation.correction_requested")["details"]["kind"] == "cancel"
    url = f"{BASE}{d.pk}/corrections/{correction.pk}/answer/"
    assert field_errors(c["organ_head"].post(url, {"answer": "短い"}), "answer")
    response = c["organ_head"].post(url, {"answer": "再検討の上、指定を解除した。"})
    assert response.status_code == 302
    correction.refresh_from_db()
    assert correction.answer == "再検討の上、指定を解除した。"
    assert audits("designation.correction_answered").count() == 1


def test_a_correction_request_without_its_text_is_refused(d, c):
    response = c["oversight"].post(f"{BASE}{d.pk}/corrections/new/", {"kind": "cancel", "request": "短い"})
    assert field_errors(response, "request") and not CorrectionRequest.objects.exists()
    response = c["oversight"].post(f"{BASE}{d.pk}/corrections/new/", {"kind": "other", "request": "十分な長さの要求文です。"})
    assert field_errors(response, "kind") and not CorrectionRequest.objects.exists()


def test_a_correction_of_another_designation_is_not_found(make_designation, meti, c):
    a, b = make_designation(), make_designation()
    correction = services.request_correction(actor=meti["oversight"], designation=a, kind="amend",
                                             request="記録の記載に誤りがあるため是正を求める。")
    assert c["organ_head"].get(f"{BASE}{b.pk}/corrections/{correction.pk}/answer/").status_code == 404


# --- documents and the ledger ----------------------------------------------------------------------------

def test_designation_document_is_a_pdf_and_its_export_is_audited(d, meti, c):
    services.extend(actor=meti["head"], designation=d, new_end=dt.date(2036, 5, 31), reason="要件を引き続き満たすため延長する")
    response = c["organ_head"].get(f"{BASE}{d.pk}/document.pdf")
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")
    assert f'filename="designation-{d.reference}.pdf"' in response["Content-Disposition"]
    entry = last_audit("designation.document_exported")
    assert entry["target"]["id"] == str(d.pk) and entry["details"]["reference"] == d.reference
    assert entry["actor"]["role"] == "organ_head"


def test_designation_document_text_carries_the_designation_and_the_to_verify_notes(make_designation, esi_pack, c):
    pypdf = pytest.importorskip("pypdf")
    item = sub_item(esi_pack, "A-4")
    d = make_designation(category=item.category, sub_item=item)
    body = c["esi_manager"].get(f"{BASE}{d.pk}/document.pdf").content
    text = "".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(body)).pages)
    compact = "".join(text.split())
    for expected in ("指定書", d.reference, "要確認", "経済産業省", "令和8年6月1日"):
        assert expected in compact, expected


def test_a_draft_has_no_designation_document(draft, c):
    response = c["esi_manager"].get(f"{BASE}{draft.pk}/document.pdf")
    assert response.status_code == 302 and response["Location"] == f"{BASE}{draft.pk}/"
    assert not audits("designation.document_exported").exists()


def test_ledger_screen_lists_every_designation_ever_in_force(make_designation, draft, meti, c):
    a, b = make_designation(), make_designation()
    services.cancel(actor=meti["head"], designation=b, reason="非公知性の要件を満たさなくなったため")
    response = c["security_officer"].get(f"{BASE}ledger/METI/")
    assert [d.pk for d, _row in response.context["rows"]] == [a.pk, b.pk]  # never the draft
    assert "解除" in html(response)


def test_the_ledger_index_sends_organ_staff_to_their_own_ledger_and_lists_organs_for_oversight(d, c):
    response = c["esi_manager"].get(f"{BASE}ledger/")
    assert response.status_code == 302 and response["Location"] == f"{BASE}ledger/METI/"
    organs = c["oversight"].get(f"{BASE}ledger/").context["organs"]
    assert {o.code: o.entries for o in organs} == {"CAO": 0, "METI": 1, "MIC": 0}
    assert_denied(c["auditor"].get(f"{BASE}ledger/"), "wrong_role")


def test_ledger_csv_has_a_bom_japanese_headers_the_rows_and_is_audited(make_designation, meti, c):
    d = make_designation(title="=HYPERLINK(\"x\")")  # a title a spreadsheet would run
    services.extend(actor=meti["head"], designation=d, new_end=dt.date(2036, 5, 31), reason="要件を引き続き満たすため延長する",
                    cabinet_approval_ref="")
    services.request_correction(actor=meti["oversight"], designation=d, kind="amend",
                                request="記録の記載に誤りがあるため是正を求める。")
    response = c["oversight"].get(f"{BASE}ledger/METI/ledger.csv")
    assert response.status_code == 200 and response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="designation-ledger-METI-20260601.csv"'
    assert response.content.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0] == ["指定番号", "件名", "区分", "細目", "指定日", "有効期間満了日", "保護措置", "状態",
                       "延長・解除の記録", "是正要求", "適用規程", "概要", "要件(1)区分・細目への該当の理由",
                       "要件(2)非公知性の理由", "要件(3)漏えいによる支障のおそれの理由", "要確認事項"]
    assert len(rows) == 2
    row = dict(zip(rows[0], rows[1], strict=True))
    assert row["指定番号"] == d.reference and row["件名"] == "'=HYPERLINK(\"x\")"
    assert row["指定日"] == "2026-06-01" and row["有効期間満了日"] == "2036-05-31"
    assert row["状態"] == "指定中（延長）" and "延長" in row["延長・解除の記録"] and "未回答" in row["是正要求"]
    assert row["保護措置"] == "表示" and row["適用規程"] == "jp-esi-2025 v1"
    # DOMAIN §2's fields: the summary and the three justifications; the correction's own text.
    assert row["概要"] == d.summary and row["要件(1)区分・細目への該当の理由"] == d.justification_category
    assert row["要件(2)非公知性の理由"] == d.justification_not_public
    assert row["要件(3)漏えいによる支障のおそれの理由"] == d.justification_harm
    assert "記録の記載に誤りがあるため是正を求める。" in row["是正要求"]
    assert "見直しの間隔" in row["要確認事項"]  # the pack's review interval is flagged "to verify"
    entry = last_audit("designation.ledger_exported")
    assert entry["details"] == {"organisation": "METI", "format": "csv", "rows": 1}
    assert entry["actor"]["role"] == "oversight"


def test_ledger_pdf_is_a_pdf_and_is_audited(make_designation, meti, c):
    a, b = make_designation(), make_designation()
    services.extend(actor=meti["head"], designation=a, new_end=dt.date(2036, 5, 31), reason="要件を引き続き満たすため延長する")
    services.cancel(actor=meti["head"], designation=b, reason="非公知性の要件を満たさなくなったため")
    services.request_correction(actor=meti["oversight"], designation=a, kind="amend",
                                request="記録の記載に誤りがあるため是正を求める。")
    response = c["organ_head"].get(f"{BASE}ledger/METI/ledger.pdf")
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")
    assert last_audit("designation.ledger_exported")["details"] == {"organisation": "METI", "format": "pdf",
                                                                    "rows": 2}


def test_a_refused_ledger_export_is_audited_as_denied_and_builds_nothing(d, c):
    assert_denied(c["auditor"].get(f"{BASE}ledger/METI/ledger.csv"), "wrong_role")
    assert not audits("designation.ledger_exported").exists()
    assert audits("designation.export", outcome="denied").exists()


# --- notices and dashboards ------------------------------------------------------------------------------

def test_a_holder_sees_its_notices_and_a_subject_of_the_same_company_none(d, meti, orgs, c, people):
    services.record_provision(actor=meti["manager"], designation=d, recipient_kind="business", recipient=orgs["TOWA"],
                              contract=_contract(orgs), **PROVISION)
    services.cancel(actor=meti["head"], designation=d, reason="非公知性の要件を満たさなくなったため")
    response = c["business_officer"].get(f"{BASE}notifications/")
    notices = list(response.context["page"])
    assert [(n.designation_id, n.kind) for n in notices] == [(d.pk, "cancelled")]
    assert "重要経済安保情報（指定解除）" in html(response)
    subject = actor_of(people["subject"])
    assert not queries.notifications_for(subject).exists()


def test_esi_manager_dashboard_shows_reviews_due_and_overdue_drafts_and_notices(make_designation, draft, c):
    due = make_designation(designated_on=dt.date(2025, 6, 10), term_end=dt.date(2030, 6, 9))
    overdue = make_designation(designated_on=dt.date(2025, 5, 20), term_end=dt.date(2030, 5, 19))
    later = make_designation()
    response = c["esi_manager"].get("/dashboard/")
    page = html(response)
    assert due.reference in page and overdue.reference in page and later.reference not in page
    assert page.count(ja("overdue")) >= 1 and draft.title in page
    assert ja("New draft designation") in page


def test_organ_head_dashboard_shows_drafts_awaiting_approval(draft, c):
    page = html(c["organ_head"].get("/dashboard/"))
    assert ja("Designations awaiting approval") in page and f"{BASE}{draft.pk}/" in page


def test_oversight_dashboard_lists_the_ledgers_and_open_corrections(d, meti, c):
    services.request_correction(actor=meti["oversight"], designation=d, kind="amend",
                                request="記録の記載に誤りがあるため是正を求める。")
    page = html(c["oversight"].get("/dashboard/"))
    assert f"{BASE}ledger/METI/" in page and d.reference in page


def test_security_officer_dashboard_shows_designations_in_force(d, c):
    page = html(c["security_officer"].get("/dashboard/"))
    assert d.reference in page


@pytest.mark.parametrize(("who", "urls"), [
    ("esi_manager", [BASE, f"{BASE}new/", f"{BASE}ledger/", f"{BASE}notifications/"]),
    ("organ_head", [BASE, f"{BASE}ledger/", f"{BASE}notifications/"]),
    ("security_officer", [BASE, f"{BASE}ledger/", f"{BASE}notifications/"]),
    ("oversight", [BASE, f"{BASE}ledger/"]),
    ("business_officer", [BASE, f"{BASE}notifications/"]),
])
def test_the_navigation_links_the_designation_screens_for_each_role(c, who, urls):
    response = c[who].get("/dashboard/")
    nav = [url for _label, url in response.context["nav"]]
    for url in urls:
        assert url in nav
        assert c[who].get(url).status_code in (200, 302)


def test_the_screens_render_in_english_too(d, c):
    c["organ_head"].post("/language/", {"language": "en"})
    page = html(c["organ_head"].get(f"{BASE}{d.pk}/"))
    assert "Extend the term" in page and "2026-06-01" in page


# --- stale edits (issue 11): refused with what changed, nothing written, sent again on purpose ----------

EDIT_FIELDS = ("title", "summary", "category", "sub_item", "justification_category", "justification_not_public",
               "justification_harm", "in_advance", "advance_reason", "designated_on", "term_end", "protective_measure")


def test_a_stale_edit_on_screen_is_refused_with_409_showing_what_changed_and_writes_nothing(draft, c, meti):
    opened = form_data({f: getattr(draft, f) for f in EDIT_FIELDS})
    opened["version"] = draft.version
    services.update_draft(actor=meti["manager2"], designation=draft.pk, version=draft.version, title="同僚が改めた件名")
    writes_before = audits("designation.draft_updated").count()
    response = c["esi_manager"].post(f"{BASE}{draft.pk}/edit/", {**opened, "summary": "私が書き直した概要（内容は記載しない）"})
    assert response.status_code == 409
    page = response.content.decode()
    assert 'id="stale-edit"' in page and response.context["stale"]
    change = response.context["stale_changes"][0]
    assert change["actor"] == meti["manager2"].account.username and change["names"] == ["title"]
    [yours] = response.context["stale_yours"]  # the title: what I had in the form, and what is saved now
    assert (yours["value"], yours["current"]) == (draft.title, "同僚が改めた件名")
    stored = Designation.objects.get(pk=draft.pk)
    assert stored.title == "同僚が改めた件名" and stored.summary == draft.summary
    assert audits("designation.draft_updated").count() == writes_before
    # The form now holds the colleague's title, my summary, and the current version: sending it again
    # applies my change on top of theirs.
    form = response.context["form"]
    assert form.data["title"] == "同僚が改めた件名" and form.data["summary"] == "私が書き直した概要（内容は記載しない）"
    assert form.data["version"] == str(stored.version)
    again = c["esi_manager"].post(f"{BASE}{draft.pk}/edit/", form.data)
    assert again.status_code == 302
    stored = Designation.objects.get(pk=draft.pk)
    # Stored NFKC-normalised (issue 12 §1): the full-width brackets typed become ASCII.
    assert stored.title == "同僚が改めた件名" and stored.summary == "私が書き直した概要(内容は記載しない)"


def test_an_edit_without_the_version_is_refused_and_writes_nothing(draft, c):
    data = form_data({f: getattr(draft, f) for f in EDIT_FIELDS})
    response = c["esi_manager"].post(f"{BASE}{draft.pk}/edit/", {**data, "title": "版なしの変更"})
    assert response.status_code == 200 and response.context["form"].non_field_errors()
    assert Designation.objects.get(pk=draft.pk).title != "版なしの変更"


def test_the_head_approves_only_the_version_shown(draft, c, meti):
    shown = draft.version
    services.update_draft(actor=meti["manager"], designation=draft.pk, version=shown, title="承認画面を開いた後の変更")
    response = c["organ_head"].post(f"{BASE}{draft.pk}/approve/", {"version": shown})
    assert response.status_code == 409 and response.context["stale_changes"][0]["names"] == ["title"]
    assert Designation.objects.get(pk=draft.pk).state == "draft"
    again = c["organ_head"].post(f"{BASE}{draft.pk}/approve/", response.context["form"].data)
    assert again.status_code == 302 and Designation.objects.get(pk=draft.pk).state == "designated"
