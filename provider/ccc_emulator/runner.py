"""The threaded server runner: an aiohttp app served from its own event loop in a daemon thread.

Owns starting (port 0 resolved to the port the kernel chose, a ready event, start-up errors
raised on the caller's thread) and stopping (a short shutdown, so idle keep-alive connections of
SDK clients never delay it). Must not know what the app serves: it runs whatever
``web.Application`` it is given (``emulator.py`` assembles the emulator's).
"""

from __future__ import annotations

import asyncio
import threading

from aiohttp import web

__all__ = ["ServerThread"]


class ServerThread:
    """An aiohttp server on its own event loop in a daemon thread; start() returns once it listens."""

    def __init__(self, app: web.Application, host: str, port: int) -> None:
        self._app = app
        self._host = host
        self._port = port
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._thread = threading.Thread(target=self._run, name="ccc-emulator", daemon=True)
        #: The port it listens on, once start() returned (the kernel's choice for port 0).
        self.port = 0

    def start(self, timeout: float = 10.0) -> None:
        self._thread.start()
        if not self._ready.wait(timeout):
            raise RuntimeError("ccc-emulator did not start listening in time")
        if self._error is not None:
            raise self._error

    def stop(self, timeout: float = 10.0) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(timeout)

    def _run(self) -> None:
        try:
            asyncio.run(self._serve())
        except BaseException as exc:  # surfaced to start(); the thread must not die silently
            self._error = exc
            self._ready.set()

    async def _serve(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        # Short shutdown: idle keep-alive connections of SDK clients must not delay stop().
        runner = web.AppRunner(self._app, access_log=None, shutdown_timeout=0.5, handle_signals=False)
        await runner.setup()
        try:
            site = web.TCPSite(runner, self._host, self._port)
            await site.start()
            # runner.addresses: one (host, port, ...) per listening socket; port 0 is resolved here.
            self.port = int(runner.addresses[0][1])
            self._ready.set()
            await self._stop.wait()
        finally:
            await runner.cleanup()
