"""The one-way arrows of ARCHITECTURE.md, read from the source: every `import` under nexus/
(at module level or inside a function) is checked against the rooms it may point to."""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "nexus"
WEB_FRAMEWORK = ("flask", "flask_sock", "werkzeug")
# Above the services: they assemble Nexus and may use every room below them.
ASSEMBLERS = ("nexus.cli", "nexus.__main__", "nexus.host", "nexus.desktop")


@dataclass(frozen=True)
class Import:
    importer: str  # the module that imports, e.g. nexus.chat.service
    target: str    # what it imports, e.g. nexus.store.repositories
    line: int
    lazy: bool     # inside a function (runs when called, not when the module loads)
    function: str | None


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports(path: Path) -> list[Import]:
    importer = _module_name(path)
    package = importer if path.name == "__init__.py" else importer.rpartition(".")[0]
    found: list[Import] = []

    def visit(node: ast.AST, function: str | None) -> None:
        for child in ast.iter_child_nodes(node):
            inner = child.name if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef) else function
            if isinstance(child, ast.Import):
                found.extend(Import(importer, alias.name, child.lineno, function is not None, function)
                             for alias in child.names)
            elif isinstance(child, ast.ImportFrom):
                base = child.module or ""
                if child.level:  # relative: from the importer's package upwards
                    anchor = package.split(".")[: len(package.split(".")) - (child.level - 1)]
                    base = ".".join([*anchor, *([base] if base else [])])
                targets = [base] if child.module else [f"{base}.{alias.name}" for alias in child.names]
                # `from nexus.desktop import app` imports nexus.desktop.app: name the submodule too.
                if child.module:
                    targets += [f"{base}.{alias.name}" for alias in child.names]
                found.extend(Import(importer, target, child.lineno, function is not None, function)
                             for target in targets)
            visit(child, inner)

    visit(ast.parse(path.read_text(encoding="utf-8"), str(path)), None)
    return found


ALL_IMPORTS = [item for path in sorted(PACKAGE.rglob("*.py")) for item in _imports(path)]


def _within(module: str, *rooms: str) -> bool:
    return any(module == room or module.startswith(room + ".") for room in rooms)


def _where(item: Import) -> str:
    return f"{item.importer} imports {item.target} (line {item.line})"


def test_the_import_walk_sees_the_known_arrows() -> None:
    # A walk that found nothing would let every rule below pass: check it sees what is there.
    assert any(i.importer == "nexus.ui.api_chat" and _within(i.target, "flask") for i in ALL_IMPORTS)
    assert any(i.importer == "nexus.runtime" and _within(i.target, "nexus.chat") for i in ALL_IMPORTS)
    assert any(i.importer == "nexus.cli" and i.target == "nexus.desktop.app" and i.lazy for i in ALL_IMPORTS)
    assert len({i.importer for i in ALL_IMPORTS}) > 100


def test_only_the_web_layer_imports_flask() -> None:
    wrong = [_where(i) for i in ALL_IMPORTS
             if _within(i.target, *WEB_FRAMEWORK) and not _within(i.importer, "nexus.ui")]
    assert wrong == [], "Flask and Werkzeug belong in nexus/ui only"


def test_services_never_import_the_web_layer() -> None:
    wrong = [_where(i) for i in ALL_IMPORTS
             if _within(i.target, "nexus.ui") and not _within(i.importer, "nexus.ui", *ASSEMBLERS)]
    assert wrong == [], "services are plain Python: the web layer calls them, never the other way round"


def test_only_the_launcher_enters_the_desktop_window_and_only_lazily() -> None:
    outside = [i for i in ALL_IMPORTS if _within(i.target, "nexus.desktop") and not _within(i.importer, "nexus.desktop")]
    wrong = [_where(i) for i in outside
             if not (i.importer == "nexus.cli" and i.lazy and i.target in ("nexus.desktop.app",
                                                                           "nexus.desktop.app.run_desktop"))]
    assert wrong == [], "nexus/desktop is the window; headless Nexus (nexus/host, nexus/ui, doctor) never needs it"
    assert outside, "cli's lazy entry is the one way in"


def test_the_host_knows_no_window() -> None:
    wrong = [_where(i) for i in ALL_IMPORTS if _within(i.importer, "nexus.host")
             and _within(i.target, "nexus.desktop", "webview", "PyQt6", "qtpy")]
    assert wrong == []


def test_nothing_imports_the_command_line_back() -> None:
    # The command line is the top: a module that imported it would make a cycle (cli -> desktop -> cli).
    wrong = [_where(i) for i in ALL_IMPORTS if _within(i.target, "nexus.cli") and i.importer != "nexus.__main__"]
    assert wrong == []


def test_the_store_imports_no_service() -> None:
    allowed = ("nexus.store", "nexus.paths", "nexus.errors")
    wrong = [_where(i) for i in ALL_IMPORTS if _within(i.importer, "nexus.store")
             and _within(i.target, "nexus") and not _within(i.target, *allowed) and i.target != "nexus"]
    assert wrong == [], "the store is the bottom room: services use it, it uses none of them"


@pytest.mark.parametrize(("rule", "target"), [(test_only_the_web_layer_imports_flask, "flask"),
                                               (test_services_never_import_the_web_layer, "nexus.ui.context")])
def test_a_broken_arrow_is_caught(rule, target: str, monkeypatch: pytest.MonkeyPatch) -> None:
    # The rules fail on a service that imports the web layer (what they are for).
    planted = Import("nexus.chat.service", target, 1, False, None)
    monkeypatch.setitem(globals(), "ALL_IMPORTS", [*ALL_IMPORTS, planted])
    with pytest.raises(AssertionError):
        rule()
