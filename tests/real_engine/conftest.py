"""Fixtures of the real-engine tests: the Pulumi CLI, and stacks of inline programs on the emulator.

The CLI itself is the ``pulumi_cli`` fixture of ``tests/conftest.py``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from ccc_emulator import Emulator, demo

from .harness import InlineStack

#: Stack config for the test's emulator: fast, and retries instant (waits of 0 ms).
FAST = {
    "ccc:requestsPerSecond": "10000",
    "ccc:retryBaseDelayMs": "0",
    "ccc:retryMaxDelayMs": "0",
}


MakeStack = Callable[..., InlineStack]


@pytest.fixture
def make_stack(
    pulumi_cli: Path, ccc_emulator: Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> MakeStack:
    """Stacks of inline programs pointed at the test's emulator with the demo key (secret kept secret).

    Keyword arguments are extra ``ccc:`` config (``batchSize="50"``); ``fast=False`` keeps the
    provider's default pacing and retry waits. The test runs in the stack's project folder: an inline
    program's provider host works in the test process's folder, and the provider writes files there
    (``.ccc-numbers/``), which must not land in the checkout.
    """
    (tmp_path / "stack" / "project").mkdir(parents=True)
    monkeypatch.chdir(tmp_path / "stack" / "project")

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
