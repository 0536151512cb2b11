"""pytest fixtures for tests that talk to the CCC emulator (registered via the ``pytest11`` entry point).

Owns two fixtures: ``ccc_emulator_server`` (one server per session, or per xdist worker) and
``ccc_emulator`` (that server reset to the demo seed, journal and faults cleared, proxy variables
removed for the test). Must not configure clients or import the SDKs: tests build their own.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from .emulator import Emulator

#: The Alibaba SDKs read these themselves and ignore NO_PROXY, so loopback calls would go to a proxy.
PROXY_VARIABLES = ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "ALL_PROXY", "all_proxy")


@pytest.fixture(scope="session")
def ccc_emulator_server() -> Iterator[Emulator]:
    """A running emulator with the demo seed, shared by the whole session."""
    with Emulator() as emu:
        yield emu


@pytest.fixture
def ccc_emulator(ccc_emulator_server: Emulator, monkeypatch: pytest.MonkeyPatch) -> Emulator:
    """The session emulator, reset to the demo seed with an empty journal and no faults."""
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    ccc_emulator_server.reset()
    return ccc_emulator_server
