"""The private-names contract of import-linter (pyproject.toml, run by `lint-imports` in `make test`)."""

from __future__ import annotations

import sys

from tests.api.import_contracts import private_imports


def _package(tmp_path, files: dict[str, str]):
    for name, text in files.items():
        path = tmp_path.joinpath(*name.split("/"))
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


def test_a_private_name_of_another_app_is_found_and_relative_or_own_app_imports_are_not(tmp_path, monkeypatch):
    _package(tmp_path, {
        "zz_demo/__init__.py": "raise RuntimeError('never imported by the contract')\n",
        "zz_demo/one/__init__.py": "",
        "zz_demo/one/cli.py": "def _helper():\n    pass\n_CONSTANT = 1\n",
        "zz_demo/one/_private.py": "X = 1\n",
        "zz_demo/two/__init__.py": "",
        "zz_demo/two/cli.py": (
            "from zz_demo.one.cli import _helper, public\n"
            "from zz_demo.one._private import X\n"
            "from zz_demo.two.cli import _own\n"
            "from .cli import _relative\n"
            "def later():\n"
            "    from zz_demo.one.cli import (\n        public,\n        _CONSTANT,\n    )\n"),
    })
    monkeypatch.syspath_prepend(str(tmp_path))
    found = private_imports("zz_demo.two.cli", "zz_demo")
    assert [(module, name) for module, name, _ in found] == [
        ("zz_demo.one.cli", "_helper"), ("zz_demo.one._private", "X"), ("zz_demo.one.cli", "_CONSTANT")]
    assert "zz_demo" not in sys.modules  # read, never imported
