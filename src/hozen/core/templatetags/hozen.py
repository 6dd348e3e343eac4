"""Template helpers: Tokyo dates, 和暦, role labels."""

from __future__ import annotations

import datetime as dt

from django import template
from django.utils import formats, translation

from ..calendars import TOKYO, to_tokyo_date, wareki

register = template.Library()


@register.filter
def jdate(value):
    """A date in the reader's language: 令和7年5月16日 (2025-05-16) in Japanese, 2025-05-16 in English."""
    if not value:
        return ""
    day = to_tokyo_date(value)
    if translation.get_language() == "en":
        return day.isoformat()
    return f"{wareki(day)}（{day.isoformat()}）"


@register.filter
def jdatetime(value):
    if not value:
        return ""
    local = value.astimezone(TOKYO) if isinstance(value, dt.datetime) else value
    if translation.get_language() == "en":
        return f"{local:%Y-%m-%d %H:%M} JST"
    return f"{wareki(local)} {local:%H:%M}"


@register.filter
def era(value):
    return wareki(value) if value else ""


@register.simple_tag
def number(value):
    return formats.number_format(value, use_l10n=True, force_grouping=True)


@register.filter
def error_anchor(field):
    """The id an error summary links to: the input itself, or a group's first option (radios,
    checkboxes), so following the link puts the cursor where the answer goes."""
    if field.use_fieldset:
        for sub in field.subwidgets:
            if sub.id_for_label:
                return sub.id_for_label
    return field.id_for_label or field.auto_id


@register.filter
def widget(field):
    """The field's input, as ``{{ field }}`` renders it, but without autofocus once the form has
    errors: then the error summary takes the focus (hozen.js), and an autofocus would take it back."""
    attrs = {"autofocus": False} if field.form.errors else None
    html = field.as_widget(attrs=attrs)
    if field.field.show_hidden_initial:
        html += field.as_hidden(only_initial=True)
    return html
