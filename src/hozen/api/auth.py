"""Bearer tokens for /api/v1/: `Authorization: Bearer hz_<prefix>_<secret>`."""

from __future__ import annotations

import datetime as dt
import hmac

from django.utils import timezone
from ninja.security import HttpBearer

from hozen.core.actor import Actor
from hozen.core.lockout import client_ip
from hozen.core.models import ApiToken
from hozen.core.prepared import PreparedRead
from hozen.core.services import hash_token_secret

# One statement, the joins the actor needs (the account, the role and its organisation) and no
# more: the person is read only by the few endpoints that show it. The prefix is unique, so no
# ORDER BY (`.first()` would add one). Compiled once per process (hozen.core.prepared): compiling
# the joins was most of this lookup's cost, on every API request. Dates decide: `now` is the
# request's own.
_TOKEN = PreparedRead(
    lambda prefix, now: (ApiToken.objects.select_related("account", "assignment__organisation")
                         .filter(prefix=prefix, revoked_at__isnull=True, expires_at__gt=now)[:1]),
    prefix="\x00token-prefix\x00", now=dt.datetime(1901, 2, 3, 4, 5, 6, 789012, tzinfo=dt.UTC))


class TokenAuth(HttpBearer):
    def authenticate(self, request, token: str):
        parts = token.split("_", 2)  # the secret itself may contain "_"
        if len(parts) != 3 or parts[0] != "hz":
            return None
        _, prefix, secret = parts
        row = _TOKEN.first(prefix=prefix, now=timezone.now())
        if row is None or not hmac.compare_digest(row.secret_hash, hash_token_secret(secret)):
            return None
        if not row.account.is_active or row.assignment.revoked_at is not None:
            return None
        assignment = row.assignment
        # A client may act in another of the account's own roles: X-Hozen-Role: role@ORG
        wanted = request.headers.get("X-Hozen-Role", "")
        if wanted:
            role, _, org = wanted.partition("@")
            assignment = row.account.active_assignments().filter(role=role, organisation__code=org).first()
            if assignment is None:
                return None
        now = timezone.now()
        if row.last_used_at is None or (now - row.last_used_at).total_seconds() > 60:
            # Not an auditable write: a coarse "last used" hint for the owner, bounded to once a minute.
            ApiToken.objects.filter(pk=row.pk).update(last_used_at=now)
        request.actor = Actor.for_account(row.account, assignment, channel="api",
                                          request_id=getattr(request, "request_id", None),
                                          ip=client_ip(request), second_factor_verified=True)
        request.user = row.account
        return row.account
