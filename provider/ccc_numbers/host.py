"""The provider's life inside Pulumi's dynamic-provider host: how its failures read, and when it stops.

Pulumi runs the provider in ``python -m pulumi.dynamic <engine address>`` (the host). Two things
there are not ours to change, so :func:`install` (called by ``configure``) adapts to them:

* **Failures.** The host answers a hook that raised with ``traceback.format_exc()``, and the CLI
  prints that text: fifteen frames of this package, the reason last. ``install`` gives the host
  module a view of :mod:`traceback` whose ``format_exc`` renders this package's errors with
  :func:`ccc_numbers.report.render` (reason first, no frames) and leaves every other exception
  as it was: a bug still shows its traceback, which is what a bug report needs.
* **An engine that is gone.** A killed ``pulumi up`` leaves its provider hosts running (the host
  runs under a shell that outlives the CLI), and they went on binding numbers for minutes that
  no state would ever record. A daemon thread checks every :data:`WATCH_INTERVAL_SECONDS` that
  the engine still listens at the address it gave the host; when two checks in a row find it gone,
  the host exits at once, so no further call starts. What was bound by then is found again by the
  next run (README, "If a run was interrupted").

Must not do anything outside the host: tests call the hooks in-process, and there ``install`` is
a no-op (nothing to patch, no engine address to watch).
"""

from __future__ import annotations

import contextlib
import os
import socket
import sys
import threading
import time
import traceback
import types
from typing import Any

from .report import render

__all__ = ["WATCH_INTERVAL_SECONDS", "install", "is_engine_gone"]

#: How often the watchdog looks for the engine.
WATCH_INTERVAL_SECONDS = 1.0
_HOST_MODULE = "pulumi.dynamic.__main__"
_EXIT_CODE = 75  # EX_TEMPFAIL: the run was interrupted, nothing of ours failed

_installed = False
_lock = threading.Lock()


class _TracebackView(types.ModuleType):
    """:mod:`traceback` as the host sees it: ``format_exc`` renders our errors as text."""

    def __init__(self) -> None:
        super().__init__("traceback")

    def format_exc(self, limit: int | None = None, chain: bool = True) -> str:
        error = sys.exc_info()[1]
        text = render(error) if error is not None else None
        return text if text is not None else traceback.format_exc(limit=limit, chain=chain)

    def __getattr__(self, name: str) -> Any:
        return getattr(traceback, name)


def _host_module() -> types.ModuleType | None:
    main = sys.modules.get("__main__")
    spec = getattr(main, "__spec__", None)
    return main if spec is not None and spec.name == _HOST_MODULE else None


def install() -> None:
    """Inside the host (once per process): our errors read as text, and the host stops with its engine."""
    global _installed  # noqa: PLW0603 - once per process
    host = _host_module()
    if host is None:
        return
    with _lock:
        if _installed:
            return
        _installed = True
    if getattr(host, "traceback", None) is traceback:
        host.traceback = _TracebackView()  # type: ignore[attr-defined]
    address = _engine_address(sys.argv[1:])
    if address is not None:
        threading.Thread(target=_watch, args=(address,), name="ccc-engine-watch", daemon=True).start()


def _engine_address(argv: list[str]) -> tuple[str, int] | None:
    """The engine's ``host:port`` among the host's arguments (the first one that looks like it)."""
    for arg in argv:
        host, sep, port = arg.rpartition(":")
        if sep and host and port.isdigit():
            return host.strip("[]"), int(port)
    return None


def is_engine_gone(address: tuple[str, int], timeout: float = 1.0) -> bool:
    """True when nothing listens at the engine's address any more (connection refused)."""
    try:
        with socket.create_connection(address, timeout=timeout):
            return False
    except ConnectionRefusedError:
        return True
    except OSError:
        return False  # slow or unreachable is not proof that it is gone


def _watch(address: tuple[str, int]) -> None:
    misses = 0
    while True:
        time.sleep(WATCH_INTERVAL_SECONDS)
        misses = misses + 1 if is_engine_gone(address) else 0
        if misses >= 2:
            # The engine read our stderr; with it gone the pipe is broken, so the note may not arrive.
            with contextlib.suppress(OSError):
                sys.stderr.write("pulumi-ccc-numbers: the Pulumi engine is gone; stopping now\n")
                sys.stderr.flush()
            os._exit(_EXIT_CODE)
