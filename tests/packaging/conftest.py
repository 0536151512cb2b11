"""Fixtures of the packaging tests: the real Pulumi CLI, and a private engine environment per test.

The CLI comes from ``scripts/pulumi-cli`` (``$PULUMI_CLI_DIR``, a ``pulumi`` on PATH, or a cached
build), with the old language host it puts beside it so ``pulumi preview`` of a project folder
runs. Where it cannot be had, the tests that need it are skipped with the script's reason, except
under ``CI=true``, where they fail: CI always has the CLI. Owns starting the CLI and collecting what
it printed; must not interpret provider behaviour (the tests assert on the CLI's text and logs).
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
_PROXY_VARIABLES = ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "ALL_PROXY", "all_proxy")


def unavailable(reason: str) -> None:
    """Skip for ``reason``; under ``CI=true`` fail instead, since CI must run every real-engine test."""
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"CI=true: a real_engine test may not be skipped ({reason})")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def pulumi_cli() -> Path:
    """The folder holding ``pulumi``, its dynamic-provider plugin script and a Python language host."""
    script = ROOT / "scripts" / "pulumi-cli"
    if not script.is_file():
        unavailable(f"no Pulumi CLI: {script.relative_to(ROOT)} is missing from this checkout")
    # No timeout: a machine without the cached build compiles it once (about 7 minutes).
    done = subprocess.run(["bash", str(script)], capture_output=True, text=True, check=False)
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines:
        said = done.stderr.strip().splitlines()
        unavailable(f"no Pulumi CLI: {said[-1] if said else 'scripts/pulumi-cli failed'}")
    folder = Path(lines[-1])
    if not (folder / "pulumi-language-python").is_file():
        unavailable(f"no Python language host beside the Pulumi CLI in {folder}")
    return folder


@dataclass(frozen=True)
class Engine:
    """One private engine setup: a file backend and ``PULUMI_HOME`` of its own, one venv's Python."""

    cli_dir: Path
    python: Path
    home: Path
    backend: Path

    def env(self, extra: Mapping[str, str] | None = None) -> dict[str, str]:
        """The CLI's environment: the CLI, then the venv's bin (the old host ignores
        ``runtime.options.virtualenv`` and runs the ``python`` it finds on PATH)."""
        env = {k: v for k, v in os.environ.items() if k not in _PROXY_VARIABLES}
        env.update(
            {
                "PATH": os.pathsep.join([str(self.cli_dir), str(self.python.parent), env.get("PATH", "")]),
                "PULUMI_PYTHON_CMD": str(self.python),
                "PULUMI_HOME": str(self.home),
                "PULUMI_BACKEND_URL": self.backend.as_uri(),
                "PULUMI_CONFIG_PASSPHRASE": "",
                "PULUMI_SKIP_UPDATE_CHECK": "true",
            }
        )
        env.pop("VIRTUAL_ENV", None)
        env.update(extra or {})
        return env

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
        done = subprocess.run(
            [str(self.cli_dir / "pulumi"), *args, "--non-interactive"],
            cwd=cwd,
            env=self.env(env),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if check and done.returncode != 0:
            raise AssertionError(
                f"pulumi {' '.join(args)} exited {done.returncode}:\n{done.stdout}\n{done.stderr}"
            )
        return done


MakeEngine = Callable[[Path], Engine]


@pytest.fixture
def make_engine(pulumi_cli: Path, tmp_path: Path) -> MakeEngine:
    """``make_engine(python)``: an :class:`Engine` under the test's tmp folder for that venv's Python."""

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
