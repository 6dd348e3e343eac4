"""One state label (issue 15): a designation's state reads the same on the screens, in the ledger's
CSV and in its PDF, for every state, an extended designation included (it read 指定中 on screen,
指定中（延長） in the CSV and 延長 in the PDF). Time is frozen at 2026-06-01 (conftest)."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re

import pypdf
import pytest

from hozen.designation import exports, services
from hozen.designation.models import STATE_LABELS, Designation, state_label

pytestmark = pytest.mark.django_db

REASON = "要件を引き続き満たすため延長する"


@pytest.fixture
def one_in_every_state(make_designation, meti, sds_pack, _frozen_today):
    """A designation of METI in each state the ledger shows, keyed by its label's key."""
    made = {"designated": make_designation(), "extended": make_designation(), "cancelled": make_designation(),
            "moved_to_sds": make_designation(), "transferred": make_designation(),
            "expired": make_designation(term_end=dt.date(2026, 6, 10))}
    services.extend(actor=meti["head"], designation=made["extended"], new_end=dt.date(2036, 5, 31), reason=REASON)
    services.cancel(actor=meti["head"], designation=made["cancelled"], reason="非公知性の要件を満たさなくなったため")
    item = sds_pack.sub_items.select_related("category").first()
    services.move_to_sds(actor=meti["head"], designation=made["moved_to_sds"], reason="著しい支障のおそれが判明したため",
                         sds_category=item.category, sds_sub_item=item, term_end=dt.date(2031, 5, 31),
                         justification_harm="漏えいすれば著しい支障を与えるおそれがあることが判明した。")
    services.record_refused_cabinet_approval(actor=meti["head"], designation=made["transferred"],
                                             requested_end=dt.date(2061, 5, 31), refusal_ref="閣議-2026-不承認-1")
    # The expired one: its term ended on 2026-06-10; dates decide from the next day on.
    _frozen_today.move_to(dt.datetime(2026, 7, 1, 3, 0, tzinfo=dt.UTC))
    return {key: Designation.objects.get(pk=d.pk) for key, d in made.items()}


def test_every_state_label_is_given_in_both_languages():
    assert set(STATE_LABELS) == {"draft", "designated", "extended", "expired", "cancelled", "moved_to_sds",
                                 "transferred"}
    for ja, en in STATE_LABELS.values():
        assert ja and en and ja != en


def test_screen_csv_and_pdf_give_the_same_state_label_for_every_state(one_in_every_state, signed_in, people):
    made = one_in_every_state
    expected = {key: STATE_LABELS[key][0] for key in made}
    assert {key: state_label(d, "ja") for key, d in made.items()} == expected
    assert expected["extended"] == "指定中（延長）" and expected["designated"] == "指定中"

    # The screens (Japanese, the reader's language): the ledger and each designation's page.
    client = signed_in(people["organ_head"])
    ledger = client.get("/designations/ledger/METI/").content.decode()
    on_ledger = {int(pk): label for pk, label in re.findall(r'id="state-(\d+)">([^<]*)<', ledger)}
    for key, d in made.items():
        assert on_ledger[d.pk] == expected[key], key
        page = client.get(f"/designations/{d.pk}/").content.decode()
        assert re.search(r'<dd id="state">([^<]*)</dd>', page).group(1) == expected[key], key

    # The CSV ledger.
    rows = list(csv.DictReader(io.StringIO(exports.ledger_csv(made.values()).decode("utf-8-sig"))))
    by_reference = {row["指定番号"]: row["状態"] for row in rows}
    assert {key: by_reference[d.reference] for key, d in made.items()} == expected

    # The PDF ledger: the rows it is built from, and the rendered text.
    assert {key: exports.ledger_document_row(d)["state"] for key, d in made.items()} == expected
    from hozen.core.models import Organisation

    pdf = exports.ledger_pdf(Organisation.objects.get(code="METI"), list(made.values()),
                             dt.datetime(2026, 7, 1, 12, 0, tzinfo=dt.UTC))
    text = "".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(pdf)).pages).replace("\n", "")
    for label in expected.values():
        assert label in text, label


def test_the_english_screen_says_designated_extended(one_in_every_state):
    assert state_label(one_in_every_state["extended"], "en") == "Designated (extended)"
    assert state_label(one_in_every_state["designated"], "en") == "Designated"


def test_the_list_labels_an_extended_designation_without_a_query_per_row(one_in_every_state, signed_in, people,
                                                                         django_assert_max_num_queries):
    client = signed_in(people["esi_manager"])
    client.get("/designations/")
    with django_assert_max_num_queries(12) as captured:
        page = client.get("/designations/").content.decode()
    assert "指定中（延長）" in page
    assert not [q for q in captured.captured_queries if "designation_extension" in q["sql"]
                and "EXISTS" not in q["sql"].upper()]


def test_the_list_filter_and_the_statistics_use_the_same_labels(one_in_every_state, signed_in, people):
    client = signed_in(people["organ_head"])
    choices = dict(client.get("/designations/").context["form"].fields["state"].choices)
    assert {k: str(v) for k, v in choices.items() if k} == {k: ja for k, (ja, _en) in STATE_LABELS.items()
                                                            if k != "extended"}
    stats = client.get("/designations/statistics/").context["states"]
    assert {k: label for k, label, _n in stats} == {k: STATE_LABELS[k][0] for k, _l, _n in stats}
