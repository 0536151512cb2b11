"""The emulator's modules stand alone: each imports by itself, none loads the provider, each says its job.

The emulator is an independent model of the vendor API, so it must never import ``ccc_numbers``
(design.md); importing each module first in a fresh interpreter also catches an import cycle,
which only shows when the cycle's second module is imported first.
"""

from __future__ import annotations

import ast
import json
import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest

import ccc_emulator

PACKAGE_DIR = Path(ccc_emulator.__file__).parent
MODULES = sorted(
    ["ccc_emulator"] + [f"ccc_emulator.{m.name}" for m in pkgutil.iter_modules([str(PACKAGE_DIR)])]
)


@pytest.mark.parametrize("module", MODULES)
def test_each_module_imports_alone_without_the_provider(module: str) -> None:
    """A fresh interpreter imports the module first and ends up with no ``ccc_numbers`` module loaded."""
    script = (
        f"import importlib, json, sys; importlib.import_module({module!r}); "
        "print(json.dumps(sorted(n for n in sys.modules if n.split('.')[0] == 'ccc_numbers')))"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == []


@pytest.mark.parametrize("module", MODULES)
def test_each_module_opens_with_what_it_owns_and_must_not_do(module: str) -> None:
    """The module docstring names what the module owns and what it must not do (the project's standard)."""
    name = module.removeprefix("ccc_emulator").lstrip(".") or "__init__"
    doc = ast.get_docstring(ast.parse((PACKAGE_DIR / f"{name}.py").read_text(encoding="utf-8"))) or ""
    assert "Owns" in doc, f"{module}: no 'Owns ...' in its docstring"
    assert "must not" in doc.lower() or "must never" in doc.lower(), f"{module}: no 'Must not ...'"
