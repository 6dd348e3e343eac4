"""No prose in the log (issue 12 §8): the reason an administrator types for a second-factor reset
may carry personal data, and the audit log keeps everything for ever, so the reason lives in its
own encrypted, shreddable record that the `otp.reset` entry names by id."""

from __future__ import annotations

import json

import pytest

from hozen import crypto
from hozen.access.policy import PolicyDenied
from hozen.audit.models import AuditEntry
from hozen.core import services
from hozen.core.actor import Actor
from hozen.core.errors import RuleViolation
from hozen.core.models import SecondFactorReset
from hozen.crypto.keys import DataKeyDestroyed
from tests import factories

pytestmark = pytest.mark.django_db

REASON = "携帯電話を紛失。上司の佐藤花子さん（電話 090-1234-5678）が窓口で本人確認した。"
SECRETS = ("佐藤花子", "090-1234-5678", "携帯電話を紛失")


def _actor(account) -> Actor:
    return Actor.for_account(account, account.active_assignments().first(), channel="web",
                             second_factor_verified=True)


def _log_bytes() -> list[bytes]:
    return [entry.data.encode("utf-8") for entry in AuditEntry.objects.order_by("id")]


def test_the_reset_reason_typed_with_a_name_and_a_phone_number_is_in_no_audit_entry(people):
    victim = people["investigator"]
    services.reset_second_factor(actor=_actor(people["sysadmin"]), account=victim, reason=REASON)
    for data in _log_bytes():
        for secret in SECRETS:
            assert secret.encode("utf-8") not in data
    [entry] = [json.loads(e.data) for e in AuditEntry.objects.filter(action="otp.reset")]
    reset = SecondFactorReset.objects.get(account=victim)
    assert entry["details"]["reset"] == {"type": "core.secondfactorreset", "id": str(reset.pk)}
    assert "purpose" not in entry
    # At rest the reason is ciphertext: not in the row's bytes either.
    assert str(reset.reason) == "[encrypted]"
    assert b"090-1234-5678" not in bytes(reset.reason.ciphertext)


def test_the_reset_reason_typed_on_the_screen_is_in_no_audit_entry(people):
    client = factories.signed_in_client(people["sysadmin"])
    victim = people["adjudicator"]
    response = client.post(f"/admin/accounts/{victim.pk}/reset-second-factor/", {"reason": REASON})
    assert response.status_code == 200 and 'id="enrolment-link"' in response.content.decode()
    assert SecondFactorReset.objects.filter(account=victim).exists()
    for data in _log_bytes():
        for secret in SECRETS:
            assert secret.encode("utf-8") not in data


def test_the_auditor_reads_the_reason_through_reveal_and_the_read_is_on_the_persons_list(people):
    victim = people["investigator"]
    services.reset_second_factor(actor=_actor(people["sysadmin"]), account=victim, reason=REASON)
    reset = SecondFactorReset.objects.get(account=victim)
    with pytest.raises(PolicyDenied):  # the administrator who typed it does not read it back from the record
        crypto.reveal(_actor(people["sysadmin"]), reset, "reason", purpose="misuse_investigation")
    text = crypto.reveal(_actor(people["auditor"]), reset, "reason", purpose="misuse_investigation")
    assert text == REASON.replace("（", "(").replace("）", ")")  # stored NFKC by the one text policy
    [read] = [json.loads(e.data) for e in AuditEntry.objects.filter(action="personal_data.read", outcome="success")]
    assert read["details"]["subject_person_id"] == victim.person_id and read["purpose"] == "misuse_investigation"


def test_a_shredded_reset_reason_can_no_longer_be_read(people):
    victim = people["investigator"]
    services.reset_second_factor(actor=_actor(people["sysadmin"]), account=victim, reason=REASON)
    reset = SecondFactorReset.objects.get(account=victim)
    crypto.shred(Actor.operator("tests"), reset, "retention_expired")
    reset = SecondFactorReset.objects.get(pk=reset.pk)
    with pytest.raises(DataKeyDestroyed):
        crypto.reveal(_actor(people["auditor"]), reset, "reason", purpose="misuse_investigation")


@pytest.mark.parametrize(("reason", "code"), [
    ("\x00" * 11, "invalid_character"),           # eleven NULs once passed "at least 10 characters"
    (" " * 12 + "\u200b" * 12, "text_too_short"),  # invisible characters are no reason
    ("本人確認済み\u202e、端末紛失のため", "invalid_character"),
])
def test_a_reset_reason_is_checked_by_the_text_policy_and_a_refusal_writes_nothing(people, reason, code):
    before = (AuditEntry.objects.count(), SecondFactorReset.objects.count())
    with pytest.raises(RuleViolation) as info:
        services.reset_second_factor(actor=_actor(people["sysadmin"]), account=people["investigator"], reason=reason)
    assert (info.value.code, info.value.field) == (code, "reason")
    assert (AuditEntry.objects.count(), SecondFactorReset.objects.count()) == before


def test_the_reset_form_no_longer_says_the_reason_goes_to_the_audit_log():
    from django.utils import translation

    from hozen.core.forms import ResetSecondFactorForm

    with translation.override("en"):
        label = str(ResetSecondFactorForm().fields["reason"].label)
    assert "audit log" in label and "recorded in the audit log" not in label
