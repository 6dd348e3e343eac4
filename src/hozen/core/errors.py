"""The one error type services raise for bad input or a broken rule; UI, API and CLI all render it."""

from __future__ import annotations


class RuleViolation(Exception):
    """A rule of the domain or bad input. `field` names the input at fault when there is one."""

    def __init__(self, code: str, message_ja: str, message_en: str, *, field: str | None = None):
        super().__init__(message_en)
        self.code = code
        self.message_ja = message_ja
        self.message_en = message_en
        self.field = field

    def message(self, language: str | None) -> str:
        return self.message_en if (language or "ja").startswith("en") else self.message_ja


class NotFound(Exception):
    """Missing and forbidden look the same to the reader (STYLE: reads)."""
