"""The real Pulumi engine for tests: the CLI from ``scripts/pulumi-cli``, driven two ways.

* :class:`InlineStack`: an inline program through the Automation API (``pulumi.automation``),
  Pulumi's own recommended way to test programs against the real engine. The program runs in the
  test process (the Automation API serves it as the language host); the CLI starts the real
  dynamic-provider host, ``pulumi-resource-pulumi-python``, in the venv's Python.
* :func:`cli`: the ``pulumi`` binary on a project folder, as a user runs it (examples, the demo,
  a killed ``pulumi up``). Needs the language host that ``scripts/pulumi-cli`` puts beside it.

Both keep everything under the test's tmp folder: a file backend, a private ``PULUMI_HOME``, an
empty passphrase. Owns starting the engine and collecting what it printed; must not interpret
provider behaviour (tests assert on the CLI's text, the exported state and the emulator's journal).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pulumi import automation as auto

BINDING_TYPE = "pulumi-python:dynamic/ccc:PhoneNumberBinding"
#: What the Automation API's CLI runs need beyond the CLI itself: the venv's Python for the
#: dynamic-provider host, no update check, no colour (tests read the text), no interactive prompts.
_BASE_ENV = {
    "PULUMI_SKIP_UPDATE_CHECK": "true",
    "PULUMI_CONFIG_PASSPHRASE": "",
    "PULUMI_AUTOMATION_API_SKIP_VERSION_CHECK": "true",
    "PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION": "true",
}


@dataclass(frozen=True)
class Run:
    """One CLI operation: whether it succeeded and everything it printed."""

    command: str
    ok: bool
    stdout: str
    stderr: str
    #: Resource operations from the summary, e.g. ``{"create": 2}`` (empty when it failed early).
    changes: Mapping[str, int] = field(default_factory=dict)
    #: Stack outputs after an ``up`` (plain values; secrets shown).
    outputs: Mapping[str, Any] = field(default_factory=dict)

    @property
    def text(self) -> str:
        """stdout and stderr together: the CLI prints diagnostics on stdout, engine errors on stderr."""
        return self.stdout + self.stderr


def engine_env(home: Path, backend: Path, cli_dir: Path, python: Path | None = None) -> dict[str, str]:
    """The environment every CLI run of a test gets: private home and backend, one venv's Python.

    `python` (default: the test's own) runs the dynamic-provider host; its folder comes right
    after the CLI's on PATH, because the old language host that ``scripts/pulumi-cli`` builds
    ignores ``runtime.options.virtualenv`` and runs the ``python`` it finds there.
    """
    backend.mkdir(parents=True, exist_ok=True)
    home.mkdir(parents=True, exist_ok=True)
    interpreter = python or Path(sys.executable)
    env = {
        **_BASE_ENV,
        "PULUMI_HOME": str(home),
        "PULUMI_BACKEND_URL": backend.as_uri(),
        "PULUMI_PYTHON_CMD": str(interpreter),
        "PATH": os.pathsep.join([str(cli_dir), str(interpreter.parent), os.environ.get("PATH", "")]),
    }
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "ALL_PROXY", "all_proxy"):
        env[name] = ""
    return env


class InlineStack:
    """One stack of an inline program on a private file backend, through the Automation API.

    ``program`` may be replaced between operations (``stack.program = ...``) to edit the program.
    Config is set once at creation; ``secrets`` are set as secret config values.
    """

    def __init__(
        self,
        root: Path,
        program: Callable[[], None],
        *,
        cli_dir: Path,
        project: str = "ccc-test",
        stack: str = "test",
        config: Mapping[str, str] | None = None,
        secrets: Mapping[str, str] | None = None,
        env: Mapping[str, str] | None = None,
    ) -> None:
        self.program = program
        self.root = root
        self.work_dir = root / "project"
        self.work_dir.mkdir(parents=True, exist_ok=True)
        # Note: the provider host of an inline program works in this process's folder, not work_dir.
        self.env = {**engine_env(root / "home", root / "backend", cli_dir), **(env or {})}
        # The Automation API runs `pulumi` from PATH in its own process environment.
        os.environ["PATH"] = self.env["PATH"]
        opts = auto.LocalWorkspaceOptions(
            work_dir=str(self.work_dir),
            pulumi_home=self.env["PULUMI_HOME"],
            env_vars=self.env,
            secrets_provider="passphrase",
            project_settings=auto.ProjectSettings(name=project, runtime="python"),
        )
        self.stack = auto.create_or_select_stack(
            stack_name=stack, project_name=project, program=self._run_program, opts=opts
        )
        values = {key: auto.ConfigValue(value) for key, value in (config or {}).items()}
        values.update({key: auto.ConfigValue(value, secret=True) for key, value in (secrets or {}).items()})
        if values:
            self.stack.set_all_config(values)

    def _run_program(self) -> None:
        self.program()

    def _run(self, command: str, call: Callable[..., Any], **kwargs: Any) -> Run:
        out: list[str] = []
        err: list[str] = []
        try:
            result = call(on_output=out.append, on_error=err.append, color="never", **kwargs)
        except auto.errors.CommandError as exc:
            return Run(command, False, "\n".join(out), "\n".join(err) or str(exc))
        summary = getattr(result, "summary", None)
        changes = getattr(summary, "resource_changes", None) or getattr(result, "change_summary", None)
        outputs = {key: value.value for key, value in (getattr(result, "outputs", None) or {}).items()}
        return Run(command, True, "\n".join(out), "\n".join(err), dict(changes or {}), outputs)

    def preview(self, *, diff: bool = True, expect_no_changes: bool = False) -> Run:
        """``pulumi preview`` (with ``--diff`` unless told otherwise)."""
        nothing_new = expect_no_changes or None
        return self._run("preview", self.stack.preview, diff=diff, expect_no_changes=nothing_new)

    def up(self, *, diff: bool = False, expect_no_changes: bool = False) -> Run:
        """``pulumi up --yes --skip-preview``: the Automation API's up runs the update pass only.

        (A user's ``pulumi up`` runs a preview pass first; ``preview()`` covers it, and the project
        folder tests in tests/examples run ``pulumi up`` with both passes.)
        """
        return self._run("up", self.stack.up, diff=diff, expect_no_changes=expect_no_changes or None)

    def refresh(self, *, diff: bool = True, expect_no_changes: bool = False) -> Run:
        """``pulumi refresh --yes``."""
        nothing_new = expect_no_changes or None
        return self._run("refresh", self.stack.refresh, diff=diff, expect_no_changes=nothing_new)

    def destroy(self) -> Run:
        return self._run("destroy", self.stack.destroy)

    def export(self) -> dict[str, Any]:
        """The stack's checkpoint as ``pulumi stack export`` prints it: secrets stay encrypted.

        (The Automation API's ``export_stack`` adds ``--show-secrets``, which would decrypt them.)
        """
        done = cli(["stack", "export", "--stack", self.stack.name], cwd=self.work_dir, env=self.env)
        deployment: dict[str, Any] = json.loads(done.stdout).get("deployment") or {}
        return deployment

    def resources(self, type_: str = BINDING_TYPE) -> list[dict[str, Any]]:
        """The stack's resources of one type, in state order."""
        return [r for r in self.export().get("resources") or [] if r.get("type") == type_]

    def outputs(self) -> dict[str, Any]:
        return {key: value.value for key, value in self.stack.outputs().items()}


def cli(
    args: Sequence[str],
    *,
    cwd: Path,
    env: Mapping[str, str],
    timeout: float = 600,
    check: bool = True,
) -> subprocess.CompletedProcess[str]:
    """Run ``pulumi ARGS --non-interactive`` in a project folder; with ``check``, fail on non-zero.

    `env` is laid over this process's environment (from :func:`engine_env`, whose PATH finds the CLI).
    """
    merged = {**os.environ, **env}
    merged.pop("VIRTUAL_ENV", None)
    done = subprocess.run(
        ["pulumi", *args, "--non-interactive"],
        cwd=cwd,
        env=merged,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if check and done.returncode != 0:
        shown = " ".join(args)
        raise AssertionError(f"pulumi {shown} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    return done


def exported(cwd: Path, env: Mapping[str, str]) -> dict[str, Any]:
    """``pulumi stack export`` of the selected stack in a project folder."""
    deployment: dict[str, Any] = json.loads(cli(["stack", "export"], cwd=cwd, env=env).stdout)
    return deployment.get("deployment") or {}


class ProjectFolder:
    """A copy of a Pulumi project folder under tmp, run with the real CLI as a user runs it.

    The copy gets the project's files (not its ``.ccc-emulator/`` or virtualenv), and the virtualenv
    folder its Pulumi.yaml names is a link to the test's own. The stack is selected (created from
    the committed ``Pulumi.<stack>.yaml`` when there is one).
    """

    _SKIP = frozenset({".ccc-emulator", ".ccc-numbers", ".pulumi-state", "venv", ".venv", "__pycache__"})

    def __init__(self, source: Path, root: Path, *, cli_dir: Path, stack: str = "dev") -> None:
        self.path = root / source.name
        self.path.mkdir(parents=True)
        for item in source.iterdir():
            if item.is_file() and item.name not in self._SKIP:
                (self.path / item.name).write_bytes(item.read_bytes())
        venv = _virtualenv_option(self.path / "Pulumi.yaml")
        if venv is not None:
            (self.path / venv).symlink_to(Path(sys.prefix), target_is_directory=True)
        self.env = engine_env(root / "home", root / "backend", cli_dir)
        self.stack = stack
        cli(["stack", "select", stack, "--create"], cwd=self.path, env=self.env)

    def run(self, *args: str, check: bool = False) -> Run:
        """``pulumi ARGS`` in the copy; fails the test only with ``check``."""
        done = cli(list(args), cwd=self.path, env=self.env, check=check)
        return Run(" ".join(args), done.returncode == 0, done.stdout, done.stderr)

    def set_config(self, key: str, value: str, *, secret: bool = False) -> None:
        cli(["config", "set", *(["--secret"] if secret else []), key, value], cwd=self.path, env=self.env)

    def edit(self, name: str, old: str, new: str) -> None:
        """Replace the one occurrence of `old` in the copy's file `name` (as a user edits it)."""
        file = self.path / name
        text = file.read_text()
        if text.count(old) != 1:
            raise AssertionError(f"{name} has {text.count(old)} occurrences of {old!r}, not one")
        file.write_text(text.replace(old, new))

    def export(self) -> dict[str, Any]:
        return exported(self.path, self.env)

    def outputs(self) -> dict[str, Any]:
        shown: dict[str, Any] = json.loads(
            cli(["stack", "output", "--json", "--show-secrets"], cwd=self.path, env=self.env).stdout
        )
        return shown


def _virtualenv_option(pulumi_yaml: Path) -> str | None:
    runtime = (yaml.safe_load(pulumi_yaml.read_text()) or {}).get("runtime")
    if isinstance(runtime, dict):
        venv = (runtime.get("options") or {}).get("virtualenv")
        return str(venv) if venv else None
    return None
