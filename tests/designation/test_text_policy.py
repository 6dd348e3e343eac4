"""Issue 12 §1-2 in the designation registry: the one text policy and the date policy on every
service that stores what a person typed, whichever channel it came through (screens, API, CSV
import, CLI all reach these services). Each refusal names the field and writes nothing.
Time is frozen at 2026-06-01 (conftest)."""

from __future__ import annotations

import datetime as dt

import pytest

from hozen.audit.models import AuditEntry
from hozen.core.errors import RuleViolation
from hozen.designation import importer, services
from hozen.designation.models import CorrectionRequest, Designation, Provision
from hozen.operators import services as operators
from hozen.operators.models import Certification, Contract
from tests import factories

pytestmark = pytest.mark.django_db

PROVISION = {"recipient_kind": "organ", "basis": "法第10条第1項", "items": "防護計画書 第2版 1部",
             "handler_list": ["山本 浩二"], "provided_on": dt.date(2026, 6, 1)}
REASON = "要件を引き続き満たすため延長する"


def writes() -> tuple:
    return (Designation.objects.count(), Provision.objects.count(), CorrectionRequest.objects.count(),
            AuditEntry.objects.filter(outcome="success").count())


def refused(call, field: str, code: str = "invalid_character") -> RuleViolation:
    before = writes()
    with pytest.raises(RuleViolation) as info:
        call()
    assert (info.value.code, info.value.field) == (code, field), info.value.message_en
    assert info.value.message_ja and info.value.message_en
    assert writes() == before
    return info.value


# --- the examples of issue 12 ---------------------------------------------------------------------

def test_eleven_nul_characters_no_longer_pass_the_ten_character_justification(meti, orgs, draft_fields):
    violation = refused(lambda: services.create_draft(actor=meti["manager"], organisation=orgs["METI"],
                                                      **{**draft_fields, "justification_harm": "\x00" * 11}),
                        "justification_harm")
    assert "character 1 " in violation.message_en and "U+0000" in violation.message_en


def test_invisible_characters_do_not_count_towards_a_justification(meti, orgs, draft_fields):
    refused(lambda: services.create_draft(actor=meti["manager"], organisation=orgs["METI"],
                                          **{**draft_fields, "justification_not_public": "非" + "\u200b" * 20}),
            "justification_not_public", "text_too_short")


@pytest.mark.parametrize("field", ["title", "summary", "justification_category", "advance_reason"])
def test_nul_characters_in_a_drafts_texts_are_refused_naming_the_field(meti, orgs, draft_fields, field):
    value = draft_fields[field] or "事前に指定する理由を記録する"
    fields = {**draft_fields, field: value[:3] + "\x00" + value[3:], "in_advance": field == "advance_reason"}
    violation = refused(lambda: services.create_draft(actor=meti["manager"], organisation=orgs["METI"], **fields),
                        field)
    assert "character 4 " in violation.message_en and "4文字目" in violation.message_ja


def test_a_right_to_left_override_in_a_title_is_refused(meti, orgs, draft_fields):
    refused(lambda: services.create_draft(actor=meti["manager"], organisation=orgs["METI"],
                                          **{**draft_fields, "title": "発電設備の\u202e画計護防"}), "title")


def test_half_width_kana_in_a_designation_title_is_stored_full_width(meti, orgs, draft_fields):
    draft = services.create_draft(actor=meti["manager"], organisation=orgs["METI"],
                                  **{**draft_fields, "title": "ｼｽﾃﾑ障害対策ﾏﾆｭｱﾙ　第２版"})
    assert Designation.objects.get(pk=draft.pk).title == "システム障害対策マニュアル 第2版"


def test_an_edit_is_held_to_the_same_policy(meti, orgs, draft_fields):
    draft = services.create_draft(actor=meti["manager"], organisation=orgs["METI"], **draft_fields)
    refused(lambda: services.update_draft(actor=meti["manager"], designation=draft.pk, version=draft.version,
                                          summary="概要\u2066を変える"), "summary")
    services.update_draft(actor=meti["manager"], designation=draft.pk, version=draft.version, title="ﾃｽﾄ件名")
    assert Designation.objects.get(pk=draft.pk).title == "テスト件名"


def test_a_title_is_one_line_and_a_summary_may_have_several(meti, orgs, draft_fields):
    refused(lambda: services.create_draft(actor=meti["manager"], organisation=orgs["METI"],
                                          **{**draft_fields, "title": "一行目\n二行目"}), "title")
    draft = services.create_draft(actor=meti["manager"], organisation=orgs["METI"],
                                  **{**draft_fields, "summary": "一行目\r\n\t二行目"})
    assert Designation.objects.get(pk=draft.pk).summary == "一行目\n\t二行目"


def test_a_title_longer_than_the_column_after_normalisation_is_refused(meti, orgs, draft_fields):
    refused(lambda: services.create_draft(actor=meti["manager"], organisation=orgs["METI"],
                                          **{**draft_fields, "title": "ア" * 201}), "title", "text_too_long")


@pytest.mark.parametrize("field", ["designated_on", "term_end"])
def test_a_draft_without_a_date_is_refused_naming_the_field_not_a_server_error(meti, orgs, draft_fields, field):
    refused(lambda: services.create_draft(actor=meti["manager"], organisation=orgs["METI"],
                                          **{**draft_fields, field: None}), field, "invalid_date")


# --- decisions after designation --------------------------------------------------------------------

@pytest.mark.parametrize(("action", "field"), [
    ("extend", "reason"), ("extend", "cabinet_approval_ref"), ("cancel", "reason"), ("review", "note"),
    ("move_to_sds", "reason"), ("refused_approval", "refusal_ref"), ("refused_approval", "reason"),
])
def test_nul_and_overrides_in_a_decisions_reason_are_refused_naming_the_field(make_designation, meti, sds_pack,
                                                                              action, field):
    d = make_designation()
    bad = "要件を満たさなくなった\x00ため" if field != "cabinet_approval_ref" else "閣議\u202e-1"
    sds_item = sds_pack.sub_items.select_related("category").order_by("position").first()
    calls = {
        "extend": lambda: services.extend(actor=meti["head"], designation=d.pk, new_end=dt.date(2036, 5, 31),
                                          **{"reason": REASON, field: bad}),
        "cancel": lambda: services.cancel(actor=meti["head"], designation=d.pk, reason=bad),
        "review": lambda: services.review(actor=meti["manager"], designation=d.pk, requirements_met=False, note=bad),
        "move_to_sds": lambda: services.move_to_sds(
            actor=meti["head"], designation=d.pk, reason=bad, sds_category=sds_item.category, sds_sub_item=sds_item,
            term_end=dt.date(2031, 5, 31), justification_harm="漏えいすれば安全保障に著しい支障を与えるため"),
        "refused_approval": lambda: services.record_refused_cabinet_approval(
            actor=meti["head"], designation=d.pk, requested_end=dt.date(2061, 5, 31),
            **{"refusal_ref": "閣議-1", field: bad}),
    }
    refused(calls[action], field)
    assert Designation.objects.get(pk=d.pk).state == "designated"


def test_a_correction_request_and_its_answer_follow_the_policy(make_designation, meti):
    d = make_designation()
    refused(lambda: services.request_correction(actor=meti["oversight"], designation=d, kind="amend",
                                                request="\x00" * 11), "request")
    row = services.request_correction(actor=meti["oversight"], designation=d, kind="amend",
                                      request="記録の誤りを是正すること（第２項）")
    assert CorrectionRequest.objects.get(pk=row.pk).request == "記録の誤りを是正すること(第2項)"
    refused(lambda: services.answer_correction(actor=meti["head"], correction=row, answer="回答\u202e" + "あ" * 10),
            "answer")
    refused(lambda: services.answer_correction(actor=meti["head"], correction=row, answer=" " * 10 + "済"),
            "answer", "text_too_short")


# --- provisions -------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("field", "value"), [
    ("basis", "法第10条\x00第1項"), ("items", "計画書\u202e一式"), ("recipient_name", "総務省\n情報保全室"),
    ("handler_list", ["山本 浩二", "佐藤\x00花子"]),
])
def test_a_provisions_texts_follow_the_policy(make_designation, meti, orgs, field, value):
    d = make_designation()
    refused(lambda: services.record_provision(actor=meti["manager"], designation=d, recipient=orgs["MIC"],
                                              **{**PROVISION, field: value}), field)


def test_a_provision_dated_before_its_designation_is_refused(make_designation, meti, orgs):
    d = make_designation()
    violation = refused(lambda: services.record_provision(actor=meti["manager"], designation=d, recipient=orgs["MIC"],
                                                          **{**PROVISION, "provided_on": dt.date(1, 1, 1)}),
                        "provided_on", "date_out_of_range")
    assert "2026-06-01" in violation.message_en


def test_the_same_provision_recorded_twice_is_refused_the_second_time(make_designation, meti, orgs):
    d = make_designation()
    services.record_provision(actor=meti["manager"], designation=d, recipient=orgs["MIC"], **PROVISION)
    violation = refused(lambda: services.record_provision(actor=meti["manager"], designation=d, recipient=orgs["MIC"],
                                                          **PROVISION), "provided_on", "duplicate_provision")
    assert "already recorded" in violation.message_en
    # Another provision of the same items on another day is another fact.
    services.record_provision(actor=meti["manager"], designation=d, recipient=orgs["MIC"],
                              **{**PROVISION, "items": "防護計画書 第2版 追加の1部"})
    assert Provision.objects.filter(designation=d).count() == 2


def test_the_handler_names_of_a_provision_are_stored_normalised(make_designation, meti, orgs):
    d = make_designation()
    row = services.record_provision(actor=meti["manager"], designation=d, recipient=orgs["MIC"],
                                    **{**PROVISION, "handler_list": [" ﾔﾏﾓﾄ ｺｳｼﾞ ", "", "佐藤　花子"]})
    assert Provision.objects.get(pk=row.pk).handler_list == ["ヤマモト コウジ", "佐藤 花子"]


# --- the CSV import: the same policy, each refusal with its line ---------------------------------------------

HEADER = ("title,summary,category,sub_item,designated_on,term_end,protective_measure,justification_category,"
          "justification_not_public,justification_harm\n")
ROW = ("{title},概要（内容は記載しない）,,A-1,2026-06-01,2031-05-31,marking,法第2条第4項第1号の計画に該当する,"
       "公表されておらず関係者以外に知られていない,漏えいすれば安全保障に支障を与えるおそれがある\n")


def test_a_nul_in_an_imported_title_is_refused_naming_its_line_and_field(esi_pack):
    with pytest.raises(importer.ImportFailed) as info:
        importer.parse_csv(HEADER + ROW.format(title="正しい件名") + ROW.format(title="件名\x00二"), pack=esi_pack)
    [error] = info.value.errors
    assert (error.line, error.field, error.code) == (3, "title", "invalid_character")


def test_an_imported_title_is_stored_as_the_policy_returns_it(meti, orgs, esi_pack):
    from hozen.designation import import_services

    rows = importer.parse_csv(HEADER + ROW.format(title="ｼｽﾃﾑ障害対策"), pack=esi_pack)
    [created] = import_services.import_drafts(actor=meti["manager"], organisation=orgs["METI"], rows=rows)
    stored = Designation.objects.get(pk=created.pk)
    assert (stored.title, stored.summary) == ("システム障害対策", "概要(内容は記載しない)")


# --- certifications and contracts (the provisions to businesses rest on them) -------------------------------

def test_a_certification_dated_in_year_one_is_refused(orgs):
    before = Certification.objects.count()
    with pytest.raises(RuleViolation) as info:
        operators.record_certification(actor=factories.operator(), organ=orgs["METI"], business=orgs["TOWA"],
                                       certified_on=dt.date(1, 1, 1))
    assert (info.value.code, info.value.field) == ("date_out_of_range", "certified_on")
    assert Certification.objects.count() == before


@pytest.mark.parametrize(("field", "value"), [("reference", "METI-C-\x00"), ("authorised_departments", ["技術部\u202e"])])
def test_a_contracts_reference_and_departments_follow_the_policy(orgs, field, value):
    cert = operators.record_certification(actor=factories.operator(), organ=orgs["METI"], business=orgs["TOWA"],
                                          certified_on=dt.date(2026, 1, 10))
    terms = {"reference": "METI-C-2026-01", "form": "receives", "authorised_departments": ["技術部"],
             "valid_from": dt.date(2026, 2, 1), "valid_until": dt.date(2028, 3, 31)}
    with pytest.raises(RuleViolation) as info:
        operators.record_contract(actor=factories.operator(), certification=cert, **{**terms, field: value})
    assert (info.value.code, info.value.field) == ("invalid_character", field)
    assert not Contract.objects.exists()
    contract = operators.record_contract(actor=factories.operator(), certification=cert,
                                         **{**terms, "authorised_departments": ["ｷﾞｼﾞｭﾂ部", "ｷﾞｼﾞｭﾂ部", "設計部"]})
    assert Contract.objects.get(pk=contract.pk).authorised_departments == ["ギジュツ部", "設計部"]


def test_a_handler_name_with_a_c1_control_on_the_provision_screen_is_refused_beside_the_list(make_designation,
                                                                                            people, orgs, signed_in):
    # The form splits the list on line breaks only: U+0085 (a C1 "next line") is refused by the
    # text policy, not taken as a line break that silently makes two names.
    d = make_designation()
    client = signed_in(people["esi_manager"])
    before = writes()
    response = client.post(f"/designations/{d.pk}/provisions/new/", {
        "recipient_kind": "organ", "recipient": orgs["MIC"].pk, "recipient_name": "", "contract": "",
        "basis": PROVISION["basis"], "provided_on": "2026-06-01", "items": PROVISION["items"],
        "equivalence_finding": "", "handler_list": "山本 浩二\r\n佐藤\x85花子\r\n"})
    assert response.status_code == 200
    assert response.context["form"].errors["handler_list"]
    assert writes() == before
