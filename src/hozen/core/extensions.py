"""How apps add to the UI shell without editing core: navigation entries and dashboard panels.

Each module in ``UI_EXTENSIONS`` may define:

- ``NAV``: ``{role: [(label, url_name), ...]}``, appended to that role's main navigation;
- ``nav_entries(actor) -> [(label, url_name), ...]``: entries that depend on more than the role
  (shown only to whom they can serve: the vault to an assessed person who is on a handler list);
- ``dashboard_context(actor, role) -> dict``: extra context for ``core/dashboards/<role>.html``;
- ``shell_context(actor, assignments) -> dict``: extra context for every signed-in page (the
  header and navigation), from the actor and the account's active role assignments.

Modules are imported lazily (on the first page) so apps can import core freely.
"""

from __future__ import annotations

from importlib import import_module

UI_EXTENSIONS = (
    "hozen.audit.views",
    "hozen.assessment.views.portal",
    "hozen.assessment.views.staff",
    "hozen.handling.views",
    "hozen.vault.views",
    "hozen.operators.ui",
)


def _modules():
    return [import_module(name) for name in UI_EXTENSIONS]


def nav_for(role: str, actor=None) -> list[tuple[str, str]]:
    entries: list[tuple[str, str]] = []
    for module in _modules():
        entries += getattr(module, "NAV", {}).get(role, [])
        provider = getattr(module, "nav_entries", None)
        if provider is not None and actor is not None:
            entries += provider(actor) or []
    return entries


def dashboard_context(actor, role: str) -> dict:
    context: dict = {}
    for module in _modules():
        provider = getattr(module, "dashboard_context", None)
        if provider is not None:
            context.update(provider(actor, role) or {})
    return context


def shell_context(actor, assignments) -> dict:
    context: dict = {}
    for module in _modules():
        provider = getattr(module, "shell_context", None)
        if provider is not None:
            context.update(provider(actor, assignments) or {})
    return context
