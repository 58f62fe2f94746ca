"""The folders import only what the README's Development section says they may."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _imports(path: Path) -> set[str]:
    """Every module a file imports, at any depth of its code."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def _files(folder: str) -> list[Path]:
    """The product's Python files in one folder, migrations included."""
    return sorted((ROOT / folder).rglob("*.py"))


def _offending(folder: str, forbidden: tuple[str, ...], *, allowed: frozenset[str] = frozenset()) -> list[str]:
    """'file: module' for each import of a forbidden module (or one below it) outside the allowed files."""
    return [f"{name}: {module}" for path in _files(folder) if (name := str(path.relative_to(ROOT))) not in allowed
            for module in sorted(_imports(path)) if any(module == f or module.startswith(f"{f}.") for f in forbidden)]


@pytest.mark.parametrize("package", ["bot", "handlers", "telegram", "httpx"])
def test_storage_knows_neither_the_bot_nor_the_network(package: str) -> None:
    assert _offending("storage", (package,)) == []


def test_only_the_app_builder_reaches_into_handlers() -> None:
    assert _offending("bot", ("handlers",), allowed=frozenset({"bot/app.py"})) == []


def test_handlers_never_import_the_cli_the_demo_or_the_emulator() -> None:
    assert _offending("handlers", ("bot.__main__", "bot.demo", "bot.playground", "bot.emulator")) == []


def test_the_layer_check_sees_a_forbidden_import(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text("def later():\n    from handlers import register\n    import httpx.client\n", encoding="utf-8")
    assert _imports(sample) == {"handlers", "httpx.client"}
