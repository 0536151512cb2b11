"""Fixtures of the packaging tests: a private engine environment per test, for one venv's Python.

The CLI is the suite's ``pulumi_cli`` fixture (``tests/conftest.py``), with the language host that
``scripts/pulumi-cli`` puts beside it, so ``pulumi preview`` of a project folder runs; the
environment and the CLI runs are the real-engine harness's (``tests/real_engine/harness.py``).
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest
from real_engine.harness import cli, engine_env


@dataclass(frozen=True)
class Engine:
    """One private engine setup: a file backend and ``PULUMI_HOME`` of its own, one venv's Python."""

    cli_dir: Path
    python: Path
    home: Path
    backend: Path

    def env(self, extra: Mapping[str, str] | None = None) -> dict[str, str]:
        """The CLI's environment for this venv (harness.engine_env), plus `extra`."""
        return {**engine_env(self.home, self.backend, self.cli_dir, self.python), **(extra or {})}

    def run(
        self,
        args: Sequence[str],
        *,
        cwd: Path,
        check: bool = True,
        timeout: float = 600,
        env: Mapping[str, str] | None = None,
    ) -> subprocess.CompletedProcess[str]:
        """``pulumi ARGS --non-interactive`` in ``cwd``; with ``check``, fail the test on a non-zero exit."""
        return cli(args, cwd=cwd, env=self.env(env), timeout=timeout, check=check)


MakeEngine = Callable[[Path], Engine]


@pytest.fixture
def make_engine(pulumi_cli: Path, tmp_path: Path) -> MakeEngine:
    """``make_engine(python)``: an :class:`Engine` under the test's tmp folder for that venv's Python."""
    if not (pulumi_cli / "pulumi-language-python").is_file():
        pytest.skip(f"no Python language host beside the Pulumi CLI in {pulumi_cli}")

    def make(python: Path) -> Engine:
        home, backend = tmp_path / "pulumi-home", tmp_path / "backend"
        home.mkdir(exist_ok=True)
        backend.mkdir(exist_ok=True)
        return Engine(cli_dir=pulumi_cli, python=python, home=home, backend=backend)

    return make


#: The old host (v3.68, scripts/pulumi-cli's CI stand-in): ``pip list -v`` gives each package's
#: location; it reads ``<location>/<name with - as _>/pulumi-plugin.json`` (main.go,
#: ``readPulumiPluginJSON``), and treats a ``pulumi-`` package without one as a resource plugin.
_OLD_HOST_LOOKUP = """
import json, os, subprocess, sys
out = subprocess.run([sys.executable, "-m", "pip", "list", "-v", "--format", "json"],
                     capture_output=True, text=True, check=True).stdout
pkg = next(p for p in json.JSONDecoder().raw_decode(out)[0]
           if p["name"].replace("_", "-").lower() == sys.argv[1])
path = os.path.join(pkg["location"], pkg["name"].replace("-", "_"), "pulumi-plugin.json")
print(json.dumps({"path": path, "marker": json.load(open(path)) if os.path.isfile(path) else None}))
"""

#: The current host (pulumi/pulumi#22127): the distribution's ``Name`` with ``-`` as ``_`` is a
#: module name; ``importlib.util.find_spec`` of it, then ``pulumi-plugin.json`` in one of its
#: ``submodule_search_locations``.
_CURRENT_HOST_LOOKUP = """
import importlib.metadata, importlib.util, json, os, sys
dist = importlib.metadata.distribution(sys.argv[1])
module = dist.metadata["Name"].replace("-", "_")
spec = importlib.util.find_spec(module)
locs = list(spec.submodule_search_locations or []) if spec else []
found = [p for l in locs for p in [os.path.join(str(l), "pulumi-plugin.json")] if os.path.isfile(p)]
print(json.dumps({"path": found[0] if found else None,
                  "marker": json.load(open(found[0])) if found else None}))
"""

DISTRIBUTION = "pulumi-ccc-numbers"


def _plugin_markers(python: Path, cwd: Path) -> dict[str, dict[str, object]]:
    """What each language host finds for this distribution in ``python``'s environment.

    ``{"old host": {"path", "marker"}, "current host": {...}}``; ``marker`` is the parsed
    ``pulumi-plugin.json`` or None when the host finds none (and would then look for a plugin).
    Run from ``cwd``, outside the checkout, as the hosts run from the project folder.
    """
    found: dict[str, dict[str, object]] = {}
    for host, script in (("old host", _OLD_HOST_LOOKUP), ("current host", _CURRENT_HOST_LOOKUP)):
        done = subprocess.run(
            [str(python), "-c", script, DISTRIBUTION], cwd=cwd, capture_output=True, text=True, check=False
        )
        assert done.returncode == 0, f"{host} lookup failed:\n{done.stderr}"
        found[host] = json.loads(done.stdout)
    return found


def _write_probe_project(folder: Path) -> Path:
    """A Pulumi project that only imports the package: the plugin lookup happens before any resource."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "Pulumi.yaml").write_text("name: plugin-probe\nruntime: python\n", encoding="utf-8")
    (folder / "__main__.py").write_text(
        "import pulumi\n\nimport ccc_numbers\n\npulumi.export('version', ccc_numbers.__name__)\n",
        encoding="utf-8",
    )
    return folder


PluginMarkers = Callable[[Path, Path], dict[str, dict[str, object]]]
ProbeProject = Callable[[Path], Path]


@pytest.fixture
def plugin_markers() -> PluginMarkers:
    """``plugin_markers(python, cwd)``: what each language host finds for this distribution (above)."""
    return _plugin_markers


@pytest.fixture
def probe_project() -> ProbeProject:
    """``probe_project(folder)``: write a project that only imports the package; returns the folder."""
    return _write_probe_project
