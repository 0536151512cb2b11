"""The import graph of provider/: no cycle, no private name imported across modules, each module alone.

The graph is read from the source with ``ast``, both packages, every import counted: at the top,
inside functions (the lazy ones) and under ``TYPE_CHECKING``, since each is a dependency of one
module on another. A cycle means two modules cannot be understood, changed or imported one without
the other; a private name imported across modules means a module's inside is another's interface.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

import ccc_emulator
import ccc_numbers

PACKAGES = {
    "ccc_numbers": Path(ccc_numbers.__file__).parent,
    "ccc_emulator": Path(ccc_emulator.__file__).parent,
}

def _modules() -> dict[str, Path]:
    """Every module of both packages by its dotted name (a package by its own name)."""
    found = {}
    for package, folder in PACKAGES.items():
        for path in sorted(folder.glob("*.py")):
            found[package if path.stem == "__init__" else f"{package}.{path.stem}"] = path
    return found


MODULES = _modules()


def _imports(name: str, path: Path) -> Iterator[tuple[str, str | None]]:
    """(module imported, name imported from it or None) for each import of one module."""
    package = name if path.stem == "__init__" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, None
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                assert node.level == 1, f"{name}: imports from outside its package by a relative path"
                base = f"{package}.{node.module}" if node.module else package
            else:
                base = node.module or ""
            for alias in node.names:
                submodule = f"{base}.{alias.name}"
                # `from . import config` imports a module; `from .models import Usage` a name.
                yield (submodule, None) if submodule in MODULES else (base, alias.name)


def _graph() -> dict[str, set[str]]:
    return {
        name: {target for target, _ in _imports(name, path) if target in MODULES and target != name}
        for name, path in MODULES.items()
    }


def _cycles(graph: dict[str, set[str]]) -> set[frozenset[str]]:
    """The strongly connected components with more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: set[frozenset[str]] = set()

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph[node]):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = set()
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.add(member)
                if member == node:
                    break
            if len(component) > 1:
                found.add(frozenset(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_the_cycle_finder_finds_a_cycle() -> None:
    """The finder itself: a two-module cycle and a three-module one, next to modules in no cycle."""
    graph = {"a": {"b"}, "b": {"a", "c"}, "c": set(), "d": {"e"}, "e": {"f"}, "f": {"d", "c"}}
    assert _cycles(graph) == {frozenset({"a", "b"}), frozenset({"d", "e", "f"})}


def test_the_import_graph_of_provider_has_no_cycle() -> None:
    """No module of ccc_numbers or ccc_emulator imports, directly or not, a module that imports it."""
    graph = _graph()
    assert graph["ccc_numbers.binding"] >= {"ccc_numbers.validation", "ccc_numbers.models"}  # read right
    cycles = _cycles(graph)
    assert cycles == set()


def test_no_module_imports_another_modules_private_names() -> None:
    """`from .models import _x` is refused: what another module needs is public there."""
    private = [
        (name, target, imported)
        for name, path in MODULES.items()
        for target, imported in _imports(name, path)
        if target in MODULES and imported is not None and imported.startswith("_")
    ]
    assert private == []


@pytest.mark.slow
@pytest.mark.parametrize("module", sorted(MODULES))
def test_each_module_imports_alone_in_a_fresh_interpreter(module: str) -> None:
    """Importing one module first, in a new process, works: no import order is needed."""
    proc = subprocess.run(
        [sys.executable, "-c", f"import {module}"], capture_output=True, text=True, check=False, timeout=60
    )
    assert proc.returncode == 0, proc.stderr
