"""The assessment case's state machine (DOMAIN §6 steps 1–9), in one table.

Every action on a case names the transition it makes: ``(state before, action code, state
after)``. An action that keeps the state (saving a questionnaire draft, recording an inquiry) is a
row whose two states are equal, so the table also says *when* each action is allowed. Anything
not in the table raises ``RuleViolation("transition_not_allowed")``. The action codes are the
policy's and the audit log's (STYLE: ``noun.verb``).

An exemption (Art. 12(1)(i)) opens no case: the nomination is held as an ``Exemption`` with its
own small table (``EXEMPTION_TRANSITIONS``) until the organ confirms or declines it; declining
opens the case in ``nominated``. Complaints have their own table too (``COMPLAINT_TRANSITIONS``).

``docs/assessment.md`` draws these tables; ``mermaid()`` produces the diagram and a test checks
the document still matches.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import models
from django.utils.translation import gettext_lazy as _

from hozen.core.errors import RuleViolation


class State(models.TextChoices):
    NOMINATED = "nominated", _("Nominated")
    NOTICE_GIVEN = "notice_given", _("Notice given")
    CONSENTED = "consented", _("Consented")
    REFUSED = "refused", _("Refused")
    QUESTIONNAIRE_SUBMITTED = "questionnaire_submitted", _("Questionnaire submitted")
    UNDER_INVESTIGATION = "under_investigation", _("Under investigation")
    INVESTIGATION_COMPLETE = "investigation_complete", _("Investigation complete")
    ADJUDICATED_FAVOURABLE = "adjudicated_favourable", _("Adjudicated: favourable")
    ADJUDICATED_UNFAVOURABLE_PENDING_CONCURRENCE = (
        "adjudicated_unfavourable_pending_concurrence", _("Adjudicated: unfavourable, awaiting concurrence"))
    ADJUDICATED_UNFAVOURABLE = "adjudicated_unfavourable", _("Adjudicated: unfavourable")
    NOTIFIED = "notified", _("Result notified")
    UNDER_REEXAMINATION = "under_reexamination", _("Under re-examination after a complaint")
    NOT_CONSENTED = "not_consented", _("Not consented (consent withdrawn)")
    DISCONTINUED = "discontinued", _("Discontinued (left the post)")


S = State


@dataclass(frozen=True)
class Transition:
    source: str
    action: str
    target: str

    @property
    def keeps_state(self) -> bool:
        return self.source == self.target


def _rows(sources, action: str, target: str | None = None) -> list[Transition]:
    """One row per source state; ``target=None`` keeps the state."""
    return [Transition(s, action, target or s) for s in sources]


#: Before the result is notified, the subject may withdraw (their agreement to be listed, or their
#: consent: DOMAIN §6 steps 1 and 3) and the case ends as not consented; an employer's report that
#: the person left ends it as discontinued (step 8).
BEFORE_NOTIFICATION = (S.NOMINATED, S.NOTICE_GIVEN, S.CONSENTED, S.QUESTIONNAIRE_SUBMITTED,
                       S.UNDER_INVESTIGATION, S.INVESTIGATION_COMPLETE, S.ADJUDICATED_FAVOURABLE,
                       S.ADJUDICATED_UNFAVOURABLE_PENDING_CONCURRENCE, S.ADJUDICATED_UNFAVOURABLE)
#: The subject's advance waiver of reasons is "in advance": until an adjudication is made.
BEFORE_ADJUDICATION = (S.NOMINATED, S.NOTICE_GIVEN, S.CONSENTED, S.QUESTIONNAIRE_SUBMITTED,
                       S.UNDER_INVESTIGATION, S.INVESTIGATION_COMPLETE)

TRANSITIONS: tuple[Transition, ...] = tuple([
    # 2. Notice (告知)
    Transition(S.NOMINATED, "assessment.give_notice", S.NOTICE_GIVEN),
    # 3. Consent (同意) or refusal; withdrawal of consent until the result is notified
    Transition(S.NOTICE_GIVEN, "assessment.consent", S.CONSENTED),
    Transition(S.NOTICE_GIVEN, "assessment.refuse", S.REFUSED),
    *_rows(BEFORE_NOTIFICATION, "assessment.withdraw_consent", S.NOT_CONSENTED),
    *_rows(BEFORE_ADJUDICATION, "assessment.waive_reasons"),
    # 4. Questionnaire (質問票)
    Transition(S.CONSENTED, "assessment.save_questionnaire", S.CONSENTED),
    Transition(S.CONSENTED, "assessment.submit_questionnaire", S.QUESTIONNAIRE_SUBMITTED),
    # 5. Investigation (調査) by the Cabinet Office
    Transition(S.QUESTIONNAIRE_SUBMITTED, "assessment.assign_investigator", S.UNDER_INVESTIGATION),
    *_rows([S.UNDER_INVESTIGATION], "assessment.assign_investigator"),  # reassignment
    *_rows([S.UNDER_INVESTIGATION], "assessment.record_inquiry"),
    *_rows([S.UNDER_INVESTIGATION], "assessment.record_inquiry_response"),
    *_rows([S.UNDER_INVESTIGATION], "assessment.schedule_interview"),
    *_rows([S.UNDER_INVESTIGATION], "assessment.record_finding"),
    Transition(S.UNDER_INVESTIGATION, "assessment.complete_investigation", S.INVESTIGATION_COMPLETE),
    # 6. Adjudication (評価) by the organ head's delegate; unfavourable needs a second adjudicator
    *_rows([S.QUESTIONNAIRE_SUBMITTED, S.UNDER_INVESTIGATION, S.INVESTIGATION_COMPLETE, S.UNDER_REEXAMINATION],
           "assessment.assign_adjudicator"),
    Transition(S.INVESTIGATION_COMPLETE, "assessment.adjudicate", S.ADJUDICATED_FAVOURABLE),
    Transition(S.INVESTIGATION_COMPLETE, "assessment.adjudicate", S.ADJUDICATED_UNFAVOURABLE_PENDING_CONCURRENCE),
    Transition(S.UNDER_REEXAMINATION, "assessment.adjudicate", S.ADJUDICATED_FAVOURABLE),
    Transition(S.UNDER_REEXAMINATION, "assessment.adjudicate", S.ADJUDICATED_UNFAVOURABLE_PENDING_CONCURRENCE),
    # Instead of deciding, the adjudicator sends the case back to the investigator with a question
    # (issue 15); the investigator answers it by completing the investigation again. Not from
    # re-examination: the investigator's duty ended with the notification, and under_investigation
    # is a state before notification (the subject could "withdraw" a notified result from it).
    Transition(S.INVESTIGATION_COMPLETE, "assessment.return_to_investigation", S.UNDER_INVESTIGATION),
    *_rows([S.ADJUDICATED_UNFAVOURABLE_PENDING_CONCURRENCE], "assessment.assign_concurring_adjudicator"),
    Transition(S.ADJUDICATED_UNFAVOURABLE_PENDING_CONCURRENCE, "assessment.concur", S.ADJUDICATED_UNFAVOURABLE),
    # The second adjudicator does not concur: the case goes back for a new decision.
    Transition(S.ADJUDICATED_UNFAVOURABLE_PENDING_CONCURRENCE, "assessment.concur", S.INVESTIGATION_COMPLETE),
    # 7. Notification (通知): the subject's result and reasons; the nominator's three facts
    Transition(S.ADJUDICATED_FAVOURABLE, "assessment.notify_result", S.NOTIFIED),
    Transition(S.ADJUDICATED_UNFAVOURABLE, "assessment.notify_result", S.NOTIFIED),
    # 8. The employer reports that the person left: an unfinished case ends
    *_rows(BEFORE_NOTIFICATION, "assessment.discontinue", S.DISCONTINUED),
    # 9. A complaint (苦情) decided with a re-examination reopens the adjudication
    Transition(S.NOTIFIED, "assessment.reexamine", S.UNDER_REEXAMINATION),
])

TERMINAL = frozenset({S.REFUSED, S.NOT_CONSENTED, S.DISCONTINUED})
#: States in which a case is still in progress (a second nomination of the person is refused).
OPEN = frozenset(set(State.values) - TERMINAL - {S.NOTIFIED})

#: The target duration of each state, as a rules-pack key ``assessment.target_days.<stage>``.
STAGE_TARGETS: dict[str, str] = {
    S.NOMINATED: "notice",
    S.NOTICE_GIVEN: "consent",
    S.CONSENTED: "questionnaire",
    S.QUESTIONNAIRE_SUBMITTED: "assignment",
    S.UNDER_INVESTIGATION: "investigation",
    S.INVESTIGATION_COMPLETE: "adjudication",
    S.UNDER_REEXAMINATION: "adjudication",
    S.ADJUDICATED_UNFAVOURABLE_PENDING_CONCURRENCE: "concurrence",
    S.ADJUDICATED_FAVOURABLE: "notification",
    S.ADJUDICATED_UNFAVOURABLE: "notification",
}


def transition(state: str, action: str, target: str | None = None) -> Transition:
    """The table's row for ``action`` from ``state`` (to ``target`` when the action has several).

    Raises ``RuleViolation("transition_not_allowed")`` naming the current state in both languages.
    """
    rows = [t for t in TRANSITIONS if t.source == state and t.action == action
            and (target is None or t.target == target)]
    if target is None and len({t.target for t in rows}) > 1:
        raise ValueError(f"{action} from {state} has several targets; name one")
    if not rows:
        label = State(state).label if state in State.values else state
        from django.utils import translation

        with translation.override("ja"):
            label_ja = str(label)
        with translation.override("en"):
            label_en = str(label)
        raise RuleViolation(
            "transition_not_allowed",
            f"この適性評価は現在「{label_ja}」の段階にあるため、この操作（{action}）は行えません。",
            f"This assessment is at the stage “{label_en}”; {action} is not allowed now.",
        )
    return rows[0]


def allowed_actions(state: str) -> list[str]:
    """The actions the table allows from ``state``, for screens that offer only what may be done."""
    return sorted({t.action for t in TRANSITIONS if t.source == state})


# --- the exemption (Art. 12(1)(i)) and the complaint, each a small table of its own ---------

class ExemptionState(models.TextChoices):
    PENDING = "pending", _("Possible exemption: awaiting the organ's confirmation")
    CONFIRMED = "confirmed", _("Exempt: confirmed by the organ")
    DECLINED = "declined", _("Not exempt: an assessment case was opened")


EXEMPTION_TRANSITIONS: tuple[Transition, ...] = (
    Transition(ExemptionState.PENDING, "assessment.confirm_exemption", ExemptionState.CONFIRMED),
    Transition(ExemptionState.PENDING, "assessment.decline_exemption", ExemptionState.DECLINED),
)


class ComplaintState(models.TextChoices):
    FILED = "filed", _("Filed")
    ASSIGNED = "assigned", _("With a complaint handler")
    DECIDED = "decided", _("Decided and notified")


COMPLAINT_TRANSITIONS: tuple[Transition, ...] = (
    Transition(ComplaintState.FILED, "assessment.assign_complaint_handler", ComplaintState.ASSIGNED),
    Transition(ComplaintState.ASSIGNED, "assessment.assign_complaint_handler", ComplaintState.ASSIGNED),
    Transition(ComplaintState.ASSIGNED, "assessment.decide_complaint", ComplaintState.DECIDED),
)


def check_in(table: tuple[Transition, ...], state: str, action: str) -> Transition:
    """The row of a small table (exemptions, complaints); RuleViolation if there is none."""
    for row in table:
        if row.source == state and row.action == action:
            return row
    raise RuleViolation("transition_not_allowed", f"現在の状態（{state}）では、この操作（{action}）は行えません。",
                        f"{action} is not allowed in the state {state}.")


def mermaid() -> str:
    """The case diagram for docs/assessment.md, drawn from ``TRANSITIONS``: state changes only
    (in-state actions are listed beside it). An action allowed from every state before
    notification is drawn once, from the composite state ``before_notification``."""
    grouped: dict[tuple[str, str], set[str]] = {}
    for t in TRANSITIONS:
        if not t.keeps_state:
            grouped.setdefault((t.action, t.target), set()).add(t.source)
    whole = {key for key, sources in grouped.items() if sources == set(BEFORE_NOTIFICATION)}
    inner, outer = [], []
    for t in TRANSITIONS:
        if t.keeps_state or (t.action, t.target) in whole:
            continue
        line = f"{t.source} --> {t.target}: {t.action}"
        both_inside = t.source in BEFORE_NOTIFICATION and t.target in BEFORE_NOTIFICATION
        (inner if both_inside else outer).append(line)
    lines = ["stateDiagram-v2", f"    [*] --> {S.NOMINATED}: assessment.nominate",
             "    state before_notification {"]
    lines += [f"        {line}" for line in dict.fromkeys(inner)]
    lines.append("    }")
    lines += [f"    {line}" for line in dict.fromkeys(outer)]
    lines += [f"    before_notification --> {target}: {action}" for action, target in sorted(whole)]
    lines += [f"    {state} --> [*]" for state in [*sorted(TERMINAL), S.NOTIFIED]]
    return "\n".join(lines)


def in_state_actions() -> dict[str, list[str]]:
    """Actions that keep the state, by action: the states in which each is allowed."""
    out: dict[str, list[str]] = {}
    for t in TRANSITIONS:
        if t.keeps_state:
            out.setdefault(t.action, []).append(t.source)
    return out
