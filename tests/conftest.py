"""Suite-wide setup: no proxies for loopback calls, and no silently skipped real-engine test in CI."""

from __future__ import annotations

import os
from collections.abc import Generator

import pytest

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
