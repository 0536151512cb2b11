"""Refresh of many bindings in one instance shares one listing, and never predates a write."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from ccc_emulator import demo

if TYPE_CHECKING:
    from conftest import Engine, State

INSTANCE = demo.DEMO_INSTANCE_ID


def _binding(start: int, stop: int) -> dict[str, Any]:
    return {"instance_id": INSTANCE, "numbers": [demo.landline(i) for i in range(start, stop)]}


def test_refresh_of_50_bindings_lists_the_instance_once(engine: Engine) -> None:
    """50 concurrent reads of bindings in one instance make exactly 1 ListPhoneNumbers call."""
    states = [engine.create(_binding(2 * i, 2 * i + 2)) for i in range(50)]
    engine.emu.clear_journal()
    with ThreadPoolExecutor(8) as pool:
        refreshed = list(pool.map(engine.read, states))
    assert engine.calls() == 1
    assert engine.calls("ListPhoneNumbers") == 1
    assert refreshed == states


def test_sequential_reads_after_a_write_list_again_once(engine: Engine) -> None:
    """A read after this process's own write lists afresh; the reads after it share that listing."""
    first: State = engine.create(_binding(0, 2))
    second: State = engine.create(_binding(2, 4))
    engine.emu.clear_journal()
    assert engine.read(first) == first
    assert engine.read(second) == second
    assert engine.calls("ListPhoneNumbers") == 1
    grown = {**_binding(0, 2), "numbers": [demo.landline(0), demo.landline(1), demo.landline(10)]}
    updated = engine.update(first, grown)
    engine.emu.clear_journal()
    refreshed = engine.read(updated)
    assert refreshed is not None
    assert sorted(refreshed.outputs["numbers"]) == [demo.landline(0), demo.landline(1), demo.landline(10)]
    assert engine.read(second) == second
    assert engine.calls("ListPhoneNumbers") == 1


def test_configure_forgets_shared_listings(engine: Engine, make_engine: Any) -> None:
    """A new configure() starts with no shared listing, so drift made before it shows in the next read."""
    state = engine.create(_binding(0, 3))
    assert engine.read(state) == state
    engine.emu.unbind(demo.landline(0))
    reconfigured = make_engine(engine.emu)
    refreshed = reconfigured.read(state)
    assert refreshed is not None
    assert sorted(refreshed.outputs["numbers"]) == [demo.landline(1), demo.landline(2)]
