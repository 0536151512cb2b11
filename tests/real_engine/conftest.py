"""Fixtures of the real-engine tests: the Pulumi CLI, and stacks of inline programs on the emulator.

The CLI comes from ``scripts/pulumi-cli`` (``$PULUMI_CLI_DIR``, a ``pulumi`` on PATH, or a cached
build). Where none can be had the tests are skipped with the script's reason, except under
``CI=true``, where a skipped ``real_engine`` test fails the run (``tests/conftest.py``).
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from ccc_emulator import Emulator, demo

from .harness import InlineStack

ROOT = Path(__file__).resolve().parents[2]

#: Stack config for the test's emulator: fast, and retries instant (waits of 0 ms).
FAST = {
    "ccc:requestsPerSecond": "10000",
    "ccc:retryBaseDelayMs": "0",
    "ccc:retryMaxDelayMs": "0",
}


@pytest.fixture(scope="session")
def pulumi_cli() -> Path:
    """The folder holding the real ``pulumi`` CLI and the dynamic-provider plugin script."""
    done = subprocess.run(
        ["bash", str(ROOT / "scripts" / "pulumi-cli")], capture_output=True, text=True, check=False
    )
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines:
        reason = done.stderr.strip().splitlines()[-1] if done.stderr.strip() else "scripts/pulumi-cli failed"
        pytest.skip(f"no Pulumi CLI: {reason}")
    return Path(lines[-1])


MakeStack = Callable[..., InlineStack]


@pytest.fixture
def make_stack(pulumi_cli: Path, ccc_emulator: Emulator, tmp_path: Path) -> MakeStack:
    """Stacks of inline programs pointed at the test's emulator with the demo key (secret kept secret).

    Keyword arguments are extra ``ccc:`` config (``batchSize="50"``); ``fast=False`` keeps the
    provider's default pacing and retry waits.
    """

    def make(program: Callable[[], None], *, fast: bool = True, **extra: str) -> InlineStack:
        config = {
            "ccc:endpoint": ccc_emulator.url,
            "ccc:accessKeyId": demo.DEMO_ACCESS_KEY_ID,
            **(FAST if fast else {}),
            **{f"ccc:{key}": value for key, value in extra.items()},
        }
        return InlineStack(
            tmp_path / "stack",
            program,
            cli_dir=pulumi_cli,
            config=config,
            secrets={"ccc:accessKeySecret": demo.DEMO_ACCESS_KEY_SECRET},
        )

    return make
