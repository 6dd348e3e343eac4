"""The designation life cycle under any order of actions (issue 11): a Hypothesis state machine
interleaves the ESI managers, the organ heads and the passing of time over a few designations,
valid and invalid actions alike, and after every step checks ARCHITECTURE rules 8–10: a refused
action changed nothing, the rows agree with the log (`reconcile`), references are unique and
gapless per year, and what is in force follows the dates."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from hozen.access.policy import PolicyDenied
from hozen.audit.models import AuditEntry
from hozen.audit.reconcile import reconcile
from hozen.core.actor import Actor
from hozen.core.errors import RuleViolation
from hozen.designation import services
from hozen.designation.models import Designation, State
from hozen.rules.queries import current_pack

pytestmark = pytest.mark.django_db

REFUSED = (RuleViolation, PolicyDenied)


def snapshot(pk: int) -> tuple:
    d = Designation.objects.get(pk=pk)
    return (d.state, d.reference, d.term_end, d.title, d.version, d.approved_by_id, d.ended_on, d.successor_id,
            AuditEntry.objects.filter(outcome="success").count())


def test_any_order_of_actions_keeps_the_rows_and_the_log_in_agreement(meti, orgs, draft_fields, _frozen_today):
    sds = current_pack("sds", dt.date(2026, 6, 1))
    sds_item = sds.sub_items.select_related("category").first()
    people = {"manager": meti["manager"], "manager2": meti["manager2"], "head": meti["head"],
              "head_mic": meti["head_mic"], "security": meti["security"]}

    class Lifecycle(RuleBasedStateMachine):
        @initialize(days=st.lists(st.integers(0, 1825), min_size=2, max_size=3))
        def start(self, days):
            """A few drafts of the organ (terms of 0 days to 5 years), the first approved."""
            _frozen_today.move_to(dt.datetime(2026, 6, 1, 3, 0, tzinfo=dt.UTC))
            self.refusals = 0
            self.successes = 0
            today = _today()
            self.ids = [services.create_draft(actor=people["manager"], organisation=orgs["METI"], **{
                **draft_fields, "designated_on": today, "term_end": today + dt.timedelta(days=n)}).pk for n in days]
            services.approve(actor=people["head"], designation=self.ids[0])

        def _try(self, pk: int, call) -> bool:
            """Run `call`; if refused, nothing about the designation (or the log's successes) changed."""
            before = snapshot(pk)
            try:
                call()
            except REFUSED:
                assert snapshot(pk) == before, "a refused action changed the record"
                self.refusals += 1
                return False
            return True

        def _pick(self, data) -> int:
            return data.draw(st.sampled_from(self.ids))

        def _ended(self, pk: int) -> bool:
            """Not in force by the dates alone (rule 9), whatever the stored state says."""
            return not Designation.objects.get(pk=pk).is_in_force

        def _must_refuse_when_ended(self, pk: int, call) -> None:
            ended = self._ended(pk)
            done = self._try(pk, call)
            assert not (ended and done), "an action on a designation not in force was accepted"
            self.successes += done

        @precondition(lambda self: len(self.ids) < 5)
        @rule(who=st.sampled_from(["manager", "manager2", "head"]), days=st.integers(0, 2000))
        def draft(self, who, days):
            today = _today()
            fields = {**draft_fields, "designated_on": today, "term_end": today + dt.timedelta(days=days)}
            try:
                d = services.create_draft(actor=people[who], organisation=orgs["METI"], **fields)
            except REFUSED:
                return
            self.ids.append(d.pk)

        @precondition(lambda self: self.ids)
        @rule(data=st.data(), who=st.sampled_from(["manager", "manager2", "head"]), stale=st.booleans())
        def edit(self, data, who, stale):
            pk = self._pick(data)
            version = Designation.objects.get(pk=pk).version - (1 if stale else 0)
            self._try(pk, lambda: services.update_draft(actor=people[who], designation=pk, version=version,
                                                        title=f"件名 v{version + 1}"))

        @precondition(lambda self: self.ids)
        @rule(data=st.data(), who=st.sampled_from(["head", "manager", "head_mic"]))
        def approve(self, data, who):
            pk = self._pick(data)
            d = Designation.objects.get(pk=pk)
            term_over = d.term_end < _today()
            done = self._try(pk, lambda: services.approve(actor=people[who], designation=pk))
            assert not (done and term_over), "a draft whose term had ended was approved"
            self.successes += done

        @precondition(lambda self: self.ids)
        @rule(data=st.data(), years=st.integers(1, 6))
        def extend(self, data, years):
            pk = self._pick(data)
            end = Designation.objects.get(pk=pk).term_end
            self._must_refuse_when_ended(pk, lambda: services.extend(actor=people["head"], designation=pk,
                                                  new_end=end.replace(year=end.year + years) - dt.timedelta(days=1),
                                                  reason="延長の理由をここに十分に書く"))

        @precondition(lambda self: self.ids)
        @rule(data=st.data(), who=st.sampled_from(["head", "security"]))
        def cancel(self, data, who):
            pk = self._pick(data)
            self._must_refuse_when_ended(pk, lambda: services.cancel(actor=people[who], designation=pk, reason="要件を満たさなくなったため解除する"))

        @precondition(lambda self: self.ids)
        @rule(data=st.data(), met=st.booleans())
        def review(self, data, met):
            pk = self._pick(data)
            self._must_refuse_when_ended(pk, lambda: services.review(actor=people["manager"], designation=pk, requirements_met=met,
                                                  note="" if met else "非公知性の要件を満たさなくなったため"))

        @precondition(lambda self: self.ids)
        @rule(data=st.data())
        def move_to_sds(self, data):
            pk = self._pick(data)
            today = _today()
            ended = self._ended(pk)
            moved = self._try(pk, lambda: services.move_to_sds(
                actor=people["head"], designation=pk, reason="特定秘密に該当するため移行する", sds_category=sds_item.category,
                sds_sub_item=sds_item, term_end=today + dt.timedelta(days=365),
                justification_harm="漏えいすれば安全保障に著しい支障を与えるおそれがある。"))
            assert not (ended and moved), "a designation not in force was moved to SDS"
            if moved:
                self.ids.append(Designation.objects.get(pk=pk).successor_id)

        @rule(days=st.integers(1, 700))
        def time_passes(self, days):
            _frozen_today.shift(dt.timedelta(days=days))

        @rule()
        def daily_job(self):
            services.expire_due(actor=Actor.job("designation.expire_and_review"))

        @invariant()
        def rows_agree_with_the_log(self):
            report = reconcile(kinds=["designation"])
            assert report.ok, [d.line() for d in report.disagreements]

        @invariant()
        def references_are_unique_and_gapless_per_organ_tier_and_year(self):
            rows = Designation.objects.exclude(reference=None).values_list("organisation_id", "tier", "year", "serial")
            groups: dict = {}
            for org, tier, year, serial in rows:
                groups.setdefault((org, tier, year), []).append(serial)
            for serials in groups.values():
                assert sorted(serials) == list(range(1, len(serials) + 1))

        @invariant()
        def nothing_is_in_force_past_its_term_end(self):
            today = _today()
            for d in Designation.objects.filter(pk__in=self.ids):
                assert d.is_in_force == (d.state == State.DESIGNATED and d.term_end >= today)

    seen = {"successes": 0}

    class Counted(Lifecycle):
        def teardown(self):
            seen["successes"] += getattr(self, "successes", 0)

    run_state_machine_as_test(Counted, settings=settings(
        max_examples=12, stateful_step_count=18, deadline=None, derandomize=True,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]))
    assert seen["successes"] > 0  # the machine exercised the life cycle, not only refusals


def _today() -> dt.date:
    from django.utils import timezone

    return timezone.localdate()
