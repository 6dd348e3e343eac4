"""Reading the renderers' plain-dict inputs: a missing or malformed value raises a ValueError
that names the key by its path (e.g. "category.code", "history[2].date")."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any


class Reader:
    """Typed access to one mapping; `where` names the document in every error."""

    def __init__(self, data: Any, *, where: str, path: str = ""):
        if not isinstance(data, Mapping):
            raise ValueError(f"{where}: {path or 'input'} must be a mapping, got {type(data).__name__}")
        self.data = data
        self.where = where
        self.path = path

    def _key(self, key: str) -> str:
        return f"{self.path}.{key}" if self.path else key

    def _raw(self, key: str, required: bool) -> Any:
        value = self.data.get(key)
        if value is None and required:
            raise ValueError(f"{self.where}: missing required key '{self._key(key)}'")
        return value

    def text(self, key: str, *, required: bool = True) -> str:
        value = self._raw(key, required)
        if value is None:
            return ""
        if not isinstance(value, str | int):
            raise ValueError(f"{self.where}: '{self._key(key)}' must be text, got {type(value).__name__}")
        value = str(value).strip()
        if required and not value:
            raise ValueError(f"{self.where}: required key '{self._key(key)}' is empty")
        return value

    def date(self, key: str, *, required: bool = True) -> dt.date | None:
        value = self._raw(key, required)
        if value is None:
            return None
        if isinstance(value, dt.datetime):
            if value.tzinfo is None:
                raise ValueError(
                    f"{self.where}: '{self._key(key)}' is a naive datetime; give a date or an aware datetime"
                )
            return value
        if isinstance(value, dt.date):
            return value
        if isinstance(value, str):
            try:
                return dt.date.fromisoformat(value.strip())
            except ValueError:
                pass
        raise ValueError(f"{self.where}: '{self._key(key)}' must be a date (or YYYY-MM-DD), got {value!r}")

    def datetime(self, key: str) -> dt.datetime:
        value = self._raw(key, True)
        if not isinstance(value, dt.datetime):
            raise ValueError(
                f"{self.where}: '{self._key(key)}' must be a datetime, got {type(value).__name__}"
            )
        if value.tzinfo is None:
            raise ValueError(f"{self.where}: '{self._key(key)}' must be timezone-aware")
        return value

    def choice(self, key: str, choices: Mapping[str, str]) -> str:
        """The label for the value (a key of `choices`)."""
        value = self.text(key)
        if value not in choices:
            allowed = ", ".join(repr(c) for c in choices)
            raise ValueError(f"{self.where}: '{self._key(key)}' must be one of {allowed}, got {value!r}")
        return choices[value]

    def mapping(self, key: str) -> Reader:
        return Reader(self._raw(key, True), where=self.where, path=self._key(key))

    def items(self, key: str, *, required: bool = True) -> list[Any]:
        value = self._raw(key, required)
        if value is None:
            return []
        if isinstance(value, str | bytes) or not isinstance(value, Sequence):
            raise ValueError(f"{self.where}: '{self._key(key)}' must be a list, got {type(value).__name__}")
        return list(value)

    def item_reader(self, key: str, index: int, value: Any) -> Reader:
        return Reader(value, where=self.where, path=f"{self._key(key)}[{index}]")

    def item_path(self, key: str, index: int) -> str:
        return f"{self._key(key)}[{index}]"
