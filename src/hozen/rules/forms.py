"""The form of the rules-pack publish screen. It shapes input only: the loader validates the file
(every problem with its line) and the service decides who may publish and which version."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

#: A pack is a few tens of kilobytes; the loader refuses more than 500,000 characters anyway.
MAX_UPLOAD_BYTES = 1_000_000


class PublishForm(forms.Form):
    file = forms.FileField(
        label=_("Rules pack file (YAML)"),
        help_text=_("A copy of the current pack with a higher version and its effective date "
                    "(see the comments at the top of the shipped files)."))

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > MAX_UPLOAD_BYTES:
            raise forms.ValidationError(_("The file is too large for a rules pack (at most 1 MB)."))
        raw = upload.read()
        try:
            # Bytes decoded without newline translation: the stored SHA-256 is the file's own (as the CLI).
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise forms.ValidationError(
                _("The file is not UTF-8 text (byte %(position)s).") % {"position": exc.start}) from None
        return {"name": upload.name, "text": text}
