"""Forms in the GOV.UK error pattern (issue 15): core/_form.html shows every error at once in a summary
at the top, each linked to its field, non-field errors first, each field's message beside it and tied
to it with aria-describedby, and what was typed kept."""

from __future__ import annotations

import re

from django import forms
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.translation import gettext


class TwoFields(forms.Form):
    title = forms.CharField(label="Title", min_length=10, help_text="At least 10 characters.",
                            widget=forms.TextInput(attrs={"autofocus": True}))
    ends_on = forms.DateField(label="Ends on")
    tier = forms.ChoiceField(label="Tier", choices=[("esi", "ESI"), ("sds", "SDS")], widget=forms.RadioSelect,
                             required=False)

    def clean(self):
        raise forms.ValidationError("The draft was changed by someone else.")


def render(form) -> str:
    with translation.override("ja"):
        return render_to_string("core/_form.html", {"form": form})


def summary_of(page: str) -> str:
    match = re.search(r'<div class="error-summary".*?</div>', page, re.S)
    assert match, "no error summary"
    return match.group(0)


def test_two_field_errors_give_a_summary_with_a_link_to_each_field():
    form = TwoFields({"title": "short", "ends_on": "2025-02-30"})
    page = render(form)
    summary = summary_of(page)
    with translation.override("ja"):
        assert f">{gettext('There is a problem')}</h2>" in summary
    links = re.findall(r'<a href="#([^"]+)">', summary)
    assert links == ["id_title", "id_ends_on"]
    # Non-field errors first, as text (there is no field to go to).
    items = re.findall(r"<li>(.*?)</li>", summary, re.S)
    assert items[0] == "The draft was changed by someone else."
    assert len(items) == 3
    assert 'role="alert"' in summary and 'tabindex="-1"' in summary and "data-error-summary" in summary


def test_each_field_shows_its_message_beside_it_described_by_it_with_the_value_kept():
    page = render(TwoFields({"title": "short", "ends_on": "2025-02-30"}))
    assert 'id="id_title_error"' in page and 'id="id_ends_on_error"' in page
    title = re.search(r"<input[^>]*id=\"id_title\"[^>]*>", page).group(0)
    assert 'aria-describedby="id_title_helptext id_title_error"' in title
    assert 'aria-invalid="true"' in title and 'value="short"' in title
    ends_on = re.search(r"<input[^>]*id=\"id_ends_on\"[^>]*>", page).group(0)
    assert 'aria-describedby="id_ends_on_error"' in ends_on and 'value="2025-02-30"' in ends_on
    # The error summary takes the focus: no autofocus may take it back.
    assert "autofocus" not in page


def test_a_radio_group_is_a_fieldset_and_its_error_links_to_the_first_option():
    class Choose(forms.Form):
        tier = forms.ChoiceField(label="Tier", choices=[("esi", "ESI"), ("sds", "SDS")], widget=forms.RadioSelect)

    page = render(Choose({}))
    assert re.findall(r'<a href="#([^"]+)">', summary_of(page)) == ["id_tier_0"]
    assert '<fieldset class="field has-error" aria-describedby="id_tier_error">' in page
    assert "<legend>Tier</legend>" in page and 'id="id_tier_0"' in page


def test_a_form_without_errors_has_no_summary_and_keeps_its_autofocus():
    page = render(TwoFields())
    assert "error-summary" not in page and "aria-invalid" not in page
    assert "autofocus" in page


def test_a_prefixed_form_gets_its_own_summary_id():
    form = TwoFields({"p-title": "x"}, prefix="p")
    page = render(form)
    assert 'id="error-summary-p"' in page and '<a href="#id_p-title">' in page
