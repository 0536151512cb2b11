"""PhoneNumberBinding through the real Pulumi engine (Automation API, inline programs) on the emulator.

Each test runs a program through the real CLI's preview, up, refresh or destroy and asserts what a
user would see (the CLI's text, the stack's state) and the exact CCC API calls from the emulator's
journal: what a real account would be charged and rate-limited for.
"""

from __future__ import annotations

import math

import pytest

from ccc_emulator import Emulator, demo

from .conftest import MakeStack
from .programs import (
    INSTANCE,
    INSTANCE_2,
    IVR,
    WELCOME,
    Binding,
    actions,
    bound,
    count,
    entries,
    ids_in,
    landlines,
    program,
    resource_block,
    sent_numbers,
)

pytestmark = [pytest.mark.real_engine, pytest.mark.slow]

TYPE = "pulumi-python:dynamic/ccc:PhoneNumberBinding"


def kept(resource: dict[str, object]) -> tuple[object, ...]:
    """What a refresh without drift must leave as it was."""
    return (resource["urn"], resource["id"], resource["inputs"], resource["outputs"])


def settings_lines(
    sign: str, flow: str = WELCOME, groups: str = "[]", usage: str = "Bidirection"
) -> list[str]:
    """How the CLI prints a whole added (``+``) or removed (``-``) number's settings."""
    return [
        f"        {sign} contact_flow_id: \"{flow}\"",
        f"        {sign} skill_group_ids: {groups}",
        f"        {sign} usage          : \"{usage}\"",
        "      }",
    ]


# --- Preview and create ---------------------------------------------------------------------------


def test_preview_of_a_new_stack_makes_no_api_call(make_stack: MakeStack, ccc_emulator: Emulator) -> None:
    """Preview checks the binding offline: no API request, nothing in state, ids unknown."""
    stack = make_stack(program(Binding("support", landlines(0, 150))))

    run = stack.preview()

    assert run.ok, run.text
    assert ccc_emulator.journal == []
    assert run.changes == {"create": 2}
    assert f"+ {TYPE}: (create)" in run.stdout
    assert "support_ids: [unknown]" in run.stdout
    assert stack.resources() == []
    assert bound(ccc_emulator) == {}


@pytest.mark.parametrize("n", [101, 250])
def test_up_lists_once_and_adds_in_batches_of_100_per_binding(
    make_stack: MakeStack, ccc_emulator: Emulator, n: int
) -> None:
    """Up makes 1 ListPhoneNumbers and ceil(n/100) AddBulkPhoneNumbers per binding, nothing else."""
    big, small = landlines(0, n), landlines(600, 603)
    stack = make_stack(program(Binding("big", big), Binding("small", small, contact_flow_id=IVR)))

    run = stack.up()

    assert run.ok, run.text
    # One listing per binding; the instance's contact flows once for both (preflight.py: once per
    # instance per provider process); no skill group named, so no ListSkillGroups.
    assert count(ccc_emulator) == {
        "ListPhoneNumbers": 2, "ListContactFlows": 1, "AddBulkPhoneNumbers": math.ceil(n / 100) + 1,
    }
    assert actions(ccc_emulator)[0] == "ListPhoneNumbers"
    per_call = [len(sent_numbers(e)) for e in entries(ccc_emulator, "AddBulkPhoneNumbers")]
    assert sorted(per_call) == sorted([100] * (n // 100) + ([n % 100] if n % 100 else []) + [3])
    assert run.changes == {"create": 3}
    live = ids_in(ccc_emulator)
    assert sorted(live) == sorted(big + small)
    assert run.outputs == {
        "big_ids": {number: live[number] for number in big},
        "small_ids": {number: live[number] for number in small},
    }
    small_state = next(r for r in stack.resources() if r["urn"].endswith("::small"))
    assert small_state["id"].split("/")[0] == INSTANCE
    assert small_state["outputs"]["numbers"] == {
        number: {"usage": "Bidirection", "contact_flow_id": IVR, "skill_group_ids": []} for number in small
    }
    assert {b["contact_flow_id"] for b in bound(ccc_emulator).values()} == {WELCOME, IVR}


def test_second_up_without_change_makes_no_api_call(make_stack: MakeStack, ccc_emulator: Emulator) -> None:
    """An unchanged up passes --expect-no-changes and sends no API request at all."""
    stack = make_stack(program(Binding("support", landlines(0, 120))))
    assert stack.up().ok
    before = stack.resources()
    ccc_emulator.clear_journal()

    run = stack.up(expect_no_changes=True)

    assert run.ok, run.text
    assert ccc_emulator.journal == []
    assert run.changes == {"same": 2}
    assert stack.resources() == before
    assert run.outputs["support_ids"] == ids_in(ccc_emulator)


def test_refresh_without_drift_keeps_state_and_the_next_up_calls_nothing(
    make_stack: MakeStack, ccc_emulator: Emulator
) -> None:
    """Refresh reads exactly the checked inputs back (400 numbers, per-number flows, unsorted groups)."""
    numbers: dict[str, dict[str, object]] = {demo.toll_free(i): {"contact_flow_id": IVR} for i in range(3)}
    numbers.update(
        {
            n: {"skill_group_ids": [demo.SUPPORT_SKILL_GROUP_ID, demo.DEFAULT_SKILL_GROUP_ID]}
            for n in landlines(0, 4)
        }
    )
    stack = make_stack(
        program(Binding("hotline", numbers, contact_flow_id=None), Binding("plain", landlines(4, 6)))
    )
    assert stack.up().ok
    before = stack.resources()
    ccc_emulator.clear_journal()

    run = stack.refresh(expect_no_changes=True)

    assert run.ok, run.text
    # The reads of one refresh share one listing of the instance.
    assert actions(ccc_emulator) == ["ListPhoneNumbers"]
    # Refresh keeps ids, inputs and outputs byte for byte (the engine drops propertyDependencies).
    assert [kept(r) for r in stack.resources()] == [kept(r) for r in before]
    ccc_emulator.clear_journal()

    assert stack.up(expect_no_changes=True).ok
    assert ccc_emulator.journal == []


# --- Editing the program --------------------------------------------------------------------------


def test_preview_diff_prints_one_entry_per_changed_number_and_up_makes_exactly_those_calls(
    make_stack: MakeStack, ccc_emulator: Emulator
) -> None:
    """Removing, re-flowing and adding one number each: the diff names those three; up makes 4 calls."""
    numbers = landlines(0, 8)
    stack = make_stack(program(Binding("support", numbers)))
    assert stack.up().ok
    before = ids_in(ccc_emulator)
    removed, reflowed, added = numbers[0], numbers[3], demo.landline(20)
    edited = {n: ({"contact_flow_id": IVR} if n == reflowed else {}) for n in [*numbers[1:], added]}
    stack.program = program(Binding("support", edited))
    ccc_emulator.clear_journal()

    preview = stack.preview()

    assert preview.ok, preview.text
    assert ccc_emulator.journal == []
    assert preview.changes == {"same": 1, "update": 1}
    assert resource_block(preview.stdout, "support") == [
        "~ numbers: {",
        f"    - {removed}: {{",
        *settings_lines("-"),
        f"    ~ {reflowed}: {{",
        f"        ~ contact_flow_id: \"{WELCOME}\" => \"{IVR}\"",
        "      }",
        f"    + {added}: {{",
        *settings_lines("+"),
        "  }",
    ]

    run = stack.up()

    assert run.ok, run.text
    assert actions(ccc_emulator) == [
        "ListPhoneNumbers", "RemovePhoneNumber", "AddBulkPhoneNumbers", "ModifyPhoneNumber",
    ]
    assert entries(ccc_emulator, "RemovePhoneNumber")[0].params["PhoneNumberId"] == before[removed]
    assert sent_numbers(entries(ccc_emulator, "AddBulkPhoneNumbers")[0]) == [added]
    modify = entries(ccc_emulator, "ModifyPhoneNumber")[0]
    assert (modify.params["PhoneNumberId"], modify.params["ContactFlowId"]) == (before[reflowed], IVR)
    live = bound(ccc_emulator)
    assert sorted(live) == sorted(edited)
    assert {n: b["contact_flow_id"] for n, b in live.items()} == {
        n: IVR if n == reflowed else WELCOME for n in edited
    }
    assert {n: before[n] for n in numbers[1:]} == {n: live[n]["phone_number_id"] for n in numbers[1:]}
    assert run.outputs["support_ids"] == ids_in(ccc_emulator)


def test_adding_numbers_to_a_list_shows_only_the_new_ones(
    make_stack: MakeStack, ccc_emulator: Emulator
) -> None:
    """Numbers inserted in the middle of a list diff as two additions, not as every later index changing."""
    numbers = landlines(0, 10)
    stack = make_stack(program(Binding("support", numbers)))
    assert stack.up().ok
    grown = [*numbers[:5], demo.landline(30), demo.landline(31), *numbers[5:]]
    stack.program = program(Binding("support", grown))
    ccc_emulator.clear_journal()

    preview = stack.preview()

    assert resource_block(preview.stdout, "support") == [
        "~ numbers: {",
        f"    + {demo.landline(30)}: {{",
        *settings_lines("+"),
        f"    + {demo.landline(31)}: {{",
        *settings_lines("+"),
        "  }",
    ]
    run = stack.up()
    assert run.ok, run.text
    assert actions(ccc_emulator) == ["ListPhoneNumbers", "AddBulkPhoneNumbers"]
    added = entries(ccc_emulator, "AddBulkPhoneNumbers")[0]
    assert sent_numbers(added) == [demo.landline(30), demo.landline(31)]


def test_moving_a_number_between_bindings_removes_from_the_giver_before_the_receiver_adds(
    make_stack: MakeStack, ccc_emulator: Emulator
) -> None:
    """With the receiver depending on the giver, the giver unbinds the number before the receiver binds it."""
    giver_numbers, receiver_numbers = landlines(0, 5), landlines(5, 8)
    moved = giver_numbers[-1]
    stack = make_stack(
        program(
            Binding("giver", giver_numbers),
            Binding("receiver", receiver_numbers, contact_flow_id=IVR, depends_on=("giver",)),
        )
    )
    assert stack.up().ok
    before = ids_in(ccc_emulator)
    stack.program = program(
        Binding("giver", giver_numbers[:-1]),
        Binding("receiver", [*receiver_numbers, moved], contact_flow_id=IVR, depends_on=("giver",)),
    )
    ccc_emulator.clear_journal()

    run = stack.up()

    assert run.ok, run.text
    assert actions(ccc_emulator) == [
        "ListPhoneNumbers", "RemovePhoneNumber", "ListPhoneNumbers", "AddBulkPhoneNumbers",
    ]
    assert entries(ccc_emulator, "RemovePhoneNumber")[0].params["PhoneNumberId"] == before[moved]
    assert sent_numbers(entries(ccc_emulator, "AddBulkPhoneNumbers")[0]) == [moved]
    live = bound(ccc_emulator)
    assert live[moved]["contact_flow_id"] == IVR
    assert sorted(run.outputs["giver_ids"]) == giver_numbers[:-1]
    assert run.outputs["receiver_ids"] == {n: live[n]["phone_number_id"] for n in [*receiver_numbers, moved]}


# --- Drift ----------------------------------------------------------------------------------------


def test_refresh_shows_exactly_the_drift_and_the_next_up_repairs_it(
    make_stack: MakeStack, ccc_emulator: Emulator
) -> None:
    """Numbers unbound or re-flowed out of band show in refresh; up re-adds and re-flows exactly those."""
    kept_numbers, lost_numbers = landlines(0, 6), landlines(6, 8)
    stack = make_stack(program(Binding("kept", kept_numbers), Binding("lost", lost_numbers)))
    assert stack.up().ok
    unbound = kept_numbers[1]
    reflowed = kept_numbers[4]
    ccc_emulator.unbind(unbound)
    pid = ids_in(ccc_emulator)[reflowed]
    ccc_emulator.unbind(reflowed)
    for number in lost_numbers:
        ccc_emulator.unbind(number)
    reflowed_id = ccc_emulator.bind(reflowed, INSTANCE, contact_flow_id=IVR)
    assert reflowed_id != pid
    ccc_emulator.clear_journal()

    run = stack.refresh()

    assert run.ok, run.text
    assert actions(ccc_emulator) == ["ListPhoneNumbers"]
    assert run.changes == {"same": 1, "update": 1, "delete": 1}
    block = resource_block(run.stdout, "kept")
    assert f"    - {unbound}: {{" in block
    assert f"        ~ contact_flow_id: \"{WELCOME}\" => \"{IVR}\"" in block
    assert [line for line in block if line.startswith("    ") and line.strip().endswith(": {")] == [
        f"    - {unbound}: {{", f"    ~ {reflowed}: {{",
    ]
    assert [r["urn"].rsplit("::", 1)[1] for r in stack.resources()] == ["kept"]
    ccc_emulator.clear_journal()

    up = stack.up()

    assert up.ok, up.text
    # Each binding lists the instance and adds what it misses (the flows are checked once for both);
    # kept re-flows one.
    assert count(ccc_emulator) == {
        "ListPhoneNumbers": 2, "ListContactFlows": 1, "AddBulkPhoneNumbers": 2, "ModifyPhoneNumber": 1,
    }
    adds = sorted(sent_numbers(e) for e in entries(ccc_emulator, "AddBulkPhoneNumbers"))
    assert adds == sorted([[unbound], lost_numbers])
    live = bound(ccc_emulator)
    assert sorted(live) == sorted(kept_numbers + lost_numbers)
    assert {b["contact_flow_id"] for b in live.values()} == {WELCOME}


# --- Replace and destroy --------------------------------------------------------------------------


def test_changing_the_instance_replaces_deleting_the_old_binding_first(
    make_stack: MakeStack, ccc_emulator: Emulator
) -> None:
    """A new instance_id unbinds the numbers from the old instance, then binds them in the new one."""
    numbers = landlines(0, 3)
    stack = make_stack(program(Binding("support", numbers)))
    assert stack.up().ok
    old_ids = ids_in(ccc_emulator)
    old_id = stack.resources()[0]["id"]
    stack.program = program(
        Binding("support", numbers, instance_id=INSTANCE_2, contact_flow_id=demo.INSTANCE_2_FLOW_ID)
    )
    ccc_emulator.clear_journal()

    preview = stack.preview()
    assert ccc_emulator.journal == []
    assert preview.changes == {"same": 1, "replace": 1}
    assert f"+-{TYPE}: (replace)" in preview.stdout
    assert f'~ instance_id   : "{INSTANCE}" => "{INSTANCE_2}"' in resource_block(preview.stdout, "support")

    run = stack.up()

    assert run.ok, run.text
    assert run.changes == {"same": 1, "replace": 1}
    removes = entries(ccc_emulator, "RemovePhoneNumber")
    # Delete first: every remove from the old instance comes before the new instance is touched.
    first_in_new = min(e.seq for e in ccc_emulator.journal if e.params.get("InstanceId") == INSTANCE_2)
    assert max(e.seq for e in removes) < first_in_new
    assert {e.params["InstanceId"] for e in removes} == {INSTANCE}
    assert sorted(e.params["PhoneNumberId"] for e in removes) == sorted(old_ids.values())
    assert entries(ccc_emulator, "AddBulkPhoneNumbers")[0].params["InstanceId"] == INSTANCE_2
    assert bound(ccc_emulator) == {}
    assert sorted(bound(ccc_emulator, INSTANCE_2)) == sorted([*numbers, demo.PREBOUND_NUMBER])
    new = stack.resources()[0]
    assert new["id"].split("/")[0] == INSTANCE_2
    assert new["id"] != old_id
    assert run.outputs["support_ids"] == {n: ids_in(ccc_emulator, INSTANCE_2)[n] for n in numbers}


def test_destroy_unbinds_the_stacks_numbers_and_leaves_every_other_binding_alone(
    make_stack: MakeStack, ccc_emulator: Emulator
) -> None:
    """Destroy removes each owned number, and no other binding in the account changes."""
    ccc_emulator.bind(demo.landline(900), INSTANCE, contact_flow_id=WELCOME)
    before = sorted(ccc_emulator.bindings(), key=lambda b: b["number"])
    first, second = landlines(0, 4), landlines(4, 6)
    stack = make_stack(program(Binding("first", first), Binding("second", {n: {} for n in second})))
    assert stack.up().ok
    owned_ids = {**stack.outputs()["first_ids"], **stack.outputs()["second_ids"]}
    ccc_emulator.clear_journal()

    run = stack.destroy()

    assert run.ok, run.text
    assert run.changes == {"delete": 3}
    removes = [e.params["PhoneNumberId"] for e in entries(ccc_emulator, "RemovePhoneNumber")]
    assert sorted(removes) == sorted(owned_ids.values())
    # Each delete lists its instance once and removes only what is still bound.
    assert count(ccc_emulator) == {"ListPhoneNumbers": 2, "RemovePhoneNumber": 6}
    assert sorted(ccc_emulator.bindings(), key=lambda b: b["number"]) == before
    assert stack.resources() == []
