"""Reads compiled once per process (issue 13 §5): the hottest fixed-shape queries skip the ORM's
compiler on every request.

Compiling a query with joins is most of a short read's cost in Django (the token lookup behind
every API request: ~0.35 ms to compile, ~0.05 ms to run on SQLite). A `PreparedRead` builds its
queryset once per database connection alias, with a distinctive sample value per parameter, keeps
the compiled SQL and finds where each sample landed among its parameters; each call then runs that
SQL with the new values put in their places and builds the model instances (with their
`select_related` rows) exactly as Django's own iterator does, converters included.

Only for a queryset whose *shape* never depends on the values: no `__in` with a list (its length
changes the SQL), no value that decides a branch of the building code. The builder is called with
samples only; a sample that does not appear exactly once among the compiled parameters is refused
when the read is first used, naming it.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models.query import get_related_populators


@dataclass(frozen=True)
class _Compiled:
    sql: str
    params: tuple
    slots: dict[str, tuple[int, Callable[[Any, Any], Any]]]  # name: (position, adapter(value, connection))
    model: type
    init_list: list[str]
    start: int
    end: int
    populators: list
    converters: dict


def _as_is(value, connection):
    return value


def _datetime(value, connection):
    return connection.ops.adapt_datetimefield_value(value)


class PreparedRead:
    """A read of fixed shape, compiled once per alias: ``build(**values)`` returns the queryset;
    ``samples`` gives each parameter a value that appears nowhere else in the query (a string no
    user types, a datetime of 1901)."""

    def __init__(self, build: Callable[..., Any], **samples: Any) -> None:
        self._build = build
        self._samples = samples
        self._compiled: dict[str, _Compiled] = {}
        self._lock = threading.Lock()

    def _compile(self, alias: str) -> _Compiled:
        connection = connections[alias]
        queryset = self._build(**self._samples).using(alias)
        compiler = queryset.query.get_compiler(using=alias)
        sql, params = compiler.as_sql()
        slots = {}
        for name, sample in self._samples.items():
            found = []
            for adapter in [_as_is] + ([_datetime] if isinstance(sample, dt.datetime) else []):
                found = [(i, adapter) for i, p in enumerate(params) if p == adapter(sample, connection)]
                if found:  # the value as given (PostgreSQL's datetimes), else as the backend adapts it
                    break
            if len(found) != 1:
                raise ImproperlyConfigured(f"PreparedRead: the sample for {name!r} appears {len(found)} times among "
                                           "the compiled parameters (it must appear exactly once)")
            slots[name] = found[0]
        klass_info, select = compiler.klass_info, compiler.select
        fields = klass_info["select_fields"]
        start, end = fields[0], fields[-1] + 1
        columns = [s[0] for s in select[0:compiler.col_count]]
        return _Compiled(sql=sql, params=tuple(params), slots=slots, model=klass_info["model"],
                         init_list=[f[0].target.attname for f in select[start:end]], start=start, end=end,
                         populators=get_related_populators(klass_info, select, alias),
                         converters=compiler.get_converters(columns))

    def all(self, *, using: str = DEFAULT_DB_ALIAS, **values: Any) -> list:
        """The model instances the queryset built with `values` would give, in its order."""
        if set(values) != set(self._samples):
            raise TypeError(f"PreparedRead takes exactly {sorted(self._samples)}, got {sorted(values)}")
        compiled = self._compiled.get(using)
        if compiled is None:
            with self._lock:
                compiled = self._compiled.get(using) or self._compile(using)
                self._compiled[using] = compiled
        connection = connections[using]
        params = list(compiled.params)
        for name, (position, adapter) in compiled.slots.items():
            params[position] = adapter(values[name], connection)
        with connection.cursor() as cursor:
            cursor.execute(compiled.sql, params)
            rows = cursor.fetchall()
        found = []
        for row in rows:
            if compiled.converters:
                row = list(row)
                for position, (converters, expression) in compiled.converters.items():
                    value = row[position]
                    for converter in converters:
                        value = converter(value, expression, connection)
                    row[position] = value
            obj = compiled.model.from_db(using, compiled.init_list, row[compiled.start:compiled.end])
            for populator in compiled.populators:
                populator.populate(row, obj)
            found.append(obj)
        return found

    def first(self, *, using: str = DEFAULT_DB_ALIAS, **values: Any):
        """The first instance, or None (the queryset should carry its own ``[:1]``)."""
        rows = self.all(using=using, **values)
        return rows[0] if rows else None
