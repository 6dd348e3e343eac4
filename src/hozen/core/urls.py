from django.urls import path

from .views import admin, auth, passkeys, shell

app_name = "core"

urlpatterns = [
    path("", shell.home, name="home"),
    path("signin/", auth.sign_in, name="login"),
    path("signin/verify/", auth.otp_verify, name="otp_verify"),
    path("signin/enrol/", auth.otp_enrol, name="otp_enrol"),
    path("signin/passkey/begin/", passkeys.sign_in_begin, name="passkey_sign_in_begin"),
    path("signin/passkey/complete/", passkeys.sign_in_complete, name="passkey_sign_in_complete"),
    path("signin/enrol/link/<str:secret>/", auth.enrolment_link, name="enrolment_link"),
    path("signout/", auth.sign_out, name="logout"),
    path("signin/reset/<str:secret>/", auth.password_reset, name="password_reset"),
    path("language/", shell.set_language, name="set_language"),
    path("dashboard/", shell.dashboard, name="dashboard"),
    path("work/<str:role>/", shell.workspace, name="workspace"),
    path("role/", shell.switch_role, name="switch_role"),
    path("profile/", shell.profile, name="profile"),
    path("profile/signout-everywhere/", shell.sign_out_everywhere, name="sign_out_everywhere"),
    path("profile/recovery-codes/", shell.regenerate_recovery_codes, name="recovery_codes"),
    path("profile/tokens/<int:pk>/revoke/", shell.revoke_token, name="revoke_token"),
    path("profile/password/", shell.change_password, name="change_password"),
    path("profile/email/", shell.set_email, name="set_email"),
    path("profile/email/verify/<str:secret>/", shell.verify_email, name="verify_email"),
    path("profile/notices/", shell.set_notices, name="set_notices"),
    path("profile/passkeys/begin/", passkeys.add_begin, name="passkey_add_begin"),
    path("profile/passkeys/complete/", passkeys.add_complete, name="passkey_add_complete"),
    path("profile/passkeys/<int:pk>/remove/", passkeys.remove, name="passkey_remove"),
    path("admin/accounts/", admin.accounts, name="accounts"),
    path("admin/accounts/<int:pk>/reset-second-factor/", admin.reset_second_factor, name="reset_second_factor"),
    path("admin/accounts/<int:pk>/enrolment-link/", admin.new_enrolment_link, name="new_enrolment_link"),
    path("admin/accounts/<int:pk>/reset-password/", admin.start_password_reset, name="start_password_reset"),
    path("admin/sign-in-locks/", admin.sign_in_locks, name="sign_in_locks"),
    path("organisations/", admin.organisations, name="organisations"),
]
