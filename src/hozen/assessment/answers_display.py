"""Questionnaire answers as a person reads them: the schema's own labels, yes/no and choices in
words, a repeating group as numbered lines. Shared by the case file (staff) and the subject's
review before submission (portal)."""

from __future__ import annotations

import json

from django.utils.translation import gettext as _


def _value(field, value, language: str) -> str:
    """One answer as text, with the schema's own labels (yes/no, choices, nested groups)."""
    if value is None or value == "" or value == []:
        return "—"
    if field is not None and field.kind == "group" and isinstance(value, list):
        inner = {f.name: f for f in field.fields}
        return "\n".join(
            f"{n}. " + "; ".join(f"{inner[k].label(language) if k in inner else k}: {_value(inner.get(k), v, language)}"
                                 for k, v in item.items())
            for n, item in enumerate(value, 1) if isinstance(item, dict))
    if isinstance(value, bool):
        return str(_("Yes") if value else _("No"))
    if field is not None and field.choices:
        labels = {c.code: (c.label_en if language == "en" else c.label_ja) for c in field.choices}
        return labels.get(value, str(value))
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def displayed(section, answers: dict | None, language: str) -> list[tuple[str, str]] | None:
    """A section's answers as (label, text) pairs in the schema's order, with its labels."""
    if not answers:
        return None
    fields = {f.name: f for f in section.fields}
    order = [f.name for f in section.fields if f.name in answers] + [k for k in answers if k not in fields]
    return [(fields[k].label(language) if k in fields else k, _value(fields.get(k), answers[k], language))
            for k in order]
