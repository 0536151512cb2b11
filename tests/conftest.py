"""Suite-wide setup: no proxies for loopback calls; the real Pulumi CLI, never silently skipped in CI."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Generator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# The Alibaba SDKs read these themselves and ignore NO_PROXY, so a loopback call to the
# emulator would go to the proxy. Cleared at import, before any client is built.
for _name in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "ALL_PROXY", "all_proxy"):
    os.environ.pop(_name, None)

#: Under CI the real engine is not optional: a skipped `real_engine` test is a failure there.
_CI = os.environ.get("CI", "").lower() == "true"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, None, None]:
    outcome = yield
    report: pytest.TestReport = outcome.get_result()
    if _CI and report.skipped and item.get_closest_marker("real_engine") is not None:
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        report.outcome = "failed"
        report.longrepr = f"CI=true: a real_engine test may not be skipped ({reason})"


@pytest.fixture(scope="session")
def pulumi_cli() -> Path:
    """The folder holding the real ``pulumi`` CLI, the dynamic-provider plugin and a language host.

    From ``scripts/pulumi-cli`` (``$PULUMI_CLI_DIR``, a ``pulumi`` on PATH, or a cached build). Where
    none can be had the test is skipped with the script's reason (a failure under ``CI=true``).
    """
    done = subprocess.run(
        ["bash", str(ROOT / "scripts" / "pulumi-cli")], capture_output=True, text=True, check=False
    )
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines:
        reason = done.stderr.strip().splitlines()[-1] if done.stderr.strip() else "scripts/pulumi-cli failed"
        pytest.skip(f"no Pulumi CLI: {reason}")
    return Path(lines[-1])
