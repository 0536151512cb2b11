"""The :class:`Emulator` of docs/contracts.md: an emulator core that serves HTTP from a thread.

Owns the lifecycle (start, stop, close, ``with``), the addresses (``port``, ``endpoint``,
``url``) and the assembly of the app (the admin routes, then the request pipeline at ``/``).
Everything else a caller uses (state, journal, faults, knobs) is the
:class:`~ccc_emulator.core.EmulatorCore` it is, not a copy. Must not answer requests itself
(``pipeline.py``, ``admin.py``) or run the event loop (``runner.py``).
"""

from __future__ import annotations

import os

from aiohttp import web

from . import service
from .admin import add_admin_routes
from .core import EmulatorCore, SeedSource
from .pipeline import CLIENT_MAX_SIZE, RequestPipeline
from .runner import ServerThread

__all__ = ["Emulator"]


class Emulator(EmulatorCore):
    """A CCC emulator serving HTTP from a background thread (see docs/contracts.md).

    ``with Emulator() as emu:`` starts it on a free port and closes it (:meth:`close`) at the end
    of the block; ``emu.endpoint`` goes into the SDK's ``Config(endpoint=..., protocol="http")``.
    State, seeds, the batch cap and its refusal are as in :class:`EmulatorCore`.
    """

    def __init__(
        self,
        seed: SeedSource | None = None,
        state_path: str | os.PathLike[str] | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        max_batch_size: int = 100,
        latency_ms: float = 0,
        rng_seed: int = 0,
        batch_cap_code: str = service.DEFAULT_BATCH_CAP_CODE,
        batch_cap_message: str = service.DEFAULT_BATCH_CAP_MESSAGE,
    ) -> None:
        super().__init__(
            seed=seed,
            state_path=state_path,
            max_batch_size=max_batch_size,
            latency_ms=latency_ms,
            rng_seed=rng_seed,
            batch_cap_code=batch_cap_code,
            batch_cap_message=batch_cap_message,
        )
        self.host = host
        #: Answers the API at "/"; the app routes to ``pipeline.handle`` as it is when start() runs.
        self.pipeline = RequestPipeline(self)
        self._requested_port = port
        self._server: ServerThread | None = None
        self._port: int | None = None

    # -- lifecycle -------------------------------------------------------------------------------

    def start(self) -> Emulator:
        if self.closed:
            raise RuntimeError("emulator closed; a closed emulator cannot be started again")
        if self._server is not None:
            raise RuntimeError("emulator already started")
        server = ServerThread(self._app(), self.host, self._requested_port)
        server.start()
        self._server = server
        self._port = server.port
        return self

    def stop(self) -> None:
        """Stop serving; the state stays open, so the emulator can be inspected or started again."""
        if self._server is not None:
            self._server.stop()
            self._server = None

    def close(self) -> None:
        """Stop serving if it does, and close the SQLite state; idempotent.

        A closed emulator cannot be started again, and its state can no longer be read (with a
        ``state_path`` the file keeps it: open a new ``Emulator`` on it).
        """
        self.stop()
        super().close()

    def __enter__(self) -> Emulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _app(self) -> web.Application:
        app = web.Application(client_max_size=CLIENT_MAX_SIZE)
        add_admin_routes(app.router, self)  # before the API's catch-all, which would shadow them
        app.router.add_route("*", "/{tail:.*}", self.pipeline.handle)
        return app

    # -- addresses -------------------------------------------------------------------------------

    @property
    def port(self) -> int:
        if self._port is None:
            raise RuntimeError("emulator not started")
        return self._port

    @property
    def endpoint(self) -> str:
        """``host:port`` for ``Config(endpoint=..., protocol="http")``."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"

    @property
    def url(self) -> str:
        return f"http://{self.endpoint}"
