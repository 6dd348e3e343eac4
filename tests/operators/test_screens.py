"""The organ's screens for its measures (DOMAIN §4): the certification's page from the head's
dashboard, the GOV.UK form pattern with an error summary, a review step before a revocation, and
the business officer's dashboard card showing the state."""

from __future__ import annotations

import pytest

from hozen.operators.models import Certification, Contract

REASON = "保全措置の重大な不備が報告されたため。"


@pytest.fixture
def head_client(signed_in, people):
    return signed_in(people["organ_head"])


def test_the_heads_dashboard_links_the_certification_page(head_client, certification):
    page = head_client.get("/dashboard/").content.decode()
    assert f"/operators/certifications/{certification.pk}/" in page
    page = head_client.get(f"/operators/certifications/{certification.pk}/").content.decode()
    assert "TEST-C-" in page and f"/operators/certifications/{certification.pk}/suspend/" in page


def test_a_suspension_through_the_form(head_client, certification):
    r = head_client.post(f"/operators/certifications/{certification.pk}/suspend/",
                         {"on": "2026-06-01", "reason": REASON, "version": certification.version, "step": "confirm"})
    assert r.status_code == 302
    assert Certification.objects.get(pk=certification.pk).suspended_on is not None


def test_a_short_reason_is_shown_in_the_error_summary_and_changes_nothing(head_client, certification):
    r = head_client.post(f"/operators/certifications/{certification.pk}/suspend/",
                         {"on": "2026-06-01", "reason": "短い", "version": certification.version, "step": "confirm"})
    page = r.content.decode()
    assert r.status_code == 422 and "error-summary" in page and "10" in page
    assert Certification.objects.get(pk=certification.pk).suspended_on is None


def test_a_revocation_is_reviewed_before_it_is_recorded(head_client, certification):
    url = f"/operators/certifications/{certification.pk}/revoke/"
    data = {"on": "2026-06-01", "reason": REASON, "version": certification.version}
    r = head_client.post(url, {**data, "step": "review"})
    assert r.status_code == 200 and 'id="review-form"' in r.content.decode()
    assert Certification.objects.get(pk=certification.pk).revoked_on is None  # nothing recorded yet
    assert head_client.post(url, {**data, "step": "confirm"}).status_code == 302
    assert Certification.objects.get(pk=certification.pk).revoked_on is not None


def test_a_revocation_confirmed_after_the_certification_changed_is_refused(head_client, head, certification):
    from hozen.operators import services

    url = f"/operators/certifications/{certification.pk}/revoke/"
    data = {"on": "2026-06-01", "reason": REASON, "version": certification.version}
    head_client.post(url, {**data, "step": "review"})
    services.suspend_certification(actor=head, certification=certification.pk, on=certification.certified_on.replace(
        year=2026, month=6, day=1), reason=REASON)  # in another window, meanwhile
    r = head_client.post(url, {**data, "step": "confirm"})
    assert r.status_code == 409
    assert Certification.objects.get(pk=certification.pk).revoked_on is None


def test_an_amendment_through_the_form(head_client, contract):
    r = head_client.post(f"/operators/contracts/{contract.pk}/amend/",
                         {"departments_added": "研究開発部\n", "departments_removed": "", "reason": REASON,
                          "version": contract.version})
    assert r.status_code == 302
    assert Contract.objects.get(pk=contract.pk).authorised_departments == ["技術部", "研究開発部"]


def test_the_business_officer_sees_the_suspension_but_no_forms(signed_in, people, head, certification):
    from hozen.operators import services

    services.suspend_certification(actor=head, certification=certification.pk,
                                   on=certification.certified_on.replace(year=2026, month=6, day=1), reason=REASON)
    client = signed_in(people["business_officer"])
    dashboard = client.get("/dashboard/").content.decode()
    assert "2026" in dashboard and f"/operators/certifications/{certification.pk}/" in dashboard
    page = client.get(f"/operators/certifications/{certification.pk}/").content.decode()
    assert REASON in page and "/suspend/" not in page and "/restore/" not in page
    assert client.get(f"/operators/certifications/{certification.pk}/restore/").status_code == 403


def test_an_outsider_sees_404(signed_in, orgs, certification):
    from tests import factories

    client = signed_in(factories.account(role="organ_head", organisation=orgs["MIC"]))
    assert client.get(f"/operators/certifications/{certification.pk}/").status_code == 404
