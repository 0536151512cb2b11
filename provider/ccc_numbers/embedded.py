"""The in-process CCC emulator behind ``ccc:endpoint: embedded``: the demo stack's "cloud".

Owns starting it: once per process and state file (thread-safe: the provider host serves four
threads), on a free loopback port, with its SQLite state in a file (default
``.ccc-emulator/state.sqlite3`` under the project directory, the provider host's working directory),
seeded with the demo account when the file is new; and stopping it at interpreter exit. State lives
in the file, so the next ``pulumi up`` (a new provider process) sees what the last one bound.

Must not be imported unless a stack asks for ``embedded`` (it pulls in the emulator and aiohttp), and
must not make API calls: the client talks to the emulator over HTTP like to the real service.
"""

from __future__ import annotations

import atexit
import threading
from pathlib import Path
from typing import TYPE_CHECKING

from .config import Endpoint

if TYPE_CHECKING:
    from ccc_emulator import Emulator

__all__ = ["ensure_started", "running", "stop_all"]

_lock = threading.Lock()
_running: dict[str, tuple[Emulator, Endpoint]] = {}
_atexit_registered = False


def ensure_started(state_path: str) -> Endpoint:
    """The endpoint of the emulator for this state file, starting it on first use in this process."""
    global _atexit_registered  # noqa: PLW0603 - one exit hook per process
    path = Path(state_path).expanduser().resolve()
    key = str(path)
    with _lock:
        found = _running.get(key)
        if found is not None:
            return found[1]
        from ccc_emulator import Emulator  # noqa: PLC0415 - only embedded stacks load the emulator

        path.parent.mkdir(parents=True, exist_ok=True)
        # Without a seed the emulator seeds a new file with the demo account and leaves an existing
        # one as earlier runs left it.
        emulator = Emulator(seed=None, state_path=key, host="127.0.0.1", port=0)
        emulator.start()
        endpoint = Endpoint(emulator.endpoint, "http")
        _running[key] = (emulator, endpoint)
        if not _atexit_registered:
            atexit.register(stop_all)
            _atexit_registered = True
        return endpoint


def running() -> dict[str, Endpoint]:
    """State file → endpoint of every emulator this process started (for tests and diagnostics)."""
    with _lock:
        return {key: endpoint for key, (_, endpoint) in _running.items()}


def stop_all() -> None:
    """Stop every embedded emulator (at exit; tests call it to start from scratch)."""
    with _lock:
        emulators = [emulator for emulator, _ in _running.values()]
        _running.clear()
    for emulator in emulators:
        emulator.close()  # stops it and releases the SQLite state file
