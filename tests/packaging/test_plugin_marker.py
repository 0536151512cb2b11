"""Regression: the Python language host must not look for a resource plugin named ``ccc-numbers``.

The host treats every installed distribution named ``pulumi-*`` without a ``pulumi-plugin.json`` as
a resource-plugin package; for ``pulumi-ccc-numbers`` it tried five times, on every preview and
every ``up`` pass, to download a plugin ``ccc-numbers`` v0.1.0 that does not exist (2.5 s lost per
pass, in every stack of the virtualenv). The package ships ``pulumi_ccc_numbers/pulumi-plugin.json``
with ``{"resource": false}`` where both hosts look (see ``build_backend/ccc_build.py``). These
tests run against the suite's own environment (the editable install of a checkout);
``test_wheel.py`` repeats them for an installed wheel.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

#: Any attempt to find, download or install a plugin for this package names it so in the log.
PLUGIN_ATTEMPT = re.compile(
    r"plugin ccc-numbers\b|pulumi-resource-ccc-numbers|ccc-numbers (trying|downloading)"
)
#: The engine's log line of the language host's answer: proof that the lookup ran and was logged.
LOOKUP_DONE = re.compile(r"langhost\[python\]\.GetRequired(Plugins|Packages)\(.*\) success")


def test_both_language_hosts_find_the_marker_saying_no_plugin(
    plugin_markers: Callable[[Path, Path], dict[str, Any]], tmp_path: Path
) -> None:
    """The old host's path rule and the current host's importlib rule both read ``resource: false``."""
    found = plugin_markers(Path(sys.executable), tmp_path)
    assert found["old host"]["marker"] == {"resource": False}, found["old host"]
    assert found["current host"]["marker"] == {"resource": False}, found["current host"]


@pytest.mark.real_engine
@pytest.mark.slow
def test_preview_makes_no_attempt_to_get_a_ccc_numbers_plugin(
    make_engine: Callable[[Path], Any], probe_project: Callable[[Path], Path], tmp_path: Path
) -> None:
    """``pulumi preview`` of a project in this environment asks the host and gets no such plugin."""
    engine = make_engine(Path(sys.executable))
    project = probe_project(tmp_path / "probe")
    engine.run(["stack", "init", "probe"], cwd=project)
    # -v=7: the engine logs the host's GetRequired* answer and every plugin it then tries to get.
    done = engine.run(["preview", "--logtostderr", "-v=7"], cwd=project)
    log = done.stdout + done.stderr
    assert LOOKUP_DONE.search(log), "the engine did not log the language host's plugin lookup"
    attempts = [line[:300] for line in log.splitlines() if PLUGIN_ATTEMPT.search(line)]
    assert attempts == []
