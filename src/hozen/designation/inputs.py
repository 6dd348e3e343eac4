"""What the designation registry accepts as typed text and dates (issue 12 §1-2).

The services pass every free-text value they store through ``hozen.core.text.clean`` and every
date a person types through ``check_date``, with the field's label in both languages, so the
screens, the API, the CSV import and the CLI all get the same rule and the same message. This
module holds the one table of a draft's fields (create, edit and import share it) and the labels
the other services use.
"""

from __future__ import annotations

import datetime as dt
from typing import NamedTuple

from hozen.core.text import check_date, clean

#: Longest multi-line text (a summary, a justification, a reason): the model's TextFields have no
#: limit of their own; the API's text fields take as many characters.
LONG = 20_000


class TextSpec(NamedTuple):
    label: tuple[str, str]
    multiline: bool = False
    max_length: int | None = None
    min_visible: int = 0
    required: bool = False


#: A draft's free-text fields. Titles and summaries need something visible; each justification at
#: least ten visible characters (DOMAIN §2: each requirement with a written justification).
DRAFT_TEXTS = {
    "title": TextSpec(("件名", "Title"), max_length=200, min_visible=1, required=True),
    "summary": TextSpec(("概要", "Summary"), multiline=True, max_length=LONG, min_visible=1, required=True),
    "justification_category": TextSpec(("要件1（区分・細目への該当）の理由", "Requirement 1 (falls in the category)"),
                                       multiline=True, max_length=LONG, min_visible=10, required=True),
    "justification_not_public": TextSpec(("要件2（非公知性）の理由", "Requirement 2 (not public)"),
                                         multiline=True, max_length=LONG, min_visible=10, required=True),
    "justification_harm": TextSpec(("要件3（漏えいによる支障）の理由", "Requirement 3 (harm if leaked)"),
                                   multiline=True, max_length=LONG, min_visible=10, required=True),
    "advance_reason": TextSpec(("事前に指定する理由", "Reason for designating in advance"), multiline=True,
                               max_length=LONG),
}

DRAFT_DATES = {
    "designated_on": ("指定日", "Designation date"),
    "term_end": ("有効期間の満了日", "Term end"),
}


def text(value, field: str, spec: TextSpec) -> str:
    return clean(value, field=field, label=spec.label, multiline=spec.multiline, max_length=spec.max_length,
                 min_visible=spec.min_visible, required=spec.required)


def clean_draft(fields: dict, *, partial: bool = False, checks=None) -> dict:
    """A draft's fields as stored: every text cleaned, every date checked (1900–2200; the rule
    checks then apply the regime start and the term maximum). `partial` (an edit): only the
    fields given; otherwise a missing required text is refused like an empty one.

    With `checks` (a `violations.Checks`) every field is checked and each refusal kept there; a
    refused field is left out of the result. Without, the first refusal is raised."""
    out = dict(fields)
    steps = [(field, lambda f=field, s=spec: text(fields.get(f), f, s)) for field, spec in DRAFT_TEXTS.items()]
    steps += [(field, lambda f=field, label=label: check_date(fields.get(f), field=f, label=label))
              for field, label in DRAFT_DATES.items()]
    for field, step in steps:
        if field in fields or not partial:
            if checks is None:
                out[field] = step()
                continue
            out.pop(field, None)
            with checks.check():
                out[field] = step()
    return out


def reason(value, *, field: str = "reason", label: tuple[str, str], min_visible: int = 10,
           required: bool = True) -> str:
    """A reason, note or answer a person writes (multi-line; at least `min_visible` visible characters)."""
    return clean(value, field=field, label=label, multiline=True, max_length=LONG,
                 min_visible=min_visible if required else 0, required=required)


def day(value, *, field: str, label: tuple[str, str], earliest: dt.date | None = None,
        latest: dt.date | None = None) -> dt.date:
    """A date a person typed, within `earliest`..`latest` when the rule gives them (else 1900–2200)."""
    bounds = {}
    if earliest is not None:
        bounds["earliest"] = earliest
    if latest is not None:
        bounds["latest"] = latest
    return check_date(value, field=field, label=label, **bounds)
