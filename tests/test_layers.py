"""The layers stay as drawn: imports run one way, and no module reaches back into one that imports it."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

from conftest import ROOT

PACKAGE = ROOT / "src" / "osteocheck"
FOUNDATION = "foundation"  # the top-level modules every part may use: errors, vocabulary, words, shipped, writer
# part -> the parts it may import (besides itself). The README's layout table draws the same picture.
ALLOWED: dict[str, set[str]] = {
    FOUNDATION: set(),
    "parsing": {FOUNDATION},
    "engine": {FOUNDATION},
    "knowledge": {"engine", "parsing", FOUNDATION},
    "client": {"engine", "parsing", FOUNDATION},
    "render": {"engine", FOUNDATION},
    "documents": {"render", "engine", FOUNDATION},
    "batch": {"client", "render", "engine", "parsing", FOUNDATION},
    "api": {"knowledge", "client", "render", "engine", FOUNDATION},
    "service": {"api", "client", "render", "engine", FOUNDATION},
    "cli": {"api", "service", "knowledge", "client", "render", "documents", "batch", "engine", "parsing", FOUNDATION},
}
# Third-party libraries a part may use; the engine and the parsing of profiles stay free of all of them.
THIRD_PARTY: dict[str, set[str]] = {
    FOUNDATION: set(),
    "parsing": {"yaml"},
    "engine": set(),
    "knowledge": set(),
    "client": set(),
    "render": {"rich"},
    "documents": {"jinja2", "fpdf"},
    "batch": {"rich"},
    "api": set(),
    "service": {"starlette", "uvicorn", "jwt", "orjson"},
    "cli": {"typer", "click", "rich"},
}


def modules() -> dict[str, Path]:
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


MODULES = modules()


def part_of(module: str) -> str:
    if module == "osteocheck.__main__":
        return "cli"  # `python -m osteocheck` is the command line
    if module == "osteocheck.api":
        return "api"  # the library's front door: above the parts it calls, below the cli and the service
    parts = module.split(".")
    if len(parts) > 1 and (PACKAGE / parts[1]).is_dir():
        return parts[1]
    return FOUNDATION


def imports_of(path: Path) -> list[tuple[int, str]]:
    """Every import in the file, at any depth (lazy imports inside functions count too)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                sub = f"{node.module}.{alias.name}"
                found.append((node.lineno, sub if sub in MODULES else node.module))
    return found


def graph() -> dict[str, set[str]]:
    return {m: {t for _, t in imports_of(p) if t in MODULES and t != m} for m, p in MODULES.items()}


def test_every_module_belongs_to_a_drawn_part() -> None:
    assert {part_of(m) for m in MODULES} == set(ALLOWED)


@pytest.mark.parametrize("module", sorted(MODULES))
def test_imports_run_down_the_layers(module: str) -> None:
    part = part_of(module)
    for line, target in imports_of(MODULES[module]):
        top = target.split(".")[0]
        if top == "osteocheck":
            other = part_of(target)
            assert other == part or other in ALLOWED[part], (
                f"{MODULES[module].relative_to(ROOT)}:{line}: {part} may not import {target} ({other})"
            )
        elif top not in sys.stdlib_module_names and top != "__future__":
            assert top in THIRD_PARTY[part], f"{MODULES[module].relative_to(ROOT)}:{line}: {part} imports {top}"


def test_lazy_imports_are_seen(tmp_path: Path) -> None:
    sneaky = tmp_path / "sneaky.py"
    sneaky.write_text("def f():\n    from osteocheck.cli import app\n    import rich\n", encoding="utf-8")
    assert imports_of(sneaky) == [(2, "osteocheck.cli.app"), (3, "rich")]


def test_no_import_cycles() -> None:
    edges = graph()
    cycles = [scc for scc in _strongly_connected(edges) if len(scc) > 1]
    assert cycles == []


def test_the_cycle_check_finds_cycles() -> None:
    edges = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert [sorted(c) for c in _strongly_connected(edges) if len(c) > 1] == [["a", "b", "c"]]


def test_nothing_imports_the_command_line() -> None:
    for module, targets in graph().items():
        if part_of(module) != "cli":
            assert not any(part_of(t) == "cli" for t in targets), module


@pytest.mark.parametrize("package", sorted(p for p in ALLOWED if p not in (FOUNDATION, "api")))  # api: one module
def test_each_package_says_what_it_is_and_what_it_may_import(package: str) -> None:
    doc = ast.get_docstring(ast.parse((PACKAGE / package / "__init__.py").read_text(encoding="utf-8")))
    assert doc, package
    assert "May import" in doc or "may import" in doc.lower(), package
    assert len(doc.splitlines()) <= 3, package


def _strongly_connected(edges: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's algorithm, iteratively: the import graph's strongly connected components."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for root, targets in edges.items():
        if root in index:
            continue
        work = [(root, iter(sorted(targets)))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(edges[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                found.append(component)
    return found
