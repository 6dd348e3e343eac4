"""Foundation endpoints: health and the caller's own identity."""

from __future__ import annotations

from typing import Literal

from django.db import connection
from ninja import Field, Router, Schema, Status
from pydantic import ConfigDict

from hozen import __version__
from hozen.access import policy
from hozen.core import services

router = Router(tags=["core"])


class HealthOut(Schema):
    status: Literal["ok", "degraded"]
    database: Literal["ok", "unavailable"]
    keys: Literal["ok", "unavailable"] = Field(description="Whether the keyring opens the keys the database holds "
                                                "(a data key per KEK version and the audit signing keys; checked "
                                                "at most once a minute per server)")
    version: str


@router.get("/health", response={200: HealthOut, 503: HealthOut}, auth=None,
            summary="Liveness: the database answers and the keyring opens its keys (503 when not)")
def health(request):
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        db = "ok"
    except Exception:
        db = "unavailable"
    keys = "unavailable"
    if db == "ok":
        from hozen.crypto.probe import problems_for_health

        try:
            keys = "unavailable" if problems_for_health() else "ok"
        except Exception:  # a health answer never fails: a probe that cannot run is a key problem
            keys = "unavailable"
    ok = db == "ok" and keys == "ok"
    # Which key failed is not said here (no token needed): `hozen check` and `hozen keys status` say it.
    return Status(200 if ok else 503, {"status": "ok" if ok else "degraded", "database": db, "keys": keys,
                                       "version": __version__})


class RoleOut(Schema):
    role: str
    organisation: str
    organisation_name: str


class MeOut(Schema):
    username: str
    family_name: str
    given_name: str
    family_name_kana: str
    given_name_kana: str
    language: str
    active_role: RoleOut
    roles: list[RoleOut]


def _role(assignment, language: str) -> dict:
    return {"role": assignment.role, "organisation": assignment.organisation.code,
            "organisation_name": assignment.organisation.name(language)}


def _me(actor, account=None) -> dict:
    """The caller as `account` holds it (default: as loaded for the request; after a change, the
    row the service wrote)."""
    account = account or actor.account
    person = account.person
    return {
        "username": account.username,
        "family_name": person.family_name,
        "given_name": person.given_name,
        "family_name_kana": person.family_name_kana,
        "given_name_kana": person.given_name_kana,
        "language": account.language,
        "active_role": _role(actor.assignment, account.language),
        "roles": [_role(a, account.language) for a in account.active_assignments()],
    }


@router.get("/me", response=MeOut, summary="The calling account, its active role and its other roles")
def me(request):
    policy.require(request.actor, "api.me", request.actor.account)
    return _me(request.actor)


class MeIn(Schema):
    """Only the fields named here: an unknown field is refused (422), never silently ignored."""

    model_config = ConfigDict(extra="forbid")

    language: Literal["ja", "en"]


@router.patch("/me", response=MeOut, summary="Change the caller's preferences (language)")
def update_me(request, payload: MeIn):
    """Preferences are the caller's own and carry no version (no If-Match): of two changes at once
    the later one stays, and each is in the audit log in the order they were stored."""
    account = services.set_language(actor=request.actor, language=payload.language)
    return _me(request.actor, account)
