"""Throttling, 5xx and dropped connections through the real engine: one `pulumi up` still converges.

The emulator injects the faults; the provider runs with its default retry policy except that waits
are 0 ms (``FAST``), so the tests take no real backoff time. Each test asserts the exact calls, that
every number ends up bound exactly once, and that the next `up` has nothing to do.
"""

from __future__ import annotations

import pytest

from ccc_emulator import Emulator

from .conftest import MakeStack
from .programs import Binding, actions, bound, entries, ids_in, landlines, program, sent_numbers

pytestmark = [pytest.mark.real_engine, pytest.mark.slow]

ADD = "AddBulkPhoneNumbers"


def outcomes(emu: Emulator, action: str) -> list[tuple[int, str]]:
    """(HTTP status, code) of each call of `action`; 0 is a connection dropped without an answer."""
    return [(entry.http_status, entry.code) for entry in entries(emu, action)]


def test_throttled_adds_are_retried_until_they_pass(make_stack: MakeStack, ccc_emulator: Emulator) -> None:
    """Two throttled answers (with retry-after) cost two more calls of the same batch, nothing else."""
    numbers = landlines(0, 150)
    ccc_emulator.inject("throttling", action=ADD, times=2, retry_after_ms=1)
    stack = make_stack(program(Binding("support", numbers)))

    run = stack.up()

    assert run.ok, run.text
    assert outcomes(ccc_emulator, ADD).count((400, "Throttling.User")) == 2
    assert [status for status, _ in outcomes(ccc_emulator, ADD)].count(200) == 2
    assert actions(ccc_emulator).count("ListPhoneNumbers") == 1
    assert sorted(bound(ccc_emulator)) == numbers
    assert run.outputs["support_ids"] == ids_in(ccc_emulator)
    ccc_emulator.clear_journal()
    assert stack.up(expect_no_changes=True).ok
    assert ccc_emulator.journal == []


def test_an_add_answered_503_is_listed_before_it_is_sent_again(
    make_stack: MakeStack, ccc_emulator: Emulator
) -> None:
    """A 503 may have been applied: the provider lists, then re-sends only what is missing."""
    numbers = landlines(0, 20)
    ccc_emulator.inject("service_unavailable", action=ADD, times=1)
    stack = make_stack(program(Binding("support", numbers)))

    run = stack.up()

    assert run.ok, run.text
    assert actions(ccc_emulator) == ["ListPhoneNumbers", ADD, "ListPhoneNumbers", ADD]
    assert outcomes(ccc_emulator, ADD) == [(503, "ServiceUnavailable"), (200, "OK")]
    assert [sent_numbers(e) for e in entries(ccc_emulator, ADD)] == [numbers, numbers]
    assert sorted(bound(ccc_emulator)) == numbers
    assert run.outputs["support_ids"] == ids_in(ccc_emulator)


def test_an_add_applied_but_never_answered_is_not_sent_again(
    make_stack: MakeStack, ccc_emulator: Emulator
) -> None:
    """A connection dropped after the batch was applied: the listing shows it bound, no second add."""
    numbers = landlines(0, 20)
    ccc_emulator.inject("drop_after_apply", action=ADD, times=1)
    stack = make_stack(program(Binding("support", numbers)))

    run = stack.up()

    assert run.ok, run.text
    assert actions(ccc_emulator) == ["ListPhoneNumbers", ADD, "ListPhoneNumbers"]
    assert outcomes(ccc_emulator, ADD) == [(0, "OK")]
    assert sorted(bound(ccc_emulator)) == numbers
    assert len({b["phone_number_id"] for b in bound(ccc_emulator).values()}) == len(numbers)
    assert run.outputs["support_ids"] == ids_in(ccc_emulator)
    ccc_emulator.clear_journal()
    assert stack.up(expect_no_changes=True).ok
    assert ccc_emulator.journal == []
