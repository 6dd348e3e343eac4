"""Hostile text over every write service of the designation registry, handler lists, the vault,
certifications and contracts, and the core accounts (issue 12 §1): arbitrary text, controls, lone
surrogates, direction overrides and isolates, non-characters, half-width kana, invisible
characters and over-long values.

The property every test checks, on SQLite and PostgreSQL alike: the value is either stored exactly
as ``hozen.core.text.clean`` returns it under the field's rule, or refused with a RuleViolation
naming that field (with clean's own code when clean refuses it); never anything else, never an
IntegrityError or DataError, never a server error over the API. Bounded for CI: 60 examples per
test (fewer where each example writes a designation), derandomised, no deadline.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import itertools
import json

import pytest
import time_machine
from django.test import Client
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from hozen.core.actor import Actor
from hozen.core.errors import RuleViolation
from hozen.core.text import clean
from hozen.rules.queries import current_pack
from tests import factories

pytestmark = pytest.mark.django_db

TODAY = dt.date(2026, 6, 1)
LONG = 20_000

#: Characters the policy refuses, rewrites or must count right.
HOSTILE = [
    "\x00", "\x01", "\x08", "\x0b", "\x1b", "\x1f", "\x7f", "\x80", "\x85", "\x9f",  # C0, DEL, C1
    "\r", "\n", "\t", "\r\n",  # allowed only in multi-line fields (a lone CR becomes a newline)
    "\u202a", "\u202b", "\u202c", "\u202d", "\u202e", "\u2066", "\u2067", "\u2068", "\u2069",  # bidi
    "\ud800", "\udbff", "\udc00", "\udfff",  # lone surrogates
    "\ufdd0", "\ufdef", "\ufffe", "\uffff", "\U0001fffe", "\U0010ffff",  # non-characters
    "\u200b", "\u200d", "\ufeff", "\u00ad", "\u3000", "\u00a0", " ",  # invisible or white space
    "ｱ", "ｶﾞ", "ﾊﾟ", "ｰ", "｡", "Ａ", "１", "①", "ﬁ", "㍻", "e\u0301", "\U0001f600",  # NFKC rewrites and the rest
]
TEXT_BASE = "要件を満たすことを確認した記録である"

_pieces = st.one_of(st.sampled_from(HOSTILE), st.characters(), st.text(max_size=6))
hostile_text = st.one_of(
    st.lists(_pieces, max_size=24).map("".join),
    st.tuples(st.lists(_pieces, max_size=6).map("".join), st.integers(0, len(TEXT_BASE))).map(
        lambda t: TEXT_BASE[:t[1]] + t[0] + TEXT_BASE[t[1]:]),
    st.tuples(st.sampled_from(["あ", "ｱ", "a", " ", "\u200b", "ｶﾞ"]),
              st.sampled_from([1, 9, 10, 11, 64, 65, 100, 101, 120, 121, 199, 200, 201, 300, 301, 500, 501])).map(
        lambda t: t[0] * t[1]),
    st.sampled_from(["", " ", "\u3000", "ｼｽﾃﾑ障害", "ﾃｽﾄ\u202e", "\x00" * 11, "あ" * LONG + "い"]),
)

PROPERTY = settings(max_examples=60, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                           HealthCheck.data_too_large, HealthCheck.large_base_example])
FEWER = settings(PROPERTY, max_examples=30)

_n = itertools.count(1)


def expect(value, field: str, **rule):
    """(stored value, None) when the policy accepts `value`, else (None, the policy's refusal)."""
    try:
        return clean(value, field=field, **rule), None
    except RuleViolation as exc:
        return None, exc


def check(call, value, field: str, rule: dict, stored):
    """Run `call()`; it must store what clean returns (`stored(result)`), or refuse naming `field`."""
    cleaned, refusal = expect(value, field, **rule)
    try:
        result = call()
    except RuleViolation as exc:
        event(f"refused: {exc.code}")  # `--hypothesis-show-statistics` shows the mix of outcomes
        assert exc.field == field, (value, exc.code, exc.field, exc.message_en)
        if refusal is not None:
            assert exc.code == refusal.code, (value, exc.code, refusal.code)
        return None
    event("stored")
    assert refusal is None, f"accepted what the policy refuses ({refusal.code}): {value!r}"
    assert stored(result) == cleaned, value
    return result


def actor_of(account, role: str | None = None) -> Actor:
    assignments = account.active_assignments()
    assignment = assignments.filter(role=role).first() if role else assignments.first()
    return Actor.for_account(account, assignment, channel="web", second_factor_verified=True)


@pytest.fixture(autouse=True)
def _frozen_today():
    with time_machine.travel(dt.datetime(2026, 6, 1, 3, 0, tzinfo=dt.UTC), tick=False) as traveller:
        yield traveller


@pytest.fixture
def meti(people, orgs):
    return {"manager": actor_of(people["esi_manager"]), "head": actor_of(people["organ_head"]),
            "oversight": actor_of(people["oversight"]), "security": actor_of(people["security_officer"])}


@pytest.fixture
def draft_fields(db):
    item = current_pack("esi", TODAY).sub_items.select_related("category").get(code="A-1")
    return {"title": "発電設備の防護計画に関する情報", "summary": "防護措置の計画（内容は記載しない）",
            "category": item.category, "sub_item": item,
            "justification_category": "法第2条第4項第1号の措置に関する計画であり細目A-1に該当する。",
            "justification_not_public": "公表されておらず、関係者以外に知られていない。",
            "justification_harm": "漏えいすれば設備への妨害行為を容易にし安全保障に支障を与える。",
            "in_advance": False, "advance_reason": "", "designated_on": TODAY, "term_end": dt.date(2031, 5, 31),
            "protective_measure": "marking"}


@pytest.fixture
def make_designation(meti, orgs, draft_fields):
    from hozen.designation import services

    def make():
        draft = services.create_draft(actor=meti["manager"], organisation=orgs["METI"], **draft_fields)
        return services.approve(actor=meti["head"], designation=draft)

    return make


# --- designations ------------------------------------------------------------------------------------------

def _draft_rule(field: str) -> dict:
    from hozen.designation.inputs import DRAFT_TEXTS

    spec = DRAFT_TEXTS[field]
    return {"multiline": spec.multiline, "max_length": spec.max_length, "min_visible": spec.min_visible,
            "required": spec.required}


DRAFT_FIELDS = ["title", "summary", "justification_category", "justification_not_public", "justification_harm",
                "advance_reason"]


@PROPERTY
@given(field=st.sampled_from(DRAFT_FIELDS), value=hostile_text)
def test_a_drafts_text_is_stored_as_the_policy_returns_it_or_refused_naming_the_field(meti, orgs, draft_fields,
                                                                                      field, value):
    from hozen.designation import services
    from hozen.designation.models import Designation

    check(lambda: services.create_draft(actor=meti["manager"], organisation=orgs["METI"],
                                        **{**draft_fields, field: value}),
          value, field, _draft_rule(field), lambda d: getattr(Designation.objects.get(pk=d.pk), field))


@PROPERTY
@given(field=st.sampled_from(DRAFT_FIELDS), value=hostile_text)
def test_a_drafts_edit_is_stored_as_the_policy_returns_it_or_refused_naming_the_field(meti, orgs, draft_fields,
                                                                                      field, value):
    from hozen.designation import services
    from hozen.designation.models import Designation

    draft = Designation.objects.filter(state="draft").first() or services.create_draft(
        actor=meti["manager"], organisation=orgs["METI"], **draft_fields)
    draft = Designation.objects.get(pk=draft.pk)
    check(lambda: services.update_draft(actor=meti["manager"], designation=draft.pk, version=draft.version,
                                        **{field: value}),
          value, field, _draft_rule(field), lambda d: getattr(Designation.objects.get(pk=d.pk), field))


REASON = {"multiline": True, "max_length": LONG, "min_visible": 10, "required": True}
DECISIONS = {
    "cancel": ("reason", REASON),
    "extend": ("reason", REASON),
    "extend_ref": ("cabinet_approval_ref", {"max_length": 100}),
    "review": ("note", REASON),
    "request_correction": ("request", REASON),
    "answer_correction": ("answer", REASON),
}


@FEWER
@given(decision=st.sampled_from(sorted(DECISIONS)), value=hostile_text)
def test_a_decisions_reason_is_stored_as_the_policy_returns_it_or_refused_naming_the_field(make_designation, meti,
                                                                                          decision, value):
    from hozen.designation import services
    from hozen.designation.models import CorrectionRequest, Designation, Extension, Review

    d = make_designation()
    field, rule = DECISIONS[decision]
    reason = "要件を引き続き満たすため延長する"
    calls = {
        "cancel": (lambda: services.cancel(actor=meti["head"], designation=d.pk, reason=value),
                   lambda r: Designation.objects.get(pk=d.pk).end_reason),
        "extend": (lambda: services.extend(actor=meti["head"], designation=d.pk, new_end=dt.date(2036, 5, 31),
                                           reason=value),
                   lambda r: Extension.objects.get(designation=d).reason),
        "extend_ref": (lambda: services.extend(actor=meti["head"], designation=d.pk, new_end=dt.date(2036, 5, 31),
                                               reason=reason, cabinet_approval_ref=value),
                       lambda r: Extension.objects.get(designation=d).cabinet_approval_ref),
        "review": (lambda: services.review(actor=meti["manager"], designation=d.pk, requirements_met=False, note=value),
                   lambda r: Review.objects.get(pk=r.pk).note),
        "request_correction": (lambda: services.request_correction(actor=meti["oversight"], designation=d,
                                                                   kind="amend", request=value),
                               lambda r: CorrectionRequest.objects.get(pk=r.pk).request),
    }
    if decision == "answer_correction":
        correction = services.request_correction(actor=meti["oversight"], designation=d, kind="amend",
                                                  request="記録の誤りを是正すること")
        calls[decision] = (lambda: services.answer_correction(actor=meti["head"], correction=correction, answer=value),
                           lambda r: CorrectionRequest.objects.get(pk=r.pk).answer)
    call, stored = calls[decision]
    check(call, value, field, rule, stored)


PROVISION_FIELDS = {
    "basis": {"multiline": True, "max_length": LONG, "min_visible": 1, "required": True},
    "items": {"multiline": True, "max_length": LONG, "min_visible": 1, "required": True},
    "recipient_name": {"max_length": 200},
    "equivalence_finding": {"multiline": True, "max_length": LONG},
    "handler_list": {"max_length": 200},
}


@PROPERTY
@given(field=st.sampled_from(sorted(PROVISION_FIELDS)), value=hostile_text)
def test_a_provisions_text_is_stored_as_the_policy_returns_it_or_refused_naming_the_field(make_designation, meti,
                                                                                         field, value):
    from hozen.designation import services
    from hozen.designation.models import Designation, Provision

    d = Designation.objects.filter(state="designated").first() or make_designation()
    values = {"basis": "法第10条第1項", "items": f"防護計画書 第{next(_n)}部", "recipient_name": "Government of Australia",
              "equivalence_finding": "情報保護協定に基づき同等の保護措置を確認した。", "handler_list": ["山本 浩二"]}
    if field == "handler_list":
        values["handler_list"] = [value]
    else:
        values[field] = value
    if field == "items":
        values["basis"] = f"法第10条第1項（{next(_n)}）"

    def stored(row):
        row = Provision.objects.get(pk=row.pk)
        return row.handler_list[0] if field == "handler_list" else getattr(row, field)

    check(lambda: services.record_provision(actor=meti["manager"], designation=d, recipient_kind="foreign",
                                            provided_on=TODAY, **values),
          value, field, PROVISION_FIELDS[field], stored)


HEADER = ["title", "summary", "category", "sub_item", "designated_on", "term_end", "protective_measure",
          "justification_category", "justification_not_public", "justification_harm", "advance_reason"]


@PROPERTY
@given(field=st.sampled_from(["title", "summary", "justification_harm", "advance_reason"]), value=hostile_text)
def test_a_csv_imports_text_is_taken_as_the_policy_returns_it_or_refused_naming_line_and_field(draft_fields, field,
                                                                                              value):
    from hozen.designation import importer

    row = {**{k: str(v) for k, v in draft_fields.items() if k in HEADER}, "category": "", "sub_item": "A-1",
           field: value}
    out = io.StringIO(newline="")
    csv.writer(out).writerows([HEADER, [row[k] for k in HEADER]])
    cleaned, refusal = expect(value, field, **_draft_rule(field))
    try:
        [parsed] = importer.parse_csv(out.getvalue(), pack=current_pack("esi", TODAY))
    except importer.ImportFailed as failed:
        # A value made only of white space is an empty column to the importer (`<field>_required`).
        assert [(e.line, e.field) for e in failed.errors] == [(2, field)], (value, failed.errors)
        return
    assert refusal is None, f"imported what the policy refuses ({refusal.code}): {value!r}"
    assert parsed.fields[field] == cleaned


# --- handler lists ----------------------------------------------------------------------------------------

@PROPERTY
@given(value=hostile_text)
def test_a_need_to_know_reason_is_stored_as_the_policy_returns_it_or_refused_naming_the_field(make_designation,
                                                                                             orgs, value):
    from hozen.designation.models import Designation
    from hozen.handling import services
    from hozen.handling.models import HandlerEntry
    from tests.handling_factories import keeper_for, make_clearance

    d = Designation.objects.filter(state="designated").first() or make_designation()
    account = factories.account(role="subject", organisation=orgs["METI"])
    make_clearance(account, organ=orgs["METI"])
    check(lambda: services.add_handler(actor=keeper_for(orgs["METI"]), designation=d, account=account, reason=value),
          value, "reason", {"max_length": 300}, lambda e: HandlerEntry.objects.get(pk=e.pk).reason)


# --- the vault ---------------------------------------------------------------------------------------------

@pytest.fixture
def vault(settings, tmp_path, make_designation):
    from hozen.vault import services
    from tests.handling_factories import make_cleared_handler

    settings.DATA_DIR = tmp_path
    settings.STORAGES = {k: v for k, v in settings.STORAGES.items() if k != "vault"}
    d = make_designation()
    handler = make_cleared_handler(d)
    version = services.upload(actor=handler, designation=d, title="防護計画書", filename="plan.txt",
                              source=io.BytesIO(b"plan"))
    return {"designation": d, "handler": handler, "document": version.document}


VAULT_FIELDS = {
    "title": {"max_length": 200, "min_visible": 1, "required": True},
    "medium": {"max_length": 120, "min_visible": 1, "required": True},
    "received_from": {"max_length": 120, "min_visible": 1, "required": True},
    "method": {"max_length": 120, "min_visible": 1, "required": True},
}


@PROPERTY
@given(field=st.sampled_from(sorted(VAULT_FIELDS)), value=hostile_text)
def test_a_custody_records_text_is_stored_as_the_policy_returns_it_or_refused_naming_the_field(vault, meti, field,
                                                                                              value):
    from hozen.vault import services
    from hozen.vault.models import CustodyEvent, Document

    handler, document = vault["handler"], vault["document"]
    n = next(_n)
    received = {"medium": f"DVD-R {n}", "received_from": f"総務省 {n}", field: value}
    copy = (services.record_medium(actor=handler, document=document, medium=f"紙 {n}", received_from="総務省")
            if field == "method" else None)
    calls = {
        "title": (lambda: services.upload(actor=handler, designation=vault["designation"], title=value,
                                          filename=f"doc{n}.txt", source=io.BytesIO(b"x")),
                  lambda v: Document.objects.get(pk=v.document_id).title),
        "method": (lambda: services.destroy_copy(actor=handler, copy=copy, witness=meti["security"].account,
                                                 method=value),
                   lambda c: CustodyEvent.objects.get(copy=c, kind="destroyed").method),
        "medium": (lambda: services.record_medium(actor=handler, document=document, **received),
                   lambda c: CustodyEvent.objects.get(copy=c, kind="received").method),
        "received_from": (lambda: services.record_medium(actor=handler, document=document, **received),
                          lambda c: CustodyEvent.objects.get(copy=c, kind="received").counterpart_name),
    }
    call, stored = calls[field]
    check(call, value, field, VAULT_FIELDS[field], stored)


@PROPERTY
@given(value=hostile_text)
def test_an_uploaded_file_name_is_stored_as_the_policy_returns_it_or_refused_naming_the_file(vault, value):
    from hozen.vault import services

    base = value.replace("\\", "/").rsplit("/", 1)[-1]  # the file's own name, without any folder
    cleaned, refusal = expect(base, "file")
    try:
        version = services.upload(actor=vault["handler"], document=vault["document"], filename=f"dir/{value}",
                                  source=io.BytesIO(b"x"))
    except RuleViolation as exc:
        assert exc.field == "file", (value, exc.code, exc.field)
        if refusal is not None:
            assert exc.code == refusal.code
        return
    assert refusal is None, f"accepted a file name the policy refuses: {value!r}"
    name = cleaned.lstrip(".").strip()
    assert version.filename == name if len(name) <= 255 else len(version.filename) <= 255


# --- certifications and contracts -----------------------------------------------------------------------------

@PROPERTY
@given(field=st.sampled_from(["reference", "authorised_departments"]), value=hostile_text)
def test_a_contracts_text_is_stored_as_the_policy_returns_it_or_refused_naming_the_field(orgs, field, value):
    from hozen.operators import services
    from hozen.operators.models import Certification, Contract

    cert = Certification.objects.first() or services.record_certification(
        actor=factories.operator(), organ=orgs["METI"], business=orgs["TOWA"], certified_on=dt.date(2026, 1, 10))
    terms = {"reference": f"METI-C-{next(_n)}", "form": "receives", "authorised_departments": ["技術部"],
             "valid_from": dt.date(2026, 2, 1), "valid_until": dt.date(2028, 3, 31)}
    terms[field] = [value] if field == "authorised_departments" else value
    rule = {"max_length": 200} if field == "authorised_departments" else {"max_length": 64, "min_visible": 1,
                                                                          "required": True}

    def stored(contract):
        row = Contract.objects.get(pk=contract.pk)
        return row.authorised_departments[0] if field == "authorised_departments" else row.reference

    check(lambda: services.record_contract(actor=factories.operator(), certification=cert, **terms), value, field,
          rule, stored)


# --- core: organisations, accounts, tokens, second-factor resets ------------------------------------------------

CORE_FIELDS = {
    "name_ja": {"max_length": 200, "min_visible": 1, "required": True},
    "name_en": {"max_length": 200, "min_visible": 1, "required": True},
    "family_name": {"max_length": 100, "min_visible": 1, "required": True},
    "given_name": {"max_length": 100},
    "label": {"max_length": 100},
    "reason": {"multiline": True, "max_length": 500, "min_visible": 10, "required": True},
}


@PROPERTY
@given(field=st.sampled_from(sorted(CORE_FIELDS)), value=hostile_text)
def test_a_core_text_is_stored_as_the_policy_returns_it_or_refused_naming_the_field(people, orgs, field, value):
    from hozen import crypto
    from hozen.core import services
    from hozen.core.models import ApiToken, Organisation, Person, SecondFactorReset

    n = next(_n)
    operator = factories.operator()
    organisation = {"name_ja": "新組織", "name_en": "New organisation", field: value}
    person = {"family_name": "山田", "given_name": "太郎", field: value}
    create_organisation = (
        lambda: services.create_organisation(actor=operator, code=f"NEW{n}", kind="administrative_organ",
                                             **{k: organisation[k] for k in ("name_ja", "name_en")}),
        lambda org: getattr(Organisation.objects.get(pk=org.pk), field))
    create_account = (
        lambda: services.create_account(actor=operator, username=f"hostile{n}", role="esi_manager",
                                        organisation=orgs["METI"], **{k: person[k] for k in ("family_name", "given_name")}),
        lambda account: getattr(Person.objects.get(pk=account.person_id), field))
    calls = {
        "name_ja": create_organisation, "name_en": create_organisation,
        "family_name": create_account, "given_name": create_account,
        "label": (lambda: services.create_api_token(actor=operator, account=people["auditor"], label=value),
                  lambda token: ApiToken.objects.order_by("-pk").first().label),
        "reason": (lambda: services.reset_second_factor(actor=actor_of(people["sysadmin"]),
                                                        account=people["investigator"], reason=value),
                   lambda account: crypto.reveal(actor_of(people["auditor"]),
                                                 SecondFactorReset.objects.order_by("-pk").first(), "reason",
                                                 purpose="misuse_investigation")),
    }
    call, stored = calls[field]
    check(call, value, field, CORE_FIELDS[field], stored)


# --- over the API: PostgreSQL answers 422, never 500 ---------------------------------------------------------------

@pytest.fixture
def api(people):
    return {"HTTP_AUTHORIZATION": f"Bearer {factories.api_token(people['esi_manager'])}"}


API_DRAFT = {"title": "発電設備の防護計画に関する情報", "summary": "防護措置の計画（内容は記載しない）", "sub_item": "A-1",
             "designated_on": "2026-06-01", "term_end": "2031-05-31", "protective_measure": "marking",
             "justification_category": "法第2条第4項第1号の措置に関する計画であり細目A-1に該当する。",
             "justification_not_public": "公表されておらず、関係者以外に知られていない。",
             "justification_harm": "漏えいすれば設備への妨害行為を容易にし安全保障に支障を与える。"}


def test_a_nul_in_a_designation_title_over_the_api_is_422_naming_the_field(api):
    from hozen.designation.models import Designation

    response = Client().post("/api/v1/designations", json.dumps({**API_DRAFT, "title": "件名\x00"}),
                             content_type="application/json", **api)
    assert response.status_code == 422, response.content[:300]
    body = response.json()
    assert body["code"] == "invalid_character" and body["field"] == "title"
    assert not Designation.objects.exists()


@PROPERTY
@given(field=st.sampled_from(["title", "summary", "justification_harm"]), value=hostile_text)
def test_a_drafts_text_over_the_api_is_stored_as_the_policy_returns_it_or_422_naming_the_field(api, field, value):
    from hozen.designation.models import Designation

    cleaned, refusal = expect(value, field, **_draft_rule(field))
    response = Client().post("/api/v1/designations", json.dumps({**API_DRAFT, field: value}),
                             content_type="application/json", **api)
    assert response.status_code in (201, 422), (value, response.status_code, response.content[:300])
    body = response.json()
    if response.status_code == 422:
        assert field in (body.get("field"), *(body.get("fields") or [])), (value, body)
        return
    assert refusal is None, f"accepted what the policy refuses ({refusal.code}): {value!r}"
    assert getattr(Designation.objects.get(pk=body["id"]), field) == cleaned
