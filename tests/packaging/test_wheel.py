"""The wheel users install: what ``python -m build`` puts in it, and a stack run from it.

``python -m build`` makes an sdist and, from that sdist, the wheel (so a broken sdist fails here
too), from a copy of the source tree (builds write ``build/`` and ``*.egg-info`` beside the
sources). The wheel must hold exactly the packages' files (type markers, the emulator's seed
module, the Pulumi plugin marker) and the console scripts and entry points pyproject declares.
Then it is installed, not editable, into a fresh virtualenv inside a copy of
``examples/quickstart`` (where its Pulumi.yaml expects ``venv``), ``ccc-emulator`` is started from
that virtualenv, and the quickstart runs through the real CLI: preview, up, destroy.
"""

from __future__ import annotations

import email.parser
import fcntl
import importlib.metadata
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tomllib
import urllib.request
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from ccc_emulator import demo

ROOT = Path(__file__).resolve().parents[2]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
VERSION = PYPROJECT["project"]["version"]
PACKAGES = ("ccc_numbers", "ccc_emulator", "pulumi_ccc_numbers")
DIST_INFO = f"pulumi_ccc_numbers-{VERSION}.dist-info"
QUICKSTART_NUMBERS = ["02160660000", "02160660001", "02160660002"]
#: Any attempt to find, download or install a plugin for this package names it so in the log.
PLUGIN_ATTEMPT = re.compile(
    r"plugin ccc-numbers\b|pulumi-resource-ccc-numbers|ccc-numbers (trying|downloading)"
)


def _source_files(package: str) -> set[str]:
    """The files of one package in the source tree that it ships, as wheel paths.

    All of them but caches and Markdown: the emulator's README is documentation for the
    repository, read by people, never by the code.
    """
    base = ROOT / "provider"
    return {
        path.relative_to(base).as_posix()
        for path in (base / package).rglob("*")
        if path.is_file() and "__pycache__" not in path.parts and path.suffix not in (".pyc", ".md")
    }


@pytest.fixture(scope="session")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """``{"wheel": path, "sdist": path}``, built once per run (shared by xdist workers under a lock)."""
    base = tmp_path_factory.getbasetemp()
    # Under xdist each worker has its own basetemp inside the run's: build once there for all of them.
    shared = (base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base) / "pulumi-ccc-numbers-dist"
    shared.mkdir(exist_ok=True)
    with open(shared / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        out = shared / "dist"
        if not list(out.glob("*.whl")):
            source = shared / "source"
            shutil.rmtree(source, ignore_errors=True)
            source.mkdir()
            for name in ("pyproject.toml", "README.md", "MANIFEST.in", "CHANGELOG.md"):
                shutil.copy2(ROOT / name, source / name)
            ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info")
            for folder in ("provider", "build_backend"):
                shutil.copytree(ROOT / folder, source / folder, ignore=ignore)
            done = subprocess.run(
                [sys.executable, "-m", "build", "--outdir", str(out), str(source)],
                capture_output=True,
                text=True,
                timeout=900,
                check=False,
            )
            assert done.returncode == 0, f"python -m build failed:\n{done.stdout}\n{done.stderr}"
    (wheel,) = out.glob("*.whl")
    (sdist,) = out.glob("*.tar.gz")
    return {"wheel": wheel, "sdist": sdist}


def test_the_version_is_written_once_in_pyproject_and_read_from_the_metadata() -> None:
    """The installed distribution reports pyproject's version, and so does ``ccc-emulator --version``."""
    assert importlib.metadata.version("pulumi-ccc-numbers") == VERSION
    done = subprocess.run(
        [sys.executable, "-m", "ccc_emulator", "--version"], capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == f"ccc-emulator {VERSION}"


@pytest.mark.slow
def test_wheel_holds_exactly_the_packages_and_declares_the_entry_points(built: dict[str, Path]) -> None:
    """Every package file (type markers, seed module, plugin marker) and nothing else, plus metadata."""
    with zipfile.ZipFile(built["wheel"]) as wheel:
        names = set(wheel.namelist())
        metadata = email.parser.Parser().parsestr(wheel.read(f"{DIST_INFO}/METADATA").decode())
        entry_points = wheel.read(f"{DIST_INFO}/entry_points.txt").decode()
        marker = json.loads(wheel.read("pulumi_ccc_numbers/pulumi-plugin.json"))

    expected = set().union(*(_source_files(p) for p in PACKAGES))
    assert {n for n in names if not n.startswith(DIST_INFO + "/")} == expected
    assert {"ccc_numbers/py.typed", "ccc_emulator/py.typed", "ccc_emulator/demo.py"} <= names
    assert marker == {"resource": False}
    assert (metadata["Name"], metadata["Version"]) == ("pulumi-ccc-numbers", VERSION)

    declared = {f"{name} = {target}" for name, target in PYPROJECT["project"]["scripts"].items()}
    for group, points in PYPROJECT["project"].get("entry-points", {}).items():
        declared |= {f"[{group}] {name} = {target}" for name, target in points.items()}
    found: set[str] = set()
    group = ""
    for line in entry_points.splitlines():
        if line.startswith("["):
            group = line.strip("[]")
        elif line.strip():
            found.add(line.strip() if group == "console_scripts" else f"[{group}] {line.strip()}")
    assert found == declared
    assert "ccc-emulator = ccc_emulator.__main__:main" in found


@pytest.mark.slow
def test_sdist_carries_what_building_the_wheel_needs(built: dict[str, Path]) -> None:
    """The sdist has the build backend pyproject names, the sources, the README and the changelog."""
    with tarfile.open(built["sdist"]) as sdist:
        names = {name.split("/", 1)[1] for name in sdist.getnames() if "/" in name}
    assert {"pyproject.toml", "README.md", "CHANGELOG.md", "build_backend/ccc_build.py"} <= names
    assert {f"provider/{name}" for name in set().union(*(_source_files(p) for p in PACKAGES))} <= names


@pytest.fixture
def quickstart_venv(built: dict[str, Path], tmp_path: Path) -> Path:
    """A copy of examples/quickstart with the built wheel installed into its own ``venv``."""
    project = tmp_path / "quickstart"
    shutil.copytree(ROOT / "examples" / "quickstart", project)
    subprocess.run([sys.executable, "-m", "venv", str(project / "venv")], check=True, timeout=300)
    python = project / "venv" / "bin" / "python"
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower() and k != "PIP_REQUIRE_VIRTUALENV"}
    done = subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", str(built["wheel"])],
        capture_output=True,
        text=True,
        timeout=1200,
        check=False,
        env=env,
    )
    assert done.returncode == 0, f"pip install of the wheel failed:\n{done.stdout}\n{done.stderr}"
    return project


@pytest.fixture
def emulator_from_venv(quickstart_venv: Path) -> Iterator[str]:
    """``ccc-emulator`` of the fresh virtualenv, running; yields its URL (its first stdout line)."""
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    proc = subprocess.Popen(
        [str(quickstart_venv / "venv" / "bin" / "ccc-emulator"), "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:"), proc.stderr.read() if proc.stderr else url
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def _admin(url: str, path: str) -> Any:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(f"{url}/_emulator/{path}", timeout=30) as answer:
        return json.loads(answer.read())


@pytest.mark.real_engine
@pytest.mark.slow
def test_quickstart_runs_from_the_installed_wheel(
    quickstart_venv: Path,
    emulator_from_venv: str,
    make_engine: Callable[[Path], Any],
    plugin_markers: Callable[[Path, Path], dict[str, Any]],
    tmp_path: Path,
) -> None:
    """Preview (no API call, no plugin lookup), up (3 numbers bound), destroy (all unbound) from the wheel."""
    venv_python = quickstart_venv / "venv" / "bin" / "python"
    version = subprocess.run(
        [str(quickstart_venv / "venv" / "bin" / "ccc-emulator"), "--version"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert version.stdout.strip() == f"ccc-emulator {VERSION}"
    found = plugin_markers(venv_python, tmp_path)
    assert found["old host"]["marker"] == found["current host"]["marker"] == {"resource": False}
    # Installed, not editable: both hosts read the file from the venv's site-packages.
    assert all("/venv/lib/" in str(found[host]["path"]) for host in found), found

    engine = make_engine(venv_python)
    cwd = quickstart_venv
    engine.run(["stack", "init", "dev"], cwd=cwd)
    engine.run(["config", "set", "ccc:endpoint", emulator_from_venv], cwd=cwd)
    engine.run(["config", "set", "ccc:accessKeyId", demo.DEMO_ACCESS_KEY_ID], cwd=cwd)
    engine.run(["config", "set", "--secret", "ccc:accessKeySecret", demo.DEMO_ACCESS_KEY_SECRET], cwd=cwd)

    preview = engine.run(["preview", "--diff", "--logtostderr", "-v=7"], cwd=cwd)
    assert "+ 2 to create" in preview.stdout
    log = (preview.stdout + preview.stderr).splitlines()
    assert [line[:300] for line in log if PLUGIN_ATTEMPT.search(line)] == []
    assert _admin(emulator_from_venv, "journal") == []  # a preview makes no API call

    engine.run(["up", "--yes"], cwd=cwd)
    bound = _admin(emulator_from_venv, f"bindings?instance_id={demo.DEMO_INSTANCE_ID}")
    assert sorted(b["number"] for b in bound) == QUICKSTART_NUMBERS
    outputs = json.loads(engine.run(["stack", "output", "--json"], cwd=cwd).stdout)
    assert sorted(outputs["phone_number_ids"]) == QUICKSTART_NUMBERS

    engine.run(["destroy", "--yes"], cwd=cwd)
    assert _admin(emulator_from_venv, f"bindings?instance_id={demo.DEMO_INSTANCE_ID}") == []
