"""Replaying accounts and API tokens from the audit log (ARCHITECTURE rule 10; `hozen.audit.reconcile`).

Accounts (kind ``account``; entries on the account: ``account.created``, ``role.assigned``,
``role.revoked``, ``profile.language_set``, ``session.signed_out_everywhere``, ``otp.reset``):

- ``username`` and ``active`` as created (no service renames or deactivates an account);
- ``roles``: the active role assignments, as ``role@ORGANISATION`` (assigned, not revoked since);
- ``language``: the last language recorded (creation entries record it from issue 11 on; an account
  created before is compared once its language was changed through the service);
- ``session_generation``: 0 at creation, one more with each sign-out everywhere and second-factor
  reset (entries record the value from issue 11 on; earlier ones count one each, which is what
  the services did).

API tokens (kind ``api_token``; ``token.created``, ``token.revoked``): the account, the prefix, the
role assignment it acts in and whether it is revoked. A token created before issue 11 may have been
revoked without an entry of its own (sign-out everywhere wrote only the account's entry then): its
creation entry does not say ``revoked``, so for such a token the field is compared only once a
``token.revoked`` entry exists. Never compared: the token's hash, label and last use (a hint, not
state).

Second factors (django-otp's devices) are not replayed: their entries (``otp.enrolled``,
``otp.reset``) name the devices by id, but the secrets are not in the log by design.
"""

from __future__ import annotations

from django.db.models import Prefetch

from hozen.audit.reconcile import Replayer, details

from .models import Account, ApiToken, RoleAssignment

SESSION_ENDINGS = frozenset({"session.signed_out_everywhere", "otp.reset", "password.reset_completed",
                             "password.changed", "password.set"})
ACCOUNT_ACTIONS = frozenset({"account.created", "role.assigned", "role.revoked", "profile.language_set",
                             *SESSION_ENDINGS})
ACCOUNT_FIELDS = ("username", "active", "roles", "language", "session_generation")


def _role(d: dict) -> str:
    return f"{d.get('role')}@{d.get('organisation')}"


def replay_account(entries: list[dict]) -> dict:
    out: dict = {}
    roles: set[str] | None = None  # known only from the creation on
    for entry in entries:
        action, d = entry["action"], details(entry)
        if action == "account.created":
            roles = set()
            out.update(username=d.get("username"), active=d.get("active", True), session_generation=0)
            if "language" in d:
                out["language"] = d["language"]
        elif action == "role.assigned" and roles is not None:
            roles.add(_role(d))
        elif action == "role.revoked" and roles is not None:
            roles.discard(_role(d))
        elif action == "profile.language_set":
            out["language"] = d.get("language")
        elif action in SESSION_ENDINGS:
            if isinstance(d.get("session_generation"), int):
                out["session_generation"] = d["session_generation"]
            elif "session_generation" in out:
                out["session_generation"] += 1
    if roles is not None:
        out["roles"] = sorted(roles)
    return out


def stored_account(row: Account) -> dict:
    return {
        "username": row.username, "active": row.is_active, "language": row.language,
        "session_generation": row.session_generation,
        "roles": sorted(f"{a.role}@{a.organisation.code}" for a in row.replay_active_roles),
    }


def _accounts():
    active = RoleAssignment.objects.filter(revoked_at__isnull=True).select_related("organisation")
    return Account.objects.prefetch_related(Prefetch("role_assignments", queryset=active,
                                                     to_attr="replay_active_roles"))


TOKEN_ACTIONS = frozenset({"token.created", "token.revoked"})
TOKEN_FIELDS = ("account", "prefix", "assignment", "revoked")


def replay_token(entries: list[dict]) -> dict:
    out: dict = {}
    for entry in entries:
        d = details(entry)
        if entry["action"] == "token.created":
            out.update({name: d[name] for name in TOKEN_FIELDS if name in d})
        elif entry["action"] == "token.revoked":
            out["revoked"] = True
    return out


def stored_token(row: ApiToken) -> dict:
    return {"account": row.account.username, "prefix": row.prefix, "assignment": row.assignment_id,
            "revoked": row.revoked_at is not None}


REPLAYERS = (
    Replayer(kind="account", model=Account, target_type="core.account", actions=ACCOUNT_ACTIONS,
             replay=replay_account, stored=stored_account, fields=ACCOUNT_FIELDS, queryset=_accounts),
    Replayer(kind="api_token", model=ApiToken, target_type="core.apitoken", actions=TOKEN_ACTIONS,
             replay=replay_token, stored=stored_token, fields=TOKEN_FIELDS, related=("account",)),
)
