"""Write-ahead records of the numbers a create or update is about to bind, so a killed run is resumable.

A Python dynamic provider cannot hand the engine partial state, and a ``pulumi up`` killed in the
middle of a create leaves numbers bound that no state records: the next run would refuse them as
"bound but not owned". So before its first AddBulkPhoneNumbers an operation writes an *intent*
(instance, numbers, settings, the writing process) to a file under :data:`INTENTS_DIR` in the
project folder (the provider host's working directory), and removes it when the operation has
ended, whether it succeeded or rolled back. An intent whose writer is no longer running is the
trace of an interrupted run: a later operation of the same binding may take over a number it
lists when the number is still bound exactly as the intent says (:func:`interrupted`), and then
drops the intent (:meth:`Intent.discard`). Nothing else is trusted: a number bound by anyone
else, or changed since, is still refused.

Owns the record files and the "is its writer gone" test. Must not call the API or decide what to
bind (the executor does both); a file it cannot write is logged and skipped (the run then only
loses this recovery aid, never its correctness).
"""

from __future__ import annotations

import json
import logging
import os
import socket
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .models import Settings, Usage

__all__ = ["INTENTS_DIR", "Intent", "interrupted", "recording", "resumable"]

_log = logging.getLogger(__name__)

#: Where intents live, relative to the project folder.
INTENTS_DIR = Path(".ccc-numbers") / "intents"


@dataclass(frozen=True)
class Intent:
    """One operation's record: it was about to bind these numbers with these settings."""

    path: Path
    instance_id: str
    numbers: Mapping[str, Settings]
    host: str
    pid: int
    #: When the writing process started (``/proc``; None where unknown), so a reused pid is told apart.
    started: str | None = None

    def discard(self) -> None:
        """Remove the record (its numbers are owned by a binding again, or were never bound)."""
        with suppress(FileNotFoundError):
            self.path.unlink()

    @property
    def writer_gone(self) -> bool:
        """True when the process that wrote it is not running any more (on this host)."""
        if self.host != socket.gethostname():
            return False  # another machine's run: nothing here can tell whether it still runs
        if self.pid == os.getpid():
            return False
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            return True
        except PermissionError:
            return False
        # The pid is alive: the writer only if it is the same process (a reused pid is not).
        return self.started is not None and _process_start(self.pid) not in (None, self.started)


def _process_start(pid: int) -> str | None:
    """The start time of process `pid` in clock ticks since boot (Linux ``/proc``), or None."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name (field 2) may hold spaces; the fields after its closing bracket are plain.
    fields = stat.rpartition(")")[2].split()
    return fields[19] if len(fields) > 19 else None


def _settings_dict(settings: Settings) -> dict[str, Any]:
    return {
        "usage": settings.usage.value,
        "contact_flow_id": settings.contact_flow_id,
        "skill_group_ids": list(settings.skill_group_ids),
    }


def _settings(value: Mapping[str, Any]) -> Settings:
    groups = tuple(value.get("skill_group_ids") or ())
    return Settings(Usage(value["usage"]), value.get("contact_flow_id"), groups)


@contextmanager
def recording(root: Path, instance_id: str, numbers: Mapping[str, Settings]) -> Iterator[None]:
    """Keep an intent for `numbers` on disk for the duration of the block (none when empty)."""
    if not numbers:
        yield
        return
    path = root / INTENTS_DIR / f"{instance_id}-{os.getpid()}-{uuid.uuid4().hex[:12]}.json"
    record = {
        "instance_id": instance_id,
        "host": socket.gethostname(),
        "pid": os.getpid(),
        "started": _process_start(os.getpid()),
        "numbers": {number: _settings_dict(settings) for number, settings in sorted(numbers.items())},
    }
    written = False
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_suffix(".tmp")
        temporary.write_text(json.dumps(record))
        temporary.replace(path)  # never a half-written record
        written = True
    except OSError as err:
        _log.warning("could not record the numbers about to be bound in %s: %s", path, err)
    try:
        yield
    finally:
        if written:
            with suppress(FileNotFoundError):
                path.unlink()


def interrupted(root: Path, instance_id: str) -> list[Intent]:
    """The intents for `instance_id` whose writer is gone: traces of interrupted runs, oldest first."""
    folder = root / INTENTS_DIR
    found: list[tuple[float, Intent]] = []
    try:
        paths = sorted(folder.glob(f"{instance_id}-*.json"))
    except OSError:
        return []
    for path in paths:
        try:
            raw = json.loads(path.read_text())
            intent = Intent(
                path=path,
                instance_id=str(raw["instance_id"]),
                numbers={str(n): _settings(s) for n, s in raw["numbers"].items()},
                host=str(raw["host"]),
                pid=int(raw["pid"]),
                started=raw.get("started"),
            )
            stamp = path.stat().st_mtime
        except (OSError, ValueError, KeyError, TypeError) as err:
            _log.debug("ignoring unreadable intent %s: %s", path, err)
            continue
        if intent.instance_id == instance_id and intent.writer_gone:
            found.append((stamp, intent))
    return [intent for _, intent in sorted(found, key=lambda item: item[0])]


def resumable(
    root: Path, instance_id: str, bound: Mapping[str, Settings]
) -> tuple[frozenset[str], tuple[Intent, ...]]:
    """Which of `bound` (numbers bound but not owned, with their live settings) an interrupted run of
    this project bound and nobody changed since: listed in an intent whose writer is gone, with
    exactly those settings. Also the intents that vouched for them, to discard once they are owned.
    """
    taken: set[str] = set()
    used: list[Intent] = []
    for intent in interrupted(root, instance_id) if bound else []:
        mine = {n for n, live in bound.items() if intent.numbers.get(n) == live and n not in taken}
        if mine:
            taken |= mine
            used.append(intent)
    return frozenset(taken), tuple(used)
