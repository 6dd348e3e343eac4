"""Who is acting: passed explicitly to every service and every policy question (no thread-locals)."""

from __future__ import annotations

import getpass
import uuid
from dataclasses import dataclass, field

from .models import Account, Organisation, RoleAssignment


@dataclass(frozen=True)
class Actor:
    """An account acting in one of its roles, through one channel, within one request.

    `assignment` is None only for system actors (the operator at the CLI, a background job);
    the policy treats such actors as holding no role, so they can do only what a rule names for them.
    """

    account: Account | None
    assignment: RoleAssignment | None
    channel: str  # web | api | cli | job
    request_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    system_name: str = ""
    ip: str | None = None
    second_factor_verified: bool = False
    #: The second factor offered with this one action (``hozen.core.second_factor.Proof``), spent by
    #: the service only if the action succeeds; None when none was offered.
    second_factor: object | None = None

    @property
    def role(self) -> str | None:
        return self.assignment.role if self.assignment else None

    @property
    def organisation(self) -> Organisation | None:
        return self.assignment.organisation if self.assignment else None

    @property
    def is_system(self) -> bool:
        return self.account is None

    def describe(self) -> dict:
        """The actor by value, as the audit log stores it (never a foreign key that could cascade)."""
        if self.account is None:
            return {"kind": "system", "name": self.system_name, "channel": self.channel}
        return {
            "kind": "account",
            "account": self.account.username,
            "account_id": self.account.pk,
            "person_id": self.account.person_id,
            "role": self.role,
            "organisation": self.organisation.code if self.organisation else None,
            "channel": self.channel,
        }

    @classmethod
    def operator(cls, command: str) -> Actor:
        """The person at the server's shell running `hozen ...`: recorded by OS user and command."""
        try:
            user = getpass.getuser()
        except Exception:  # pragma: no cover - no passwd entry in some containers
            user = "unknown"
        return cls(account=None, assignment=None, channel="cli", system_name=f"{user}:{command}")

    @classmethod
    def job(cls, name: str) -> Actor:
        return cls(account=None, assignment=None, channel="job", system_name=name)

    @classmethod
    def for_account(cls, account: Account, assignment: RoleAssignment | None, *, channel: str,
                    request_id: str | None = None, ip: str | None = None,
                    second_factor_verified: bool = False) -> Actor:
        return cls(account=account, assignment=assignment, channel=channel,
                   request_id=request_id or uuid.uuid4().hex, ip=ip,
                   second_factor_verified=second_factor_verified)
