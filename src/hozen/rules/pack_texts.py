"""The source notes of the shipped rules packs, for the rules-pack screen and the translation
catalogue (issue 15).

A pack states where each figure comes from in English (its `source`). The pack file is published
and never edited, and the notes of the two shipped files cite Hozen's internal rulebook
("DOMAIN.md §2"), which a person reading the rules-pack screen cannot look up. So the screen does
not show a shipped note as written: `NOTES` gives, for each, the note shown instead, with the legal
source a reader recognises (the Act's article, the SDS Act's, the Operational Standards) where the
rulebook names one, and without a citation where it does not. The note shown is the catalogue's
msgid: the page shows `gettext(note(source))` in either language. `makemessages` finds the notes
shown here (the keys are not marked for translation); a test keeps the keys equal to the shipped
packs' notes. A note of a pack published later is shown as written, and without a translation
it is marked as English.
"""

from __future__ import annotations

from django.utils.translation import gettext_noop

#: shipped note, as published -> the note shown (a msgid)
NOTES = {
    "The Act came into force on 16 May 2025; no designation may take effect earlier (DOMAIN.md §2).":
        gettext_noop("The Act came into force on 16 May 2025; no designation may take effect earlier."),
    "Each designation term is at most 5 years; a shorter term is allowed (DOMAIN.md §2, confirmed).":
        gettext_noop("Each designation term is at most 5 years; a shorter term is allowed (confirmed)."),
    "Each extension is at most 5 years (DOMAIN.md §2, confirmed).":
        gettext_noop("Each extension is at most 5 years (confirmed)."),
    "Beyond 30 years in total only with a recorded Cabinet approval (DOMAIN.md §2, confirmed).":
        gettext_noop("Beyond 30 years in total only with a recorded Cabinet approval (confirmed)."),
    "Mirrors the SDS Act's 60-year cap; NOT yet confirmed for ESI (DOMAIN.md §2).":
        gettext_noop("Mirrors the SDS Act's 60-year cap; NOT yet confirmed for ESI."),
    "Mirrors the SDS Act's exempt list; NOT yet confirmed for ESI (DOMAIN.md §2).":
        gettext_noop("Mirrors the SDS Act's exempt list; NOT yet confirmed for ESI."),
    "Files go to the National Archives when Cabinet approval beyond 30 years is refused; mirrors the SDS Act, NOT yet confirmed for ESI (DOMAIN.md §2).":
        gettext_noop("Files go to the National Archives when Cabinet approval beyond 30 years is refused; mirrors the SDS Act, NOT yet confirmed for ESI."),
    "Each designation's reasons are reviewed at least yearly (DOMAIN.md §2, marked configurable).":
        gettext_noop("Each designation's reasons are reviewed at least yearly (configurable)."),
    "A favourable result is valid 10 years from notification (DOMAIN.md §6 step 8).":
        gettext_noop("A favourable result is valid 10 years from notification."),
    "Art. 12(1)(i) — a favourable ESI result from the same organ head notified less than 10 years ago exempts from a new assessment, once the organ confirms no concern has arisen (DOMAIN.md §6).":
        gettext_noop("Act on the Protection and Utilization of Critical Economic Security Information, Art. 12(1)(i)(a) — a favourable ESI result from the same organ head notified less than 10 years ago exempts from a new assessment, once the organ confirms no concern has arisen."),
    "Art. 12(1)(i) — a favourable SDS result from the same organ head notified less than 5 years ago exempts from an ESI assessment, once the organ confirms no concern has arisen (DOMAIN.md §6).":
        gettext_noop("Act on the Protection and Utilization of Critical Economic Security Information, Art. 12(1)(i)(b) — a favourable SDS result from the same organ head notified less than 5 years ago exempts from an ESI assessment, once the organ confirms no concern has arisen."),
    "Hozen working target for the stage from nomination to the written notice (告知); no statutory figure (DOMAIN.md §6 steps, LESSONS.md \"every case stage has a clock\"). Set by the agency.":
        gettext_noop("Hozen working target for the stage from nomination to the written notice (告知); no statutory figure. Set by the agency."),
    "Hozen working target for the stage from notice to the subject's consent or refusal; no statutory figure (DOMAIN.md §6 steps, LESSONS.md \"every case stage has a clock\"). Set by the agency.":
        gettext_noop("Hozen working target for the stage from notice to the subject's consent or refusal; no statutory figure. Set by the agency."),
    "Hozen working target for the stage from consent to the submitted questionnaire (drafts never expire; this is a target, not a deadline); no statutory figure (DOMAIN.md §6 steps, LESSONS.md \"every case stage has a clock\"). Set by the agency.":
        gettext_noop("Hozen working target for the stage from consent to the submitted questionnaire (drafts never expire; this is a target, not a deadline); no statutory figure. Set by the agency."),
    "Hozen working target for the stage from submitted questionnaire to the Cabinet Office investigator's assignment; no statutory figure (DOMAIN.md §6 steps, LESSONS.md \"every case stage has a clock\"). Set by the agency.":
        gettext_noop("Hozen working target for the stage from submitted questionnaire to the Cabinet Office investigator's assignment; no statutory figure. Set by the agency."),
    "Hozen working target for the stage from assignment to the completed investigation; no statutory figure (DOMAIN.md §6 steps, LESSONS.md \"every case stage has a clock\"). Set by the agency.":
        gettext_noop("Hozen working target for the stage from assignment to the completed investigation; no statutory figure. Set by the agency."),
    "Hozen working target for the stage from completed investigation (or a re-examination) to the adjudication; no statutory figure (DOMAIN.md §6 steps, LESSONS.md \"every case stage has a clock\"). Set by the agency.":
        gettext_noop("Hozen working target for the stage from completed investigation (or a re-examination) to the adjudication; no statutory figure. Set by the agency."),
    "Hozen working target for the stage from an unfavourable adjudication to the second adjudicator's concurrence; no statutory figure (DOMAIN.md §6 steps, LESSONS.md \"every case stage has a clock\"). Set by the agency.":
        gettext_noop("Hozen working target for the stage from an unfavourable adjudication to the second adjudicator's concurrence; no statutory figure. Set by the agency."),
    "Hozen working target for the stage from the final adjudication to the notification of the result; no statutory figure (DOMAIN.md §6 steps, LESSONS.md \"every case stage has a clock\"). Set by the agency.":
        gettext_noop("Hozen working target for the stage from the final adjudication to the notification of the result; no statutory figure. Set by the agency."),
    "Hozen working target for the stage from a complaint (苦情) to its decision; no statutory figure (DOMAIN.md §6 steps, LESSONS.md \"every case stage has a clock\"). Set by the agency.":
        gettext_noop("Hozen working target for the stage from a complaint (苦情) to its decision; no statutory figure. Set by the agency."),
    "A business destroys its copy of a favourable notice within 5 years (SDS practice; DOMAIN.md §6, marked configurable).":
        gettext_noop("A business destroys its copy of a favourable notice within 5 years (SDS practice; configurable)."),
    "A business destroys other assessment papers within 1 year (SDS practice; DOMAIN.md §6, marked configurable).":
        gettext_noop("A business destroys other assessment papers within 1 year (SDS practice; configurable)."),
    "DOMAIN.md §6 gives no figure (\"a configurable period\"); working value equal to the assessment validity. Confirm against the Operational Standards.":
        gettext_noop("No figure known (\"a configurable period\"); working value equal to the assessment validity. Confirm against the Operational Standards."),
    "A short list of political office holders handles ESI without an assessment (DOMAIN.md §5, marked configurable); list as in the SDS Act, plus any prescribed by Cabinet Order.":
        gettext_noop("A short list of political office holders handles ESI without an assessment (configurable); list as in the SDS Act, plus any prescribed by Cabinet Order."),
    "Intentional leak by a handler — up to 5 years' 拘禁刑 and/or a fine up to ¥5 million (DOMAIN.md §7, confirmed).":
        gettext_noop("Intentional leak by a handler — up to 5 years' 拘禁刑 and/or a fine up to ¥5 million (confirmed)."),
    "Leak by a person who received ESI through a provision (e.g. the Diet, a court); smaller maximum than a handler's (DOMAIN.md §7, not confirmed).":
        gettext_noop("Leak by a person who received ESI through a provision (e.g. the Diet, a court); smaller maximum than a handler's (not confirmed)."),
    "Negligent leak is an offence with a smaller maximum (DOMAIN.md §7, not confirmed).":
        gettext_noop("Negligent leak is an offence with a smaller maximum (not confirmed)."),
    "Acquisition by fraud, force, theft or unauthorised access (DOMAIN.md §7, not confirmed).":
        gettext_noop("Acquisition by fraud, force, theft or unauthorised access (not confirmed)."),
    "Attempts of intentional leak and unlawful acquisition are offences; the range shown is the completed offence's (DOMAIN.md §7, not confirmed).":
        gettext_noop("Attempts of intentional leak and unlawful acquisition are offences; the range shown is the completed offence's (not confirmed)."),
    "Conspiracy, incitement and solicitation are offences with smaller maxima (DOMAIN.md §7, not confirmed).":
        gettext_noop("Conspiracy, incitement and solicitation are offences with smaller maxima (not confirmed)."),
    "The employer can be fined as well; amount to verify (DOMAIN.md §7). Working value equal to the individual's fine.":
        gettext_noop("The employer can be fined as well; amount to verify. Working value equal to the individual's fine."),
    "Hozen working practice — handlers re-acknowledge the handling obligations yearly (DOMAIN.md §5 requires the acknowledgement, not its interval).":
        gettext_noop("Hozen working practice — handlers re-acknowledge the handling obligations yearly."),
    "The SDS Act came into force on 10 December 2014 (not stated in DOMAIN.md).":
        gettext_noop("The SDS Act came into force on 10 December 2014."),
    "Each SDS designation term is at most 5 years; the ESI terms mirror it (SDS Act Art. 4; DOMAIN.md §2).":
        gettext_noop("Each SDS designation term is at most 5 years; the ESI terms mirror it (SDS Act Art. 4)."),
    "Each extension at most 5 years (SDS Act Art. 4; DOMAIN.md §2).":
        gettext_noop("Each extension at most 5 years (SDS Act Art. 4)."),
    "Beyond 30 years in total only with Cabinet approval (SDS Act Art. 4; DOMAIN.md §2).":
        gettext_noop("Beyond 30 years in total only with Cabinet approval (SDS Act Art. 4)."),
    "Never beyond 60 years except the listed information (SDS Act Art. 4; DOMAIN.md §2 says ESI mirrors it). Figure to verify.":
        gettext_noop("Never beyond 60 years except the listed information (SDS Act Art. 4). Figure to verify."),
    "SDS Act Art. 4 list as recalled; not in DOMAIN.md. To verify.":
        gettext_noop("SDS Act Art. 4 list as recalled. To verify."),
    "When Cabinet approval beyond 30 years is refused the files go to the National Archives (SDS Act Art. 4, which DOMAIN.md §2 says ESI mirrors). To verify.":
        gettext_noop("When Cabinet approval beyond 30 years is refused the files go to the National Archives (SDS Act Art. 4). To verify."),
    "Reasons reviewed at least yearly, as for ESI (DOMAIN.md §2, marked configurable).":
        gettext_noop("Reasons reviewed at least yearly, as for ESI (configurable)."),
    "An SDS assessment result is valid 5 years (DOMAIN.md §6 step 8).":
        gettext_noop("An SDS assessment result is valid 5 years."),
    "A favourable SDS result from the same organ head notified less than 5 years ago exempts from a new SDS assessment; an ESI result never does (DOMAIN.md §6).":
        gettext_noop("A favourable SDS result from the same organ head notified less than 5 years ago exempts from a new SDS assessment; an ESI result never does."),
    "SDS practice — favourable notice kept at most 5 years (DOMAIN.md §6, marked configurable).":
        gettext_noop("SDS practice — favourable notice kept at most 5 years (configurable)."),
    "SDS practice — other papers kept at most 1 year (DOMAIN.md §6, marked configurable).":
        gettext_noop("SDS practice — other papers kept at most 1 year (configurable)."),
    "DOMAIN.md §6 gives no figure (\"a configurable period\"); working value equal to the SDS assessment validity.":
        gettext_noop("No figure known (\"a configurable period\"); working value equal to the SDS assessment validity."),
    "SDS Act Art. 11 as recalled, plus any prescribed by Cabinet Order (DOMAIN.md §5, marked configurable).":
        gettext_noop("SDS Act Art. 11 as recalled, plus any prescribed by Cabinet Order (configurable)."),
    "Up to 10 years' 拘禁刑, with a fine up to ¥10 million added only together with prison where circumstances warrant — not \"and/or\" (DOMAIN.md §7). 懲役 before 1 June 2025. Fine structure to verify.":
        gettext_noop("Up to 10 years' 拘禁刑, with a fine up to ¥10 million added only together with prison where circumstances warrant — not \"and/or\". 懲役 before 1 June 2025. Fine structure to verify."),
    "Leak by a person who received SDS through a provision; smaller maximum (SDS Act Art. 23 as recalled; not in DOMAIN.md).":
        gettext_noop("Leak by a person who received SDS through a provision; smaller maximum (SDS Act Art. 23 as recalled)."),
    "Negligent leak (SDS Act Art. 23 as recalled; not in DOMAIN.md).":
        gettext_noop("Negligent leak (SDS Act Art. 23 as recalled)."),
    "Acquisition by fraud, force, theft or unauthorised access (SDS Act Art. 24 as recalled; not in DOMAIN.md).":
        gettext_noop("Acquisition by fraud, force, theft or unauthorised access (SDS Act Art. 24 as recalled)."),
    "Attempts are offences; the range shown is the completed offence's (not in DOMAIN.md).":
        gettext_noop("Attempts are offences; the range shown is the completed offence's."),
    "Conspiracy, incitement and solicitation (SDS Act Art. 25 as recalled; not in DOMAIN.md).":
        gettext_noop("Conspiracy, incitement and solicitation (SDS Act Art. 25 as recalled)."),
    "Hozen working practice — handlers re-acknowledge the handling obligations yearly.":
        gettext_noop("Hozen working practice — handlers re-acknowledge the handling obligations yearly."),}


def note(source: str) -> str:
    """The note the rules-pack screen shows (before translation) for a value's `source`."""
    return NOTES.get(source, source)
