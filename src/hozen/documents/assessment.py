"""The aptitude assessment's papers for the assessed person (DOMAIN §6), in Japanese or English:

- 告知書 (``assessment_notice``): the written notice of step 2 — the seven items (the Act's labels,
  verbatim), the methods, that refusal is allowed, that no disadvantage may follow;
- 同意書 (``consent_record``): the subject's declaration of step 3 (consent or refusal, and any
  withdrawal), with when and how it was confirmed;
- 結果通知書 (``result_notice``): the result of step 7 with the reasons per item, unless the subject
  asked in advance not to receive them;
- the copy of the submitted questionnaire (``questionnaire_copy``) with its SHA-256.

Inputs are plain dicts (no models), so the assessment app's views build them from stored facts and
the same facts always give the same bytes (``deterministic=True``, the creation date being the
date of the fact). The notice's wording is data here (``notice_sections``), shared with the
portal's notice page, so what the person reads on screen and on paper is the same text.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

from hozen.core.calendars import TOKYO

from .inputs import Reader
from .pdf import Document, date_ja, datetime_ja

LANGUAGES = ("ja", "en")

ACT_JA = "重要経済安保情報の保護及び活用に関する法律"
ACT_EN = "the Act on the Protection and Utilization of Critical Economic Security Information"


def _lang(language: str) -> str:
    if language not in LANGUAGES:
        raise ValueError(f"language must be one of {LANGUAGES}, got {language!r}")
    return language


def _date(value, language: str) -> str:
    if value is None:
        return "—"
    if language == "ja":
        return date_ja(value)
    if isinstance(value, dt.datetime):
        value = value.astimezone(TOKYO).date()
    return value.isoformat()


def _when(value: dt.datetime, language: str) -> str:
    if language == "ja":
        return datetime_ja(value)
    return f"{value.astimezone(TOKYO):%Y-%m-%d %H:%M} JST"


# --- the notice (告知書): one text for the screen and the paper -----------------------------------

METHODS = {
    "ja": ("質問票への記入（ご本人による回答）", "ご本人との面接", "上司、同僚その他の知人に対する質問",
           "ご本人に対する資料の提出の求め", "公務所又は公私の団体に対する照会（警察、医療機関、金融機関等を含む）"),
    "en": ("The questionnaire, which you fill in yourself", "An interview with you",
           "Questions to your superiors, colleagues and other acquaintances", "Requests to you for documents",
           "Inquiries to public offices and to public or private organisations (including the police, "
           "medical institutions and financial institutions)"),
}


def notice_sections(language: str, items: Sequence[Mapping[str, str]]) -> list[tuple[str, list[str]]]:
    """The notice's body as (heading, paragraphs): the seven items (``items``: number, label_ja,
    label_en, in the Act's order), the methods, the right to refuse and the protection from
    disadvantage, withdrawal, reasons, complaints, and what is never investigated."""
    language = _lang(language)
    if len(items) != 7:
        raise ValueError("the notice lists exactly the seven items of the Act")
    if language == "ja":
        return [
            ("1　調査する事項", ["適性評価では、次の七つの事項に限って調査します。",
                               *[f"（{i['number']}）{i['label_ja']}" for i in items],
                               "（1）の事項には、ご家族（配偶者（事実上婚姻関係と同様の事情にある者を含む。）、父母、子、"
                               "兄弟姉妹、配偶者の父母及び子）及び同居人の氏名、生年月日、国籍（過去に有していた国籍を含む。）"
                               "及び住所を含みます。"]),
            ("2　調査の方法", [f"・{m}" for m in METHODS["ja"]]),
            ("3　同意しないことができること", [
                "適性評価の実施に同意するかどうかは、あなたの自由な意思によります。同意しないことができます。",
                "同意しない場合には、適性評価は実施されず、重要経済安保情報を取り扱う業務に就くことはできません。"]),
            ("4　不利益な取扱いの禁止", [
                "適性評価に同意しなかったこと、評価の結果及び苦情を申し出たことを理由として、解雇、減給、降格、"
                "不利益な配置の変更、雑務に従事させることその他の不利益な取扱いを受けることはありません。",
                "適性評価のために得た情報は、重要経済安保情報の保護以外の目的に利用されません。",
                "不利益な取扱いを受けたときは、その旨を行政機関に申し出ることができます（雇用主には送付されません）。"]),
            ("5　同意の取下げ", ["同意した後も、結果が通知されるまでの間は、いつでも同意を取り下げることができます。"]),
            ("6　結果及び理由の通知", [
                "評価の結果は書面で通知します。結果の理由は、適性評価の実施に支障のない範囲で通知します。",
                "理由の通知を希望しない場合は、評価が行われる前に、その旨を申し出ることができます。"]),
            ("7　苦情の申出", ["適性評価について苦情を書面で申し出ることができます。苦情は、その適性評価に関与していない者が"
                             "処理し、処理の結果を書面で通知します。"]),
            ("8　調査しない事項", ["思想、信条、信教並びに適法な政治活動及び労働組合の活動については、調査しません。"]),
        ]
    return [
        ("1 What is investigated", ["The assessment investigates these seven items only:",
                                    *[f"({i['number']}) {i['label_en']} — {i['label_ja']}" for i in items],
                                    "Item (1) includes the name, date of birth, nationality (including former "
                                    "nationalities) and address of your spouse (including a common-law partner), "
                                    "parents, children, brothers and sisters, your spouse's parents and children, and "
                                    "anyone else living with you."]),
        ("2 How it is investigated", [f"- {m}" for m in METHODS["en"]]),
        ("3 You may refuse", [
            "Whether you consent is your free choice. You may refuse.",
            "If you refuse, no assessment is made and you cannot be given work that handles Critical Economic "
            "Security Information."]),
        ("4 No disadvantage", [
            "You may not be dismissed, have your pay cut, be demoted, be moved to a worse post, be confined to "
            "menial tasks or be treated unfavourably in any other way because you refused, because of the result, "
            "or because you complained.",
            "What is learned for the assessment is used for protecting Critical Economic Security Information "
            "and for nothing else.",
            "If you are treated unfavourably, you can report it to the administrative organ (the report is not "
            "sent to your employer)."]),
        ("5 Withdrawing consent", ["After consenting, you may withdraw your consent at any time until the result "
                                   "is notified to you."]),
        ("6 The result and its reasons", [
            "The result is notified to you in writing, with its reasons as far as giving them does not hinder "
            "assessments.",
            "If you do not wish to receive the reasons, you can say so before the assessment is decided."]),
        ("7 Complaints", ["You can complain in writing about the assessment. A person who did not work on your "
                          "assessment handles the complaint, and the outcome is notified to you in writing."]),
        ("8 What is never investigated", ["Your beliefs, creed and religion, and lawful political and trade-union "
                                          "activities, are not investigated."]),
    ]


def _facts(doc: Document, rows: list[tuple[str, str]]) -> None:
    doc.key_values([(k, v) for k, v in rows if v])


def _case_rows(r: Reader, language: str) -> list[tuple[str, str]]:
    if language == "ja":
        return [("事案番号", r.text("case_ref")), ("評価対象者", r.text("person_name")),
                ("実施する行政機関", r.text("organ_name")), ("推薦した組織", r.text("nominating_organisation")),
                ("所属・役職", r.text("post", required=False))]
    return [("Case", r.text("case_ref")), ("Assessed person", r.text("person_name")),
            ("Administrative organ", r.text("organ_name")),
            ("Nominated by", r.text("nominating_organisation")), ("Department and post", r.text("post", required=False))]


def _document(r: Reader, language: str, *, title: str, created_at: dt.datetime, footer: str = "") -> Document:
    return Document(title=f"{title} {r.text('case_ref')}", subject=title,
                    header_left=f"{title}　{r.text('case_ref')}", header_right=r.text("organ_name"),
                    footer_left=footer or "Hozen", created_at=created_at, deterministic=True)


def assessment_notice(d: Mapping[str, Any], *, language: str = "ja") -> bytes:
    """告知書. Keys: case_ref, person_name, organ_name, nominating_organisation, post?, notice_given_at
    (aware datetime), rules_version, items [{number, label_ja, label_en}] (the seven, in order)."""
    language = _lang(language)
    r = Reader(d, where="assessment_notice")
    given_at = r.datetime("notice_given_at")
    items = r.items("items")
    title = "告知書" if language == "ja" else "Notice of an aptitude assessment"
    doc = _document(r, language, title=title, created_at=given_at, footer=r.text("rules_version"))
    if language == "ja":
        doc.title_block("告知書", subtitle="適性評価の実施について")
        doc.paragraph(_date(given_at, language), align="right")
        doc.paragraph(f"{r.text('person_name')}　殿")
        doc.paragraph(r.text("organ_name"), align="right")
        doc.paragraph(f"{ACT_JA}第12条の規定に基づき、あなたについて適性評価を実施することについて、次のとおり告知します。")
    else:
        doc.title_block("Notice of an aptitude assessment", subtitle="適性評価の実施についての告知書（英語版）")
        doc.paragraph(_date(given_at, language), align="right")
        doc.paragraph(f"To {r.text('person_name')}")
        doc.paragraph(r.text("organ_name"), align="right")
        doc.paragraph(f"Under Article 12 of {ACT_EN}, you are notified as follows of an aptitude assessment "
                      "(適性評価) of you.")
    _facts(doc, _case_rows(r, language) + [("告知の日" if language == "ja" else "Notice given", _when(given_at, language)),
                                           ("適用規程" if language == "ja" else "Rules applied", r.text("rules_version"))])
    for heading, paragraphs in notice_sections(language, items):
        doc.heading(heading)
        for text in paragraphs:
            doc.paragraph(text)
    return doc.render()


DECLARATIONS = {
    "consented": ("適性評価の実施に同意しました。", "Consented to the aptitude assessment."),
    "refused": ("適性評価の実施に同意しませんでした。", "Refused the aptitude assessment."),
    "consent_withdrawn": ("同意を取り下げました。", "Withdrew consent."),
}


def consent_record(d: Mapping[str, Any], *, language: str = "ja") -> bytes:
    """同意書 (or the record of a refusal). Keys: case_ref, person_name, organ_name,
    nominating_organisation, post?, notice_given_at, declarations [{kind (consented | refused |
    consent_withdrawn), at}] (at least one, in time order)."""
    language = _lang(language)
    r = Reader(d, where="consent_record")
    notice_at = r.datetime("notice_given_at")
    declarations = []
    for i, item in enumerate(r.items("declarations")):
        entry = r.item_reader("declarations", i, item)
        kind = entry.choice("kind", {k: k for k in DECLARATIONS})
        declarations.append((kind, entry.datetime("at")))
    first_kind, first_at = declarations[0]
    ja = language == "ja"
    if first_kind == "refused":
        title = "不同意書" if ja else "Record of refusal"
    else:
        title = "同意書" if ja else "Record of consent"
    doc = _document(r, language, title=title, created_at=declarations[-1][1])
    if ja:
        doc.title_block(title, subtitle="適性評価の実施について")
        doc.paragraph(_date(first_at, language), align="right")
        doc.paragraph(f"{r.text('organ_name')}　殿")
        doc.paragraph(f"評価対象者　{r.text('person_name')}", align="right")
        if first_kind == "refused":
            doc.paragraph(f"私は、{_date(notice_at, language)}付けの告知書により告知を受けた適性評価の実施に同意しません。")
        else:
            doc.paragraph(f"私は、{_date(notice_at, language)}付けの告知書により、調査する事項、調査の方法、同意しないことが"
                          "できること及び同意しないことを理由として不利益な取扱いを受けないことの告知を受けた上で、"
                          "適性評価の実施に同意します。")
    else:
        doc.title_block(title, subtitle="適性評価の実施について（英語版）")
        doc.paragraph(_date(first_at, language), align="right")
        doc.paragraph(f"To {r.text('organ_name')}")
        doc.paragraph(f"Assessed person: {r.text('person_name')}", align="right")
        if first_kind == "refused":
            doc.paragraph(f"I do not consent to the aptitude assessment of which I was notified on "
                          f"{_date(notice_at, language)}.")
        else:
            doc.paragraph(f"Having been notified on {_date(notice_at, language)} of the items investigated, the "
                          "methods, that I may refuse and that no disadvantage may follow from refusing, I consent "
                          "to the aptitude assessment.")
    _facts(doc, _case_rows(r, language))
    doc.heading("意思表示の記録" if ja else "Declarations")
    doc.table(["日時", "内容", "本人確認"] if ja else ["Time", "Declaration", "Confirmed by"],
              [[_when(at, language), DECLARATIONS[kind][0 if ja else 1],
                "ご本人の二要素認証（認証アプリのコード）の再入力" if ja else "The person's own second factor, entered again"]
               for kind, at in declarations],
              widths=[1.6, 2.2, 2.4])
    doc.paragraph("同意は、結果が通知されるまでの間、いつでも取り下げることができます。" if ja else
                  "Consent can be withdrawn at any time until the result is notified.", small=True)
    return doc.render()


def result_notice(d: Mapping[str, Any], *, language: str = "ja") -> bytes:
    """結果通知書. Keys: case_ref, person_name, organ_name, nominating_organisation, post?,
    notified_at, favourable (bool), valid_until (date or None), reasons_waived (bool), reasons
    [{number, label_ja, label_en, reason}] (required unless waived)."""
    language = _lang(language)
    r = Reader(d, where="result_notice")
    notified_at = r.datetime("notified_at")
    favourable = d.get("favourable")
    if not isinstance(favourable, bool):
        raise ValueError("result_notice: 'favourable' must be true or false")
    waived = bool(d.get("reasons_waived"))
    reasons = [] if waived else [r.item_reader("reasons", i, item) for i, item in enumerate(r.items("reasons"))]
    valid_until = r.date("valid_until", required=False)
    ja = language == "ja"
    title = "結果通知書" if ja else "Notice of the result of an aptitude assessment"
    doc = _document(r, language, title=title, created_at=notified_at)
    if ja:
        outcome = ("重要経済安保情報の取扱いの業務を行った場合にこれを漏らすおそれがないと認められる" if favourable else
                   "重要経済安保情報の取扱いの業務を行った場合にこれを漏らすおそれがないとは認められない")
        doc.title_block("結果通知書", subtitle="適性評価の結果について")
        doc.paragraph(_date(notified_at, language), align="right")
        doc.paragraph(f"{r.text('person_name')}　殿")
        doc.paragraph(r.text("organ_name"), align="right")
        doc.paragraph(f"あなたについて実施した適性評価の結果を、{ACT_JA}に基づき、次のとおり通知します。")
        # An unfavourable result has no term: no "valid until" row at all (not an empty one).
        _facts(doc, _case_rows(r, language) + [("評価の結果", outcome), ("通知の日", _when(notified_at, language))]
               + ([("有効期間の満了日", _date(valid_until, language))] if favourable else []))
    else:
        outcome = ("Favourable: you are not regarded as likely to leak Critical Economic Security Information "
                   "if you handle it" if favourable else
                   "Unfavourable: you are not regarded as free of the risk of leaking Critical Economic Security "
                   "Information if you handle it")
        doc.title_block(title, subtitle="適性評価の結果通知書（英語版）")
        doc.paragraph(_date(notified_at, language), align="right")
        doc.paragraph(f"To {r.text('person_name')}")
        doc.paragraph(r.text("organ_name"), align="right")
        doc.paragraph(f"Under {ACT_EN}, you are notified as follows of the result of your aptitude "
                      "assessment.")
        _facts(doc, _case_rows(r, language) + [("Result", outcome), ("Notified", _when(notified_at, language))]
               + ([("Valid until", _date(valid_until, language))] if favourable else []))
    doc.heading("理由" if ja else "Reasons")
    if waived:
        doc.paragraph("あなたが事前に理由の通知を希望しない旨を申し出たため、理由は記載していません。" if ja else
                      "You asked in advance not to receive the reasons, so none are given here.")
    else:
        doc.table(["事項", "理由"] if ja else ["Item", "Reason"],
                  [[f"（{x.text('number')}）{x.text('label_ja')}" if ja else f"({x.text('number')}) {x.text('label_en')}",
                    x.text("reason")] for x in reasons], widths=[2.2, 4.0])
    doc.note(["この評価の結果について、書面により苦情を申し出ることができます。苦情は、この適性評価に関与していない者が処理します。",
              "評価の結果を理由として、不利益な取扱いを受けることはありません。"] if ja else
             ["You can complain in writing about this result. Someone who did not work on your assessment handles "
              "the complaint.", "You may not be treated unfavourably because of this result."],
             title="苦情の申出" if ja else "Complaints")
    return doc.render()


# --- the copy of the submitted questionnaire -------------------------------------------------------

def questionnaire_copy(d: Mapping[str, Any], *, language: str = "ja") -> bytes:
    """The subject's copy of exactly what they submitted, with its SHA-256.

    Keys: case_ref, person_name, organ_name, nominating_organisation, post?, submitted_at, sha256
    (64 hex), case_id (the id the hash covers), sections [{title, rows [(label, value)],
    groups [{title, entries [[(label, value)]]}]}], canonical (the canonical JSON the hash is of)."""
    language = _lang(language)
    r = Reader(d, where="questionnaire_copy")
    submitted_at = r.datetime("submitted_at")
    sha256 = r.text("sha256")
    if len(sha256) != 64 or any(c not in "0123456789abcdef" for c in sha256):
        raise ValueError("questionnaire_copy: 'sha256' must be 64 lower-case hex digits")
    ja = language == "ja"
    title = "質問票（提出済みの写し）" if ja else "Questionnaire: copy as submitted"
    doc = _document(r, language, title=title, created_at=submitted_at, footer=f"SHA-256 {sha256[:16]}…")
    doc.title_block(title, subtitle="適性評価" if ja else "Aptitude assessment (適性評価)")
    _facts(doc, _case_rows(r, language) + [("提出日時" if ja else "Submitted", _when(submitted_at, language)),
                                           ("SHA-256", sha256)])
    doc.paragraph("この写しは、提出された回答そのものです。SHA-256 は、末尾に掲げる正規化した JSON（事案の識別子と全区分の回答）"
                  "のハッシュ値で、監査記録にも同じ値が記録されています。" if ja else
                  "This copy is exactly what was submitted. The SHA-256 is the hash of the canonical JSON printed at "
                  "the end (the case's identifier and every section's answers); the audit log records the same value.",
                  small=True)
    for i, raw in enumerate(r.items("sections")):
        section = r.item_reader("sections", i, raw)
        doc.heading(section.text("title"))
        rows = [(str(k), str(v)) for k, v in section.data.get("rows", [])]
        if rows:
            doc.key_values(rows)
        for g in section.data.get("groups", []):
            entries = g.get("entries", [])
            doc.heading(f"{g['title']}（{len(entries)}件）" if ja else f"{g['title']} ({len(entries)})", level=2)
            if not entries:
                doc.paragraph("記載なし" if ja else "None", small=True)
            for n, entry in enumerate(entries, start=1):
                doc.paragraph(f"{n}.", small=True)
                doc.key_values([(str(k), str(v)) for k, v in entry])
    doc.heading("ハッシュ値の対象（正規化した JSON）" if ja else "What the hash is of (canonical JSON)")
    doc.paragraph(r.text("canonical"), small=True)
    return doc.render()


# --- written outcomes: a complaint (苦情処理結果通知書) and an adverse-treatment report ---------------

COMPLAINT_OUTCOMES = {
    "not_upheld": ("苦情の申出には理由がないと判断しました。", "Not upheld."),
    "corrected": ("苦情の申出には理由があると認め、取扱いを是正しました。", "Upheld: the handling was corrected."),
    "re_examination": ("苦情の申出には理由があると認め、適性評価を改めて行います。",
                       "Upheld: the assessment is examined again."),
}

ADVERSE_OUTCOMES = {
    "not_substantiated": ("申出の事実は認められませんでした。", "The report was not substantiated."),
    "employer_instructed": ("申出の事実を認め、雇用主に是正を求めました。",
                            "Substantiated: the employer was instructed to remedy the treatment."),
    "contract_action": ("申出の事実を認め、契約に関する措置を検討します。",
                        "Substantiated: action on the employer's contract is under way."),
}

ADVERSE_KINDS = {
    "dismissal": ("解雇", "Dismissal"), "pay_cut": ("減給", "Pay cut"), "demotion": ("降格", "Demotion"),
    "transfer": ("不利益な配置の変更", "Unfavourable transfer"), "menial_tasks": ("雑務に従事させること",
                                                                        "Confined to menial tasks"),
    "other": ("その他", "Other"),
}


def complaint_outcome(d: Mapping[str, Any], *, language: str = "ja") -> bytes:
    """苦情処理結果通知書 (DOMAIN §6 step 9: the outcome is notified in writing). Keys: case_ref,
    person_name, organ_name, nominating_organisation, post?, complaint_ref, filed_at, decided_at,
    outcome (not_upheld | corrected | re_examination), complaint_text, reasons."""
    language = _lang(language)
    r = Reader(d, where="complaint_outcome")
    filed_at, decided_at = r.datetime("filed_at"), r.datetime("decided_at")
    outcome = r.choice("outcome", {k: k for k in COMPLAINT_OUTCOMES})
    ja = language == "ja"
    title = "苦情処理結果通知書" if ja else "Notice of the outcome of a complaint"
    doc = _document(r, language, title=title, created_at=decided_at)
    doc.title_block(title, subtitle="適性評価についての苦情" if ja else "適性評価についての苦情処理結果通知書（英語版）")
    doc.paragraph(_date(decided_at, language), align="right")
    doc.paragraph(f"{r.text('person_name')}　殿" if ja else f"To {r.text('person_name')}")
    doc.paragraph(r.text("organ_name"), align="right")
    doc.paragraph(f"{_date(filed_at, language)}付けで申出のあった苦情について、次のとおり処理したので通知します。" if ja else
                  f"Your complaint of {_date(filed_at, language)} has been handled as follows.")
    _facts(doc, _case_rows(r, language) + [
        ("苦情番号" if ja else "Complaint", r.text("complaint_ref")),
        ("申出の日時" if ja else "Filed", _when(filed_at, language)),
        ("処理の日時" if ja else "Decided", _when(decided_at, language)),
        ("処理の結果" if ja else "Outcome", COMPLAINT_OUTCOMES[outcome][0 if ja else 1])])
    doc.heading("処理の理由" if ja else "Reasons")
    doc.paragraph(r.text("reasons"))
    doc.heading("申出の内容" if ja else "Your complaint")
    doc.paragraph(r.text("complaint_text"), small=True)
    doc.note(["苦情は、この適性評価に関与していない者が処理しました。苦情を申し出たことを理由として、不利益な取扱いを受けることはありません。"]
             if ja else ["Someone who did not work on your assessment handled the complaint. You may not be treated "
                         "unfavourably because you complained."], title="注記" if ja else "Note")
    return doc.render()


def adverse_treatment_decision(d: Mapping[str, Any], *, language: str = "ja") -> bytes:
    """The organ's written decision on an adverse-treatment report (DOMAIN §6, purpose
    limitation). Keys: case_ref, person_name, organ_name, nominating_organisation, post?,
    report_ref, filed_at, decided_at, kind, outcome, employer, report_text, reasons."""
    language = _lang(language)
    r = Reader(d, where="adverse_treatment_decision")
    filed_at, decided_at = r.datetime("filed_at"), r.datetime("decided_at")
    outcome = r.choice("outcome", {k: k for k in ADVERSE_OUTCOMES})
    kind = r.choice("kind", {k: k for k in ADVERSE_KINDS})
    ja = language == "ja"
    title = "不利益取扱いの申出に対する処理結果通知書" if ja else "Notice of the decision on a report of adverse treatment"
    doc = _document(r, language, title=title, created_at=decided_at)
    doc.title_block(title, subtitle="適性評価" if ja else "Aptitude assessment (適性評価)")
    doc.paragraph(_date(decided_at, language), align="right")
    doc.paragraph(f"{r.text('person_name')}　殿" if ja else f"To {r.text('person_name')}")
    doc.paragraph(r.text("organ_name"), align="right")
    _facts(doc, _case_rows(r, language) + [
        ("申出番号" if ja else "Report", r.text("report_ref")),
        ("申出の日時" if ja else "Filed", _when(filed_at, language)),
        ("雇用主" if ja else "Employer", r.text("employer")),
        ("取扱いの種類" if ja else "Kind of treatment", ADVERSE_KINDS[kind][0 if ja else 1]),
        ("処理の日時" if ja else "Decided", _when(decided_at, language)),
        ("処理の結果" if ja else "Outcome", ADVERSE_OUTCOMES[outcome][0 if ja else 1])])
    doc.heading("処理の理由" if ja else "Reasons")
    doc.paragraph(r.text("reasons"))
    doc.heading("申出の内容" if ja else "Your report")
    doc.paragraph(r.text("report_text"), small=True)
    doc.note(["この申出は行政機関が処理したもので、雇用主には送付されていません。"] if ja else
             ["The administrative organ handled this report; it was not sent to your employer."],
             title="注記" if ja else "Note")
    return doc.render()
