"""The executor under failure: rollback, unknown outcomes, throttling, too-large batches, concurrency."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest

from ccc_emulator import Emulator, demo
from ccc_numbers import executor
from ccc_numbers.errors import (
    ApplyError,
    BatchTooLargeError,
    MissingReferenceError,
    NotFoundError,
    OwnershipError,
    PartialFailureError,
    SplitRefusedError,
    ThrottledError,
    TransportError,
    UnknownInstanceError,
)
from ccc_numbers.retry import instant_retries

if TYPE_CHECKING:
    from conftest import Engine, MakeEngine, RecordingProxy

INSTANCE = demo.DEMO_INSTANCE_ID
WELCOME = demo.WELCOME_FLOW_ID
IVR = demo.IVR_FLOW_ID
ADD = "AddBulkPhoneNumbers"
LIST = "ListPhoneNumbers"
REMOVE = "RemovePhoneNumber"


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


def test_create_failing_in_second_batch_on_a_vanished_flow_unbinds_the_first(serial: Engine) -> None:
    """Batch 2's contact flow vanishes after the preflight: batch 1 is unbound again, nothing stays."""
    numbers: dict[str, Any] = {n: {} for n in landlines(0, 100)}
    numbers.update({n: {"contact_flow_id": IVR} for n in landlines(100, 150)})
    # Deleted in the console between the preflight and the second add, as the service would say it.
    serial.emu.inject("throttling", action=ADD, skip=1, times=1, code="NotExist.ContactFlow",
                      message=f"Contact flow '{IVR}' does not exist")
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


# -- the preflight: nothing is written for a flow, skill group or instance that does not exist ------


def test_a_mistyped_flow_fails_the_create_before_any_write(engine: Engine) -> None:
    """A flow id the instance lacks: one error naming it, its numbers and the flows there are; 0 writes."""
    numbers: dict[str, Any] = {n: {} for n in landlines(0, 100)}
    numbers.update({n: {"contact_flow_id": "8Cvg_0mcsm6k"} for n in landlines(100, 107)})
    with pytest.raises(MissingReferenceError) as caught:
        engine.create(binding(numbers))
    assert str(caught.value) == (
        f"creating the binding of 107 phone numbers to CCC instance {INSTANCE}: contact flow 8Cvg_0mcsm6k "
        "(used by 7 phone numbers: 02160660100, 02160660101, 02160660102, 02160660103, 02160660104 and 2 "
        "more) does not exist in this instance; it has 3 contact flows: 8Cvg_0mcsm6K (Welcome), "
        "ivr_AfterHrs01 (After hours), ivr_MainMenu01 (IVR main menu). Nothing was changed"
    )
    assert caught.value.missing_flows == {"8Cvg_0mcsm6k": tuple(landlines(100, 107))}
    assert engine.write_calls() == 0
    assert sorted(e.action for e in engine.emu.journal) == ["ListContactFlows", LIST]


def test_missing_flows_and_skill_groups_are_reported_together(engine: Engine) -> None:
    """Two bad flows and a bad skill group in one update: all three named at once, nothing written."""
    state = engine.create(binding(landlines(0, 3)))
    engine.emu.clear_journal()
    numbers: dict[str, Any] = {
        demo.landline(0): {"contact_flow_id": "no-such-flow"},
        demo.landline(1): {},
        demo.landline(2): {"skill_group_ids": ["sg-typo", demo.SALES_SKILL_GROUP_ID]},
        demo.landline(3): {"contact_flow_id": "zz"},
    }
    with pytest.raises(MissingReferenceError) as caught:
        engine.update(state, binding(numbers))
    assert caught.value.reason == (
        "contact flows no-such-flow (used by 1 phone number: 02160660000) and zz (used by 1 phone number: "
        "02160660003) do not exist in this instance; it has 3 contact flows: 8Cvg_0mcsm6K (Welcome), "
        "ivr_AfterHrs01 (After hours), ivr_MainMenu01 (IVR main menu); skill group sg-typo (used by 1 "
        "phone number: 02160660002) does not exist in this instance; it has 3 skill groups: "
        "3f3ceb0d-d6b6-4c97-af20-f3daf04f90e0 (Default), 9a7c1e52-5b1d-4f0e-8d3a-2f6b7c8d9e01 (Sales), "
        "b2e4f6a8-1c3d-4e5f-9a7b-0c2d4e6f8a02 (Support). Nothing was changed"
    )
    assert engine.write_calls() == 0
    assert sorted(engine.bound()) == landlines(0, 3)


def test_an_unknown_instance_gets_one_clear_message_and_no_write(engine: Engine) -> None:
    """A mistyped instance id: one sentence naming it, the endpoint and the key, and the settings to check."""
    with pytest.raises(UnknownInstanceError) as caught:
        engine.create({**binding(landlines(0, 3)), "instance_id": "d278629c-c687-4aa3-b044-4fe9b012e7ee"})
    err = caught.value
    assert str(err) == (
        "creating the binding of 3 phone numbers to CCC instance d278629c-c687-4aa3-b044-4fe9b012e7ee: CCC "
        f"instance d278629c-c687-4aa3-b044-4fe9b012e7ee does not exist at {engine.emu.url} for the AccessKey "
        "LTAI5tCccEmulatorDemo01 from stack config (NotExist.Instance: Call center instance "
        "'d278629c-c687-4aa3-b044-4fe9b012e7ee' does not exist); check instance_id, and ccc:region or "
        "ccc:endpoint: an instance is found only through its own region's endpoint. Nothing was changed"
    )
    assert err.request_id is not None
    assert engine.write_calls() == 0


def test_the_preflight_lists_flows_and_groups_once_per_instance_for_many_bindings(engine: Engine) -> None:
    """Three creates in one instance and one in another: one ListContactFlows and ListSkillGroups each."""
    for start in (0, 10, 20):
        engine.create(binding(landlines(start, start + 5), skill_group_ids=[demo.SALES_SKILL_GROUP_ID]))
    engine.create({"instance_id": demo.DEMO_INSTANCE_2_ID, "numbers": landlines(30, 33),
                   "contact_flow_id": demo.INSTANCE_2_FLOW_ID})
    assert {a: engine.calls(a) for a in (LIST, "ListContactFlows", "ListSkillGroups", ADD)} == {
        LIST: 4, "ListContactFlows": 2, "ListSkillGroups": 1, ADD: 4,
    }


def test_an_update_that_only_changes_usage_skips_the_preflight_when_nothing_is_referenced(
    engine: Engine,
) -> None:
    """A binding with no flow and no skill group needs no ListContactFlows or ListSkillGroups."""
    plain = {"instance_id": INSTANCE, "numbers": landlines(0, 3), "usage": "Outbound"}
    state = engine.create(plain)
    engine.update(state, {**plain, "usage": "Inbound"})
    assert (engine.calls("ListContactFlows"), engine.calls("ListSkillGroups")) == (0, 0)
    assert engine.calls("ModifyPhoneNumber") == 3


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


def test_an_add_applied_after_the_listing_that_missed_it_is_still_this_operations_own(
    serial: Engine,
) -> None:
    """A lost add applied late: the resend answers "used", the numbers carry the settings sent, and
    they are counted as bound by this create (reported nowhere as "not owned", and in its outputs)."""
    numbers = landlines(0, 5)
    serial.emu.inject("service_unavailable", action=ADD, times=1)
    # The resend waits; meanwhile the "late" first add lands (bound here with the same settings).
    serial.emu.inject("latency", action=ADD, skip=1, times=1, ms=400)

    def land_late() -> None:
        deadline = time.monotonic() + 30
        while serial.emu.calls(LIST) < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
        for number in numbers:
            serial.emu.bind(number, INSTANCE, contact_flow_id=WELCOME)

    late = threading.Thread(target=land_late)
    late.start()
    state = serial.create(binding(numbers))
    late.join()

    resend = [e for e in serial.emu.journal if e.action == ADD][1]
    assert resend.ok
    bound = serial.bound()
    assert sorted(bound) == numbers
    assert state.outputs["phone_number_ids"] == {n: bound[n]["phone_number_id"] for n in numbers}


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


def test_rollback_lists_a_lost_add_again_and_unbinds_nothing_it_did_not_bind(serial: Engine) -> None:
    """A 500 not applied whose listing failed: the rollback's own listing finds the numbers unbound."""
    state = serial.create(binding(landlines(0, 2)))
    serial.emu.clear_journal()
    serial.emu.inject("internal_error", action=ADD, times=1)
    # The planning listing passes; the reconciling listing (6 attempts) fails; the rollback's passes.
    serial.emu.inject("service_unavailable", action=LIST, skip=1, times=6)
    with pytest.raises(ApplyError) as caught:
        serial.update(state, binding(landlines(0, 5)))
    [cause] = caught.value.errors
    assert isinstance(cause, ThrottledError)
    assert cause.outcome_unknown
    assert (caught.value.rolled_back, caught.value.left_bound) == ((), {})
    assert (serial.calls(LIST), serial.calls(ADD), serial.calls(REMOVE)) == (1 + 6 + 1, 1, 0)
    assert applied_adds(serial.emu) == []
    assert sorted(serial.bound()) == landlines(0, 2)


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
    # Bound between these two calls (the preflight's flow listing runs beside the first).
    assert [e.action for e in engine.emu.journal if e.action != "ListContactFlows"][:2] == [LIST, ADD]
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


@pytest.mark.parametrize(("concurrency", "in_flight"), [("4", 4), ("1", 1)])
def test_batches_run_with_bounded_concurrency(
    ccc_emulator: Emulator,
    make_engine: MakeEngine,
    recording_proxy: RecordingProxy,
    concurrency: str,
    in_flight: int,
) -> None:
    """Four batches: all four in flight at once with maxConcurrency 4, one at a time with 1.

    The proxy holds each add until four are in flight (or 0.3 s passed), so four concurrent calls
    meet there however slow the machine is, and serial calls are never more than one.
    """
    engine = make_engine(ccc_emulator, via=recording_proxy.url, maxConcurrency=concurrency)
    recording_proxy.hold(ADD, until_in_flight=4, timeout=0.3)
    engine.create(binding(landlines(0, 400)))
    assert recording_proxy.max_in_flight[ADD] == in_flight
    assert engine.calls(ADD) == 4
    assert sorted(engine.bound()) == landlines(0, 400)


# -- refusals of a batch that name no size -------------------------------------------------------------


def test_a_cap_refused_with_another_code_is_found_by_splitting(make_engine: MakeEngine) -> None:
    """Cap 40 refused as InvalidParameter with no number in the message: 200 numbers still all bind once."""
    with Emulator(max_batch_size=40, batch_cap_code="InvalidParameter",
                  batch_cap_message="Too many phone numbers in one request.") as emu:
        engine = make_engine(emu, maxConcurrency="1")
        state = engine.create(binding(landlines(0, 200)))
        assert add_outcomes(engine) == [
            (100, "InvalidParameter"), (50, "InvalidParameter"),  # split once, refused again
            (1, "OK"),  # one number alone is accepted: the refusals were about size
            (25, "OK"), (24, "OK"), (25, "OK"), (25, "OK"), *[(25, "OK")] * 4,
        ]
        assert sorted(applied_adds(emu)) == landlines(0, 200)
        assert sorted(state.outputs["phone_number_ids"]) == landlines(0, 200)


def test_a_parameter_refusal_that_is_not_about_size_fails_with_both_answers(serial: Engine) -> None:
    """Every add refused as InvalidParameter: split once, one number alone, then one error saying both."""
    message = 'The specified parameter "PhoneNumber" is not valid.'
    serial.emu.inject("throttling", action=ADD, code="InvalidParameter", message=message)
    with pytest.raises(ApplyError) as caught:
        serial.create(binding(landlines(0, 6)))
    [cause] = caught.value.errors
    assert isinstance(cause, SplitRefusedError)
    assert (cause.first.code, cause.first_size, cause.retry_size) == ("InvalidParameter", 6, 1)
    first_id = cause.first.request_id
    assert str(cause) == (
        f"adding 1 phone number to CCC instance {INSTANCE}, batch 1/1: the service refused 6 phone numbers "
        f"in one call (InvalidParameter: {message}; request id {first_id}), and refused it alone when sent "
        f"again: InvalidParameter: {message} (HTTP 400, request id {cause.request_id})"
    )
    assert add_outcomes(serial) == [(6, "InvalidParameter"), (3, "InvalidParameter"), (1, "InvalidParameter")]
    assert serial.bound() == {}


def test_a_parameter_refusal_of_one_number_is_not_retried(serial: Engine) -> None:
    """A single number refused as InvalidParameter cannot be split: the create fails with that answer."""
    serial.emu.inject("throttling", action=ADD, code="InvalidParameter", message="Bad number.")
    with pytest.raises(ApplyError) as caught:
        serial.create(binding(landlines(0, 1)))
    [cause] = caught.value.errors
    assert type(cause).__name__ == "InvalidParameterError"
    assert add_outcomes(serial) == [(1, "InvalidParameter")]


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


def default_retries(emu: Emulator, make_engine: MakeEngine) -> Engine:
    """An engine with the default retry settings (6 attempts, 200 ms doubling to 10 s, 120 s budget).

    Waits are skipped (``instant_retries``, autouse) but count towards the budget as if slept.
    """
    return make_engine(emu, retryBaseDelayMs="200", retryMaxDelayMs="10000")


@pytest.fixture(autouse=True)
def instant() -> Iterator[list[float]]:
    with instant_retries() as waits:
        yield waits


@pytest.mark.parametrize("rng_seed", [0, 1, 2])
def test_delete_of_500_numbers_converges_under_30_percent_throttling(
    make_engine: MakeEngine, rng_seed: int
) -> None:
    """Every action throttled 30% of the time: one delete unbinds all 500, each number removed once."""
    with Emulator(rng_seed=rng_seed) as emu:
        engine = default_retries(emu, make_engine)
        state = engine.create(binding(landlines(0, 500)))
        emu.clear_journal()
        emu.inject("throttling", probability=0.3)
        engine.delete(state)
        assert engine.bound() == {}
        applied = [e.params["PhoneNumberId"] for e in emu.journal if e.action == REMOVE and e.ok]
        assert sorted(applied) == sorted(state.outputs["phone_number_ids"].values())
        refused = [e.code for e in emu.journal if not e.ok]
        assert set(refused) == {"Throttling.User"}
        assert emu.calls(REMOVE) == 500 + refused.count("Throttling.User") - sum(
            1 for e in emu.journal if e.action == LIST and not e.ok
        )
        # One listing, and a second one only if a remove was still throttled after its 6 attempts.
        throttled_out = any(
            sum(1 for e in emu.journal if e.action == REMOVE and e.params["PhoneNumberId"] == pid) > 6
            for pid in state.outputs["phone_number_ids"].values()
        )
        assert sum(1 for e in emu.journal if e.action == LIST and e.ok) == (2 if throttled_out else 1)


@pytest.mark.parametrize("rng_seed", [0, 1, 2])
def test_delete_of_500_numbers_converges_under_throttling_and_5xx(
    make_engine: MakeEngine, rng_seed: int
) -> None:
    """30% throttling, 10% 503 before applying and 5% 500 after applying: one delete still unbinds all."""
    with Emulator(rng_seed=rng_seed) as emu:
        engine = default_retries(emu, make_engine)
        state = engine.create(binding(landlines(0, 500)))
        emu.clear_journal()
        emu.inject("throttling", probability=0.3)
        emu.inject("service_unavailable", probability=0.1)
        emu.inject("internal_error", probability=0.05, applied=True)
        engine.delete(state)
        assert engine.bound() == {}
        applied = [e.params["PhoneNumberId"] for e in emu.journal if e.action == REMOVE and e.ok]
        assert sorted(applied) == sorted(state.outputs["phone_number_ids"].values())  # each once
        # A remove applied but answered 500 is sent again and meets "not found": a listing confirms it.
        not_found = [e for e in emu.journal if e.action == REMOVE and e.code == "NotExist.PhoneNumber"]
        assert not_found
        # One listing first, one after the round that met "not found"; a remove still throttled after
        # its retries costs another round. Which requests draw a fault depends on thread timing (four
        # in flight), so the number of rounds may vary, never beyond the executor's bound.
        listings = sum(1 for e in emu.journal if e.action == LIST and e.ok)
        assert 2 <= listings <= 1 + executor.REMOVE_ROUNDS


def test_a_rerun_of_a_failed_delete_removes_only_what_is_left(serial: Engine) -> None:
    """A delete stopped by a refusal after 200 removes: the rerun lists once and removes the other 100."""
    state = serial.create(binding(landlines(0, 300)))
    serial.emu.clear_journal()
    serial.emu.inject("throttling", action=REMOVE, skip=200, times=1, code="Forbidden.RAM",
                      message="User not authorized to operate on the specified resource.")
    with pytest.raises(ApplyError):
        serial.delete(state)
    assert len(serial.bound()) == 100
    serial.emu.clear_journal()
    serial.delete(state)  # the engine still has the old outputs: all 300 numbers
    assert (serial.calls(LIST), serial.calls(REMOVE)) == (1, 100)
    assert [e.code for e in serial.emu.journal] == ["OK"] * 101
    assert serial.bound() == {}


def test_not_found_counts_as_done_only_when_the_listing_agrees(serial: Engine) -> None:
    """A remove answered "not found" for a number still listed bound is removed again, then fails clearly."""
    state = serial.create(binding(landlines(0, 1)))
    pid = state.outputs["phone_number_ids"][demo.landline(0)]
    serial.emu.clear_journal()
    # The service says "not found" for a binding that exists (an undocumented code's other meaning).
    serial.emu.inject("throttling", action=REMOVE, code="NotExist.PhoneNumber",
                      message=f"Phone number '{pid}' does not exist")
    with pytest.raises(ApplyError) as caught:
        serial.delete(state)
    assert str(caught.value) == (
        f"deleting the binding of 1 phone number to CCC instance {INSTANCE}: removing phone number "
        f"{demo.landline(0)} (PhoneNumberId {pid}) from CCC instance {INSTANCE}: RemovePhoneNumber answered "
        f"NotExist.PhoneNumber (Phone number '{pid}' does not exist) in each of 3 rounds, but the instance "
        "still lists the number as bound"
    )
    # 1 listing, then per round: the removes and a confirming listing.
    assert [e.action for e in serial.emu.journal] == [LIST, *[REMOVE, LIST] * 3]
    assert sorted(serial.bound()) == landlines(0, 1)
