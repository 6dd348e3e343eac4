"""The assessment rules of DOMAIN §6, each in one function named after it.

Every figure comes from a rules pack (the case's for its clocks, the one in force for a decision)
and each check raises ``RuleViolation`` with a stable code and Japanese and English messages,
changing nothing. Dates follow one convention (ARCHITECTURE rule 6): a period of N years from a
notification on day D is counted from the next day (民法 第140条, 初日不算入) and so ends at the
end of D's anniversary N years later. "Notified less than 10 years ago" therefore holds up to and
including that anniversary, and a result notified on D is "valid until" that same day.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import Q

from hozen.core.errors import RuleViolation
from hozen.core.text import check_date, clean, visible_length
from hozen.designation.periods import add_years
from hozen.rules.models import Tier

from .items import ITEM_CODES
from .states import OPEN, STAGE_TARGETS, ExemptionState

_TO_VERIFY_JA = "（この数値は運用基準との照合待ちです）"
_TO_VERIFY_EN = " (this figure is awaiting confirmation against the Operational Standards)"


def within_years(since: dt.date, years: int, on: dt.date) -> bool:
    """``on`` falls in the N-year period that began the day after ``since``."""
    return on <= add_years(since, years)


def valid_until(notified_on: dt.date, pack) -> dt.date:
    """DOMAIN §6 step 8: valid N years from notification (ESI 10, SDS 5, from the pack)."""
    return add_years(notified_on, pack.value("assessment.validity_years"))


def stage_due_on(case, entered_on: dt.date) -> dt.date | None:
    """The target date of the case's current stage, from the case's rules pack; None when the
    state has no clock (a closed case, a notified result)."""
    stage = STAGE_TARGETS.get(case.state)
    if stage is None:
        return None
    return entered_on + dt.timedelta(days=case.rules_pack.value(f"assessment.target_days.{stage}"))


# --- nomination (step 1) ---------------------------------------------------------------------

#: What a nomination records of the candidate's place (at most this many characters, after NFKC).
NOMINATION_TEXT_MAX = 200


def check_nomination_fields(*, trigger: str, department, post, listing_agreed_on, on: dt.date,
                            dispatched_worker: bool, employing_agency, earliest_agreement: dt.date) -> dict:
    """The nomination's own fields, as stored: department, post and employing agency through the
    one text policy (``hozen.core.text.clean``), the agreement to be listed dated between
    ``earliest_agreement`` (the tier's regime start: no listing under an Act not yet in force) and
    today. Returns the cleaned values."""
    from .models import Trigger

    if trigger not in (Trigger.NEW, Trigger.TEN_YEAR_RENEWAL):
        raise RuleViolation("invalid_trigger", "推薦の契機は「新たに取り扱う見込み」又は「10年経過による更新」を選んでください"
                            "（懸念による再評価は変更の報告から始まります）。",
                            "Choose the trigger 'new' or 'ten_year_renewal' (a re-assessment for a concern starts "
                            "from a reported change).", field="trigger")
    cleaned = {}
    for name, value, ja, en in (("department", department, "所属", "department"), ("post", post, "役職", "post")):
        text = clean(value, field=name, label=(ja, en.capitalize()), max_length=NOMINATION_TEXT_MAX)
        if not visible_length(text):
            raise RuleViolation(f"{name}_required", f"{ja}を入力してください。", f"Enter the candidate's {en}.",
                                field=name)
        cleaned[name] = text
    agency = clean(employing_agency, field="employing_agency", label=("派遣元事業主", "Employing agency"),
                   max_length=NOMINATION_TEXT_MAX)
    if listing_agreed_on is None:
        # DOMAIN §6 step 1: the candidate first agrees to be listed.
        raise RuleViolation("listing_agreement_required", "名簿への記載について本人の同意を得た日を入力してください。",
                            "Record the date on which the candidate agreed to be listed.", field="listing_agreed_on")
    if not isinstance(listing_agreed_on, dt.date) or isinstance(listing_agreed_on, dt.datetime):
        raise RuleViolation("invalid_date", "日付が不正です。", "Give the date as a date.", field="listing_agreed_on")
    if listing_agreed_on > on:
        raise RuleViolation("listing_agreement_in_future", "名簿記載への同意日に将来の日付は入力できません。",
                            "The candidate's agreement to be listed cannot be dated in the future.",
                            field="listing_agreed_on")
    check_date(listing_agreed_on, field="listing_agreed_on", label=("名簿記載への同意日", "The agreement to be listed"),
               earliest=earliest_agreement, latest=on)
    if dispatched_worker and not visible_length(agency):
        raise RuleViolation("employing_agency_required", "派遣労働者の場合は派遣元事業主を入力してください。",
                            "A dispatched worker's employing agency must be recorded.", field="employing_agency")
    if not dispatched_worker and agency:
        raise RuleViolation("employing_agency_only_for_dispatched", "派遣元事業主は派遣労働者の場合のみ入力してください。",
                            "Record an employing agency only for a dispatched worker.", field="employing_agency")
    return {**cleaned, "employing_agency": agency}


def not_nominable(nominating_organisation, *, field: str = "person") -> RuleViolation:
    """The one answer for a candidate outside the nominator's staff — whether the account or
    person exists elsewhere or not at all (issue 12 §6: no existence oracle). It names neither what
    was typed nor anything about who it might be, so a missing and a foreign candidate read alike
    byte for byte."""
    return RuleViolation("not_staff_of_nominator",
                         f"{nominating_organisation.name_ja} に所属する者の中に、指定された評価対象者はいません"
                         f"（推薦できるのは {nominating_organisation.name_ja} に所属する者のみです）。",
                         f"No one among the staff of {nominating_organisation.name_en} matches the candidate named "
                         f"(only people who work for it can be nominated by it).", field=field)


def check_person_nominable(person, nominating_organisation, *, employed_ids: set[int] | None = None,
                           field: str = "person") -> None:
    """The candidate works for the nominating side (an active role there) and can be identified
    by name and date of birth (DOMAIN §6 step 1). Employment is asked first: nothing about a
    person outside the nominator's staff (not even a missing date of birth) is told."""
    from hozen.core.models import RoleAssignment

    if employed_ids is not None:
        employed = person.pk in employed_ids
    else:
        employed = RoleAssignment.objects.filter(account__person=person, organisation=nominating_organisation,
                                                 revoked_at__isnull=True).exists()
    if not employed:
        raise not_nominable(nominating_organisation, field=field)
    if person.date_of_birth is None:
        raise RuleViolation("date_of_birth_required", "評価対象者の生年月日が登録されていません。",
                            "The candidate's date of birth is not recorded.", field=field)


def check_no_open_case(person, organ, tier: str) -> None:
    from .models import AssessmentCase, Exemption

    if AssessmentCase.objects.filter(person=person, organ=organ, tier=tier, state__in=OPEN).exists():
        raise RuleViolation("case_already_open", "この者については、同じ行政機関による適性評価が既に進行中です。",
                            "An assessment of this person by the same organ is already in progress.", field="person")
    if Exemption.objects.filter(person=person, organ=organ, tier=tier, state=ExemptionState.PENDING).exists():
        raise RuleViolation("exemption_pending", "この者については、評価の省略の確認が行政機関で保留中です。",
                            "A possible exemption of this person is awaiting the organ's confirmation.", field="person")


def check_no_open_case_among(person, tier: str, open_keys: set, pending_keys: set) -> None:
    """``check_no_open_case`` against (person id, tier) pairs read beforehand (bulk nomination)."""
    if (person.pk, tier) in open_keys:
        raise RuleViolation("case_already_open", "この者については、同じ行政機関による適性評価が既に進行中です。",
                            "An assessment of this person by the same organ is already in progress.", field="person")
    if (person.pk, tier) in pending_keys:
        raise RuleViolation("exemption_pending", "この者については、評価の省略の確認が行政機関で保留中です。",
                            "A possible exemption of this person is awaiting the organ's confirmation.", field="person")


# --- exemption (Art. 12(1)(i)) ----------------------------------------------------------------

@dataclass(frozen=True)
class ExemptionBasis:
    """An earlier favourable result that may exempt the person, and the window that applied."""

    clearance: object
    window_years: int
    pack: object

    @property
    def window_ends_on(self) -> dt.date:
        return add_years(self.clearance.notified_on, self.window_years)


def detect_exemption(person, organ, tier: str, on: dt.date, pack) -> ExemptionBasis | None:
    """DOMAIN §6, Art. 12(1)(i): a favourable ESI result from the SAME organ head notified less
    than the ESI window ago, or a favourable SDS result from the same organ head notified less than
    the SDS window ago, exempts — once the organ confirms no concern has arisen. Never across
    organs; an ESI result never exempts from an SDS assessment; a suspended or ended record (a
    concern, a later result) never exempts. ``pack`` is the new assessment's tier's pack in force.
    """
    from .models import Clearance

    windows = exemption_windows(tier, pack)
    candidates = (Clearance.objects.filter(person=person, organ=organ, favourable=True, tier__in=list(windows),
                                           suspended_at__isnull=True)
                  .filter(Q(ended_on__isnull=True) | Q(ended_on__gt=on))
                  .order_by("-notified_on", "-id"))
    return exemption_among(candidates, tier, on, pack)


def exemption_windows(tier: str, pack) -> dict[str, int]:
    """The earlier results' tiers that may exempt from an assessment of ``tier``, with their
    windows in years: an SDS result always (SDS window), an ESI result only for an ESI assessment."""
    windows = {Tier.SDS: pack.value("assessment.sds_recognition_window_years")}
    if tier == Tier.ESI:
        windows[Tier.ESI] = pack.value("assessment.esi_recognition_window_years")
    return windows


def exemption_among(clearances, tier: str, on: dt.date, pack) -> ExemptionBasis | None:
    """``detect_exemption`` on clearances already read (one person, one organ): the newest
    favourable, unsuspended, unended record within its window. Bulk nomination reads every
    candidate's clearances at once and asks this per row."""
    windows = exemption_windows(tier, pack)
    rows = sorted((c for c in clearances if c.favourable and c.tier in windows and c.suspended_at is None
                   and (c.ended_on is None or c.ended_on > on)), key=lambda c: (c.notified_on, c.pk), reverse=True)
    for clearance in rows:
        years = windows[clearance.tier]
        if clearance.notified_on <= on and within_years(clearance.notified_on, years, on):
            return ExemptionBasis(clearance=clearance, window_years=years, pack=pack)
    return None


#: Free text a person types into the assessment (a complaint, a finding, a reason) is at most this long.
TEXT_MAX = 20_000


def check_exemption_reason(reason) -> str:
    """The organ's reason, at least ten visible characters (ten spaces or NULs never pass)."""
    reason = clean(reason, field="reason", label=("理由", "Reason"), multiline=True, max_length=TEXT_MAX)
    if visible_length(reason) < 10:
        raise RuleViolation("exemption_reason_required",
                            "懸念が生じていないと判断した理由を記録してください（10文字以上）。",
                            "Record why the organ finds that no concern has arisen (at least 10 characters).",
                            field="reason")
    return reason


# --- investigation and adjudication (steps 5–6) --------------------------------------------------

def check_text(value, field: str, *, what_ja: str, what_en: str, max_length: int = TEXT_MAX,
               multiline: bool = True) -> str:
    """Required free text as stored, through the one text policy (``hozen.core.text.clean``):
    refused characters named with their position, NFKC, the length counted after it; a text with
    nothing visible in it (spaces, invisible characters) is as missing (``<field>_required``)."""
    text = clean(value, field=field, label=(what_ja, what_en[:1].upper() + what_en[1:]), multiline=multiline,
                 max_length=max_length)
    if not visible_length(text):
        raise RuleViolation(f"{field}_required", f"{what_ja}を入力してください。", f"Enter the {what_en}.", field=field)
    return text


def check_item(item: str) -> str:
    if item not in ITEM_CODES:
        raise RuleViolation("unknown_item", "評価の事項は item_1 から item_7 のいずれかです（法第12条第2項）。",
                            "The item must be one of item_1 … item_7 (Art. 12(2)).", field="item")
    return item


def check_material_gathered(case) -> None:
    """DOMAIN §6 step 5: the interview comes after the other material is gathered. The other
    material is the submitted questionnaire (the state table: there is no investigation before it)
    and the inquiries — questions to superiors, colleagues and acquaintances, document requests,
    inquiries to public offices: at least one must have been made and answered, and none may be
    still unanswered."""
    counts = {"pending": 0, "answered": 0}
    for answered_on in case.inquiries.values_list("answered_on", flat=True):
        counts["answered" if answered_on is not None else "pending"] += 1
    pending = counts["pending"]
    if pending:
        raise RuleViolation("material_not_gathered",
                            f"回答を得ていない照会が{pending}件あります。面接は他の資料がそろった後に行います。",
                            f"{pending} inquir{'ies are' if pending > 1 else 'y is'} still unanswered; the interview "
                            "comes after the other material is gathered.", field="at")
    if not counts["answered"]:
        raise RuleViolation("no_inquiry_answered",
                            "回答を得た照会がありません。面接は、上司・同僚等への質問や公務所等への照会の回答がそろった後に行います。",
                            "No inquiry has been answered yet: the interview comes after the questions to superiors, "
                            "colleagues or public offices have been answered.", field="at")


def check_interview_not_scheduled(case) -> None:
    """DOMAIN §6 step 5, the other way round: once the interview is scheduled no new material may
    arrive, so no new inquiry is recorded (the interview would no longer come after it)."""
    if case.interview_at is not None:
        raise RuleViolation("interview_already_scheduled",
                            "面接の日時が既に決まっているため、新たな照会は記録できません（面接は他の資料がそろった後に行います）。",
                            "The interview is already scheduled, so no new inquiry can be recorded (the interview "
                            "comes after the other material is gathered).")


def check_investigation_complete(case, now) -> None:
    """Every inquiry answered (at least one), the interview held after the last answer, a finding
    for each of the seven items."""
    check_material_gathered(case)
    if case.interview_at is None or case.interview_at > now:
        raise RuleViolation("interview_not_held", "面接が実施されていません。", "The interview has not taken place yet.")
    from hozen.core.calendars import TOKYO

    interview_day = case.interview_at.astimezone(TOKYO).date()
    if case.inquiries.filter(answered_on__gt=interview_day).exists():
        raise RuleViolation("material_after_interview", "面接の後に回答を得た照会があります。面接は他の資料がそろった後に行います。",
                            "An inquiry was answered after the interview; the interview comes after the other "
                            "material is gathered.")
    missing = sorted(set(ITEM_CODES) - set(case.findings.values_list("item", flat=True)))
    if missing:
        raise RuleViolation("findings_missing", f"次の事項の調査結果が記録されていません: {', '.join(missing)}",
                            f"Record a finding for every item; missing: {', '.join(missing)}.", field=missing[0])


def check_case_summary(summary) -> str:
    """Issue 6 §1: the investigation ends with a case summary for the adjudicator."""
    return check_text(summary, "summary", what_ja="調査の概要（評価担当への要約）", what_en="case summary for the adjudicator")


def check_return_question(question) -> str:
    """Issue 15: a case goes back to the investigator only with the adjudicator's question."""
    return check_text(question, "question", what_ja="調査担当への質問", what_en="question to the investigator")


def check_return_answer(answer) -> str:
    """Issue 15: the investigator completes a returned case with an answer to the question."""
    return check_text(answer, "answer", what_ja="評価担当の質問への回答", what_en="answer to the adjudicator's question")


def check_reasons_per_item(reasons) -> dict[str, str]:
    """DOMAIN §6 step 6: reasons per item, for each of the seven items and only for them."""
    if not isinstance(reasons, dict):
        raise RuleViolation("reasons_required", "事項ごとに理由を記載してください。", "Give reasons per item.",
                            field="reasons")
    # repr: a key is shown escaped, whatever characters it holds (never stored, never echoed raw)
    extra = sorted(repr(k) if not isinstance(k, str) or not k.isidentifier() else k
                   for k in set(reasons) - set(ITEM_CODES))
    if extra:
        raise RuleViolation("unknown_item", f"評価の事項にないものがあります: {', '.join(extra)}",
                            f"Not items of the Act: {', '.join(extra)}.", field="reasons")
    out = {}
    for code in ITEM_CODES:
        text = reasons.get(code)
        if isinstance(text, str):
            text = clean(text, field=f"reasons.{code}", label=(f"{code} の理由", f"The reason for {code}"),
                         multiline=True, max_length=TEXT_MAX)
        if not isinstance(text, str) or not visible_length(text):
            raise RuleViolation("reason_per_item_required", f"{code} の理由を記載してください（七つの事項すべてについて）。",
                                f"Give the reason for {code} (every one of the seven items).",
                                field=f"reasons.{code}")
        out[code] = text
    return out


# --- renewal reminders ----------------------------------------------------------------------------

#: Days before a favourable result expires on which the person, the nominating side and the organ
#: are reminded (issue 6: renewal reminders before expiry). An operational schedule, not a figure
#: of the Act or the Standards, so it is not in the rules pack.
RENEWAL_REMINDER_DAYS = (180, 90, 30)


def renewal_threshold(valid_until: dt.date, on: dt.date) -> int | None:
    """The reminder due on ``on`` for a result valid until ``valid_until``: the smallest threshold
    already reached (a result with 25 days left is reminded at 30, even if the job missed 180 and
    90), or None when none is reached or the result has expired."""
    left = (valid_until - on).days
    if left < 0:
        return None
    reached = [d for d in RENEWAL_REMINDER_DAYS if left <= d]
    return min(reached) if reached else None


#: Days before the questionnaire's target date on which the person is reminded (and once after it).
QUESTIONNAIRE_REMINDER_DAYS = (7, 2, 0)
#: The threshold of the one reminder sent once the target date has passed.
QUESTIONNAIRE_OVERDUE = -1


def questionnaire_threshold(due_on: dt.date, on: dt.date) -> int:
    """The questionnaire reminder due on ``on``: the smallest threshold reached (a job that missed
    a day still reminds), ``QUESTIONNAIRE_OVERDUE`` once the target date has passed, or None."""
    left = (due_on - on).days
    if left < 0:
        return QUESTIONNAIRE_OVERDUE
    reached = [d for d in QUESTIONNAIRE_REMINDER_DAYS if left <= d]
    return min(reached) if reached else None


# --- retention ----------------------------------------------------------------------------------

def case_retained_until(case, closed_on: dt.date) -> dt.date:
    """Investigation files are kept for the pack's period after the case ends, then destroyed."""
    return add_years(closed_on, case.rules_pack.value("retention.investigation_file_years"))


def notice_retained_until(pack, issued_on: dt.date, *, favourable: bool) -> dt.date:
    """Business-side notices are destroyed promptly after use (SDS practice: a favourable notice
    within 5 years, other papers within 1 year; configurable)."""
    key = "retention.business_favourable_notice_years" if favourable else "retention.business_other_papers_years"
    return add_years(issued_on, pack.value(key))
