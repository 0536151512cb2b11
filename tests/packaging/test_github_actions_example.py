"""examples/github-actions, what users copy into their own repository: the workflows and the preview.

The workflows are not run here (that needs GitHub); their shape is checked: the pull-request one
previews with ``diff: true`` and ``comment-on-pr: true`` and holds no CCC credential, the merge one
runs ``up`` with the credentials from secrets as environment variables. The preview text the
README shows must be what the real CLI prints for the example pull request, and the merge must
cost the CCC calls the README names.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from ccc_emulator import Emulator, demo

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "github-actions"
ACTION = re.compile(r"^pulumi/actions@v\d+$")
#: The binding's id is the instance and a random hex string, new on every create.
RANDOM_ID = re.compile(r"(\[id=[0-9a-f-]+/)[0-9a-f]{32}(\])")


def _pulumi_step(workflow: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The workflow's parsed document and its one ``pulumi/actions`` step."""
    doc = yaml.safe_load((EXAMPLE / workflow).read_text(encoding="utf-8"))
    steps = [s for job in doc["jobs"].values() for s in job["steps"] if ACTION.match(s.get("uses", ""))]
    assert len(steps) == 1, steps
    return doc, steps[0]


def test_pull_requests_get_a_diff_preview_comment_without_ccc_credentials() -> None:
    """preview.yml: on pull_request, ``preview`` with diff and comment-on-pr; no CCC secret in the job."""
    doc, step = _pulumi_step("preview.yml")
    assert "pull_request" in doc[True]  # YAML 1.1 reads the key `on` as True
    given = step["with"]
    assert (given["command"], given["diff"], given["comment-on-pr"]) == ("preview", True, True)
    assert doc["permissions"]["pull-requests"] == "write"
    assert [k for k in step.get("env", {}) if k.startswith("ALIBABA_CLOUD")] == []
    assert "secrets.ALIBABA_CLOUD" not in (EXAMPLE / "preview.yml").read_text(encoding="utf-8")


def test_a_merge_runs_up_with_ccc_credentials_from_secrets_as_environment_variables() -> None:
    """up.yml: on a push to the default branch, ``up``; the keys come from secrets, in ``env`` only."""
    doc, step = _pulumi_step("up.yml")
    assert doc[True]["push"]["branches"] == ["main"]
    assert step["with"]["command"] == "up"
    assert step["env"]["ALIBABA_CLOUD_ACCESS_KEY_ID"] == "${{ secrets.ALIBABA_CLOUD_ACCESS_KEY_ID }}"
    assert step["env"]["ALIBABA_CLOUD_ACCESS_KEY_SECRET"] == "${{ secrets.ALIBABA_CLOUD_ACCESS_KEY_SECRET }}"
    assert "config-map" not in step["with"]  # credentials never go into stack config


def _readme_preview() -> str:
    text = (EXAMPLE / "README.md").read_text(encoding="utf-8")
    block = text.split("<!-- preview:begin -->", 1)[1].split("<!-- preview:end -->", 1)[0]
    return block.strip().removeprefix("```").removesuffix("```").strip("\n")


@pytest.mark.real_engine
@pytest.mark.slow
def test_the_readme_shows_what_the_cli_prints_for_the_example_pull_request(
    make_engine: Callable[[Path], Any], ccc_emulator: Emulator, tmp_path: Path
) -> None:
    """up of the committed project, the example diff applied, preview --diff: the README's text exactly."""
    project = tmp_path / "project"
    shutil.copytree(EXAMPLE / "project", project, ignore=shutil.ignore_patterns("venv", ".ccc-emulator"))
    # Pulumi.yaml names a virtualenv `venv`; the suite's own is the one with this checkout installed.
    (project / "venv").symlink_to(sys.prefix, target_is_directory=True)
    engine = make_engine(Path(sys.executable))
    engine.run(["stack", "init", "dev"], cwd=project)
    for key, value in (("ccc:endpoint", ccc_emulator.url), ("ccc:accessKeyId", demo.DEMO_ACCESS_KEY_ID)):
        engine.run(["config", "set", key, value], cwd=project)
    engine.run(["config", "set", "--secret", "ccc:accessKeySecret", demo.DEMO_ACCESS_KEY_SECRET], cwd=project)
    engine.run(["up", "--yes"], cwd=project)
    assert sorted(b["number"] for b in ccc_emulator.bindings(demo.DEMO_INSTANCE_ID)) == [
        "02160660100",
        "02160660101",
        "02160660102",
    ]

    subprocess.run(["git", "apply", str(EXAMPLE / "example-pr.diff")], cwd=project, check=True)
    ccc_emulator.clear_journal()
    preview = engine.run(["preview", "--diff"], cwd=project)
    printed = preview.stdout[preview.stdout.index("Previewing update") :].strip("\n")
    assert RANDOM_ID.sub(r"\1…\2", printed) == RANDOM_ID.sub(r"\1…\2", _readme_preview())
    assert ccc_emulator.journal == []  # the preview made no CCC call

    engine.run(["up", "--yes"], cwd=project)
    # The listing and the preflight's checks that the flows and skill groups exist, then the writes.
    assert Counter(e.action for e in ccc_emulator.journal) == {
        "ListPhoneNumbers": 1,
        "ListContactFlows": 1,
        "ListSkillGroups": 1,
        "RemovePhoneNumber": 1,
        "AddBulkPhoneNumbers": 1,
        "ModifyPhoneNumber": 1,
    }
    engine.run(["destroy", "--yes"], cwd=project)
