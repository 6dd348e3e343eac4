from django import forms
from django.utils.translation import gettext_lazy as _


class SignInForm(forms.Form):
    username = forms.CharField(label=_("User name"), max_length=64,
                               widget=forms.TextInput(attrs={"autocomplete": "username", "autofocus": True}))
    password = forms.CharField(label=_("Password"), max_length=256,
                               widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}))


class TokenForm(forms.Form):
    token = forms.CharField(
        label=_("Code from your authenticator app, or a recovery code"), max_length=32,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "text", "autofocus": True}),
    )


class EnrolForm(forms.Form):
    token = forms.CharField(
        label=_("6-digit code shown by the app"), min_length=6, max_length=8,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "autofocus": True}),
    )


class ResetSecondFactorForm(forms.Form):
    # Issue 12 §8: the reason is kept encrypted in its own record; the audit entry names the reset only.
    reason = forms.CharField(label=_("Reason (kept encrypted, apart from the audit log)"), min_length=10, max_length=500,
                             widget=forms.Textarea(attrs={"rows": 3}))


class UnlockForm(forms.Form):
    username = forms.CharField(label=_("User name"), max_length=150, widget=forms.HiddenInput)


def _same(form, first: str, second: str) -> None:
    data = form.cleaned_data
    if data.get(first) and data.get(second) and data[first] != data[second]:
        form.add_error(second, _("The two new passwords are not the same."))


class StartPasswordResetForm(forms.Form):
    second_factor_lost = forms.BooleanField(
        label=_("They have lost their authenticator too (they will set up a new one after the reset)"), required=False)


class NewPasswordForm(forms.Form):
    password = forms.CharField(label=_("New password"), max_length=256,
                               widget=forms.PasswordInput(attrs={"autocomplete": "new-password", "autofocus": True}))
    password_again = forms.CharField(label=_("New password again"), max_length=256,
                                     widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}))

    def clean(self):
        _same(self, "password", "password_again")
        return self.cleaned_data


class ChangePasswordForm(forms.Form):
    old_password = forms.CharField(label=_("Current password"), max_length=256,
                                   widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}))
    new_password = forms.CharField(label=_("New password"), max_length=256,
                                   widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}))
    new_password_again = forms.CharField(label=_("New password again"), max_length=256,
                                         widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}))
    token = forms.CharField(label=_("Code from your authenticator app, or a recovery code"), max_length=32,
                            required=False,
                            widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "text"}))

    def clean(self):
        _same(self, "new_password", "new_password_again")
        return self.cleaned_data


class EmailForm(forms.Form):
    email = forms.CharField(label=_("E-mail address for notices"), max_length=254,
                            widget=forms.EmailInput(attrs={"autocomplete": "email"}))
