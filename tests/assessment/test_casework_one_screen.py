"""Issue 15 "casework on one screen": the adjudicator decides with the file beside the form (for
each of the seven items, the investigator's finding and the person's answers next to the field
for its reason; the summary and the returned questions above), and the investigator writes all
seven findings on one page, each item saved by itself (autosave, answered with JSON) or by its
button. Both pages decrypt, so each showing is an audited read on the person's "who read my data"
list; the case pages that link to them decrypt nothing."""

from __future__ import annotations

import json
import re

import pytest
from django.urls import reverse

from hozen.assessment import services
from hozen.assessment.models import Adjudication, Finding
from hozen.assessment.states import State
from hozen.audit.models import AuditEntry

from .conftest import REASONS, SUMMARY, fresh, nominate, to_investigation_complete, to_submitted

pytestmark = pytest.mark.django_db

AUTOSAVE = {"HTTP_X_HOZEN_AUTOSAVE": "1", "HTTP_ACCEPT": "application/json"}


def url(name, *args):
    return reverse(f"assessment:{name}", args=args)


def reads(purpose: str) -> int:
    """Decryptions of personal data recorded with this purpose."""
    return sum(json.loads(data).get("purpose") == purpose for data in AuditEntry.objects.filter(
        action="personal_data.read").values_list("data", flat=True))


def finding_text(world, case, item: str) -> str:
    from hozen.crypto import reveal

    return reveal(world["investigator"], Finding.objects.get(case=case, item=item), "text", purpose="investigation")


def section_of(page: str, element_id: str) -> str:
    """The HTML of the <section> with this id (up to its closing tag; sections here do not nest)."""
    start = page.index(f'id="{element_id}"')
    return page[start:page.index("</section>", start)]


@pytest.fixture
def complete(world):
    case = to_investigation_complete(world, nominate(world))
    services.assign_adjudicator(actor=world["head"], case=case, adjudicator=world.people["adjudicator"])
    return fresh(case)


@pytest.fixture
def investigating(world):
    case = to_submitted(world, nominate(world))
    services.assign_investigator(actor=world["cao_head"], case=case, investigator=world.people["investigator"])
    return fresh(case)


# --- the adjudicator ---------------------------------------------------------------------------------

def test_the_decision_page_shows_each_items_finding_and_answers_beside_the_field_for_its_reason(
        world, complete, signed_in):
    client = signed_in(world.people["adjudicator"])
    before = reads("adjudication")
    response = client.get(url("adjudicator_decide", complete.pk))
    page = response.content.decode()
    assert response.status_code == 200
    assert SUMMARY in section_of(page, "file-summary")
    for n in range(1, 8):
        item = section_of(page, f"decide-item_{n}")
        assert f"事項{n}: 懸念なし" in item  # the investigator's finding on this item …
        assert f'id="id_reason_item_{n}"' in item  # … beside the field for its reason
    # The person's answers on item 7 (a foreign bank account) are in item 7's block, not item 1's.
    assert "Example Bank" in section_of(page, "decide-item_7")
    assert "Example Bank" not in section_of(page, "decide-item_1")
    assert 'name="outcome"' in page and 'id="adjudicate-form"' in page
    assert reads("adjudication") > before  # the file was read, and the read is recorded
    assert not Adjudication.objects.filter(case=complete).exists()


def test_a_new_round_shows_the_last_rounds_reason_beside_each_item(world, complete, signed_in):
    services.adjudicate(actor=world["adjudicator"], case=complete, outcome="unfavourable", reasons=REASONS)
    services.assign_concurring_adjudicator(actor=world["head"], case=complete, adjudicator=world.people["adjudicator2"])
    services.concur(actor=world["adjudicator2"], case=complete, agree=False)
    assert fresh(complete).state == State.INVESTIGATION_COMPLETE  # not concurred: decided again, round 2
    page = signed_in(world.people["adjudicator"]).get(url("adjudicator_decide", complete.pk)).content.decode()
    for n in range(1, 8):
        assert REASONS[f"item_{n}"] in section_of(page, f"decide-item_{n}")
    assert REASONS["item_2"] not in section_of(page, "decide-item_1")


def test_the_adjudicators_case_page_links_to_the_decision_and_reads_nothing(world, complete, signed_in):
    client = signed_in(world.people["adjudicator"])
    before = AuditEntry.objects.filter(action="personal_data.read").count()
    page = client.get(url("adjudicator_case", complete.pk)).content.decode()
    assert f'href="{url("adjudicator_decide", complete.pk)}"' in page and 'id="open-decide"' in page
    assert 'id="adjudicate-form"' not in page
    assert AuditEntry.objects.filter(action="personal_data.read").count() == before


def test_a_decision_with_errors_comes_back_beside_the_file_with_every_problem_at_once(world, complete, signed_in):
    client = signed_in(world.people["adjudicator"])
    data = {f"reason_{k}": v for k, v in REASONS.items()}
    data["reason_item_2"] = ""
    data["reason_item_6"] = "   "
    response = client.post(url("adjudicator_decide", complete.pk), data)  # no outcome chosen either
    page = response.content.decode()
    assert response.status_code == 200
    summary = page[page.index("data-error-summary"):page.index("</div>", page.index("data-error-summary"))]
    anchors = re.findall(r'<a href="#([^"]+)">', summary)
    assert set(anchors) == {"id_outcome_0", "id_reason_item_2", "id_reason_item_6"}
    for anchor in anchors:
        assert f'id="{anchor}"' in page
    assert "事項2: 懸念なし" in section_of(page, "decide-item_2")  # the file is still beside the form
    assert REASONS["item_3"] in page  # and what was typed is kept
    assert fresh(complete).state == State.INVESTIGATION_COMPLETE
    assert not Adjudication.objects.filter(case=complete).exists()


def test_the_decision_page_is_refused_to_whoever_does_not_decide_the_case(world, complete, signed_in):
    assert signed_in(world.people["investigator"]).get(url("adjudicator_decide", complete.pk)).status_code == 403
    assert signed_in(world.people["subject"]).get(url("adjudicator_decide", complete.pk)).status_code == 403
    services.adjudicate(actor=world["adjudicator"], case=complete, outcome="favourable", reasons=REASONS)
    # Decided: nothing is waiting for a decision, so the page sends the adjudicator to the case.
    client = signed_in(world.people["adjudicator"])
    before = reads("adjudication")
    response = client.get(url("adjudicator_decide", complete.pk))
    assert response.status_code == 302 and response["Location"] == url("adjudicator_case", complete.pk)
    assert reads("adjudication") == before


# --- the investigator -----------------------------------------------------------------------------------

def test_all_seven_findings_are_written_on_one_page_each_with_its_current_text_and_version(
        world, investigating, signed_in):
    services.record_finding(actor=world["investigator"], case=investigating, item="item_3", text="事項3: 記録済み")
    client = signed_in(world.people["investigator"])
    before = reads("investigation")
    page = client.get(url("investigator_finding", investigating.pk)).content.decode()
    for n in range(1, 8):
        block = section_of(page, f"finding-item_{n}")
        assert f'name="finding-item" value="item_{n}"' in block
        assert f'id="id_item_{n}-finding-text"' in block
        assert f'value="item_{n}:{1 if n == 3 else 0}"' in block
    assert "事項3: 記録済み" in section_of(page, "finding-item_3")
    assert reads("investigation") == before + 1  # one finding decrypted, one recorded read
    case_page = client.get(url("investigator_case", investigating.pk)).content.decode()
    assert 'id="open-findings"' in case_page and "事項3: 記録済み" not in case_page


def test_a_finding_saves_by_itself_and_the_answer_names_the_new_version(world, investigating, signed_in):
    client = signed_in(world.people["investigator"])
    target = url("investigator_finding", investigating.pk)
    first = client.post(target, {"finding-item": "item_1", "finding-text": "事項1: 途中まで",
                                 "finding-versions": "item_1:0"}, **AUTOSAVE)
    assert first.status_code == 200 and first["Content-Type"] == "application/json"
    assert first.json()["saved"] is True and first.json()["version"] == 1 and first.json()["revision"] == 1
    second = client.post(target, {"finding-item": "item_1", "finding-text": "事項1: 懸念なし",
                                  "finding-versions": "item_1:1"}, **AUTOSAVE)
    assert second.json()["version"] == 2 and second.json()["revision"] == 2
    assert Finding.objects.get(case=investigating, item="item_1").revision == 2
    assert finding_text(world, investigating, "item_1") == "事項1: 懸念なし"
    assert AuditEntry.objects.filter(action="assessment.record_finding").count() == 2


def test_an_autosave_on_an_older_version_or_with_no_text_is_refused_and_writes_nothing(
        world, investigating, signed_in):
    services.record_finding(actor=world["investigator"], case=investigating, item="item_2", text="事項2: 別の窓")
    client = signed_in(world.people["investigator"])
    target = url("investigator_finding", investigating.pk)
    stale = client.post(target, {"finding-item": "item_2", "finding-text": "事項2: 古いページ",
                                 "finding-versions": "item_2:0"}, **AUTOSAVE)
    assert stale.status_code == 409
    assert stale.json() == {"saved": False, "stale": True, "current_version": 1, "message": stale.json()["message"]}
    assert "変更しました" in stale.json()["message"]
    empty = client.post(target, {"finding-item": "item_4", "finding-text": "  ", "finding-versions": "item_4:0"},
                        **AUTOSAVE)
    assert empty.status_code == 400 and empty.json()["saved"] is False and empty.json()["errors"]["text"]
    unknown = client.post(target, {"finding-item": "item_9", "finding-text": "x", "finding-versions": "item_9:0"},
                          **AUTOSAVE)
    assert unknown.status_code == 400 and unknown.json()["errors"]["item"]
    assert finding_text(world, investigating, "item_2") == "事項2: 別の窓"
    assert not Finding.objects.filter(case=investigating, item__in=["item_4", "item_9"]).exists()
    assert AuditEntry.objects.filter(action="assessment.record_finding").count() == 1


def test_the_save_button_records_the_finding_and_returns_to_its_item(world, investigating, signed_in):
    client = signed_in(world.people["investigator"])
    response = client.post(url("investigator_finding", investigating.pk), {
        "finding-item": "item_5", "finding-text": "事項5: 懸念なし", "finding-versions": "item_5:0"})
    assert response.status_code == 302
    assert response["Location"] == url("investigator_finding", investigating.pk) + "#finding-item_5"
    assert Finding.objects.get(case=investigating, item="item_5").revision == 1


def test_a_finding_with_errors_comes_back_in_its_own_block_with_the_summary_linking_to_it(
        world, investigating, signed_in):
    client = signed_in(world.people["investigator"])
    response = client.post(url("investigator_finding", investigating.pk), {
        "finding-item": "item_6", "finding-text": " ", "finding-versions": "item_6:0"})
    page = response.content.decode()
    assert response.status_code == 200
    block = section_of(page, "finding-item_6")
    assert 'id="id_item_6-finding-text_error"' in block and 'href="#id_item_6-finding-text"' in block
    assert "field-errors" not in section_of(page, "finding-item_5")
    assert not Finding.objects.filter(case=investigating).exists()


def test_the_findings_page_is_refused_to_anyone_but_the_cases_investigator(world, investigating, signed_in):
    assert signed_in(world.people["adjudicator"]).get(url("investigator_finding", investigating.pk)).status_code \
        == 403
    # Another investigator, not assigned to this case: 404 alike for missing and not assigned.
    assert signed_in(world.people["investigator2"]).get(url("investigator_finding", investigating.pk)).status_code \
        == 404
    business = signed_in(world.people["business_officer"])
    response = business.post(url("investigator_finding", investigating.pk), {
        "finding-item": "item_1", "finding-text": "x", "finding-versions": "item_1:0"}, **AUTOSAVE)
    assert response.status_code == 403
    assert not Finding.objects.filter(case=investigating).exists()


def test_a_save_after_the_investigation_is_complete_or_by_someone_not_on_the_case_says_so(world, signed_in):
    case = to_investigation_complete(world, nominate(world))  # findings recorded, investigation complete
    client = signed_in(world.people["investigator"])
    target = url("investigator_finding", case.pk)
    data = {"finding-item": "item_1", "finding-text": "事項1: 後から", "finding-versions": "item_1:1"}
    before = AuditEntry.objects.filter(action="assessment.record_finding").count()
    # Complete: nothing left to revise. The autosave stops with the reason; the button's post goes to
    # the case with it.
    autosaved = client.post(target, data, **AUTOSAVE)
    assert autosaved.status_code == 409 and autosaved["Content-Type"] == "application/json"
    assert autosaved.json()["gone"] is True and autosaved.json()["saved"] is False
    posted = client.post(target, data, follow=True)
    assert posted.redirect_chain[-1][0] == url("investigator_case", case.pk)
    assert "messages" in posted.content.decode() and autosaved.json()["message"] in posted.content.decode()
    other = signed_in(world.people["investigator2"]).post(target, data, **AUTOSAVE)
    assert other.status_code == 404 and other.json()["gone"] is True
    wrong_role = signed_in(world.people["business_officer"]).post(target, data, **AUTOSAVE)
    assert wrong_role.status_code == 403 and wrong_role.json()["gone"] is True
    assert AuditEntry.objects.filter(action="assessment.record_finding").count() == before


def test_a_decision_posted_on_a_case_decided_meanwhile_shows_neither_form_nor_file(world, complete, signed_in):
    client = signed_in(world.people["adjudicator"])
    services.adjudicate(actor=world["adjudicator"], case=complete, outcome="favourable", reasons=REASONS)
    before = reads("adjudication")
    for step in ("review", "edit"):
        response = client.post(url("adjudicator_decide", complete.pk),
                               {"outcome": "unfavourable", "step": step, **{f"reason_{k}": v for k, v in REASONS.items()}})
        assert response.status_code == 302 and response["Location"] == url("adjudicator_case", complete.pk)
    assert reads("adjudication") == before
    assert Adjudication.objects.get(case=complete).outcome == "favourable"
