"""Several refusals of one input at once (issue 15: a form shows all its errors at once).

A draft's checks that do not depend on each other (each text, each date, the protective measure,
the content rules whose inputs passed) all run; every refusal is kept, and the draft is refused
once with all of them. `Violations` is a RuleViolation, so every channel that renders one renders
it: its code, field and message are the first refusal's (what a caller that reads one error has
always read), and `violations` lists each, for a form to put beside its field and for the API's
`errors`. A single refusal is raised as itself.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from hozen.core.errors import RuleViolation


class Violations(RuleViolation):
    """Several independent refusals of one input, refused together; nothing was written."""

    def __init__(self, violations: list[RuleViolation]):
        first, more = violations[0], len(violations) - 1
        super().__init__(first.code, f"{first.message_ja}（ほか{more}件）", f"{first.message_en} (and {more} more)",
                         field=first.field)
        self.violations = violations

    @property
    def fields(self) -> list[str]:
        return list(dict.fromkeys(v.field for v in self.violations if v.field))

    def items(self, language: str | None) -> list[dict]:
        """Each refusal as the API's error item (field, code, message in `language`)."""
        return [{"field": v.field, "code": v.code, "message": v.message(language)} for v in self.violations]


class Checks:
    """Runs independent checks and keeps every refusal instead of stopping at the first.

    ``with checks.check(): ...`` keeps a RuleViolation of status 422 (bad input, a broken rule);
    anything else (a stale edit, a policy denial) stops at once. ``failed`` names the fields
    refused so far, so a check that reads a refused field is skipped rather than misled.
    """

    def __init__(self) -> None:
        self.violations: list[RuleViolation] = []

    @contextmanager
    def check(self) -> Iterator[None]:
        try:
            yield
        except Violations as exc:
            self.violations.extend(exc.violations)
        except RuleViolation as exc:
            if exc.status != 422:
                raise
            self.violations.append(exc)

    def add(self, violations: list[RuleViolation]) -> None:
        self.violations.extend(violations)

    @property
    def failed(self) -> set[str]:
        return {v.field for v in self.violations if v.field}

    def raise_any(self) -> None:
        if len(self.violations) == 1:
            raise self.violations[0]
        if self.violations:
            raise Violations(self.violations)
