"""The benchmark's two virtualenvs: the same packages, one with this project installed and one without.

Owns which packages the programs run with: :data:`ROOTS` and everything they require, pinned at the
versions installed in the interpreter running the benchmark, so both environments match the
developer's. ``floor`` has only those packages (the floor and the one-resource-per-number provider
run there: neither is this project, and this project installed slows every program in its
virtualenv today). ``ours`` has the same packages plus this project, installed from the checkout as
users install it (a wheel, not editable), so it measures the code checked out; there is one
``ours`` venv per version of the project's source. Both are cached under
``${XDG_CACHE_HOME:-~/.cache}/pulumi-ccc-numbers/bench``, keyed by the pins. Must not install
anything into the developer's own virtualenv.
"""

from __future__ import annotations

import fcntl
import hashlib
import importlib.metadata as md
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from harness import REPO
from packaging.requirements import Requirement

#: The packages a program of either kind may import: the Pulumi SDK, the Alibaba SDK stack (the
#: generated CCC client included, for the per-number provider and the script), pydantic, aiohttp.
ROOTS = (
    "pulumi",
    "alibabacloud-tea-openapi",
    "alibabacloud-credentials",
    "alibabacloud-ccc20170705",
    "pydantic",
    "aiohttp",
)


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def pins() -> list[str]:
    """``name==version`` for :data:`ROOTS` and their requirements, as installed here (sorted)."""
    seen: dict[str, str] = {}
    todo = list(ROOTS)
    while todo:
        name = _norm(todo.pop())
        if name in seen:
            continue
        try:
            dist = md.distribution(name)
        except md.PackageNotFoundError:
            continue  # an optional requirement of a marker that did not apply
        seen[name] = dist.version
        for text in dist.requires or []:
            req = Requirement(text)
            if req.marker is None or req.marker.evaluate({"extra": ""}):
                todo.append(req.name)
    return sorted(f"{name}=={version}" for name, version in seen.items())


def source_hash() -> str:
    """A hash of what ``pip install .`` would install: pyproject.toml and every file under provider/."""
    digest = hashlib.sha256((REPO / "pyproject.toml").read_bytes())
    for path in sorted((REPO / "provider").rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts and ".egg-info" not in str(path):
            digest.update(str(path.relative_to(REPO)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:12]


def cache_root() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "pulumi-ccc-numbers" / "bench"


def _pip(python: Path, *args: str) -> None:
    subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", *args],
        check=True,
        stdout=subprocess.DEVNULL,
    )


def ensure(kind: str, log: Callable[[str], None] = print) -> Path:
    """The virtualenv ``floor`` or ``ours`` (its folder), made if missing.

    ``ours`` is keyed by the project's source too: a venv, once complete, is never changed, so a
    test run and a benchmark run (or two checkouts) never reinstall under each other's feet.
    """
    if kind not in ("floor", "ours"):
        raise ValueError(f"unknown virtualenv kind {kind!r}")
    wanted = pins()
    parts = [sys.version, *wanted, *([source_hash()] if kind == "ours" else [])]
    key = hashlib.sha256("\n".join(parts).encode()).hexdigest()[:12]
    root = cache_root() / f"venv-{kind}-{key}"
    cache_root().mkdir(parents=True, exist_ok=True)
    with (cache_root() / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one builder at a time; the others then find its result
        if not (root / ".complete").exists():
            log(f"building the {kind} virtualenv at {root} ({len(wanted)} pinned packages)")
            _build(root, wanted, with_project=kind == "ours")
        if kind == "ours":
            _prune(root)
    return root


def _build(root: Path, wanted: list[str], *, with_project: bool) -> None:
    shutil.rmtree(root, ignore_errors=True)
    subprocess.run([sys.executable, "-m", "venv", str(root)], check=True)
    python = root / "bin" / "python"
    _pip(python, *wanted)
    if with_project:
        # --no-deps: the pins above are the dependencies. A wheel, as users install it (not editable).
        _pip(python, "--no-deps", str(REPO))
    (root / "pins.txt").write_text("\n".join(wanted) + "\n")
    (root / ".complete").write_text("")


def _prune(keep: Path, max_age_s: float = 86_400) -> None:
    """Remove ``ours`` venvs of other source versions unused for a day (they pile up as code changes)."""
    for old in cache_root().glob("venv-ours-*"):
        if old != keep and time.time() - old.stat().st_mtime > max_age_s:
            shutil.rmtree(old, ignore_errors=True)
    keep.touch()
