"""Rules for the foundation: dashboards, accounts, organisations, tokens, second factors."""

from __future__ import annotations

from django.db.models import Q

from hozen.core.roles import Role

from ..policy import NO_ROLE, allow, deny, rule, scope_rule


def _has_role(actor) -> bool:
    return actor.assignment is not None


def _is_operator(actor) -> bool:
    """The person at the server's shell running `hozen ...` (not a role holder, not a web user)."""
    return actor.is_system and actor.channel == "cli"


def _role_label(role: str, language: str) -> str:
    """The role's name from roles.py, in the given language (one source for every screen)."""
    from django.utils import translation

    try:
        label = Role(role).label
    except ValueError:
        return role
    with translation.override(language):
        return str(label)


def _role_label_ja(role: str) -> str:
    return _role_label(role, "ja")


def _role_label_en(role: str) -> str:
    return _role_label(role, "en")


def _only(actor, *roles: str, code: str):
    if not _has_role(actor):
        return deny(*NO_ROLE)
    if actor.role in roles:
        return allow()
    names_ja = "・".join(_role_label_ja(r) for r in roles)
    names_en = ", ".join(_role_label_en(r) for r in roles)
    return deny(
        code,
        f"この操作は{names_ja}のみが行えます。現在の役割は{_role_label_ja(actor.role)}です。",
        f"Only the {names_en} role may do this; your active role is {_role_label_en(actor.role)}.",
    )


@rule("dashboard.view")
def dashboard_view(actor, target):
    return allow() if _has_role(actor) else deny(*NO_ROLE)


@rule("workspace.view")
def workspace_view(actor, target):
    """Each role's workspace is for that role only; `target` is the role code of the page."""
    if not _has_role(actor):
        return deny(*NO_ROLE)
    if target not in Role.values:
        return deny("unknown_workspace", "その画面はありません。", "There is no such page.")
    return _only(actor, target, code="wrong_role")


@rule("profile.view")
def profile_view(actor, target):
    """Anyone signed in may see and change their own profile, role or no role."""
    if actor.account is None:
        return deny("not_signed_in", "サインインが必要です。", "You need to sign in.")
    return allow()


rule("profile.update")(profile_view)
rule("session.sign_out_everywhere")(profile_view)


@rule("otp.enrol")
def otp_enrol(actor, target):
    """Enrolling a new authenticator needs the old one, if any: a stolen password alone must not do."""
    from django_otp.plugins.otp_totp.models import TOTPDevice

    decision = profile_view(actor, target)
    if not decision.allowed:
        return decision
    if actor.second_factor_verified or not TOTPDevice.objects.filter(user=actor.account, confirmed=True).exists():
        return allow()
    return deny("second_factor_required", "先に現在の二要素認証で確認してください。",
                "Confirm with your current second factor first.")


@rule("otp.passkey_add")
def otp_passkey_add(actor, target):
    """A passkey is added to one's own account (`target`), beside a confirmed authenticator app and
    by a session verified with the second factor: a stolen password alone must not add one
    (issue 14 §4; hozen.core.services, "passkeys")."""
    from django_otp.plugins.otp_totp.models import TOTPDevice

    decision = profile_view(actor, target)
    if not decision.allowed:
        return decision
    if target is None or target.pk != actor.account.pk:
        return deny("not_your_account", "他の人のアカウントにパスキーは登録できません。",
                    "You cannot add a passkey to someone else's account.")
    if not TOTPDevice.objects.filter(user=actor.account, confirmed=True).exists():
        return deny("authenticator_app_first", "パスキーは認証アプリに加えて登録します。先に認証アプリを設定してください。",
                    "A passkey is added beside an authenticator app: set up the app first.")
    if not actor.second_factor_verified:
        return deny("second_factor_required", "先に現在の二要素認証で確認してください。",
                    "Confirm with your current second factor first.")
    return allow()


@rule("otp.passkey_remove")
def otp_passkey_remove(actor, target):
    """One's own passkeys are removed from one's own account (`target`), by a session verified with
    the second factor. Whose passkey it is, the service's locked read decides (someone else's is
    not found)."""
    decision = profile_view(actor, target)
    if not decision.allowed:
        return decision
    if target is None or target.pk != actor.account.pk:
        return deny("not_your_account", "他の人のパスキーは削除できません。", "You cannot remove someone else's passkey.")
    if not actor.second_factor_verified:
        return deny("second_factor_required", "先に現在の二要素認証で確認してください。",
                    "Confirm with your current second factor first.")
    return allow()


@rule("role.switch")
def role_switch(actor, target):
    """Switch to one of one's own active assignments only."""
    if actor.account is None or target is None:
        return deny("not_signed_in", "サインインが必要です。", "You need to sign in.")
    if target.account_id != actor.account.pk or target.revoked_at is not None:
        return deny("not_your_role", "その役割はあなたに割り当てられていません。", "That role is not assigned to you.")
    return allow()


@rule("organisation.list")
def organisation_list(actor, target):
    if _is_operator(actor):
        return allow("server_operator")
    if not _has_role(actor):
        return deny(*NO_ROLE)
    return allow()  # which rows: see scope below


@rule("organisation.view")
def organisation_view(actor, target):
    if not _has_role(actor):
        return deny(*NO_ROLE)
    if actor.role in (Role.SYSADMIN, Role.AUDITOR, Role.OVERSIGHT) or target.pk == actor.organisation.pk:
        return allow()
    return deny("other_organisation", "他の組織の情報は表示できません。", "You cannot see another organisation.")


@scope_rule("organisation.view", "core.organisation")
def organisation_scope(actor):
    if _is_operator(actor):
        return Q()
    if not _has_role(actor):
        return Q(pk__in=[])
    if actor.role in (Role.SYSADMIN, Role.AUDITOR, Role.OVERSIGHT):
        return Q()
    return Q(pk=actor.organisation.pk)


@rule("account.view")
def account_view(actor, target):
    if not _has_role(actor):
        return deny(*NO_ROLE)
    if actor.role == Role.SYSADMIN or (actor.account and target.pk == actor.account.pk):
        return allow()
    return deny("not_sysadmin", "アカウント情報はシステム管理者のみが表示できます。",
                "Only a system administrator may see other accounts.")


@scope_rule("account.view", "core.account")
def account_scope(actor):
    if _is_operator(actor):
        return Q()
    if not _has_role(actor):
        return Q(pk__in=[])
    if actor.role == Role.SYSADMIN:
        return Q()
    return Q(pk=actor.account.pk)


@rule("account.create")
def account_create(actor, target):
    # The operator at the server's shell (`hozen users create`) or a system administrator.
    if _is_operator(actor):
        return allow("server_operator")
    return _only(actor, Role.SYSADMIN, code="not_sysadmin")




@rule("account.list")
def account_list(actor, target):
    """The operator at the shell sees every account; a role holder sees the rows of `account_scope`."""
    if actor.is_system:
        return account_create(actor, target)
    return allow() if _has_role(actor) else deny(*NO_ROLE)


rule("organisation.create")(account_create)
rule("token.create")(account_create)
rule("role.revoke")(account_create)
rule("sign_in.unlock")(account_create)


@rule("token.revoke")
def token_revoke(actor, target):
    """An API token (`target`) is ended by its owner, or by a system administrator or the operator."""
    if target is not None and actor.account is not None and actor.account.pk == target.account_id:
        return allow("own_token")
    return account_create(actor, target)


@rule("token.list")
def token_list(actor, target):
    """The tokens of an account (`target`): its owner's own, or any account's for an administrator."""
    if target is not None and actor.account is not None and actor.account.pk == target.pk:
        return allow("own_tokens")
    return account_create(actor, target)


@rule("role.assign")
def role_assign(actor, target):
    """A system administrator (or the operator) gives `target` (an Account) a role; nobody gives a
    role to themselves (issue 14 §5), from any of their accounts. None asks about the role only."""
    decision = account_create(actor, target)
    if not decision.allowed or target is None or actor.account is None:
        return decision
    if actor.account.person_id == target.person_id:
        return deny("not_for_yourself", "自分自身に役割を付与することはできません。別のシステム管理者に依頼してください。",
                    "Nobody assigns a role to themselves: ask another system administrator.")
    return decision


@rule("demo.load")
def demo_load(actor, target):
    if _is_operator(actor):
        return allow("server_operator")
    return deny("server_operator_only", "サーバーの操作者のみが実行できます。", "Only the server's operator may do this.")


@rule("otp.reset")
def otp_reset(actor, target):
    """A system administrator resets someone else's lost second factor; never their own
    (two administrators are needed to recover an administrator)."""
    decision = _only(actor, Role.SYSADMIN, code="not_sysadmin")
    if not decision.allowed:
        return decision
    if target is not None and actor.account and target.person_id == actor.account.person_id:
        return deny("own_second_factor", "自分自身の二要素認証はリセットできません。",
                    "You cannot reset your own second factor; ask another administrator.")
    return allow()


@rule("password.reset")
def password_reset(actor, target):
    """A system administrator starts a password reset for someone else; never their own."""
    decision = _only(actor, Role.SYSADMIN, code="not_sysadmin")
    if not decision.allowed:
        return decision
    if target is not None and actor.account and target.person_id == actor.account.person_id:
        return deny("own_password_reset", "自分自身のパスワードはリセットできません。プロフィールから変更してください。",
                    "You cannot reset your own password; change it from your profile.")
    return allow()


rule("password.change")(profile_view)


@rule("password.set")
def password_set(actor, target):
    """`hozen users set-password`: the server's operator only."""
    if _is_operator(actor):
        return allow("server_operator")
    return deny("server_operator_only", "サーバーの操作者のみが実行できます。", "Only the server's operator may do this.")


@rule("api.me")
def api_me(actor, target):
    return profile_view(actor, target)
