"""The provider's hooks against the emulator with the dicts the engine sends: create, update, read, delete."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

from ccc_emulator import demo
from ccc_numbers import ApplyError, OwnershipError

if TYPE_CHECKING:
    from conftest import Engine, State

INSTANCE = demo.DEMO_INSTANCE_ID
WELCOME = demo.WELCOME_FLOW_ID
IVR = demo.IVR_FLOW_ID


def landlines(start: int, stop: int) -> list[str]:
    return [demo.landline(i) for i in range(start, stop)]


def binding(numbers: Any, **extra: Any) -> dict[str, Any]:
    """User inputs for a binding in the demo instance with the Welcome flow."""
    return {"instance_id": INSTANCE, "numbers": numbers, "contact_flow_id": WELCOME, **extra}


def assert_outputs_match_emulator_in(engine: Engine, state: State, instance_id: str) -> None:
    bound = engine.bound(instance_id)
    expected = {n: bound[n]["phone_number_id"] for n in state.outputs["numbers"]}
    assert state.outputs["phone_number_ids"] == expected


def assert_outputs_match_emulator(engine: Engine, state: State) -> None:
    assert_outputs_match_emulator_in(engine, state, INSTANCE)


# -- create ------------------------------------------------------------------------------------------


def test_create_250_numbers_makes_one_list_one_flow_check_and_three_bulk_adds(engine: Engine) -> None:
    """250 numbers with one set of settings: 1 ListPhoneNumbers, 1 ListContactFlows, 3 AddBulkPhoneNumbers.

    The flow listing is the preflight (issue 11.3): the binding refers to a contact flow and no
    skill group, so ListSkillGroups is not called.
    """
    state = engine.create(binding(landlines(0, 250)))
    assert engine.calls("ListPhoneNumbers") == 1
    assert engine.calls("ListContactFlows") == 1
    assert engine.calls("ListSkillGroups") == 0
    assert engine.calls("AddBulkPhoneNumbers") == 3
    assert engine.calls("AddPhoneNumber") == 0
    assert engine.calls() == 5
    assert sorted(engine.added_per_call()) == [50, 100, 100]
    assert sorted(engine.bound()) == landlines(0, 250)
    assert_outputs_match_emulator(engine, state)


def test_create_outputs_hold_canonical_numbers_and_ids_only(engine: Engine) -> None:
    """Outputs are the canonical inputs plus phone_number_ids: no per-number facts of the API."""
    n = demo.landline(0)
    state = engine.create(binding([n], skill_group_ids=[demo.SALES_SKILL_GROUP_ID]))
    pid = engine.bound()[n]["phone_number_id"]
    assert {k: v for k, v in state.outputs.items() if k != "__provider"} == {
        "adopt_existing": False,
        "instance_id": INSTANCE,
        "numbers": {n: {"usage": "Bidirection", "contact_flow_id": WELCOME,
                        "skill_group_ids": [demo.SALES_SKILL_GROUP_ID]}},
        "phone_number_ids": {n: pid},
    }
    assert state.id.startswith(f"{INSTANCE}/")


def test_create_groups_batches_by_settings(engine: Engine) -> None:
    """Numbers with two different settings are bound in one batch per settings group."""
    numbers = {n: {} for n in landlines(0, 30)} | {n: {"contact_flow_id": IVR} for n in landlines(30, 40)}
    engine.create(binding(numbers))
    assert engine.calls("AddBulkPhoneNumbers") == 2
    assert sorted(engine.added_per_call()) == [10, 30]
    flows = {n: b["contact_flow_id"] for n, b in engine.bound().items()}
    assert flows == dict.fromkeys(landlines(0, 30), WELCOME) | dict.fromkeys(landlines(30, 40), IVR)


# -- update ------------------------------------------------------------------------------------------


def test_no_change_up_makes_no_call_and_forced_update_no_write(engine: Engine) -> None:
    """An up with equal inputs calls nothing; an update with equal inputs only lists."""
    state = engine.create(binding(landlines(0, 20)))
    engine.emu.clear_journal()
    same = engine.up(state, binding(landlines(0, 20)))
    assert engine.calls() == 0
    assert same.outputs == state.outputs
    updated = engine.update(state, binding(landlines(0, 20)))
    assert engine.calls() == 1
    assert engine.calls("ListPhoneNumbers") == 1
    assert updated.outputs == state.outputs


def test_mixed_update_makes_exactly_the_needed_calls(engine: Engine) -> None:
    """Add 10, remove 5 and move 3 to another flow: 1 List, 1 AddBulk, 5 Remove, 3 Modify."""
    state = engine.create(binding(landlines(0, 20)))
    engine.emu.clear_journal()
    numbers: dict[str, Any] = {n: {} for n in landlines(5, 30)}
    for n in landlines(5, 8):
        numbers[n] = {"contact_flow_id": IVR}
    result = engine.diff(state, binding(numbers))
    assert (result.changes, result.replaces) == (None, None)
    updated = engine.update(state, binding(numbers))
    assert {a: engine.calls(a) for a in ("ListPhoneNumbers", "AddBulkPhoneNumbers", "RemovePhoneNumber",
                                          "ModifyPhoneNumber", "AddPhoneNumber")} == {
        "ListPhoneNumbers": 1, "AddBulkPhoneNumbers": 1, "RemovePhoneNumber": 5, "ModifyPhoneNumber": 3,
        "AddPhoneNumber": 0,
    }
    assert engine.calls() == 10
    flows = {n: b["contact_flow_id"] for n, b in engine.bound().items()}
    assert flows == dict.fromkeys(landlines(5, 8), IVR) | dict.fromkeys(landlines(8, 30), WELCOME)
    assert_outputs_match_emulator(engine, updated)


def test_update_keeps_phone_number_ids_of_untouched_numbers(engine: Engine) -> None:
    """Numbers an update leaves alone keep their PhoneNumberId in the outputs."""
    state = engine.create(binding(landlines(0, 3)))
    updated = engine.update(state, binding(landlines(0, 4)))
    before = state.outputs["phone_number_ids"]
    assert {n: updated.outputs["phone_number_ids"][n] for n in before} == before


def test_update_never_touches_numbers_it_does_not_own(engine: Engine) -> None:
    """Another binding's numbers in the same instance survive an update that removes everything it owns."""
    other = engine.create(binding(landlines(100, 105)))
    state = engine.create(binding(landlines(0, 5)))
    engine.update(state, binding(landlines(5, 6)))
    assert sorted(engine.bound()) == landlines(5, 6) + landlines(100, 105)
    assert_outputs_match_emulator(engine, other)


# -- ownership and adoption --------------------------------------------------------------------------


def test_bound_but_not_owned_is_refused_naming_its_id(engine: Engine) -> None:
    """A declared number bound but not owned is refused, naming its PhoneNumberId; nothing is written."""
    n = demo.landline(0)
    pid = engine.emu.bind(n, INSTANCE, "Inbound", IVR)
    with pytest.raises(OwnershipError) as caught:
        engine.create(binding([n, demo.landline(1)]))
    assert str(caught.value) == (
        f"creating the binding of 2 phone numbers to CCC instance {INSTANCE}: 1 phone number already bound "
        f"in this instance but not owned by this binding: {n} (PhoneNumberId {pid}); set adopt_existing=True "
        "to take it over (for example after an interrupted run), or bind it elsewhere first"
    )
    assert caught.value.conflicts == {n: pid}
    assert engine.write_calls() == 0
    assert sorted(engine.bound()) == [n]


def test_adopt_existing_takes_over_and_fixes_settings(engine: Engine) -> None:
    """With adopt_existing a bound number is adopted: modified to the desired settings, never re-added."""
    n = demo.landline(0)
    pid = engine.emu.bind(n, INSTANCE, "Inbound", IVR)
    state = engine.create(binding([n, demo.landline(1)], adopt_existing=True))
    assert (engine.calls("AddBulkPhoneNumbers"), engine.calls("ModifyPhoneNumber")) == (1, 1)
    assert engine.added_per_call() == [1]
    assert state.outputs["phone_number_ids"][n] == pid
    adopted = engine.bound()[n]
    assert (adopted["usage"], adopted["contact_flow_id"]) == ("Bidirection", WELCOME)
    # Adopted numbers are owned from then on: removing them from the program unbinds them.
    engine.update(state, binding([demo.landline(1)], adopt_existing=True))
    assert sorted(engine.bound()) == [demo.landline(1)]


def test_adopt_existing_with_equal_settings_writes_nothing(engine: Engine) -> None:
    """Adopting a number that already has the desired settings makes no write call."""
    n = demo.landline(0)
    engine.emu.bind(n, INSTANCE, "Bidirection", WELCOME)
    engine.create(binding([n], adopt_existing=True))
    assert engine.write_calls() == 0


# -- per-number rejections ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("number", "inject", "reason"),
    [
        (demo.PREBOUND_NUMBER, None, "already in use: bound to another CCC instance (unbind it there first)"),
        (demo.ARREARS_NUMBERS[0], None, "the account or number is in arrears"),
        ("02160667777", None, "not purchased in this account or rejected by the service"),
        (demo.landline(2), "failed", "not purchased in this account or rejected by the service"),
        (demo.landline(2), "arrears", "the account or number is in arrears"),
        (demo.landline(2), "used", "already in use: bound to another CCC instance (unbind it there first)"),
    ],
    ids=["other-instance", "arrears", "not-purchased", "injected-failed", "injected-arrears",
         "injected-used"],
)
def test_rejected_number_is_named_with_its_reason_and_create_rolls_back(
    engine: Engine, number: str, inject: str | None, reason: str
) -> None:
    """A number the API rejects is named with its reason in words; the create unbinds what it bound."""
    if inject is not None:
        engine.emu.inject("reject_numbers", numbers=[number], bucket=inject)
    numbers = sorted([demo.landline(0), demo.landline(1), number])
    with pytest.raises(ApplyError) as caught:
        engine.create(binding(numbers))
    assert str(caught.value) == (
        f"creating the binding of 3 phone numbers to CCC instance {INSTANCE}: adding 3 phone numbers to CCC "
        f"instance {INSTANCE}: 1 of 3 phone numbers were not bound ({number}: {reason}); unbound again the "
        "2 phone numbers this create had bound"
    )
    assert caught.value.rejected == {number: reason}
    assert caught.value.rolled_back == (demo.landline(0), demo.landline(1))
    assert engine.bound() == {}
    assert engine.calls("RemovePhoneNumber") == 2


def test_every_rejection_in_every_batch_is_reported_at_once(engine: Engine) -> None:
    """Rejections from several batches come back in one error, each number with its reason."""
    numbers: dict[str, Any] = {n: {} for n in landlines(0, 3)}
    numbers[demo.PREBOUND_NUMBER] = {}
    numbers[demo.ARREARS_NUMBERS[1]] = {"contact_flow_id": IVR}
    numbers["02160667777"] = {"usage": "Inbound"}
    with pytest.raises(ApplyError) as caught:
        engine.create(binding(numbers))
    assert caught.value.rejected == {
        demo.PREBOUND_NUMBER: "already in use: bound to another CCC instance (unbind it there first)",
        "02160667777": "not purchased in this account or rejected by the service",
        demo.ARREARS_NUMBERS[1]: "the account or number is in arrears",
    }
    assert engine.calls("AddBulkPhoneNumbers") == 3
    assert engine.bound() == {}
    assert engine.bound(demo.DEMO_INSTANCE_2_ID) == {
        demo.PREBOUND_NUMBER: engine.bound(demo.DEMO_INSTANCE_2_ID)[demo.PREBOUND_NUMBER]
    }


# -- read --------------------------------------------------------------------------------------------


def test_read_without_drift_returns_the_same_outputs_and_inputs(engine: Engine) -> None:
    """A refresh with nothing changed returns outputs and inputs equal to the state's."""
    state = engine.create(binding(landlines(0, 5), skill_group_ids=[demo.DEFAULT_SKILL_GROUP_ID]))
    engine.emu.clear_journal()
    refreshed = engine.read(state)
    assert refreshed == state
    assert engine.calls() == 1


def test_read_reflects_drift_and_next_up_repairs_it(engine: Engine) -> None:
    """Out-of-band unbind and rebind show in read; the next up re-adds and re-modifies exactly those."""
    state = engine.create(binding(landlines(0, 5)))
    engine.emu.unbind(demo.landline(0))
    engine.emu.unbind(demo.landline(1))
    new_pid = engine.emu.bind(demo.landline(1), INSTANCE, "Inbound", IVR)
    refreshed = engine.read(state)
    assert refreshed is not None
    welcome = {"usage": "Bidirection", "contact_flow_id": WELCOME, "skill_group_ids": []}
    expected_numbers = dict.fromkeys(landlines(2, 5), welcome) | {
        demo.landline(1): {"usage": "Inbound", "contact_flow_id": IVR, "skill_group_ids": []}
    }
    assert refreshed.outputs["numbers"] == expected_numbers
    assert refreshed.inputs == {"adopt_existing": False, "instance_id": INSTANCE, "numbers": expected_numbers,
                                "__provider": engine.pickled}
    assert refreshed.outputs["phone_number_ids"][demo.landline(1)] == new_pid
    engine.emu.clear_journal()
    repaired = engine.up(refreshed, binding(landlines(0, 5)))
    assert {a: engine.calls(a) for a in ("ListPhoneNumbers", "AddBulkPhoneNumbers", "ModifyPhoneNumber")} == {
        "ListPhoneNumbers": 1, "AddBulkPhoneNumbers": 1, "ModifyPhoneNumber": 1,
    }
    assert engine.added_per_call() == [1]
    assert repaired.outputs["numbers"] == dict.fromkeys(landlines(0, 5), welcome)
    assert_outputs_match_emulator(engine, repaired)


def test_read_when_every_number_is_gone_drops_the_resource(engine: Engine) -> None:
    """read returns ReadResult(None, {}) when none of the owned numbers is bound any more."""
    state = engine.create(binding(landlines(0, 3)))
    for n in landlines(0, 3):
        engine.emu.unbind(n)
    result = engine.provider.read(state.id, state.outputs)
    assert (result.id, result.outs, result.inputs) == (None, {}, None)


def test_read_of_a_vanished_instance_drops_the_resource(engine: Engine) -> None:
    """An instance the API no longer knows has no bindings: the resource is gone, not an error."""
    state = engine.create(binding(landlines(0, 1)))
    outputs = {**state.outputs, "instance_id": "00000000-0000-4000-8000-000000000000"}
    result = engine.provider.read(state.id, outputs)
    assert (result.id, result.outs) == (None, {})


# -- delete ------------------------------------------------------------------------------------------


def test_delete_unbinds_owned_numbers_only_and_gone_counts_as_done(engine: Engine) -> None:
    """delete unbinds the owned numbers still bound (re-bound ones included) and leaves all others alone."""
    state = engine.create(binding(landlines(0, 5)))
    other_pid = engine.emu.bind(demo.landline(100), INSTANCE)
    engine.emu.unbind(demo.landline(0))  # gone already
    engine.emu.unbind(demo.landline(1))
    engine.emu.bind(demo.landline(1), INSTANCE)  # re-bound out of band: its stored id is stale
    engine.emu.clear_journal()
    engine.delete(state)
    # One listing first (issue 10.1): the gone number costs no call, the three still bound are removed
    # by their stored ids and the re-bound one by the id the listing shows.
    assert (engine.calls("RemovePhoneNumber"), engine.calls("ListPhoneNumbers")) == (4, 1)
    assert [e.code for e in engine.emu.journal] == ["OK"] * 5
    assert engine.bound() == {demo.landline(100): engine.bound()[demo.landline(100)]}
    assert engine.bound()[demo.landline(100)]["phone_number_id"] == other_pid
    assert sorted(engine.bound(demo.DEMO_INSTANCE_2_ID)) == [demo.PREBOUND_NUMBER]


def test_delete_after_everything_is_gone_succeeds(engine: Engine) -> None:
    """Deleting a binding whose numbers are all unbound already costs one listing and no remove."""
    state = engine.create(binding(landlines(0, 3)))
    for n in landlines(0, 3):
        engine.emu.unbind(n)
    engine.emu.clear_journal()
    engine.delete(state)
    assert (engine.calls("RemovePhoneNumber"), engine.calls("ListPhoneNumbers")) == (0, 1)


def test_delete_with_outputs_marshalled_without_ids_looks_numbers_up(engine: Engine) -> None:
    """Outputs that lost phone_number_ids still delete: the numbers are found by one listing."""
    state = engine.create(binding(landlines(0, 3)))
    outputs = {k: v for k, v in state.outputs.items() if k != "phone_number_ids"}
    engine.emu.clear_journal()
    engine.provider.delete(state.id, outputs)
    assert (engine.calls("ListPhoneNumbers"), engine.calls("RemovePhoneNumber")) == (1, 3)
    assert engine.bound() == {}


def test_replace_to_another_instance_deletes_then_creates(engine: Engine) -> None:
    """An instance change is a delete-before-replace; the numbers end up bound to the new instance."""
    state = engine.create(binding(landlines(0, 3)))
    news = {"instance_id": demo.DEMO_INSTANCE_2_ID, "numbers": landlines(0, 3),
            "contact_flow_id": demo.INSTANCE_2_FLOW_ID}
    result = engine.diff(state, news)
    assert (result.changes, result.replaces, result.delete_before_replace) == (True, ["instance_id"], True)
    engine.delete(state)
    replaced = engine.create(news)
    assert engine.bound() == {}
    assert sorted(engine.bound(demo.DEMO_INSTANCE_2_ID)) == [demo.PREBOUND_NUMBER, *landlines(0, 3)]
    assert_outputs_match_emulator_in(engine, replaced, demo.DEMO_INSTANCE_2_ID)
