"""The executor under failure: rollback, unknown outcomes, throttling, too-large batches, concurrency."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest

from ccc_emulator import Emulator, demo
from ccc_numbers.errors import (
    ApplyError,
    BatchTooLargeError,
    NotFoundError,
    OwnershipError,
    PartialFailureError,
    ThrottledError,
    TransportError,
)

if TYPE_CHECKING:
    from conftest import Engine, MakeEngine

INSTANCE = demo.DEMO_INSTANCE_ID
WELCOME = demo.WELCOME_FLOW_ID
IVR = demo.IVR_FLOW_ID
ADD = "AddBulkPhoneNumbers"
LIST = "ListPhoneNumbers"


def landlines(start: int, stop: int) -> list[str]:
    return [demo.landline(i) for i in range(start, stop)]


def binding(numbers: Any, **extra: Any) -> dict[str, Any]:
    return {"instance_id": INSTANCE, "numbers": numbers, "contact_flow_id": WELCOME, **extra}


def applied_adds(emu: Emulator) -> list[str]:
    """Every number carried by an AddBulkPhoneNumbers request the emulator applied, in order."""
    return [
        value
        for entry in emu.journal
        if entry.action == ADD and entry.ok
        for key, value in sorted(entry.params.items(), key=lambda kv: kv[0])
        if key.startswith("PhoneNumber.")
    ]


@pytest.fixture
def serial(ccc_emulator: Emulator, make_engine: MakeEngine) -> Engine:
    """An engine whose provider runs one call at a time, so that batch order is deterministic."""
    return make_engine(ccc_emulator, maxConcurrency="1")


# -- a failed create leaves nothing bound --------------------------------------------------------------


def test_create_failing_in_second_batch_on_a_missing_flow_unbinds_the_first(serial: Engine) -> None:
    """Batch 2 refers to a contact flow that does not exist: batch 1 is unbound again, nothing stays."""
    numbers: dict[str, Any] = {n: {} for n in landlines(0, 100)}
    numbers.update({n: {"contact_flow_id": "zz_missingFlow"} for n in landlines(100, 150)})
    with pytest.raises(ApplyError) as caught:
        serial.create(binding(numbers))
    [cause] = caught.value.errors
    assert isinstance(cause, NotFoundError)
    assert cause.action == f"adding 50 phone numbers to CCC instance {INSTANCE}, batch 2/2"
    assert cause.code == "NotExist.ContactFlow"
    assert str(caught.value).startswith(
        f"creating the binding of 150 phone numbers to CCC instance {INSTANCE}: adding 50 phone numbers to "
        f"CCC instance {INSTANCE}, batch 2/2: NotExist.ContactFlow: "
    )
    assert str(caught.value).endswith("; unbound again the 100 phone numbers this create had bound")
    assert caught.value.rolled_back == tuple(landlines(0, 100))
    assert (serial.calls(ADD), serial.calls("RemovePhoneNumber")) == (2, 100)
    assert serial.bound() == {}


def test_create_throttled_past_its_budget_in_batch_two_unbinds_batch_one(serial: Engine) -> None:
    """Batch 2 throttled past the retry budget: batch 3 never starts and batch 1 is unbound again."""
    serial.emu.inject("throttling", action=ADD, skip=1)  # every add but the first
    with pytest.raises(ApplyError) as caught:
        serial.create(binding(landlines(0, 250)))
    [cause] = caught.value.errors
    assert isinstance(cause, ThrottledError)
    assert re.fullmatch(
        rf"adding 100 phone numbers to CCC instance {INSTANCE}, batch 2/3: Throttling\.User: Request was "
        r"denied due to user flow control\. \(HTTP 400, request id [0-9A-F-]+; gave up after 6 attempts\)",
        str(cause),
    )
    assert serial.calls(ADD) == 1 + 6
    assert serial.calls("RemovePhoneNumber") == 100
    assert serial.bound() == {}


def test_create_with_a_rejected_number_in_batch_two_unbinds_every_bound_number(serial: Engine) -> None:
    """A per-number rejection in batch 2 fails the create; the other 249 numbers are unbound again."""
    rejected = demo.landline(150)
    serial.emu.inject("reject_numbers", numbers=[rejected], bucket="failed", times=1)
    with pytest.raises(ApplyError) as caught:
        serial.create(binding(landlines(0, 250)))
    [cause] = caught.value.errors
    assert isinstance(cause, PartialFailureError)
    assert cause.rejected == {rejected: "not purchased in this account or rejected by the service"}
    assert len(cause.bound) == 249
    assert (serial.calls(ADD), serial.calls("RemovePhoneNumber")) == (3, 249)
    assert serial.bound() == {}


# -- a failed update converges on the next run ---------------------------------------------------------


def test_failed_update_unbinds_its_adds_keeps_its_removes_and_rerun_converges(serial: Engine) -> None:
    """After a failed update only the numbers it bound are unbound; rerunning from the old state converges."""
    state = serial.create(binding(landlines(0, 20)))
    numbers: dict[str, Any] = {n: {} for n in landlines(2, 170)}
    numbers[demo.landline(3)] = {"contact_flow_id": IVR}
    serial.emu.clear_journal()
    serial.emu.inject("throttling", action=ADD, skip=1)  # the update's batch 1 passes, batch 2 never does
    with pytest.raises(ApplyError) as caught:
        serial.update(state, binding(numbers))
    assert caught.value.rolled_back == tuple(landlines(20, 120))
    # Removes done and kept; batch 1 bound then unbound; the modify never ran.
    assert sorted(serial.bound()) == landlines(2, 20)
    assert serial.bound()[demo.landline(3)]["contact_flow_id"] == WELCOME
    serial.emu.clear_faults()
    serial.emu.clear_journal()
    # The engine keeps the old outputs after a failed update: the rerun starts from `state`.
    final = serial.update(state, binding(numbers))
    assert {a: serial.calls(a) for a in (LIST, ADD, "RemovePhoneNumber", "ModifyPhoneNumber")} == {
        LIST: 1, ADD: 2, "RemovePhoneNumber": 0, "ModifyPhoneNumber": 1,
    }
    assert sorted(serial.bound()) == landlines(2, 170)
    assert sorted(final.outputs["phone_number_ids"]) == landlines(2, 170)


# -- outcome unknown: list, never add twice ------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "options", "times", "adds", "lists"),
    [
        ("drop_after_apply", {}, 1, [100, 100, 50], 2),
        ("service_unavailable", {"applied": True}, 1, [100, 100, 50], 2),
        ("internal_error", {}, 1, [100, 100, 100, 50], 2),
        ("drop_after_apply", {}, None, [100, 100, 50], 4),
    ],
    ids=["dropped-once", "503-applied", "500-not-applied", "every-add-dropped"],
)
def test_add_with_unknown_outcome_is_reconciled_by_listing(  # noqa: PLR0917 - parametrised cases
    serial: Engine, kind: str, options: dict[str, Any], times: int | None, adds: list[int], lists: int
) -> None:
    """An add whose answer is lost is followed by a listing; only numbers still missing are sent again."""
    serial.emu.inject(kind, action=ADD, times=times, **options)
    state = serial.create(binding(landlines(0, 250)))
    assert serial.added_per_call() == adds
    assert serial.calls(LIST) == lists
    assert sorted(applied_adds(serial.emu)) == landlines(0, 250)  # each number applied exactly once
    bound = serial.bound()
    assert state.outputs["phone_number_ids"] == {n: bound[n]["phone_number_id"] for n in landlines(0, 250)}


def test_add_that_never_answers_gives_up_without_adding_twice(serial: Engine) -> None:
    """An add failing with 500 every time is re-sent only after a listing shows it missing, within budget."""
    serial.emu.inject("internal_error", action=ADD)
    with pytest.raises(ApplyError) as caught:
        serial.create(binding(landlines(0, 5)))
    [cause] = caught.value.errors
    assert isinstance(cause, ThrottledError)
    assert cause.action == (
        f"adding 5 phone numbers to CCC instance {INSTANCE}, batch 1/1, 5 numbers still not bound after "
        "6 attempts"
    )
    assert (serial.calls(ADD), serial.calls(LIST)) == (6, 7)
    assert applied_adds(serial.emu) == []
    assert serial.bound() == {}


def test_update_interrupted_by_unknown_outcome_converges_on_rerun(serial: Engine) -> None:
    """A lost add whose listing also fails is rolled back; rerunning the update binds every number once."""
    state = serial.create(binding(landlines(0, 10)))
    serial.emu.clear_journal()
    serial.emu.inject("drop_after_apply", action=ADD, times=1)
    # The planning listing passes; the 6 reconciling listings after the lost add fail, so it gives up.
    serial.emu.inject("service_unavailable", action=LIST, skip=1, times=6)
    with pytest.raises(ApplyError) as caught:
        serial.update(state, binding(landlines(0, 160)))
    [cause] = caught.value.errors
    assert isinstance(cause, TransportError)
    assert cause.outcome_unknown
    assert "batch 1/2; listing the instance to learn whether it was applied failed (listing the phone " in (
        cause.action
    )
    assert caught.value.rolled_back == tuple(landlines(10, 110))
    assert caught.value.left_bound == {}
    # Planning list, 6 failed reconciling lists, 1 rollback list; batch 2 never started.
    assert (serial.calls(LIST), serial.calls(ADD), serial.calls("RemovePhoneNumber")) == (8, 1, 100)
    assert sorted(serial.bound()) == landlines(0, 10)
    serial.emu.clear_journal()
    final = serial.update(state, binding(landlines(0, 160)))
    assert (serial.calls(LIST), serial.calls(ADD)) == (1, 2)
    assert sorted(applied_adds(serial.emu)) == landlines(10, 160)
    assert all(entry.ok for entry in serial.emu.journal)
    assert sorted(final.outputs["phone_number_ids"]) == landlines(0, 160)


def test_rollback_that_cannot_list_names_numbers_left_and_adopt_converges(serial: Engine) -> None:
    """Numbers a failed update may have left bound are named; the next run refuses them, adopt takes them."""
    state = serial.create(binding(landlines(0, 2)))
    added = landlines(2, 5)
    serial.emu.inject("drop_after_apply", action=ADD, times=1)
    # The planning listing passes; the reconciling and the rollback listings (6 attempts each) fail.
    serial.emu.inject("service_unavailable", action=LIST, skip=1, times=12)
    with pytest.raises(ApplyError) as caught:
        serial.update(state, binding(landlines(0, 5)))
    assert sorted(caught.value.left_bound) == added
    assert all(
        why.startswith("its add had an unknown outcome and listing the instance failed (listing the phone ")
        for why in caught.value.left_bound.values()
    )
    assert "adopt_existing=True takes them over on the next run, or unbind them by hand" in str(caught.value)
    assert sorted(serial.bound()) == landlines(0, 5)
    with pytest.raises(OwnershipError) as refused:
        serial.update(state, binding(landlines(0, 5)))
    assert sorted(refused.value.conflicts) == added
    serial.emu.clear_journal()
    adopted = serial.update(state, binding(landlines(0, 5), adopt_existing=True))
    assert serial.write_calls() == 0
    assert sorted(adopted.outputs["phone_number_ids"]) == landlines(0, 5)


# -- used numbers: this instance or another ------------------------------------------------------------


def test_number_bound_in_this_instance_between_list_and_add_names_its_id(engine: Engine) -> None:
    """A number bound here after the listing is reported as bound in this instance, with its PhoneNumberId."""
    raced = demo.landline(1)
    pids: list[str] = []
    # A real race: the add waits 500 ms in the emulator before it is applied, and meanwhile another
    # thread binds the number behind the provider's back, as soon as the planning listing is answered.
    engine.emu.inject("latency", action=ADD, ms=500, times=1)

    def bind_once_listed() -> None:
        deadline = time.monotonic() + 30
        while engine.emu.calls(LIST) == 0 and time.monotonic() < deadline:
            time.sleep(0.002)
        pids.append(engine.emu.bind(raced, INSTANCE))

    racer = threading.Thread(target=bind_once_listed)
    racer.start()
    try:
        with pytest.raises(ApplyError) as caught:
            engine.create(binding(landlines(0, 3)))
    finally:
        racer.join()
    assert [e.action for e in engine.emu.journal][:2] == [LIST, ADD]  # bound between these two calls
    assert caught.value.rejected == {
        raced: f"already bound in this CCC instance as PhoneNumberId {pids[0]} but not owned by this binding "
        "(adopt_existing=True takes it over, for example after an interrupted run)"
    }
    assert sorted(engine.bound()) == [raced]  # the rollback left the other binding alone


# -- throttling ----------------------------------------------------------------------------------------


def test_throttling_burst_during_a_mixed_update_is_ridden_out(engine: Engine) -> None:
    """Five throttled answers spread over a mixed update cost exactly five more calls and change nothing."""
    state = engine.create(binding(landlines(0, 20)))
    numbers: dict[str, Any] = {n: {} for n in landlines(5, 30)}
    numbers.update({n: {"contact_flow_id": IVR} for n in landlines(5, 8)})
    engine.emu.clear_journal()
    engine.emu.inject("throttling", times=5)
    engine.update(state, binding(numbers))
    assert engine.calls() == 10 + 5
    assert [e.code for e in engine.emu.journal].count("Throttling.User") == 5
    assert sorted(engine.bound()) == landlines(5, 30)


def test_throttling_with_retry_after_is_ridden_out_on_create(engine: Engine) -> None:
    """Throttled adds that ask for a wait are retried; every number is bound once."""
    engine.emu.inject("throttling", action=ADD, times=4, retry_after_ms=5)
    engine.create(binding(landlines(0, 250)))
    assert engine.calls(ADD) == 3 + 4
    assert sorted(applied_adds(engine.emu)) == landlines(0, 250)


# -- batches the service refuses as too large ----------------------------------------------------------


@pytest.fixture
def small_batches() -> Iterator[Emulator]:
    """An emulator whose AddBulkPhoneNumbers accepts at most 50 numbers per call."""
    with Emulator(max_batch_size=50) as emu:
        yield emu


def test_too_large_batch_is_split_and_later_batches_use_the_smaller_size(
    small_batches: Emulator, make_engine: MakeEngine
) -> None:
    """Batch size 100 against a cap of 50: one refusal, then every call carries at most 50 numbers."""
    engine = make_engine(small_batches, batchSize="100", maxConcurrency="1")
    state = engine.create(binding(landlines(0, 250)))
    assert engine.added_per_call() == [100, 50, 50, 50, 50, 50]
    assert [(e.code, e.ok) for e in small_batches.journal if e.action == ADD] == [
        ("Parameter.Maximum", False), *[("OK", True)] * 5,
    ]
    assert sorted(state.outputs["phone_number_ids"]) == landlines(0, 250)
    # The smaller size is kept for the rest of the operation only; the next one learns it again.
    small_batches.clear_journal()
    engine.update(state, binding(landlines(0, 370)))
    assert engine.added_per_call() == [100, 50, 50, 20]


def test_too_large_batches_under_concurrency_bind_everything_once(
    small_batches: Emulator, make_engine: MakeEngine
) -> None:
    """With four batches in flight, refused batches are split and every number is applied exactly once."""
    engine = make_engine(small_batches, batchSize="100", maxConcurrency="4")
    engine.create(binding(landlines(0, 400)))
    adds = [e for e in small_batches.journal if e.action == ADD]
    accepted = [n for n, e in zip(engine.added_per_call(), adds, strict=True) if e.ok]
    assert accepted == [50] * 8
    assert 1 <= engine.calls(ADD) - 8 <= 4
    assert sorted(applied_adds(small_batches)) == landlines(0, 400)


NO_CAP = "Too many phone numbers."


def add_outcomes(engine: Engine) -> list[tuple[int, str]]:
    """(numbers carried, code) of each AddBulkPhoneNumbers request, in journal order."""
    codes = [e.code for e in engine.emu.journal if e.action == ADD]
    return list(zip(engine.added_per_call(), codes, strict=True))


def test_refusal_without_a_named_cap_halves_until_the_batch_fits(serial: Engine) -> None:
    """A too-large refusal that names no cap halves the batch size until calls are accepted."""
    serial.emu.max_batch_size = 30
    serial.emu.batch_cap_message = NO_CAP  # no number in it: the provider must guess
    serial.create(binding(landlines(0, 100)))
    assert add_outcomes(serial) == [
        (100, "Parameter.Maximum"), (50, "Parameter.Maximum"), *[(25, "OK")] * 4,
    ]
    assert sorted(serial.bound()) == landlines(0, 100)


def test_refusal_of_a_single_number_is_not_split_further(serial: Engine) -> None:
    """A batch of one refused as too large cannot be split: the create fails with that error."""
    # The service refuses every add as too large without naming a cap. The emulator's cap is at
    # least 1, so a fault answers the cap refusal's code and cap-less message instead.
    serial.emu.inject("throttling", action=ADD, code="Parameter.Maximum", message=NO_CAP)
    with pytest.raises(ApplyError) as caught:
        serial.create(binding(landlines(0, 3)))
    [cause] = caught.value.errors
    assert isinstance(cause, BatchTooLargeError)
    assert (cause.code, cause.message, cause.http_status, cause.maximum) == (
        "Parameter.Maximum", NO_CAP, 400, None,
    )
    assert cause.action == f"adding 1 phone number to CCC instance {INSTANCE}, batch 1/1"
    assert add_outcomes(serial) == [(n, "Parameter.Maximum") for n in (3, 2, 1)]
    assert applied_adds(serial.emu) == []
    assert serial.bound() == {}


# -- concurrency ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(("concurrency", "low", "high"), [("4", 0.0, 0.7), ("1", 0.8, 60.0)])
def test_batches_run_with_bounded_concurrency(
    ccc_emulator: Emulator, make_engine: MakeEngine, concurrency: str, low: float, high: float
) -> None:
    """Four 200 ms batches take about 200 ms with maxConcurrency 4 and at least 800 ms with 1."""
    engine = make_engine(ccc_emulator, maxConcurrency=concurrency)
    ccc_emulator.inject("latency", action=ADD, ms=200)
    started = time.monotonic()
    engine.create(binding(landlines(0, 400)))
    elapsed = time.monotonic() - started
    assert low <= elapsed < high
    assert engine.calls(ADD) == 4


# -- delete --------------------------------------------------------------------------------------------


def test_delete_failure_names_the_number_and_keeps_going_no_further(serial: Engine) -> None:
    """A remove refused by the API fails delete with the number in the message."""
    state = serial.create(binding(landlines(0, 3)))
    serial.emu.inject("throttling", action="RemovePhoneNumber", code="Forbidden.RAM",
                      message="User not authorized to operate on the specified resource.")
    with pytest.raises(ApplyError) as caught:
        serial.delete(state)
    pid = state.outputs["phone_number_ids"][demo.landline(0)]
    assert str(caught.value).startswith(
        f"deleting the binding of 3 phone numbers to CCC instance {INSTANCE}: removing phone number {pid} "
        f"from CCC instance {INSTANCE}, phone number {demo.landline(0)}: Forbidden.RAM: User not authorized"
    )
    assert serial.calls("RemovePhoneNumber") == 1
    assert sorted(serial.bound()) == landlines(0, 3)
