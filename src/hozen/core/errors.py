"""The one error type services raise for bad input or a broken rule; UI, API and CLI all render it."""

from __future__ import annotations


class RuleViolation(Exception):
    """A rule of the domain or bad input. `field` names the input at fault when there is one.

    `status` is the HTTP status the API answers with: 422 for a broken rule or bad input; the
    subclasses below answer 409 (the record changed since the caller read it) and 428 (an edit
    that did not say which version it changes).
    """

    status = 422

    def __init__(self, code: str, message_ja: str, message_en: str, *, field: str | None = None):
        super().__init__(message_en)
        self.code = code
        self.message_ja = message_ja
        self.message_en = message_en
        self.field = field

    def message(self, language: str | None) -> str:
        return self.message_en if (language or "ja").startswith("en") else self.message_ja


class StaleEdit(RuleViolation):
    """An edit made on a copy of the record older than the stored one (ARCHITECTURE rule 8): refused
    whole, nothing written. `current_version` is the stored version the caller may reload."""

    status = 409

    def __init__(self, *, current_version: int, seen_version: int | None = None):
        super().__init__(
            "stale_edit",
            "この記録は、あなたが開いた後に他の人が変更しました。保存されていません。最新の内容を確認してから、もう一度変更してください。",
            "Changed by someone else since you opened it. Nothing was saved: check the current record, then make "
            "your change again.",
            field="version",
        )
        self.current_version = current_version
        self.seen_version = seen_version


class VersionRequired(RuleViolation):
    """An edit that does not name the version it changes: a client never overwrites blindly."""

    status = 428

    def __init__(self, *, current_version: int | None = None):
        super().__init__(
            "version_required",
            "変更する記録の版を指定してください（API では If-Match ヘッダーに、読み取り時の ETag を指定します）。",
            "Say which version of the record you are changing (in the API: the ETag of your read, in an If-Match "
            "header).",
            field="version",
        )
        self.current_version = current_version


class NotFound(Exception):
    """Missing and forbidden look the same to the reader (STYLE: reads)."""
