"""Every stage has a clock from the rules pack (LESSONS.md: "every case stage has a clock");
queues show what is due and overdue."""

from __future__ import annotations

import datetime as dt

import pytest

from hozen.assessment import queries, services
from hozen.assessment.states import STAGE_TARGETS
from hozen.core import jobs as registry
from hozen.rules import loader
from hozen.rules.queries import current_pack

from .conftest import TODAY, new_employee, nominate

pytestmark = pytest.mark.django_db

STAGES = sorted({*STAGE_TARGETS.values(), "complaint"})


@pytest.mark.parametrize("tier", ["esi", "sds"])
def test_both_packs_carry_a_target_for_every_stage_flagged_to_verify(tier):
    pack = current_pack(tier, TODAY)
    for stage in STAGES:
        key = f"assessment.target_days.{stage}"
        assert key in loader.VALUE_SPECS and loader.VALUE_SPECS[key].unit == "days"
        assert pack.value(key) > 0 and pack.is_to_verify(key), key
    assert pack.describe("assessment.target_days.notice", "en") == "14 days (to verify)"
    assert pack.describe("assessment.target_days.notice", "ja") == "14日（要確認）"


def test_a_pack_without_a_stage_target_is_refused_by_the_loader():
    from hozen.rules.storage import PACKS_DIR

    text = (PACKS_DIR / "jp-esi-2025.yaml").read_text(encoding="utf-8")
    start = text.index("  assessment.target_days.concurrence:")
    end = text.index("  assessment.target_days.notification:")
    with pytest.raises(loader.PackError) as info:
        loader.load(text[:start] + text[end:], "short.yaml")
    assert "assessment.target_days.concurrence" in info.value.message_en


def test_the_queue_lists_the_soonest_due_first_and_flags_the_overdue(world, _frozen_today):
    first = nominate(world)
    _frozen_today.move_to(dt.datetime(2026, 6, 10, 3, 0, tzinfo=dt.UTC))
    second = nominate(world, new_employee(world))
    assert list(queries.queue_for(world["security"])) == [first, second]
    _frozen_today.move_to(dt.datetime(2026, 6, 16, 3, 0, tzinfo=dt.UTC))
    assert queries.is_overdue(first) and not queries.is_overdue(second)
    status = queries.case_status(world.subject_actor(first.person), first)
    assert (status["stage_due_on"], status["overdue"]) == (dt.date(2026, 6, 15), True)
    services.give_notice(actor=world["security"], case=first)
    assert list(queries.queue_for(world["security"])) == [second]
    assert list(queries.queue_for(world.subject_actor(first.person))) == [first]


def test_the_retention_job_is_registered():
    assert "assessment.retention" in {job.name for job in registry.registered()}
