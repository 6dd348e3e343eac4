"""The designation rules of DOMAIN §2, each in one function named after it.

Every figure comes from the rules pack the decision applies; each raises RuleViolation with a
stable code and Japanese and English messages, and changes nothing. Figures the pack marks
"to verify" are applied, and the message says so.
"""

from __future__ import annotations

import datetime as dt

from hozen.core.errors import RuleViolation
from hozen.core.text import visible_length

from .models import State
from .periods import last_day_of_term

_TO_VERIFY_JA = "（この数値は運用基準との照合待ちです）"
_TO_VERIFY_EN = " (this figure is awaiting confirmation against the Operational Standards)"


def _note(pack, key: str) -> tuple[str, str]:
    return (_TO_VERIFY_JA, _TO_VERIFY_EN) if pack.is_to_verify(key) else ("", "")


def check_not_before_regime_start(pack, designated_on: dt.date) -> None:
    start = pack.value("regime_start")
    if designated_on < start:
        raise RuleViolation(
            "before_regime_start",
            f"指定日は制度の施行日（{start:%Y-%m-%d}）以降でなければなりません。",
            f"The designation date cannot be before the regime started ({start:%Y-%m-%d}).",
            field="designated_on",
        )


def check_term_within_maximum(pack, designated_on: dt.date, term_end: dt.date) -> None:
    years = pack.value("designation.max_term_years")
    latest = last_day_of_term(designated_on, years)
    if term_end < designated_on:
        raise RuleViolation("term_ends_before_it_starts", "有効期間の満了日が指定日より前です。",
                            "The term ends before the designation date.", field="term_end")
    if term_end > latest:
        ja, en = _note(pack, "designation.max_term_years")
        raise RuleViolation(
            "term_over_maximum",
            f"有効期間は{years}年以内（{latest:%Y-%m-%d}まで）でなければなりません。{ja}",
            f"A term can be at most {years} years (until {latest:%Y-%m-%d}).{en}",
            field="term_end",
        )


def check_sub_item_of_pack(pack, category, sub_item) -> None:
    if sub_item.pack_id != pack.pk or category.pack_id != pack.pk:
        raise RuleViolation(
            "sub_item_from_another_pack",
            f"区分・細目は適用される規則（{pack}）のものを選んでください。",
            f"Choose the category and sub-item from the rules pack that applies ({pack}).",
            field="sub_item",
        )
    if sub_item.category_id is not None and sub_item.category_id != category.pk:
        raise RuleViolation("sub_item_not_in_category", "細目が選んだ区分に属していません。",
                            "The sub-item does not belong to the chosen category.", field="sub_item")


def check_advance_reason(in_advance: bool, reason: str) -> None:
    if in_advance and not visible_length(reason or ""):
        raise RuleViolation("advance_designation_needs_reason",
                            "情報の存在前に指定する場合は、その理由を記録してください。",
                            "A designation ahead of the information's existence needs a recorded reason.",
                            field="advance_reason")


def justification_problems(category_fit: str | None, not_public: str | None, harm: str | None) -> list[RuleViolation]:
    """DOMAIN §2: each of the three requirements with a written justification of at least the
    minimum of visible characters (`inputs.DRAFT_TEXTS`; ten spaces or NULs are no justification).
    One refusal per short justification, each saying the minimum; None skips a field (its text
    was refused already)."""
    from .inputs import DRAFT_TEXTS

    problems = []
    for field, text in (("justification_category", category_fit), ("justification_not_public", not_public),
                        ("justification_harm", harm)):
        if text is None:
            continue
        spec = DRAFT_TEXTS[field]
        length = visible_length(text)
        if length < spec.min_visible:
            problems.append(RuleViolation(
                "justification_required",
                f"{spec.label[0]}は{spec.min_visible}文字以上で記載してください（現在{length}文字）。",
                f"{spec.label[1]}: write at least {spec.min_visible} characters (it has {length}).", field=field))
    return problems


def check_justifications(category_fit: str, not_public: str, harm: str) -> None:
    problems = justification_problems(category_fit or "", not_public or "", harm or "")
    if problems:
        raise problems[0]


def check_editable(designation) -> None:
    if designation.state in (State.EXPIRED, State.CANCELLED, State.MOVED_TO_SDS, State.TRANSFERRED):
        raise RuleViolation(
            "designation_not_editable",
            f"{designation} は{designation.get_state_display()}のため変更できません。",
            f"{designation} is {designation.state.replace('_', ' ')} and can no longer be changed.",
        )


def check_term_not_ended(designation, on: dt.date) -> None:
    """ARCHITECTURE rule 9, dates decide: a term that has ended is over on that date, whether or
    not the daily job has recorded the expiry yet. Nothing is approved, extended, reviewed,
    cancelled, moved or provided under it."""
    if designation.term_end < on:
        raise RuleViolation(
            "term_ended",
            f"有効期間は {designation.term_end:%Y-%m-%d} に満了しています。満了後の指定は承認・延長・変更できません。",
            f"The term ended on {designation.term_end:%Y-%m-%d}: an ended designation can no longer be approved, "
            "extended or changed.",
            field="term_end" if designation.state == State.DRAFT else None,
        )


def check_in_force(designation, on: dt.date, *, message_ja: str, message_en: str) -> None:
    """The designation is in force on `on`: designated, and its term not ended (dates decide)."""
    check_editable(designation)
    if designation.state != State.DESIGNATED:
        raise RuleViolation("not_designated", message_ja, message_en)
    check_term_not_ended(designation, on)


def check_extension(pack, designation, new_end: dt.date, cabinet_approval_ref: str, exempt_category: bool,
                    on: dt.date) -> None:
    """DOMAIN §2: each extension at most N years; past the approval threshold only with a recorded
    Cabinet approval; never past the absolute cap outside exempt categories (to verify for ESI).
    Only a designation in force on `on` is extended: after its term end it has expired (rule 9)."""
    check_in_force(designation, on, message_ja="指定中の指定のみ延長できます。",
                   message_en="Only a designation in force can be extended.")
    previous_end = designation.term_end
    if new_end <= previous_end:
        raise RuleViolation("extension_not_later", "新しい満了日は現在の満了日より後でなければなりません。",
                            "The new term end must be after the current one.", field="new_end")
    years = pack.value("extension.max_term_years")
    latest = last_day_of_term(previous_end + dt.timedelta(days=1), years)
    if new_end > latest:
        ja, en = _note(pack, "extension.max_term_years")
        raise RuleViolation(
            "extension_over_maximum",
            f"延長は1回につき{years}年以内（{latest:%Y-%m-%d}まで）です。{ja}",
            f"An extension can be at most {years} years (until {latest:%Y-%m-%d}).{en}",
            field="new_end",
        )
    first = designation.designated_on
    threshold = pack.value("cumulative.cabinet_approval_threshold_years")
    if new_end > last_day_of_term(first, threshold) and not (cabinet_approval_ref or "").strip():
        raise RuleViolation(
            "over_threshold_without_cabinet_approval",
            f"通算{threshold}年を超える延長には内閣の承認（記録番号）が必要です。",
            f"Extending beyond {threshold} years in total needs a recorded Cabinet approval reference.",
            field="cabinet_approval_ref",
        )
    cap = pack.value("cumulative.absolute_cap_years")
    if cap and new_end > last_day_of_term(first, cap) and not exempt_category:
        ja, en = _note(pack, "cumulative.absolute_cap_years")
        raise RuleViolation(
            "over_absolute_cap",
            f"通算{cap}年を超えて指定することはできません（除外区分を除く）。{ja}",
            f"A designation cannot last more than {cap} years in total outside the exempt categories.{en}",
            field="new_end",
        )
