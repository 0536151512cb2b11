"""Shared fixtures for the provider tests: a provider configured to the emulator, and an engine stand-in.

`Engine` calls the provider's hooks in-process with the dicts the Pulumi engine would send
(pulumi-engine.md §3): every dict crosses a protobuf round trip as it would on the wire (ints come
back as floats, None values vanish), the host's ``__provider`` is added to inputs and outputs, and
state keeps the checked inputs and the outputs separately, as the engine does.
"""

from __future__ import annotations

import asyncio
import http.client
import http.server
import threading
import urllib.parse
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from pulumi.dynamic import Config, ConfigureRequest
from pulumi.dynamic.dynamic import serialize_provider
from pulumi.runtime import rpc

from ccc_emulator import Emulator, demo
from ccc_numbers import PhoneNumberBindingProvider
from ccc_numbers import config as ccc_config

PROVIDER_KEY = "__provider"
WRITE_ACTIONS = ("AddBulkPhoneNumbers", "AddPhoneNumber", "ModifyPhoneNumber", "RemovePhoneNumber")


def stack_config(emu: Emulator, **extra: str) -> dict[str, Any]:
    """The stack config for the emulator: demo key, no rate limit to speak of, instant retries."""
    raw: dict[str, Any] = {
        "ccc:endpoint": emu.url,
        "ccc:accessKeyId": demo.DEMO_ACCESS_KEY_ID,
        "ccc:accessKeySecret": demo.DEMO_ACCESS_KEY_SECRET,
        "ccc:requestsPerSecond": "10000",
        "ccc:retryBaseDelayMs": "0",
        "ccc:retryMaxDelayMs": "0",
    }
    raw.update({f"ccc:{key}": value for key, value in extra.items()})
    return raw


def wire(props: Mapping[str, Any]) -> dict[str, Any]:
    """`props` as the other side of a gRPC call sees them: ints as floats, None values dropped."""

    async def serialize() -> Any:
        return await rpc.serialize_properties(dict(props), {})

    # A private loop, as the provider host uses: asyncio.run would unset the thread's event loop.
    loop = asyncio.new_event_loop()
    try:
        result: dict[str, Any] = rpc.deserialize_properties(loop.run_until_complete(serialize()))
    finally:
        loop.close()
    return result


@dataclass(frozen=True)
class State:
    """One resource in the engine's state."""

    id: str
    inputs: dict[str, Any]
    outputs: dict[str, Any]


class Engine:
    """Drives the provider's hooks in-process as the engine does, one resource at a time."""

    def __init__(self, provider: PhoneNumberBindingProvider, emu: Emulator) -> None:
        self.provider = provider
        self.emu = emu
        self.pickled = serialize_provider(provider)

    def check(self, user_inputs: Mapping[str, Any], olds: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """The checked inputs; fails the test on check failures."""
        news = wire({**user_inputs, PROVIDER_KEY: self.pickled})
        result = self.provider.check(wire(olds or {}), news)
        assert [(f.property, f.reason) for f in result.failures] == []
        return wire({**result.inputs, PROVIDER_KEY: news[PROVIDER_KEY]})

    def create(self, user_inputs: Mapping[str, Any]) -> State:
        inputs = self.check(user_inputs)
        result = self.provider.create(inputs)
        return State(result.id, inputs, self._outputs(result.outs))

    def diff(self, state: State, user_inputs: Mapping[str, Any]) -> Any:
        news = self.check(user_inputs, state.inputs)
        return self.provider.diff(state.id, state.outputs, news)

    def update(self, state: State, user_inputs: Mapping[str, Any]) -> State:
        news = self.check(user_inputs, state.inputs)
        result = self.provider.update(state.id, state.outputs, news)
        return State(state.id, news, self._outputs(result.outs))

    def up(self, state: State, user_inputs: Mapping[str, Any]) -> State:
        """Check, diff, and update only when diff asks for it (what `pulumi up` does in place)."""
        result = self.diff(state, user_inputs)
        if result.changes is False:
            return State(state.id, self.check(user_inputs, state.inputs), state.outputs)
        assert not result.replaces
        return self.update(state, user_inputs)

    def read(self, state: State) -> State | None:
        """Refresh: None when the provider reports the resource gone."""
        result = self.provider.read(state.id, state.outputs)
        assert result.outs is not None
        if not result.id:
            assert result.outs == {}
            return None
        inputs = state.inputs if result.inputs is None else self._outputs(result.inputs)
        return State(result.id, inputs, self._outputs(result.outs))

    def delete(self, state: State) -> None:
        self.provider.delete(state.id, state.outputs)

    def _outputs(self, outs: Mapping[str, Any] | None) -> dict[str, Any]:
        return wire({**(outs or {}), PROVIDER_KEY: self.pickled})

    # -- what the emulator saw -------------------------------------------------------------------

    def calls(self, action: str | None = None) -> int:
        return self.emu.calls(action)

    def write_calls(self) -> int:
        """API write requests in the journal, every outcome counted."""
        return sum(self.emu.calls(action) for action in WRITE_ACTIONS)

    def added_per_call(self) -> list[int]:
        """How many numbers each AddBulkPhoneNumbers request carried, in journal order."""
        return [
            sum(1 for key in entry.params if key.startswith("PhoneNumber."))
            for entry in self.emu.journal
            if entry.action == "AddBulkPhoneNumbers"
        ]

    def bound(self, instance_id: str = demo.DEMO_INSTANCE_ID) -> dict[str, dict[str, Any]]:
        """The emulator's bindings in one instance, keyed by number."""
        return {b["number"]: b for b in self.emu.bindings(instance_id)}


def configure(provider: PhoneNumberBindingProvider, raw: Mapping[str, Any]) -> None:
    provider.configure(ConfigureRequest(Config(dict(raw), "proj")))


MakeEngine = Callable[..., Engine]


@pytest.fixture(autouse=True)
def _in_a_project_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test runs in a folder of its own, as a provider host runs in its project's: the provider
    writes its interrupted-run records and failure lists there (.ccc-numbers/), never in the checkout."""
    monkeypatch.chdir(tmp_path)


@pytest.fixture
def make_engine() -> Iterator[MakeEngine]:
    """Engines on a fresh provider configured to an emulator (``ccc:`` keys as keyword arguments).

    configure() installs the settings process-wide; the previous configuration is restored afterwards.
    """

    def make(emu: Emulator, *, via: str | None = None, **extra: str) -> Engine:
        """``via``: another endpoint URL in front of ``emu`` (a recording proxy)."""
        provider = PhoneNumberBindingProvider()
        raw = stack_config(emu, **extra)
        if via is not None:
            raw["ccc:endpoint"] = via
        configure(provider, raw)
        return Engine(provider, emu)

    with ccc_config.installed(ccc_config.RuntimeConfig()):
        yield make


@pytest.fixture
def engine(ccc_emulator: Emulator, make_engine: MakeEngine) -> Engine:
    """An engine on a provider configured to the emulator with the demo key and instant retries."""
    return make_engine(ccc_emulator)


# -- an independent HTTP proxy in front of the emulator ------------------------------------------------


@dataclass(frozen=True)
class SeenRequest:
    """One request as it crossed the proxy, before the emulator saw it."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    form: dict[str, str]

    @property
    def action(self) -> str:
        return self.query.get("Action") or self.headers.get("x-acs-action", "")


class RecordingProxy:
    """A plain HTTP relay to the emulator that records every request and counts requests in flight.

    It knows nothing of this project: it parses what arrives as any HTTP server would. ``hold(action,
    n, timeout)`` makes requests of that action wait until ``n`` of them are in flight (or until
    ``timeout`` seconds passed), so a test can see how many a client really has in flight at once.
    """

    def __init__(self, upstream: Emulator) -> None:
        self.upstream = upstream
        self.seen: list[SeenRequest] = []
        self._lock = threading.Condition()
        self._in_flight: dict[str, int] = {}
        self.max_in_flight: dict[str, int] = {}
        self._holds: dict[str, tuple[int, float]] = {}
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                proxy._relay(self)

            def do_POST(self) -> None:
                proxy._relay(self)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.01},
                                        daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def hold(self, action: str, until_in_flight: int, timeout: float) -> None:
        self._holds[action] = (until_in_flight, timeout)

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _relay(self, handler: http.server.BaseHTTPRequestHandler) -> None:
        body = handler.rfile.read(int(handler.headers.get("Content-Length", "0")))
        target = urllib.parse.urlsplit(handler.path)
        headers = {k.lower(): v for k, v in handler.headers.items()}
        form = dict(urllib.parse.parse_qsl(body.decode(), keep_blank_values=True)) if (
            headers.get("content-type", "").startswith("application/x-www-form-urlencoded")
        ) else {}
        seen = SeenRequest(handler.command, target.path,
                           dict(urllib.parse.parse_qsl(target.query, keep_blank_values=True)), headers, form)
        action = seen.action
        with self._lock:
            self.seen.append(seen)
            self._in_flight[action] = self._in_flight.get(action, 0) + 1
            self.max_in_flight[action] = max(self.max_in_flight.get(action, 0), self._in_flight[action])
            self._lock.notify_all()
            if action in self._holds:
                wanted, timeout = self._holds[action]
                self._lock.wait_for(lambda: self._in_flight[action] >= wanted, timeout)
        try:
            conn = http.client.HTTPConnection("127.0.0.1", self.upstream.port, timeout=30)
            try:
                conn.request(handler.command, handler.path, body=body,
                             headers={k: v for k, v in handler.headers.items() if k.lower() != "connection"})
                answer = conn.getresponse()
                payload = answer.read()
            except (ConnectionError, http.client.HTTPException):
                handler.close_connection = True  # the emulator dropped it: so does the proxy
                return
            finally:
                conn.close()
            handler.send_response(answer.status)
            for name, value in answer.getheaders():
                if name.lower() not in ("content-length", "connection", "transfer-encoding"):
                    handler.send_header(name, value)
            handler.send_header("Content-Length", str(len(payload)))
            handler.end_headers()
            handler.wfile.write(payload)
        finally:
            with self._lock:
                self._in_flight[action] -= 1


@pytest.fixture
def recording_proxy(ccc_emulator: Emulator) -> Iterator[RecordingProxy]:
    """A RecordingProxy in front of the test's emulator."""
    proxy = RecordingProxy(ccc_emulator)
    try:
        yield proxy
    finally:
        proxy.close()
