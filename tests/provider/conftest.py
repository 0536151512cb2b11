"""Shared fixtures for the provider tests: a provider configured to the emulator, and an engine stand-in.

`Engine` calls the provider's hooks in-process with the dicts the Pulumi engine would send
(pulumi-engine.md §3): every dict crosses a protobuf round trip as it would on the wire (ints come
back as floats, None values vanish), the host's ``__provider`` is added to inputs and outputs, and
state keeps the checked inputs and the outputs separately, as the engine does.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
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


@pytest.fixture
def make_engine() -> Iterator[MakeEngine]:
    """Engines on a fresh provider configured to an emulator (``ccc:`` keys as keyword arguments).

    configure() installs the settings process-wide; the previous configuration is restored afterwards.
    """

    def make(emu: Emulator, **extra: str) -> Engine:
        provider = PhoneNumberBindingProvider()
        configure(provider, stack_config(emu, **extra))
        return Engine(provider, emu)

    with ccc_config.installed(ccc_config.RuntimeConfig()):
        yield make


@pytest.fixture
def engine(ccc_emulator: Emulator, make_engine: MakeEngine) -> Engine:
    """An engine on a provider configured to the emulator with the demo key and instant retries."""
    return make_engine(ccc_emulator)
