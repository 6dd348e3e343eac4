"""Issue 6 §1 "a PDF of the notice and of the consent is kept", §4 PDF notices, and DOMAIN §6
step 9 "outcome notified in writing": the notice and consent papers are rendered once, kept
encrypted under the case's key with their SHA-256 (also in the audit entry), served as kept, and
unreadable after shredding; complaint and adverse-treatment outcomes come as PDFs too."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import io

import pytest

from hozen.access.policy import PolicyDenied
from hozen.assessment import papers, services
from hozen.assessment.models import CaseDocument
from hozen.core.actor import Actor
from hozen.core.errors import RuleViolation
from hozen.crypto import reveal
from hozen.documents import assessment as documents
from tests import factories

from .conftest import audit_entries, cleared, fresh, nominate, to_consented

pytestmark = pytest.mark.django_db


def _sha(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


def _pdf_text(body: bytes) -> str:
    import pypdf

    return "".join(p.extract_text() for p in pypdf.PdfReader(io.BytesIO(body)).pages).replace("\n", "")


def _signed_in_subject(world, signed_in):
    from django_otp.plugins.otp_totp.models import TOTPDevice

    account = world.people["subject"]
    client = signed_in(account)
    if not TOTPDevice.objects.filter(user=account, confirmed=True).exists():
        TOTPDevice.objects.create(user=account, name="phone", key=factories.TOTP_KEY, confirmed=True)
    return client


def test_the_notice_pdf_is_kept_when_given_with_its_hash_in_the_audit_entry(world):
    case = nominate(world)
    services.give_notice(actor=world["security"], case=case, language="en")
    kept = {d.language: d for d in CaseDocument.objects.filter(case=case, kind="notice")}
    assert set(kept) == {"ja", "en"}
    assert str(kept["ja"].content) == "[encrypted]"  # ciphertext at rest under the case's key
    entry = audit_entries("assessment.give_notice")[-1]
    assert entry["details"]["notice_pdf_sha256"] == {"ja": kept["ja"].sha256, "en": kept["en"].sha256}
    body, sha256 = papers.kept_pdf(world.subject_actor(case.person), fresh(case), "notice", "ja",
                                   purpose="subject_access")
    assert _sha(body) == sha256 == kept["ja"].sha256 and body.startswith(b"%PDF")


def test_a_later_template_change_does_not_change_the_served_notice_or_consent(world, signed_in, monkeypatch):
    case = to_consented(world, nominate(world))
    client = _signed_in_subject(world, signed_in)
    notice_before = client.get(f"/assessment/portal/{case.pk}/notice.pdf").content
    consent_before = client.get(f"/assessment/portal/{case.pk}/consent.pdf?lang=en").content
    assert notice_before.startswith(b"%PDF") and consent_before.startswith(b"%PDF")

    # The wording and the template change after the papers were given.
    def changed(*args, **kwargs):
        raise AssertionError("a kept paper must not be rendered again")

    monkeypatch.setattr(documents, "assessment_notice", changed)
    monkeypatch.setattr(documents, "consent_record", changed)
    monkeypatch.setattr(papers, "RENDERERS", {k: changed for k in papers.RENDERERS})
    assert client.get(f"/assessment/portal/{case.pk}/notice.pdf").content == notice_before
    assert client.get(f"/assessment/portal/{case.pk}/consent.pdf?lang=en").content == consent_before
    token = factories.api_token(world.people["subject"])
    api = client.get(f"/api/v1/assessment/cases/{case.pk}/notice.pdf", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert api.content == notice_before and api["X-Content-SHA256"] == _sha(notice_before)


def test_each_declaration_keeps_a_new_consent_record_and_the_latest_is_served(world):
    case = to_consented(world, nominate(world))
    subject = world.subject_actor(case.person)
    first, _ = papers.kept_pdf(subject, fresh(case), "consent_record", "en", purpose="subject_access")
    assert "Record of consent" in _pdf_text(first) and "Withdrew" not in _pdf_text(first)
    services.withdraw_consent(actor=subject, case=case)
    latest, sha256 = papers.kept_pdf(subject, fresh(case), "consent_record", "en", purpose="subject_access")
    assert latest != first and "Withdrew" in _pdf_text(latest)
    assert CaseDocument.objects.filter(case=case, kind="consent_record").count() == 4  # two declarations × ja/en
    assert audit_entries("assessment.withdraw_consent")[-1]["details"]["consent_pdf_sha256"]["en"] == sha256


def test_a_refusal_keeps_the_record_of_refusal(world):
    case = nominate(world)
    services.give_notice(actor=world["security"], case=case)
    services.refuse(actor=world.subject_actor(case.person), case=case)
    body, _ = papers.kept_pdf(world.subject_actor(case.person), fresh(case), "consent_record", "ja",
                              purpose="subject_access")
    assert "不同意書" in _pdf_text(body)


def test_reading_a_kept_paper_is_audited_and_on_the_subjects_list_of_reads(world):
    from hozen.audit.models import AuditEntry

    case = to_consented(world, nominate(world))
    reads = AuditEntry.objects.filter(action="personal_data.read", subject_person_id=case.person_id)
    before = reads.count()
    papers.kept_pdf(world["head"], fresh(case), "notice", "ja", purpose="case_work")
    assert reads.count() == before + 1


@pytest.mark.parametrize("who,code", [("business", "status_only"), ("sysadmin", "no_assessment_content"),
                                      ("investigator", "not_assigned_to_case"), ("mic_security", "status_only")])
def test_the_kept_papers_are_refused_to_anyone_but_the_subject_and_the_deciding_organ(world, who, code):
    case = to_consented(world, nominate(world))
    with pytest.raises(PolicyDenied) as info:
        papers.kept_pdf(world[who], fresh(case), "notice", "ja", purpose="case_work")
    assert info.value.decision.code == code
    document = CaseDocument.objects.filter(case=case).first()
    with pytest.raises(PolicyDenied):
        reveal(world[who], document, "content", purpose="case_work")


def test_shredding_at_retention_makes_the_kept_papers_unreadable(world, _frozen_today):
    from hozen.crypto.keys import DataKeyDestroyed

    case, _clearance = cleared(world)
    document = CaseDocument.objects.filter(case=case, kind="notice", language="ja").first()
    _frozen_today.move_to(dt.datetime(2036, 6, 2, 3, 0, tzinfo=dt.UTC))
    assert services.retention_run(actor=Actor.job("assessment.retention")).cases_shredded == 1
    subject = world.subject_actor(case.person)
    with pytest.raises(RuleViolation) as info:
        papers.kept_pdf(subject, fresh(case), "notice", "ja", purpose="subject_access")
    assert info.value.code == "case_file_destroyed"
    with pytest.raises(DataKeyDestroyed):
        reveal(subject, CaseDocument.objects.get(pk=document.pk), "content", purpose="subject_access")
    assert base64.b64encode(b"%PDF")[:4] not in bytes(CaseDocument.objects.get(pk=document.pk).content.ciphertext)


# --- outcomes notified in writing -------------------------------------------------------------------------

def test_the_complaint_outcome_is_notified_as_a_pdf_in_japanese_and_english(world, signed_in):
    case, _clearance = cleared(world)
    subject = world.subject_actor(case.person)
    complaint = services.file_complaint(actor=subject, case=case, text="調査の進め方に疑問があります。")
    client = _signed_in_subject(world, signed_in)
    assert client.get(f"/assessment/portal/{case.pk}/complaints/{complaint.pk}.pdf").status_code == 404  # undecided
    services.assign_complaint_handler(actor=world["head"], complaint=complaint,
                                      handler=world.people["complaint_handler"])
    services.decide_complaint(actor=world["handler"], complaint=complaint, outcome="corrected",
                              reasons="照会の記録に不備があったため是正した。")
    page = client.get(f"/assessment/portal/{case.pk}/complaints/").content.decode()
    assert f"/assessment/portal/{case.pk}/complaints/{complaint.pk}.pdf" in page
    ja = _pdf_text(client.get(f"/assessment/portal/{case.pk}/complaints/{complaint.pk}.pdf?lang=ja").content)
    assert "苦情処理結果通知書" in ja and "照会の記録に不備があったため是正した。" in ja and "是正しました" in ja
    en = _pdf_text(client.get(f"/assessment/portal/{case.pk}/complaints/{complaint.pk}.pdf?lang=en").content)
    assert "Notice of the outcome of a complaint" in en and "Upheld: the handling was corrected." in en


def test_the_adverse_treatment_decision_is_notified_as_a_pdf(world, signed_in):
    case = to_consented(world, nominate(world))
    report = services.report_adverse_treatment(actor=world.subject_actor(case.person), case=case, kind="pay_cut",
                                               text="減給された。")
    services.decide_adverse_treatment(actor=world["head"], report=report, outcome="employer_instructed",
                                      reasons="雇用主に是正を求めた。")
    client = _signed_in_subject(world, signed_in)
    assert f"/adverse-treatment/{report.pk}.pdf" in client.get(
        f"/assessment/portal/{case.pk}/adverse-treatment/").content.decode()
    text = _pdf_text(client.get(f"/assessment/portal/{case.pk}/adverse-treatment/{report.pk}.pdf").content)
    assert "雇用主に是正を求めた。" in text and "減給" in text and "雇用主には送付されていません" in text


def test_another_persons_outcome_pdfs_are_404(world, signed_in):
    from .conftest import new_employee

    case, _clearance = cleared(world)
    complaint = services.file_complaint(actor=world.subject_actor(case.person), case=case, text="x")
    other = new_employee(world)
    client = signed_in(other.account)
    assert client.get(f"/assessment/portal/{case.pk}/complaints/{complaint.pk}.pdf").status_code == 404
