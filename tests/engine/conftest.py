"""Fixtures for the engine driver's own tests: stacks of the trivial file provider project."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from .stack import Program, Stack

TRIVIAL_DIR = Path(__file__).parent / "trivial_provider"

# Test programs import `filestore` under the same top-level name the provider host imports it
# by from its cwd (the project dir), so the provider pickles by reference to a module the host
# can find, as a real project's provider module does.
if str(TRIVIAL_DIR) not in sys.path:
    sys.path.insert(0, str(TRIVIAL_DIR))


@pytest.fixture
def file_root(tmp_path: Path) -> Path:
    """The directory the trivial provider keeps its files in (config `trivial:root`)."""
    return tmp_path / "files"


@pytest.fixture
def trivial_stack(file_root: Path) -> Callable[..., Stack]:
    """Make a Stack of the trivial project; `program=None` runs its __main__.py."""

    def make(
        program: Program | None = None, *, secret_keys: frozenset[str] = frozenset(), **config: Any
    ) -> Stack:
        settings = {"trivial:root": str(file_root), **{f"trivial:{k}": v for k, v in config.items()}}
        return Stack(TRIVIAL_DIR, program, config=settings, secret_keys=secret_keys)

    return make
