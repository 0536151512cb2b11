"""The real Pulumi CLI on the repo's root project, when `pulumi` is installed (design §5 "real CLI").

The root project is copied to a tmp dir (its Pulumi.yaml pointed at the repo's .venv), so the
CLI's writes (the stack's encryption salt, config) never touch the checkout. A local file
backend, an empty passphrase, a private PULUMI_HOME and the embedded emulator's state file all
live under tmp.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

PULUMI = shutil.which("pulumi")
ROOT = Path(__file__).resolve().parents[2]
BINDING_TYPE = "pulumi-python:dynamic/ccc:PhoneNumberBinding"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(PULUMI is None, reason="pulumi CLI not on PATH; install it to run this test"),
]


def _project_copy(tmp_path: Path) -> Path:
    project = tmp_path / "project"
    project.mkdir()
    for name in ("__main__.py", "Pulumi.dev.yaml"):
        shutil.copy(ROOT / name, project / name)
    settings = yaml.safe_load((ROOT / "Pulumi.yaml").read_text())
    # The copy uses the checkout's virtualenv, where ccc_numbers is installed.
    settings["runtime"] = {
        "name": "python",
        "options": {"toolchain": "pip", "virtualenv": str(ROOT / ".venv")},
    }
    (project / "Pulumi.yaml").write_text(yaml.safe_dump(settings))
    return project


def _cli(project: Path, env: dict[str, str], *args: str) -> str:
    assert PULUMI is not None
    done = subprocess.run(
        [PULUMI, *args, "--non-interactive"],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, f"pulumi {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout


def _bindings(project: Path, env: dict[str, str]) -> list[dict[str, Any]]:
    deployment = json.loads(_cli(project, env, "stack", "export"))
    # A stack that was never deployed exports no resources list (or no deployment at all).
    resources = (deployment.get("deployment") or {}).get("resources") or []
    return [r for r in resources if r["type"] == BINDING_TYPE]


def test_preview_up_no_change_up_and_destroy_through_the_real_cli(tmp_path: Path) -> None:
    """The root project's demo stack deploys, stays unchanged on a second up, and destroys."""
    project = _project_copy(tmp_path)
    state_path = tmp_path / "emulator" / "state.sqlite3"
    env = {
        **os.environ,
        "PULUMI_BACKEND_URL": (tmp_path / "backend").as_uri(),
        "PULUMI_CONFIG_PASSPHRASE": "",
        "PULUMI_HOME": str(tmp_path / "pulumi-home"),
        "PULUMI_SKIP_UPDATE_CHECK": "true",
    }
    (tmp_path / "backend").mkdir()

    _cli(project, env, "stack", "init", "dev")
    _cli(project, env, "config", "set", "ccc:embeddedStatePath", str(state_path))
    _cli(project, env, "preview")
    assert _bindings(project, env) == []
    _cli(project, env, "up", "--yes")
    outputs = json.loads(_cli(project, env, "stack", "output", "--json"))
    _cli(project, env, "up", "--yes", "--expect-no-changes")
    deployed = _bindings(project, env)
    _cli(project, env, "destroy", "--yes")

    assert sorted(outputs["phone_number_ids"]) == ["02160660000", "02160660001", "02160660002"]
    assert [bool(binding["id"]) for binding in deployed] == [True]
    assert state_path.is_file()
    assert _bindings(project, env) == []
