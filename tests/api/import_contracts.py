"""An import-linter contract type Hozen needs and import-linter lacks: no private names across apps.

import-linter checks modules; STYLE's rule is about names: no app imports another app's private
helpers (``from hozen.designation.cli import _account_actor``). This contract reads the source of
every module under the containers (``ast``, no import of the code) and reports each
``from hozen.<other app>... import _name`` (and ``from ... import _module``), where the app is the
first component below the container (``hozen.designation``, ``hozen.cli``). Relative imports stay
inside their app and are never reported.

Configured in pyproject.toml (``[tool.importlinter]``, ``contract_types``); run by ``lint-imports``.

Options:
- ``containers``: the packages whose children are the apps (``hozen``);
- ``ignore_names``: known offenders, each ``importer -> module:name``, kept until fixed (each one
  must still exist: a stale entry breaks the contract, so the list only shrinks).
"""

from __future__ import annotations

import ast
import importlib.util
from pathlib import Path

from importlinter import Contract, ContractCheck, fields, output


def _is_private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


def _source_path(module: str) -> Path | None:
    """The module's file, found from its root package's folder without importing the module (a
    package's ``__init__`` may need Django's settings)."""
    root, *parts = module.split(".")
    spec = importlib.util.find_spec(root)
    if spec is None or not spec.submodule_search_locations:
        return None
    base = Path(next(iter(spec.submodule_search_locations))).joinpath(*parts)
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def private_imports(module: str, container: str) -> list[tuple[str, str, int]]:
    """(imported module, private name, line) for each private name `module` takes from another app."""
    path = _source_path(module)
    if path is None:
        return []
    own_app = module.split(".")[: len(container.split(".")) + 1]
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if not isinstance(node, ast.ImportFrom) or node.level or not node.module:
            continue
        if not node.module.startswith(container + "."):
            continue
        target_app = node.module.split(".")[: len(own_app)]
        if target_app == own_app:
            continue
        private_module = any(_is_private(part) for part in node.module.split("."))
        for alias in node.names:
            if private_module or _is_private(alias.name):
                found.append((node.module, alias.name, node.lineno))
    return found


class PrivateNamesContract(Contract):
    """No app imports another app's private (``_name``) functions, classes or modules."""

    type_name = "private_names"

    containers = fields.ListField(subfield=fields.StringField())
    ignore_names = fields.SetField(subfield=fields.StringField(), required=False)

    def check(self, graph, verbose: bool) -> ContractCheck:
        ignored = {entry.strip() for entry in (self.ignore_names or ())}  # type: ignore[union-attr]
        seen: set[str] = set()
        illegal = []
        for container in self.containers:  # type: ignore[union-attr]
            for module in sorted(m for m in graph.modules if m.startswith(container + ".")):
                for imported, name, line in private_imports(module, container):
                    key = f"{module} -> {imported}:{name}"
                    seen.add(key)
                    if key not in ignored:
                        illegal.append({"importer": module, "imported": imported, "name": name, "line": line})
        stale = sorted(ignored - seen)
        return ContractCheck(kept=not illegal and not stale, metadata={"illegal": illegal, "stale": stale})

    def render_broken_contract(self, check: ContractCheck) -> None:
        for item in check.metadata["illegal"]:
            output.print_error(f"- {item['importer']} imports {item['imported']}.{item['name']} "
                               f"(l.{item['line']}), a private name of another app", bold=False)
        for entry in check.metadata["stale"]:
            output.print_error(f"- ignore_names lists {entry}, which is no longer imported: remove it", bold=False)
        output.new_line()
