"""The provider's settings chain, for command-line tools (``ccc-numbers doctor`` and its siblings).

Resolves what the provider would use, in the provider's order: the ``ccc:`` stack config of the
Pulumi project in the current folder (when a ``Pulumi.yaml`` is there), read through the ``pulumi``
CLI (``pulumi config --json --show-secrets``, the selected stack or ``--stack``); then the
environment (``ALIBABA_CLOUD_ACCESS_KEY_ID`` …); then the default credential chain, which the
client resolves at its first call. ``--endpoint`` overrides ``ccc:endpoint``. The values are
parsed and checked by :mod:`ccc_numbers.config`, exactly as ``configure()`` does, so a tool refuses
what the provider would refuse, with the same words.

It also finds, cheaply, the CCC instances the stack has bound numbers to: the ``instance_id`` of
each ``PhoneNumberBinding`` in the stack's state (``pulumi stack export``), none before the first
``pulumi up``.

Owns reading these through the CLI and their errors (:class:`SettingsError`, for tools to print and
exit 2). Must not call the CCC API (the tools do, through the client) or print: it returns values.
Never puts a secret into an error: the CLI's output is not quoted when it may hold secrets.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from .config import K_ENDPOINT, RuntimeConfig
from .errors import ConfigurationError

__all__ = [
    "RESOURCE_TYPE",
    "Commands",
    "LocalSettings",
    "SettingsError",
    "add_arguments",
    "declared_instances",
    "load",
]

#: The type token of PhoneNumberBinding in a stack's state (``binding.py`` declares it).
RESOURCE_TYPE = "pulumi-python:dynamic/ccc:PhoneNumberBinding"
_PROJECT_FILES = ("Pulumi.yaml", "Pulumi.yml")
_CLI_TIMEOUT_SECONDS = 120

Runner = Callable[..., "subprocess.CompletedProcess[str]"]


class Commands(Protocol):
    """What ``argparse.ArgumentParser.add_subparsers()`` returns, as far as a tool registering uses it."""

    def add_parser(self, name: str, **kwargs: Any) -> argparse.ArgumentParser: ...


class SettingsError(Exception):
    """The settings could not be read (no CLI, no stack, an invalid ``ccc:`` value); the text says why."""


@dataclass(frozen=True)
class LocalSettings:
    """What the provider would be configured with here, and where it came from."""

    runtime: RuntimeConfig
    #: The Pulumi project folder whose stack config was read, or None (no Pulumi.yaml here).
    project_dir: Path | None
    #: The stack read (``--stack``, or the selected one); None without a project.
    stack: str | None

    @property
    def origin(self) -> str:
        """Where the ``ccc:`` keys came from, for one line of output."""
        if self.project_dir is None:
            return "no Pulumi project in this folder: defaults and the environment"
        return f"the config of stack {self.stack} of the Pulumi project in {self.project_dir}"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options every tool shares: ``--stack`` and ``--endpoint``."""
    parser.add_argument(
        "--stack", metavar="NAME",
        help="the stack whose ccc: config to use (default: the selected stack of the Pulumi project here)",
    )
    parser.add_argument(
        "--endpoint", metavar="ENDPOINT",
        help="call this endpoint instead of ccc:endpoint or the region's (host[:port], http(s)://host:port)",
    )


def load(
    *,
    stack: str | None = None,
    endpoint: str | None = None,
    cwd: Path | None = None,
    environ: Mapping[str, str] | None = None,
    run: Runner = subprocess.run,
) -> LocalSettings:
    """The provider's settings for the project in ``cwd`` (default: the current folder).

    Raises :class:`SettingsError` when a project is here but its config cannot be read, or a value
    is invalid.
    """
    folder = (cwd or Path.cwd()).resolve()
    env = os.environ if environ is None else environ
    project = next((folder for name in _PROJECT_FILES if (folder / name).is_file()), None)
    raw: dict[str, Any] = {}
    stack_name: str | None = None
    if project is not None:
        raw = _stack_config(project, stack, env, run)
        stack_name = stack or _selected_stack(project, env, run)
    elif stack is not None:
        raise SettingsError(
            f"--stack {stack} names a stack, but there is no Pulumi.yaml in {folder}: run from the "
            "project's folder"
        )
    if endpoint is not None:
        raw[K_ENDPOINT] = endpoint
    try:
        runtime = RuntimeConfig.from_pulumi_config(raw, env, cwd=project or folder)
    except ConfigurationError as err:
        where = f" (stack {stack_name})" if stack_name else ""
        raise SettingsError(f"{err}{where}") from None
    return LocalSettings(runtime, project, stack_name)


def declared_instances(settings: LocalSettings, *, run: Runner = subprocess.run) -> tuple[str, ...]:
    """The instance ids of the stack's PhoneNumberBinding resources (from its state), sorted.

    Empty without a project, before the stack's first ``up``, or when the state cannot be read.
    """
    if settings.project_dir is None:
        return ()
    args = ["stack", "export"]
    if settings.stack:
        args += ["--stack", settings.stack]
    try:
        done = _pulumi(args, settings.project_dir, os.environ, run)
    except SettingsError:
        return ()
    if done.returncode != 0:
        return ()
    try:
        exported = json.loads(done.stdout)
    except ValueError:
        return ()
    resources = exported.get("deployment", {}).get("resources") if isinstance(exported, Mapping) else None
    found: set[str] = set()
    for resource in resources if isinstance(resources, list) else ():
        if not isinstance(resource, Mapping) or resource.get("type") != RESOURCE_TYPE:
            continue
        for part in ("outputs", "inputs"):
            props = resource.get(part)
            value = props.get("instance_id") if isinstance(props, Mapping) else None
            if isinstance(value, str) and value:
                found.add(value)
                break
    return tuple(sorted(found))


def _stack_config(
    project: Path, stack: str | None, env: Mapping[str, str], run: Runner
) -> dict[str, Any]:
    args = ["config", "--json", "--show-secrets"]
    if stack:
        args += ["--stack", stack]
    done = _pulumi(args, project, env, run)
    if done.returncode != 0:
        raise SettingsError(_cli_failure("pulumi config", done.stderr, stack))
    try:
        document = json.loads(done.stdout or "{}")
    except ValueError:
        raise SettingsError("pulumi config --json printed something that is not JSON") from None
    if not isinstance(document, Mapping):
        raise SettingsError("pulumi config --json printed JSON that is not an object")
    raw: dict[str, Any] = {}
    for key, entry in document.items():
        # {"ccc:region": {"value": "cn-shanghai", "secret": false}}; structured values carry
        # "objectValue", which no ccc: key has.
        if isinstance(key, str) and isinstance(entry, Mapping) and "value" in entry:
            raw[key] = entry["value"]
    return raw


def _selected_stack(project: Path, env: Mapping[str, str], run: Runner) -> str | None:
    done = _pulumi(["stack", "--show-name"], project, env, run)
    name = done.stdout.strip() if done.returncode == 0 else ""
    return name or None


def _pulumi(
    args: Sequence[str], project: Path, env: Mapping[str, str], run: Runner
) -> subprocess.CompletedProcess[str]:
    executable = shutil.which("pulumi", path=env.get("PATH"))
    if executable is None:
        raise SettingsError(
            f"{project} holds a Pulumi project, and its stack config is read with the pulumi CLI, which "
            "is not on PATH: install it (https://www.pulumi.com/docs/iac/download-install/), or run "
            "from a folder without Pulumi.yaml to use only the environment and --endpoint"
        )
    try:
        done: subprocess.CompletedProcess[str] = run(
            [executable, *args, "--non-interactive"], cwd=project, env=dict(env), capture_output=True,
            text=True, stdin=subprocess.DEVNULL, timeout=_CLI_TIMEOUT_SECONDS, check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as err:
        raise SettingsError(f"running pulumi {' '.join(args)} failed: {err}") from None
    return done


def _cli_failure(command: str, stderr: str, stack: str | None) -> str:
    """The CLI's own reason (its first lines: pulumi's errors carry no config values), and what to do."""
    said = " ".join(line.strip() for line in stderr.strip().splitlines()[:3] if line.strip())
    said = said.removeprefix("error: ")
    hint = ""
    lowered = said.lower()
    if "no stack" in lowered or "select a stack" in lowered:
        hint = "; pass --stack NAME, or select one with `pulumi stack select`"
    elif "passphrase" in lowered:
        hint = "; set PULUMI_CONFIG_PASSPHRASE (or PULUMI_CONFIG_PASSPHRASE_FILE) to read its secrets"
    elif stack and ("not found" in lowered or "no stack named" in lowered):
        hint = f"; `pulumi stack ls` lists the stacks (--stack {stack})"
    return f"{command} failed: {said or 'no reason given'}{hint}"
