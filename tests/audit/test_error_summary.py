"""The audit log's filter answers bad values in the GOV.UK pattern (issue 15): one error summary
above the filter listing every problem, each linked to its field, the values kept, no entries shown
and nothing exported."""

from __future__ import annotations

import pytest

from hozen.audit.models import AuditEntry
from tests.error_summary import one_summary

pytestmark = pytest.mark.django_db

LOG = "/audit/log/"
EXPORT = "/audit/log/export.csv"
BAD = {"action": "session..x", "outcome": "maybe", "actor": "alice"}


@pytest.fixture
def auditor(people, signed_in):
    return signed_in(people["auditor"])


@pytest.mark.parametrize("path", [LOG, EXPORT])
def test_two_bad_filter_values_are_listed_in_one_summary_and_nothing_is_shown_or_exported(auditor, path):
    before = AuditEntry.objects.count()
    response = auditor.get(path, BAD)
    assert response.status_code == 200 and response["Content-Type"].startswith("text/html")
    html = response.content.decode()
    summary = one_summary(html, problems=2)
    assert summary.id == "form-errors"  # the name the filter's error box always had
    assert summary.links == ["id_action", "id_outcome"]
    form = response.context["form"]
    assert summary.items == [str(e) for name in ("action", "outcome") for e in form.errors[name]]
    assert response.context["page"] is None and 'id="audit-entries"' not in html
    assert 'value="session..x"' in html and 'value="alice"' in html  # what was typed stays
    assert not AuditEntry.objects.filter(action="audit.exported").exists()
    assert AuditEntry.objects.count() == before


def test_a_broken_page_link_is_listed_as_text_beside_the_field_problems(auditor):
    response = auditor.get(LOG, {"before": "abc", "outcome": "maybe"})
    summary = one_summary(response.content.decode(), problems=2)
    assert summary.links == ["id_outcome"]  # the cursor is hidden: its problem is text, first
    assert summary.items[1] == str(response.context["form"].errors["outcome"][0])
