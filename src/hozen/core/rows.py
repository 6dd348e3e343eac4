"""One way to change a row's state (ARCHITECTURE rule 8: lock what you check).

Every service that decides from a row's state uses these, inside its own durable transaction:

- ``lock(Model, pk)`` reads the row afresh with ``SELECT … FOR NO KEY UPDATE`` (PostgreSQL: it blocks
  every other writer of the row, but not the ``FOR KEY SHARE`` lock another transaction's foreign
  key check takes on it, so inserting a row that points at a locked one never waits for, or
  deadlocks with, a service holding it; no service changes a primary key). On SQLite the
  transaction already holds the database's write lock from its first statement (``BEGIN
  IMMEDIATE``, the ``transaction_mode`` setting), so the read and the write are one step there too.
  An instance a view loaded before the transaction is a hint (which row), never the truth.
- ``change(row, **values)`` sets the values on the locked row and saves those fields only (with the
  row's ``version`` and its ``auto_now`` timestamps): a write never carries stale copies of fields
  it did not mean to change.
- ``transition(Model, pk, where=…, **values)`` is the one-statement alternative: a conditional
  ``UPDATE … WHERE state IN (…)`` whose row count says whether this writer won.
- ``check_version(row, seen)`` refuses an edit made on an older copy of the record (409) and, where
  the caller must say which version it changes, an edit that does not (428).

Records people edit carry a ``version`` (``Versioned``): the screens send the version they were
opened with, the API uses it as the ETag of a read and wants it back in ``If-Match``.
"""

from __future__ import annotations

from typing import Any, TypeVar

from django.db import connections, models, router
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .errors import NotFound, StaleEdit, VersionRequired

M = TypeVar("M", bound=models.Model)


class Versioned(models.Model):
    """A record people edit: its version goes up by one with every change saved through `change`
    or `transition`, so an edit made on an older copy is recognised and refused."""

    version = models.PositiveIntegerField(_("version"), default=1, editable=False)

    class Meta:
        abstract = True


def _pk(row_or_pk: Any) -> Any:
    return row_or_pk.pk if isinstance(row_or_pk, models.Model) else row_or_pk


def _require_transaction(model: type[models.Model]) -> None:
    alias = router.db_for_write(model)
    if not connections[alias].in_atomic_block:
        raise RuntimeError(f"locking a {model.__name__} row outside a transaction holds nothing: call it "
                           "inside the service's transaction.atomic block")


def lock(model: type[M], row_or_pk: Any, *, related: tuple[str, ...] = (),
         queryset: models.QuerySet | None = None, shared: bool = False) -> M:
    """The row `row_or_pk` of `model`, read afresh and locked until the caller's transaction ends.

    `related` are `select_related` paths read in the same statement (only the row itself is locked).
    `queryset` narrows where the row is looked for (e.g. a policy scope). NotFound when it is gone.

    `shared`: a shared lock (PostgreSQL ``FOR SHARE``) for writes that depend on the row without
    changing it (a handler added to, or a document filed under, a designation): such writes do not
    wait for each other, but a change of the row itself (``FOR UPDATE``) waits for all of them and
    they for it. Lock the shared row before the writer's own rows, as its changers do.
    """
    _require_transaction(model)
    pk = _pk(row_or_pk)
    try:
        pk = model._meta.pk.to_python(pk)
    except Exception:  # noqa: BLE001 - any id the key cannot hold is simply not found
        raise NotFound from None
    if isinstance(pk, int) and not -2**63 <= pk < 2**63:
        raise NotFound
    qs = queryset if queryset is not None else model._default_manager.all()
    connection = connections[router.db_for_write(model)]
    if shared:
        if connection.vendor == "postgresql":
            table = connection.ops.quote_name(model._meta.db_table)
            column = connection.ops.quote_name(model._meta.pk.column)
            with connection.cursor() as cursor:
                cursor.execute(f"SELECT 1 FROM {table} WHERE {column} = %s FOR SHARE", [pk])
                if cursor.fetchone() is None:
                    raise NotFound
        # SQLite: the transaction holds the database's write lock from its first statement.
    else:
        qs = qs.select_for_update(of=("self",), no_key=True) if related else qs.select_for_update(no_key=True)
    if related:
        qs = qs.select_related(*related)
    try:
        return qs.get(pk=pk)
    except (model.DoesNotExist, ValueError, TypeError, OverflowError):
        raise NotFound from None


def lock_many(model: type[M], pks, *, related: tuple[str, ...] = ()) -> dict[Any, M]:
    """Several rows locked in primary-key order (one order everywhere, so two writers locking the
    same rows cannot deadlock), by primary key."""
    _require_transaction(model)
    qs = model._default_manager.filter(pk__in=list(pks)).order_by("pk")
    qs = qs.select_for_update(of=("self",), no_key=True) if related else qs.select_for_update(no_key=True)
    if related:
        qs = qs.select_related(*related)
    return {row.pk: row for row in qs}


def _auto_now_fields(model: type[models.Model]) -> list[str]:
    return [f.name for f in model._meta.concrete_fields if getattr(f, "auto_now", False)]


def _differs(row: models.Model, name: str, value: Any) -> bool:
    field = row._meta.get_field(name)
    if field.is_relation and (field.many_to_one or field.one_to_one):
        current = getattr(row, field.attname)
        return current != (_pk(value) if value is not None else None)
    return getattr(row, name) != value


def change(row: models.Model, **values: Any) -> list[str]:
    """Set `values` on the (locked) row and save the fields that changed, with the row's version
    (+1) and `auto_now` timestamps; nothing is saved when nothing changed. Returns the changed names."""
    changed = [name for name, value in values.items() if _differs(row, name, value)]
    if not changed:
        return []
    for name in changed:
        setattr(row, name, values[name])
    fields = list(changed)
    if isinstance(row, Versioned):
        row.version += 1
        fields.append("version")
    fields += [f for f in _auto_now_fields(type(row)) if f not in fields]
    row.save(update_fields=fields)
    return changed


def transition(model: type[models.Model], row_or_pk: Any, *, where: dict[str, Any] | models.Q,
               **values: Any) -> bool:
    """One conditional UPDATE: set `values` on the row if it still matches `where` (e.g.
    ``{"state__in": ["draft"]}``). True when this call changed it; False when the row had moved on
    (another writer won) or is gone. Bumps `version` and `auto_now` timestamps like `change`."""
    condition = where if isinstance(where, models.Q) else models.Q(**where)
    updates = dict(values)
    if issubclass(model, Versioned):
        updates["version"] = F("version") + 1
    for name in _auto_now_fields(model):
        updates.setdefault(name, timezone.now())
    return model._default_manager.filter(condition, pk=_pk(row_or_pk)).update(**updates) == 1


def check_version(row: Versioned, seen: Any, *, required: bool = False) -> None:
    """Refuse an edit made on an older copy of `row` (StaleEdit, 409); with `required`, also one
    that does not say which version it changes (VersionRequired, 428). `seen` is the version the
    person opened (an int, or its text from a form or an If-Match header); None when not given."""
    if seen is None or seen == "":
        if required:
            raise VersionRequired(current_version=row.version)
        return
    try:
        seen_version = int(str(seen).strip())
    except ValueError:
        raise StaleEdit(current_version=row.version) from None
    if seen_version != row.version:
        raise StaleEdit(current_version=row.version, seen_version=seen_version)


def etag(row: Versioned) -> str:
    """The record's version as an HTTP entity tag (strong): ``"3"``."""
    return f'"{row.version}"'


def version_from_if_match(header: str | None) -> str | None:
    """The version named by an If-Match header: the strong entity tag ``"3"`` (or a bare ``3``).
    None when the header is absent or names no single version the strong comparison of RFC 9110
    §13.1.1 could match: ``*`` (any version: an overwrite in the dark), a list, or a weak tag
    ``W/"3"``. `check_version(required=True)` then refuses the change with 428, saying to send
    the ETag of a read."""
    if header is None:
        return None
    value = header.strip()
    if not value or value == "*" or "," in value or value.startswith("W/"):
        return None
    if len(value) >= 2 and value[0] == value[-1] == '"':
        value = value[1:-1]
    return value
