"""DOMAIN §5 (4), §7: the briefing per rules pack, in Japanese and English, acknowledged before
first access as a signed record; re-acknowledged on a rules-pack change or after 12 months."""

from __future__ import annotations

import datetime as dt

import pytest

from hozen.core.errors import RuleViolation
from hozen.handling import briefings, services
from hozen.handling.models import BriefingAcknowledgement
from tests.handling.conftest import audit_entries
from tests.handling_factories import actor_for


def test_briefing_states_the_penalties_of_the_rules_pack_in_both_languages(db):
    b = briefings.current("esi", dt.date(2026, 6, 1))
    ja, en = "\n".join(b.paragraphs_ja), "\n".join(b.paragraphs_en)
    assert "5年以下の拘禁刑若しくは5,000,000円以下の罰金又はその併科" in ja
    assert "up to 5 years' imprisonment (拘禁刑) and/or a fine up to ¥5,000,000" in en
    assert "（要確認）" in ja and "(to verify)" in en  # the unconfirmed maxima are flagged
    assert b.pack_code == "jp-esi-2025" and len(b.sha256) == 64


def test_sds_briefing_states_the_sds_penalties(db):
    b = briefings.current("sds", dt.date(2026, 6, 1))
    assert "10 years' imprisonment" in "\n".join(b.paragraphs_en)
    assert b.sha256 != briefings.current("esi", dt.date(2026, 6, 1)).sha256


def test_acknowledgement_is_signed_and_audited(people):
    actor = actor_for(people["subject"])
    b = briefings.current("esi")
    ack = services.acknowledge_briefing(actor=actor, text_sha256=b.sha256, language="en")
    assert ack.text_sha256 == b.sha256 and ack.briefing_version == b.version and ack.language == "en"
    assert ack.signature == briefings.signature(account_id=people["subject"].pk, briefing=b,
                                                acknowledged_at=ack.acknowledged_at)
    [logged] = audit_entries("handling.briefing.acknowledged")
    assert logged["details"]["signature"] == ack.signature
    assert logged["details"]["text_sha256"] == b.sha256
    assert logged["details"]["rules_pack"] == "jp-esi-2025 v1"


def test_signature_binds_the_account_and_the_text(people):
    b = briefings.current("esi")
    at = dt.datetime(2026, 6, 1, tzinfo=dt.UTC)
    one = briefings.signature(account_id=1, briefing=b, acknowledged_at=at)
    assert one != briefings.signature(account_id=2, briefing=b, acknowledged_at=at)
    assert one != briefings.signature(account_id=1, briefing=briefings.current("sds"), acknowledged_at=at)


def test_acknowledging_a_text_that_changed_meanwhile_records_nothing(people):
    with pytest.raises(RuleViolation) as e:
        services.acknowledge_briefing(actor=actor_for(people["subject"]), text_sha256="0" * 64)
    assert e.value.code == "briefing_changed"
    assert not BriefingAcknowledgement.objects.exists()


def test_nobody_acknowledges_for_someone_else(db):
    from hozen.access.policy import PolicyDenied
    from hozen.core.actor import Actor

    with pytest.raises(PolicyDenied):
        services.acknowledge_briefing(actor=Actor.job("x"))


def test_briefing_max_age_setting_defaults_to_365_days(settings):
    assert briefings.max_age_days() == 365
    settings.HOZEN_BRIEFING_MAX_AGE_DAYS = 90
    assert briefings.max_age_days() == 90
