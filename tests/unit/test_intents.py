"""Interrupted-run records (intents.py): written for the block, left behind by a killed writer, trusted
only for numbers still bound exactly as recorded."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from ccc_numbers import intents
from ccc_numbers.models import Settings, Usage

INSTANCE = "d278629c-c687-4aa3-b044-4fe9b012e7ef"
WELCOME = Settings(Usage.BIDIRECTION, "8Cvg_0mcsm6K")
IVR = Settings(Usage.BIDIRECTION, "ivr_MainMenu01")


def records(root: Path) -> list[Path]:
    return sorted((root / intents.INTENTS_DIR).glob("*.json"))


def test_a_record_exists_for_the_duration_of_the_block_only(tmp_path: Path) -> None:
    """Inside the block the numbers are on disk with their settings; after it, nothing is left."""
    with intents.recording(tmp_path, INSTANCE, {"02160660001": WELCOME}):
        [path] = records(tmp_path)
        data = json.loads(path.read_text())
        settings = {"usage": "Bidirection", "contact_flow_id": "8Cvg_0mcsm6K", "skill_group_ids": []}
        assert (data["instance_id"], data["numbers"]) == (INSTANCE, {"02160660001": settings})
        # The writer is this process, alive: its record is no trace of an interrupted run.
        assert intents.interrupted(tmp_path, INSTANCE) == []
    assert records(tmp_path) == []


def test_nothing_is_recorded_for_an_operation_that_binds_nothing(tmp_path: Path) -> None:
    with intents.recording(tmp_path, INSTANCE, {}):
        assert records(tmp_path) == []


def write_in_a_process_that_dies(root: Path, numbers: dict[str, Settings]) -> None:
    """Record `numbers` in a child process that exits inside the block, as a killed host would."""
    spec = {n: [s.usage.value, s.contact_flow_id, list(s.skill_group_ids)] for n, s in numbers.items()}
    script = (
        "import os, sys\n"
        "from pathlib import Path\n"
        "from ccc_numbers import intents\n"
        "from ccc_numbers.models import Settings, Usage\n"
        f"numbers = {{n: Settings(Usage(u), f, tuple(g)) for n, (u, f, g) in {spec!r}.items()}}\n"
        f"with intents.recording(Path({str(root)!r}), {INSTANCE!r}, numbers):\n"
        "    os._exit(9)\n"
    )
    done = subprocess.run([sys.executable, "-c", script], check=False)
    assert done.returncode == 9


def test_a_killed_writers_record_vouches_only_for_numbers_still_bound_as_recorded(tmp_path: Path) -> None:
    """Recorded with Welcome: still Welcome is resumable, re-flowed or never recorded is not."""
    write_in_a_process_that_dies(tmp_path, {"02160660001": WELCOME, "02160660002": WELCOME})
    [trace] = intents.interrupted(tmp_path, INSTANCE)
    assert trace.writer_gone

    resumed, vouching = intents.resumable(
        tmp_path, INSTANCE, {"02160660001": WELCOME, "02160660002": IVR, "02160660003": WELCOME}
    )

    assert resumed == {"02160660001"}
    assert vouching == (trace,)
    assert intents.resumable(tmp_path, "another-instance", {"02160660001": WELCOME}) == (frozenset(), ())
    trace.discard()
    assert records(tmp_path) == []


def test_an_unreadable_record_is_ignored(tmp_path: Path) -> None:
    folder = tmp_path / intents.INTENTS_DIR
    folder.mkdir(parents=True)
    (folder / f"{INSTANCE}-1-abc.json").write_text("{not json")
    assert intents.interrupted(tmp_path, INSTANCE) == []
