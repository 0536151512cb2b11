"""A `pulumi up` killed with SIGKILL in the middle of a create, and the recovery the README documents.

The README ("If a run was interrupted") promises three commands: ``pulumi cancel`` (the killed CLI
left the stack locked), ``pulumi refresh --clear-pending-creates`` (it left a pending create in the
state) and ``pulumi up``, which finds the numbers the killed run had bound, takes them over and binds
the rest: nothing lost, nothing bound twice, nothing left bound outside the state.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from ccc_emulator import Emulator, demo

from .harness import ProjectFolder
from .programs import INSTANCE, bound, count, entries, ids_in, landlines, sent_numbers

pytestmark = [pytest.mark.real_engine, pytest.mark.slow]

PROGRAM = '''\
import pulumi
from ccc_numbers import PhoneNumberBinding

support = PhoneNumberBinding(
    "support",
    instance_id="{instance}",
    numbers=[f"0216066{{i:04d}}" for i in range(1000)],
    contact_flow_id="{flow}",
)
pulumi.export("ids", support.phone_number_ids)
'''


def project(root: Path, cli_dir: Path, emu: Emulator) -> ProjectFolder:
    source = root / "source" / "interrupted"
    source.mkdir(parents=True)
    (source / "Pulumi.yaml").write_text("name: interrupted\nruntime:\n  name: python\n")
    (source / "__main__.py").write_text(PROGRAM.format(instance=INSTANCE, flow=demo.WELCOME_FLOW_ID))
    folder = ProjectFolder(source, root / "run", cli_dir=cli_dir)
    folder.set_config("ccc:endpoint", emu.url)
    folder.set_config("ccc:accessKeyId", demo.DEMO_ACCESS_KEY_ID)
    folder.set_config("ccc:accessKeySecret", demo.DEMO_ACCESS_KEY_SECRET, secret=True)
    # One batch at a time, so the kill lands between batches of a create that takes seconds.
    folder.set_config("ccc:maxConcurrency", "1")
    return folder


def wait_for(condition: Callable[[], bool], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        time.sleep(0.05)


def test_a_killed_up_recovers_in_three_commands_with_nothing_lost_or_bound_twice(
    pulumi_cli: Path, ccc_emulator: Emulator, tmp_path: Path
) -> None:
    """Kill `pulumi up` after 3 of 10 batches; cancel, refresh --clear-pending-creates, up: all bound once."""
    folder = project(tmp_path, pulumi_cli, ccc_emulator)
    # 1 s per batch: the 7 batches left after the kill take 7 s, well beyond the watchdog's 2-3 s
    # (at 300 ms a CI run under load sent all 10 before the host noticed its engine was gone).
    ccc_emulator.inject("latency", action="AddBulkPhoneNumbers", ms=1000)
    up = subprocess.Popen(
        ["pulumi", "up", "--yes", "--non-interactive"],
        cwd=folder.path, env={**os.environ, **folder.env},
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )
    wait_for(lambda: ccc_emulator.calls("AddBulkPhoneNumbers") >= 3)
    os.kill(up.pid, signal.SIGKILL)  # the CLI only: its provider host must notice by itself
    up.wait()
    # The host stops within seconds of its engine (2-3 s; 5 s leaves room for a loaded machine, and
    # 3 batches sent + 5 more at 1 s each is still short of 10): the number of adds stops growing.
    time.sleep(5)
    adds_after_kill = ccc_emulator.calls("AddBulkPhoneNumbers")
    time.sleep(2)
    assert ccc_emulator.calls("AddBulkPhoneNumbers") == adds_after_kill < 10
    left_bound = sorted(bound(ccc_emulator))
    assert 0 < len(left_bound) < 1000
    ccc_emulator.clear_faults()
    ccc_emulator.clear_journal()

    # The three documented commands.
    cancel = folder.run("cancel", "--yes")
    refresh = folder.run("refresh", "--clear-pending-creates", "--yes")
    recovered = folder.run("up", "--yes")

    assert cancel.ok, cancel.text
    assert refresh.ok, refresh.text
    assert recovered.ok, recovered.text
    numbers = landlines(0, 1000)
    live = ids_in(ccc_emulator)
    assert sorted(live) == numbers
    # Only the numbers the killed run had not bound were sent again, each once.
    sent = [n for e in entries(ccc_emulator, "AddBulkPhoneNumbers") for n in sent_numbers(e)]
    assert sorted(sent) == sorted(set(numbers) - set(left_bound))
    state = [r for r in folder.export().get("resources") or [] if r["type"].endswith("PhoneNumberBinding")]
    assert [r["outputs"]["phone_number_ids"] for r in state] == [live]
    assert not folder.export().get("pending_operations")
    ccc_emulator.clear_journal()
    assert folder.run("up", "--yes", "--expect-no-changes").ok
    assert count(ccc_emulator) == {}
