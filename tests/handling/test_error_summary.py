"""The briefing acknowledgement answers a bad post in the GOV.UK pattern (issue 15): one error
summary listing every problem, the unticked confirmation linked to its box, nothing recorded."""

from __future__ import annotations

import pytest

from hozen.audit.models import AuditEntry
from hozen.handling.models import BriefingAcknowledgement
from tests.error_summary import one_summary

pytestmark = pytest.mark.django_db


def test_an_unticked_box_and_a_missing_text_hash_are_both_listed_and_nothing_is_recorded(people, signed_in):
    client = signed_in(people["subject"])
    before = AuditEntry.objects.count()
    response = client.post("/handling/briefing/", {"tier": "esi"})
    assert response.status_code == 200
    html = response.content.decode()
    summary = one_summary(html, problems=2)
    assert summary.id == "error-summary"
    form = response.context["form"]
    # The hidden hash's problem is text (there is no field to go to); the box's is a link to it.
    assert summary.items == [str(form.errors["text_sha256"][0]), str(form.errors["confirm"][0])]
    assert summary.links == ["id_confirm"]
    assert 'id="id_confirm_error"' in html and 'id="form-errors"' not in html
    assert not BriefingAcknowledgement.objects.exists()
    assert AuditEntry.objects.count() == before


def test_a_stale_text_is_listed_in_the_summary(people, signed_in):
    client = signed_in(people["subject"])
    response = client.post("/handling/briefing/", {"tier": "esi", "text_sha256": "0" * 64, "confirm": "on"})
    assert response.status_code == 200
    summary = one_summary(response.content.decode(), problems=1)
    assert summary.links == [] and summary.items == [str(e) for e in response.context["form"].non_field_errors()]
    assert not BriefingAcknowledgement.objects.exists()
