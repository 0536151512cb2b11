"""The four contenders and how each one performs an operation.

Owns the project folders and the commands: ``ours`` (this project's ``PhoneNumberBinding``, one
resource holding N numbers), ``floor`` (one do-nothing dynamic resource, the least a Python program
costs), ``per_number`` (one dynamic resource per number, ``programs/per_number_provider.py``) and
``script`` (``programs/operator_script.py``, 4 threads, no Pulumi). The Pulumi contenders are run as
users run them: ``pulumi preview`` / ``up --yes`` / ``refresh --yes`` / ``destroy --yes`` on a project
folder, a local file backend, an empty passphrase, a private ``PULUMI_HOME``; nothing is set that a
user would not set. Must not time anything itself (``harness.measure`` does) nor report.

Each operation is checked for having done the right work (bindings after create and destroy,
``--expect-no-changes`` on the no-change preview and ``up``); a wrong run raises, it is never
reported as a figure.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import harness
from harness import BenchEmulator, Measurement

from ccc_emulator import demo

#: The operations, in the order each round runs them.
OPS = ("create", "preview", "noop", "change", "refresh", "destroy")
OP_LABELS = {
    "create": "create",
    "preview": "preview (no change)",
    "noop": "no-change up",
    "change": "one-number change",
    "refresh": "refresh",
    "destroy": "destroy",
}
CONTENDERS = ("ours", "floor", "per_number", "script")
LABELS = {
    "ours": "ours (one binding)",
    "floor": "(a) floor",
    "per_number": "(b) one resource per number",
    "script": "(c) script, 4 threads",
}
PROGRAMS = harness.HERE / "programs"
_NO_PROXY = ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "ALL_PROXY", "all_proxy")


class BenchError(RuntimeError):
    """An operation did the wrong work or failed: the run stops rather than report it."""


def _base_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in _NO_PROXY and not k.startswith("PULUMI_")}
    env.pop("PYTHONPATH", None)
    env.pop("VIRTUAL_ENV", None)
    return env


class Contender:
    """One contender at one size: prepared once, then each operation in turn, then finished."""

    name = ""

    def __init__(self, root: Path, emulator: BenchEmulator, n: int) -> None:
        self.root = root
        self.emulator = emulator
        self.n = n
        self.folder = root / f"{self.name}-{n}"

    def prepare(self) -> None:
        raise NotImplementedError

    def run(self, op: str) -> Measurement:
        raise NotImplementedError

    def state_bytes(self) -> int | None:
        """Size of the stack's state as ``pulumi stack export`` prints it (None: no state)."""
        return None

    def finish(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)

    def _input(self, op: str) -> dict[str, Any]:
        """``bench-input.json`` for an operation: the base numbers; from "change" on, one other flow."""
        main, alternate = harness.flows_for(self.name)
        numbers = harness.numbers_for(self.name, self.n, self.emulator.span)
        changed = OPS.index(op) >= OPS.index("change")
        return {
            "instance_id": harness.instance_id(self.name),
            "numbers": numbers,
            "usage": harness.USAGE,
            "contact_flow_id": main,
            "overrides": {numbers[self.n // 2]: alternate} if changed else {},
        }

    def _check_work(self, op: str, result: Measurement) -> None:
        if result.returncode != 0:
            raise BenchError(
                f"{self.name} N={self.n} {op} exited {result.returncode}:\n"
                f"{result.stdout_tail}\n{result.stderr_tail}"
            )
        if result.failed_calls:
            raise BenchError(f"{self.name} N={self.n} {op}: {result.failed_calls} API calls failed")
        expected = {"create": self.n, "destroy": 0}.get(op)
        if expected is not None and self.name in harness.BINDERS:
            bound = self.emulator.bound(self.name)
            if bound != expected:
                raise BenchError(f"{self.name} N={self.n} {op}: {bound} numbers bound, expected {expected}")


class PulumiContender(Contender):
    """A Pulumi project folder run with the real CLI."""

    program = ""
    extra_files: tuple[str, ...] = ()
    venv_kind = "floor"
    #: Extra CLI arguments of every timed operation (the profile's engine log flags).
    extra_args: tuple[str, ...] = ()
    #: Where the timed operations' stderr is copied, one file per operation (None: not kept).
    keep_stderr_in: Path | None = None

    def __init__(
        self, root: Path, emulator: BenchEmulator, n: int, *, cli_dir: Path, venvs: Mapping[str, Path]
    ) -> None:
        super().__init__(root, emulator, n)
        self.venv = venvs[self.venv_kind]
        home = root / "pulumi-home"
        backend = root / "backend" / self.name
        backend.mkdir(parents=True, exist_ok=True)
        python = self.venv / "bin" / "python"
        self.env = {
            **_base_env(),
            # The CLI first (its plugin script and language host sit beside it), then the venv: the
            # stand-in language host ignores runtime.options.virtualenv and runs the python on PATH.
            "PATH": os.pathsep.join([str(cli_dir), str(self.venv / "bin"), os.environ.get("PATH", "")]),
            "PULUMI_HOME": str(home),
            "PULUMI_BACKEND_URL": backend.as_uri(),
            "PULUMI_CONFIG_PASSPHRASE": "",
            "PULUMI_SKIP_UPDATE_CHECK": "true",
            "PULUMI_PYTHON_CMD": str(python),
        }

    def config(self) -> tuple[dict[str, str], dict[str, str]]:
        """Stack config: (plain values, secret values)."""
        return {}, {}

    def input_for(self, op: str) -> dict[str, Any]:
        return self._input(op)

    def prepare(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)
        self.folder.mkdir(parents=True)
        (self.folder / "Pulumi.yaml").write_text(
            f"name: bench-{self.name.replace('_', '-')}\n"
            "runtime:\n  name: python\n  options:\n"
            f"    virtualenv: {self.venv}\n"
        )
        shutil.copy(PROGRAMS / self.program, self.folder / "__main__.py")
        for name in self.extra_files:
            shutil.copy(PROGRAMS / name, self.folder / name)
        self.pulumi("stack", "init", "bench")
        plain, secret = self.config()
        args = [f"--plaintext={k}={v}" for k, v in plain.items()]
        args += [f"--secret={k}={v}" for k, v in secret.items()]
        if args:
            self.pulumi("config", "set-all", *args)

    def pulumi(self, *args: str) -> str:
        """An untimed CLI call (set-up, export); raises on failure."""
        done = subprocess.run(
            ["pulumi", *args, "--non-interactive"],
            cwd=self.folder,
            env=self.env,
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            raise BenchError(f"pulumi {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
        return done.stdout

    def argv(self, op: str) -> list[str]:
        base = {
            "create": ["up", "--yes"],
            "preview": ["preview", "--expect-no-changes"],
            "noop": ["up", "--yes", "--expect-no-changes"],
            "change": ["up", "--yes"],
            "refresh": ["refresh", "--yes"],
            "destroy": ["destroy", "--yes"],
        }[op]
        return ["pulumi", *base, "--non-interactive", *self.extra_args]

    def run(self, op: str) -> Measurement:
        (self.folder / "bench-input.json").write_text(json.dumps(self.input_for(op)))
        keep = self.keep_stderr_in / f"{self.name}-{self.n}-{op}.log" if self.keep_stderr_in else None
        result = harness.measure(
            self.argv(op), cwd=self.folder, env=self.env, emulator=self.emulator, keep_stderr=keep
        )
        self._check_work(op, result)
        return result

    def state_bytes(self) -> int | None:
        done = subprocess.run(
            ["pulumi", "stack", "export", "--non-interactive"],
            cwd=self.folder,
            env=self.env,
            capture_output=True,
            check=True,
        )
        return len(done.stdout)

    def finish(self) -> None:
        self.pulumi("stack", "rm", "--yes", "--force")
        super().finish()


class Ours(PulumiContender):
    name = "ours"
    program = "ours_program.py"
    venv_kind = "ours"

    def config(self) -> tuple[dict[str, str], dict[str, str]]:
        plain = {"ccc:endpoint": self.emulator.url, "ccc:accessKeyId": demo.DEMO_ACCESS_KEY_ID}
        return plain, {"ccc:accessKeySecret": demo.DEMO_ACCESS_KEY_SECRET}


class Floor(PulumiContender):
    name = "floor"
    program = "floor_program.py"

    def input_for(self, op: str) -> dict[str, Any]:
        return {"value": "b" if OPS.index(op) >= OPS.index("change") else "a"}


class PerNumber(PulumiContender):
    name = "per_number"
    program = "per_number_program.py"
    extra_files = ("per_number_provider.py",)

    def __init__(
        self, root: Path, emulator: BenchEmulator, n: int, *, cli_dir: Path, venvs: Mapping[str, Path]
    ) -> None:
        super().__init__(root, emulator, n, cli_dir=cli_dir, venvs=venvs)
        # The provider host imports the provider module by name (it is pickled by reference), so it
        # must find the project folder, as it would find an installed provider package.
        self.env["PYTHONPATH"] = str(self.folder)

    def config(self) -> tuple[dict[str, str], dict[str, str]]:
        plain = {"bench:endpoint": self.emulator.url, "bench:accessKeyId": demo.DEMO_ACCESS_KEY_ID}
        return plain, {"bench:accessKeySecret": demo.DEMO_ACCESS_KEY_SECRET}


class Script(Contender):
    """The operator's script, run as a process in the virtualenv without this project."""

    name = "script"

    def __init__(self, root: Path, emulator: BenchEmulator, n: int, *, venvs: Mapping[str, Path]) -> None:
        super().__init__(root, emulator, n)
        self.python = venvs["floor"] / "bin" / "python"
        self.env = {
            **_base_env(),
            "ALIBABA_CLOUD_ACCESS_KEY_ID": demo.DEMO_ACCESS_KEY_ID,
            "ALIBABA_CLOUD_ACCESS_KEY_SECRET": demo.DEMO_ACCESS_KEY_SECRET,
        }

    def prepare(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)
        self.folder.mkdir(parents=True)
        shutil.copy(PROGRAMS / "operator_script.py", self.folder / "operator_script.py")

    def run(self, op: str) -> Measurement:
        mode = {"preview": "plan", "refresh": "plan", "destroy": "destroy"}.get(op, "apply")
        (self.folder / "bench-input.json").write_text(json.dumps(self._input(op)))
        argv = [str(self.python), "operator_script.py", mode, self.emulator.url]
        result = harness.measure(
            argv, cwd=self.folder, env=self.env, emulator=self.emulator, root_role="script"
        )
        self._check_work(op, result)
        return result


Factory = Callable[[Path, BenchEmulator, int], Contender]


def factories(cli_dir: Path, venvs: Mapping[str, Path]) -> dict[str, Factory]:
    """A constructor for each contender name, bound to the CLI and the virtualenvs."""
    return {
        "ours": lambda root, emu, n: Ours(root, emu, n, cli_dir=cli_dir, venvs=venvs),
        "floor": lambda root, emu, n: Floor(root, emu, n, cli_dir=cli_dir, venvs=venvs),
        "per_number": lambda root, emu, n: PerNumber(root, emu, n, cli_dir=cli_dir, venvs=venvs),
        "script": lambda root, emu, n: Script(root, emu, n, venvs=venvs),
    }
