"""Forms of the subject portal, and the questionnaire's HTML form built from the schema.

The questionnaire is not a Django form per section: its schema is data (``questionnaire.py``) and
the server's validation (``validation.py``) is the only source of truth. ``parse_section`` turns
the posted fields (``family_name``, ``relatives[1].date_of_birth``) into the section's answers,
and ``render_section`` turns answers and ``FieldError``s back into what the template shows, each
error beside its field. Parsing is a pure function of the posted values, so posting the same page
twice gives the same answers and the save is recognised as a repeat (idempotent saves).
"""

from __future__ import annotations

import re

from django import forms
from django.utils.translation import gettext_lazy as _

from . import countries
from .models import AdverseTreatmentReport
from .questionnaire import Field, Section
from .validation import FieldError

MAX_INDEX = 1000  # group indexes beyond this are ignored (the schema's own limits are lower)


class SecondFactorForm(forms.Form):
    """Consent, refusal and withdrawal need the subject's own second factor, entered again."""

    # Up to 32 characters: a recovery code is shown in groups of four with hyphens (19 characters).
    token = forms.CharField(label=_("Code from your authenticator app"), max_length=32,
                            help_text=_("One of your recovery codes works too. The code is used up only if your "
                                        "decision is recorded."),
                            widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}))


class ConsentForm(SecondFactorForm):
    decision = forms.ChoiceField(label=_("Your decision"), widget=forms.RadioSelect, choices=[
        ("consent", _("I consent to the aptitude assessment")),
        ("refuse", _("I do not consent (I refuse)")),
    ])
    field_order = ["decision", "token"]


class WaiveReasonsForm(forms.Form):
    waived = forms.TypedChoiceField(label=_("Reasons for the result"), widget=forms.RadioSelect,
                                    coerce=lambda v: v == "true", choices=[
                                        ("false", _("I want to receive the reasons")),
                                        ("true", _("I do not want to receive the reasons")),
                                    ])


class ComplaintForm(forms.Form):
    text = forms.CharField(label=_("Your complaint"), max_length=20_000, widget=forms.Textarea(attrs={"rows": 8}),
                           help_text=_("What the complaint is about and what you ask for. A person who did not work "
                                       "on your assessment handles it."))


class AdverseTreatmentForm(forms.Form):
    kind = forms.ChoiceField(label=_("What happened"), choices=AdverseTreatmentReport.Kind.choices)
    text = forms.CharField(label=_("Details"), max_length=20_000, widget=forms.Textarea(attrs={"rows": 8}),
                           help_text=_("The report goes to the administrative organ, never to your employer."))


# --- the questionnaire ---------------------------------------------------------------------------

def _value(f: Field, raw):
    """One posted value as the schema's JSON shape; None when nothing was given."""
    if raw is None:
        return None
    raw = raw.strip()
    if f.kind == "yes_no":
        return {"true": True, "false": False}.get(raw)
    if raw == "":
        return None
    if f.kind == "countries":
        return countries.codes_for(raw)
    if f.kind == "country":
        return countries.code_for(raw) or raw.upper()  # a name or a code; an unknown one is refused by the check
    return raw


def _indexes(data, name: str) -> list[int]:
    pattern = re.compile(re.escape(name) + r"\[(\d{1,4})\]\.")
    found = set()
    for key in data:
        m = pattern.match(key)
        if m and int(m.group(1)) < MAX_INDEX:
            found.add(int(m.group(1)))
    return sorted(found)


def _parse(fields: tuple[Field, ...], data, prefix: str) -> dict:
    out: dict = {}
    for f in fields:
        name = prefix + f.name
        if f.kind == "group":
            entries = [_parse(f.fields, data, f"{name}[{i}].") for i in _indexes(data, name)]
            if entries:
                out[f.name] = entries  # a blank entry stays ({}): the person added it, the check says what is missing
        else:
            value = _value(f, data.get(name))
            if value is not None:
                out[f.name] = value
    return out


def parse_section(section: Section, data) -> dict:
    """The section's answers from posted form data (a QueryDict or a dict of strings)."""
    return _parse(section.fields, data, "")


def apply_row_action(section: Section, content: dict, action: str) -> dict:
    """``add:<group>`` appends a blank entry; ``remove:<group>:<index>`` removes one (the no-JS
    way to edit repeating groups; with JS the same buttons are used)."""
    parts = action.split(":")
    groups = {f.name for f in section.fields if f.kind == "group"}
    if len(parts) >= 2 and parts[1] in groups:
        entries = list(content.get(parts[1], []))
        if parts[0] == "add":
            entries.append({})
        elif parts[0] == "remove" and len(parts) == 3 and parts[2].isdigit() and int(parts[2]) < len(entries):
            del entries[int(parts[2])]
        content = {**content, parts[1]: entries} if entries else {k: v for k, v in content.items() if k != parts[1]}
    return content


def path_label(section: Section, path: str, language: str) -> str:
    """A field path (``jobs[1].ended_on``) as the person reads it: the questions' own labels, with
    the entry's number (``Employment 2 › Until``); the path itself for anything not in the schema."""
    parts, fields, out = [p for p in path.split(".") if p], section.fields, []
    for part in parts:
        m = re.fullmatch(r"([^\[\]]+)(?:\[(\d+)\])?", part)
        f = next((x for x in fields if m and x.name == m.group(1)), None)
        if f is None:
            return path
        out.append(f.label(language) + (f" {int(m.group(2)) + 1}" if m.group(2) is not None else ""))
        fields = f.fields if f.kind == "group" else ()
    return " › ".join(out)


def error_key(path: str) -> str:
    """The field an error is shown beside: ``nationalities[1]`` belongs to ``nationalities``."""
    return re.sub(r"\[\d+\]$", "", path)


def errors_by_field(errors: list[FieldError], language: str) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for e in errors:
        out.setdefault(error_key(e.path), []).append(e.message(language))
    return out


def _display(f: Field, value, language: str = "ja") -> str:
    if value is None:
        return ""
    if f.kind == "countries" and isinstance(value, list):
        return ", ".join(countries.label(str(v), language) for v in value)
    if f.kind == "country":
        return countries.label(str(value), language)
    if f.kind == "yes_no":
        return "true" if value is True else "false" if value is False else ""
    return str(value)


def _widgets(fields: tuple[Field, ...], content: dict, prefix: str, errors: dict, language: str,
             used: set, *, in_group: bool = False) -> list[dict]:
    rows = []
    for f in fields:
        path = prefix + f.name
        html_id = "q-" + re.sub(r"[^A-Za-z0-9_-]", "-", path)
        used.add(path)
        row = {"name": path, "id": html_id, "kind": f.kind, "label": f.label(language),
               "required": f.required, "conditional": f.required_if is not None,
               "errors": errors.get(path, []), "in_group": in_group}
        if f.kind == "group":
            entries = content.get(f.name) or []
            row["entries"] = [
                {"index": i, "number": i + 1,
                 "fields": _widgets(f.fields, entry if isinstance(entry, dict) else {}, f"{path}[{i}].", errors,
                                    language, used, in_group=True)}
                for i, entry in enumerate(entries)]
            row["max_items"] = f.max_items
        else:
            row["value"] = _display(f, content.get(f.name), language)
            row["choices"] = [(c.code, c.label_en if language == "en" else c.label_ja) for c in f.choices]
            row["multiline"] = f.kind == "long_text"
            row["max_length"] = f.max_length
        rows.append(row)
    return rows


def render_section(section: Section, content: dict, errors: list[FieldError], language: str) -> dict:
    """What the template needs: the fields with their values and errors, and any error that has
    no field on the page (shown at the top, so nothing is hidden)."""
    by_field = errors_by_field(errors, language)
    used: set = set()
    fields = _widgets(section.fields, content or {}, "", by_field, language, used)
    unplaced = [m for key, messages in by_field.items() if key not in used for m in messages]
    return {"fields": fields, "unplaced_errors": unplaced}


def answer_rows(section: Section, content: dict, language: str) -> dict:
    """A section's answers as label/value rows for the submitted copy (and its PDF)."""
    yes, no = ("はい", "いいえ") if language == "ja" else ("Yes", "No")

    def text(f: Field, value) -> str:
        if value is None or value == "" or value == []:
            return "—"
        if f.kind == "yes_no":
            return yes if value is True else no if value is False else str(value)
        if f.kind == "choice":
            for c in f.choices:
                if c.code == value:
                    return c.label_en if language == "en" else c.label_ja
        if f.kind == "countries" and isinstance(value, list):
            return ", ".join(countries.label(str(v), language) for v in value)
        if f.kind == "country":
            return countries.label(str(value), language)
        return str(value)

    rows, groups = [], []
    for f in section.fields:
        value = (content or {}).get(f.name)
        if f.kind == "group":
            entries = value or []
            if entries or f.required_if is None:
                groups.append({"title": f.label(language), "entries": [
                    [(g.label(language), text(g, (e or {}).get(g.name))) for g in f.fields] for e in entries]})
        else:
            rows.append((f.label(language), text(f, value)))
    return {"title": section.title(language), "rows": rows, "groups": groups}
