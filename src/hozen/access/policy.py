"""The one policy decision point (ARCHITECTURE rule 1).

`decide(actor, action, target)` answers every "may this actor do this to that?" question.
Deny by default: an action with no rule is refused. Rules are plain functions registered
per action code (the same `noun.verb` strings as the audit log); later apps add rules here
through `rule()`, never checks of their own elsewhere.

`scope(actor, action, model)` returns the Q filter of the rows `decide` would allow, so list
screens ask the same module; tests check the two agree row by row.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db.models import Q


@dataclass(frozen=True)
class Decision:
    allowed: bool
    code: str
    reason_ja: str
    reason_en: str

    def reason(self, language: str | None) -> str:
        return self.reason_en if (language or "ja").startswith("en") else self.reason_ja

    def __bool__(self) -> bool:  # pragma: no cover - guard against `if decide(...)` misuse
        raise TypeError("use decision.allowed, not the decision itself, as a boolean")


def allow(code: str = "allowed") -> Decision:
    return Decision(True, code, "許可されています。", "Allowed.")


def deny(code: str, reason_ja: str, reason_en: str) -> Decision:
    return Decision(False, code, reason_ja, reason_en)


class PolicyDenied(Exception):
    """Raised by `require`. Views render it as 403 with the reason; the denial is audited once."""

    def __init__(self, decision: Decision, action: str, target: Any = None, audited: bool = False,
                 actor: Any = None):
        super().__init__(decision.reason_en)
        self.actor = actor
        self.decision = decision
        self.action = action
        self.target = target
        self.audited = audited


Rule = Callable[[Any, Any], Decision]
ScopeRule = Callable[[Any], Q]

_RULES: dict[str, Rule] = {}
_SCOPES: dict[tuple[str, str], ScopeRule] = {}

NO_RULE = ("no_rule", "この操作を許可する規則がありません。", "No rule allows this action.")
NO_ROLE = ("no_active_role", "有効な役割が選択されていません。", "You have no active role.")


def rule(action: str):
    """Register the rule for one action code. One action, one rule: a second registration is a bug."""

    def register(fn: Rule) -> Rule:
        if action in _RULES:
            raise RuntimeError(f"a rule for {action!r} is already registered")
        _RULES[action] = fn
        return fn

    return register


def scope_rule(action: str, model_label: str):
    def register(fn: ScopeRule) -> ScopeRule:
        key = (action, model_label)
        if key in _SCOPES:
            raise RuntimeError(f"a scope for {key!r} is already registered")
        _SCOPES[key] = fn
        return fn

    return register


def _load_rules() -> None:
    # Importing the rule modules registers their rules; done lazily to avoid import cycles.
    from . import rules  # noqa: F401


def decide(actor, action: str, target: Any = None) -> Decision:
    """Decide one question. Never raises for a denial; unknown actions are denied."""
    _load_rules()
    if actor is None:
        raise ValueError("decide() needs an actor")
    fn = _RULES.get(action)
    if fn is None:
        return deny(*NO_RULE)
    decision = fn(actor, target)
    if not isinstance(decision, Decision):  # a rule that forgets to return is a denial, not a crash
        return deny(*NO_RULE)
    return decision


def require(actor, action: str, target: Any = None) -> Decision:
    """Raise PolicyDenied unless allowed. A denial outside a transaction is audited at once;
    inside one (a service that will roll back) the caller's error handler audits it."""
    from django.db import connection

    decision = decide(actor, action, target)
    if decision.allowed:
        return decision
    audited = False
    if not connection.in_atomic_block:
        from hozen import audit

        audit.record_denial(actor, decision, action, target)
        audited = True
    raise PolicyDenied(decision, action, target, audited=audited, actor=actor)


def audit_unrecorded_denial(actor, exc: PolicyDenied) -> None:
    """Called by the web, API and CLI error handlers after the transaction has rolled back."""
    if not exc.audited and actor is not None:
        from hozen import audit

        audit.record_denial(actor, exc.decision, exc.action, exc.target)
        exc.audited = True


def scope(actor, action: str, model) -> Q:
    """The filter of rows of `model` the actor may `action`. No scope rule: nothing is visible."""
    _load_rules()
    fn = _SCOPES.get((action, model._meta.label_lower))
    if fn is None:
        return Q(pk__in=[])
    return fn(actor)


def registered_actions() -> list[str]:
    _load_rules()
    return sorted(_RULES)
