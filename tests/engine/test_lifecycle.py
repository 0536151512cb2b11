"""PhoneNumberBinding through the engine driver and the real provider host, against the CCC emulator.

Each test runs a Pulumi program (a closure over the test's numbers) through preview, up, refresh or
destroy as the engine does, and asserts the exact CCC API calls from the emulator's journal: what a
real account would be charged and rate-limited for.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
import pytest

from ccc_emulator import Emulator, JournalEntry, demo
from ccc_numbers import PhoneNumberBinding

from . import UNKNOWN, CheckFailedError, OperationResult, ProviderError, Stack, Step, secret

pytestmark = pytest.mark.slow

INSTANCE = demo.DEMO_INSTANCE_ID
INSTANCE_2 = demo.DEMO_INSTANCE_2_ID
WELCOME = demo.WELCOME_FLOW_ID
IVR = demo.IVR_FLOW_ID
TYPE = "pulumi-python:dynamic/ccc:PhoneNumberBinding"
PROVIDER_KEY = "__provider"
#: The engine's calls about the provider itself: they carry the whole stack config.
CONFIG_METHODS = frozenset({"CheckConfig", "DiffConfig", "Configure"})


def landlines(start: int, stop: int) -> list[str]:
    """Demo landline numbers with indexes start .. stop-1."""
    return [demo.landline(i) for i in range(start, stop)]


# --- Programs -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Binding:
    """One PhoneNumberBinding a test program registers; None fields are left out of the call."""

    name: str
    numbers: Sequence[str] | Mapping[str, Mapping[str, Any]]
    instance_id: str = INSTANCE
    contact_flow_id: str | None = WELCOME
    skill_group_ids: Sequence[str] | None = None
    usage: str | None = None
    adopt_existing: bool | None = None
    depends_on: tuple[str, ...] = field(default_factory=tuple)


def program(*bindings: Binding) -> Callable[[], None]:
    """A program registering the bindings in order and exporting each one's `<name>_ids`."""

    def run() -> None:
        made: dict[str, PhoneNumberBinding] = {}
        for b in bindings:
            opts = (
                pulumi.ResourceOptions(depends_on=[made[n] for n in b.depends_on]) if b.depends_on else None
            )
            keywords: dict[str, Any] = {
                "contact_flow_id": b.contact_flow_id,
                "skill_group_ids": list(b.skill_group_ids) if b.skill_group_ids is not None else None,
                "usage": b.usage,
                "adopt_existing": b.adopt_existing,
            }
            numbers: Any = dict(b.numbers) if isinstance(b.numbers, Mapping) else list(b.numbers)
            made[b.name] = PhoneNumberBinding(
                b.name,
                opts=opts,
                instance_id=b.instance_id,
                numbers=numbers,
                **{k: v for k, v in keywords.items() if v is not None},
            )
            pulumi.export(f"{b.name}_ids", made[b.name].phone_number_ids)

    return run


def fast_config(emu: Emulator, **extra: str) -> dict[str, str]:
    """Stack config for the emulator: demo key, no rate limit to speak of, instant retries."""
    return {
        "ccc:endpoint": emu.url,
        "ccc:accessKeyId": demo.DEMO_ACCESS_KEY_ID,
        "ccc:accessKeySecret": demo.DEMO_ACCESS_KEY_SECRET,
        "ccc:requestsPerSecond": "10000",
        "ccc:retryBaseDelayMs": "0",
        "ccc:retryMaxDelayMs": "0",
        **{f"ccc:{k}": v for k, v in extra.items()},
    }


MakeStack = Callable[..., Stack]


@pytest.fixture
def make_stack(ccc_emulator: Emulator, tmp_path: Path) -> MakeStack:
    """Stacks of a project in tmp_path configured to the test's emulator, the secret kept secret."""

    def make(*bindings: Binding, **extra: str) -> Stack:
        return Stack(
            tmp_path,
            program(*bindings),
            project="lifecycle",
            config=fast_config(ccc_emulator, **extra),
            secret_keys={"ccc:accessKeySecret"},
        )

    return make


# --- What the emulator saw ------------------------------------------------------------------------


#: The preflight's reads of a create or update; they run beside its first listing, in no fixed order
#: (their counts are tested in tests/provider/test_executor.py).
PREFLIGHT = ("ListContactFlows", "ListSkillGroups")


def actions(emu: Emulator) -> list[str]:
    """The journal's actions, in order, without the preflight's reads."""
    return [entry.action for entry in emu.journal if entry.action not in PREFLIGHT]


def entries(emu: Emulator, action: str) -> list[JournalEntry]:
    return [entry for entry in emu.journal if entry.action == action]


def sent_numbers(entry: JournalEntry) -> list[str]:
    """The PhoneNumber.N values of an AddBulkPhoneNumbers request, in N order."""
    keyed = {int(k.split(".")[1]): v for k, v in entry.params.items() if k.startswith("PhoneNumber.")}
    return [keyed[i] for i in sorted(keyed)]


def bound(emu: Emulator, instance_id: str = INSTANCE) -> dict[str, dict[str, Any]]:
    """The emulator's bindings in one instance, keyed by number."""
    return {b["number"]: b for b in emu.bindings(instance_id)}


def ids_in(emu: Emulator, instance_id: str = INSTANCE) -> dict[str, str]:
    return {number: b["phone_number_id"] for number, b in bound(emu, instance_id).items()}


def diff_answers(res: OperationResult) -> list[str]:
    return [call.response["changes"] for call in res.calls if call.method == "Diff" and call.response]


def count(emu: Emulator) -> dict[str, int]:
    """Calls per action, every outcome counted."""
    counts: dict[str, int] = {}
    for action in actions(emu):
        counts[action] = counts.get(action, 0) + 1
    return counts


# --- Preview and create ---------------------------------------------------------------------------


def test_preview_of_a_new_stack_makes_no_api_call(make_stack: MakeStack, ccc_emulator: Emulator) -> None:
    """Preview checks the binding offline: no API request, no Create, no state, ids unknown."""
    stack = make_stack(Binding("support", landlines(0, 150)))

    res = stack.preview()

    assert ccc_emulator.journal == []
    assert res.requests("Create") == []
    assert res.methods() == ["Handshake", "CheckConfig", "Configure", "Check"]
    assert res.steps == [Step("create", "support")]
    assert res.outputs == {"support_ids": UNKNOWN}
    assert stack.resources == {}
    assert bound(ccc_emulator) == {}


@pytest.mark.parametrize("n", [100, 101, 250])
def test_up_lists_once_and_adds_in_batches_of_100_per_binding(
    make_stack: MakeStack, ccc_emulator: Emulator, n: int
) -> None:
    """Up makes 1 ListPhoneNumbers and ceil(n/100) AddBulkPhoneNumbers per binding, nothing else."""
    big, small = landlines(0, n), landlines(600, 603)
    stack = make_stack(Binding("big", big), Binding("small", small, contact_flow_id=IVR))

    res = stack.up()

    # The preview pass made no call either: these are all the calls of both passes.
    assert count(ccc_emulator) == {"ListPhoneNumbers": 2, "AddBulkPhoneNumbers": math.ceil(n / 100) + 1}
    assert actions(ccc_emulator)[0] == "ListPhoneNumbers"
    per_call = [len(sent_numbers(e)) for e in entries(ccc_emulator, "AddBulkPhoneNumbers")]
    assert sorted(per_call) == sorted([100] * (n // 100) + ([n % 100] if n % 100 else []) + [3])
    assert [call.method for call in res.calls].count("Create") == 2
    assert res.steps == [Step("create", "big"), Step("create", "small")]
    live = ids_in(ccc_emulator)
    assert sorted(live) == sorted(big + small)
    assert res.outputs == {
        "big_ids": {number: live[number] for number in big},
        "small_ids": {number: live[number] for number in small},
    }
    state = stack.resources["small"]
    assert (state.type, state.id.split("/")[0]) == (TYPE, INSTANCE)
    assert state.plain_outputs["numbers"] == {
        number: {"usage": "Bidirection", "contact_flow_id": IVR, "skill_group_ids": []} for number in small
    }
    assert {b["contact_flow_id"] for b in bound(ccc_emulator).values()} == {WELCOME, IVR}


def test_second_up_without_change_makes_no_api_call(make_stack: MakeStack, ccc_emulator: Emulator) -> None:
    """An unchanged up answers Diff with DIFF_NONE in both passes and sends no API request at all."""
    stack = make_stack(Binding("support", landlines(0, 120)))
    stack.up(skip_preview=True)
    before = stack.resources["support"]
    ccc_emulator.clear_journal()

    res = stack.up(expect_no_changes=True)

    assert ccc_emulator.journal == []
    assert diff_answers(res) == ["DIFF_NONE", "DIFF_NONE"]
    assert [m for m in res.methods() if m in ("Create", "Update", "Delete", "Read")] == []
    assert res.steps == [Step("same", "support")]
    assert stack.resources["support"].outputs == before.outputs
    assert res.outputs["support_ids"] == ids_in(ccc_emulator)


def test_refresh_without_drift_keeps_state_and_the_next_up_calls_nothing(
    make_stack: MakeStack, ccc_emulator: Emulator
) -> None:
    """Read reports exactly the checked inputs back (400 numbers, per-number flows, unsorted groups)."""
    numbers: dict[str, dict[str, Any]] = {demo.toll_free(i): {"contact_flow_id": IVR} for i in range(3)}
    numbers.update(
        {
            n: {"skill_group_ids": [demo.SUPPORT_SKILL_GROUP_ID, demo.DEFAULT_SKILL_GROUP_ID]}
            for n in landlines(0, 4)
        }
    )
    stack = make_stack(Binding("hotline", numbers, contact_flow_id=None), Binding("plain", landlines(4, 6)))
    stack.up(skip_preview=True)
    before = [(r.inputs, r.outputs) for r in stack.state]
    ccc_emulator.clear_journal()

    res = stack.refresh(skip_preview=True)

    assert actions(ccc_emulator) == ["ListPhoneNumbers"]
    assert res.drift == {}
    assert diff_answers(res) == ["DIFF_NONE", "DIFF_NONE"]
    assert [(r.inputs, r.outputs) for r in stack.state] == before
    ccc_emulator.clear_journal()

    up = stack.up(expect_no_changes=True)

    assert ccc_emulator.journal == []
    assert diff_answers(up) == ["DIFF_NONE"] * 4


# --- Editing the program --------------------------------------------------------------------------


def test_adding_numbers_lists_once_and_adds_only_the_new_ones(
    make_stack: MakeStack, ccc_emulator: Emulator
) -> None:
    """Five more numbers cost 1 ListPhoneNumbers and 1 AddBulkPhoneNumbers carrying exactly those five."""
    stack = make_stack(Binding("support", landlines(0, 10)))
    stack.up(skip_preview=True)
    before = ids_in(ccc_emulator)
    stack.program = program(Binding("support", landlines(0, 15)))
    ccc_emulator.clear_journal()

    res = stack.up(skip_preview=True)

    assert actions(ccc_emulator) == ["ListPhoneNumbers", "AddBulkPhoneNumbers"]
    assert sent_numbers(entries(ccc_emulator, "AddBulkPhoneNumbers")[0]) == landlines(10, 15)
    # changes=None: the engine diffs the inputs per number itself.
    assert diff_answers(res) == ["DIFF_UNKNOWN"]
    assert res.steps == [Step("update", "support")]
    after = ids_in(ccc_emulator)
    assert sorted(after) == landlines(0, 15)
    assert {n: after[n] for n in before} == before
    assert res.outputs["support_ids"] == after
    assert sorted(stack.resources["support"].plain_inputs["numbers"]) == landlines(0, 15)


def test_removing_numbers_lists_once_and_removes_each_by_its_id(
    make_stack: MakeStack, ccc_emulator: Emulator
) -> None:
    """Dropping three numbers costs 1 ListPhoneNumbers and 3 RemovePhoneNumber with their ids."""
    stack = make_stack(Binding("support", landlines(0, 10)))
    stack.up(skip_preview=True)
    before = ids_in(ccc_emulator)
    stack.program = program(Binding("support", landlines(0, 7)))
    ccc_emulator.clear_journal()

    res = stack.up(skip_preview=True)

    assert actions(ccc_emulator) == ["ListPhoneNumbers", *["RemovePhoneNumber"] * 3]
    removed = sorted(e.params["PhoneNumberId"] for e in entries(ccc_emulator, "RemovePhoneNumber"))
    assert removed == sorted(before[n] for n in landlines(7, 10))
    assert res.steps == [Step("update", "support")]
    assert ids_in(ccc_emulator) == {n: before[n] for n in landlines(0, 7)}
    assert res.outputs["support_ids"] == ids_in(ccc_emulator)


def test_changing_a_contact_flow_lists_once_and_modifies_each_changed_number(
    make_stack: MakeStack, ccc_emulator: Emulator
) -> None:
    """Moving 3 of 8 numbers to the IVR flow costs 1 ListPhoneNumbers and 3 ModifyPhoneNumber."""
    numbers = landlines(0, 8)
    stack = make_stack(Binding("support", {n: {} for n in numbers}))
    stack.up(skip_preview=True)
    before = ids_in(ccc_emulator)
    changed = numbers[2:5]
    stack.program = program(
        Binding("support", {n: {"contact_flow_id": IVR} if n in changed else {} for n in numbers})
    )
    ccc_emulator.clear_journal()

    res = stack.up(skip_preview=True)

    assert actions(ccc_emulator) == ["ListPhoneNumbers", *["ModifyPhoneNumber"] * 3]
    modified = entries(ccc_emulator, "ModifyPhoneNumber")
    assert sorted(e.params["PhoneNumberId"] for e in modified) == sorted(before[n] for n in changed)
    assert {e.params["ContactFlowId"] for e in modified} == {IVR}
    assert res.steps == [Step("update", "support")]
    live = bound(ccc_emulator)
    assert {n: b["contact_flow_id"] for n, b in live.items()} == {
        n: IVR if n in changed else WELCOME for n in numbers
    }
    assert ids_in(ccc_emulator) == before
    outputs = stack.resources["support"].plain_outputs
    assert {n: d["contact_flow_name"] for n, d in outputs["number_details"].items()} == {
        n: "IVR main menu" if n in changed else "Welcome" for n in numbers
    }


def test_moving_a_number_between_bindings_removes_from_the_giver_before_the_receiver_adds(
    make_stack: MakeStack, ccc_emulator: Emulator
) -> None:
    """With the receiver depending on the giver, the giver unbinds the number before the receiver binds it."""
    giver_numbers, receiver_numbers = landlines(0, 5), landlines(5, 8)
    moved = giver_numbers[-1]
    stack = make_stack(
        Binding("giver", giver_numbers),
        Binding("receiver", receiver_numbers, contact_flow_id=IVR, depends_on=("giver",)),
    )
    stack.up(skip_preview=True)
    before = ids_in(ccc_emulator)
    stack.program = program(
        Binding("giver", giver_numbers[:-1]),
        Binding("receiver", [*receiver_numbers, moved], contact_flow_id=IVR, depends_on=("giver",)),
    )
    ccc_emulator.clear_journal()

    res = stack.up(skip_preview=True)

    assert actions(ccc_emulator) == [
        "ListPhoneNumbers",
        "RemovePhoneNumber",
        "ListPhoneNumbers",
        "AddBulkPhoneNumbers",
    ]
    assert entries(ccc_emulator, "RemovePhoneNumber")[0].params["PhoneNumberId"] == before[moved]
    assert sent_numbers(entries(ccc_emulator, "AddBulkPhoneNumbers")[0]) == [moved]
    assert res.steps == [Step("update", "giver"), Step("update", "receiver")]
    assert stack.resources["receiver"].dependencies == (stack.resources["giver"].urn,)
    live = bound(ccc_emulator)
    assert live[moved]["contact_flow_id"] == IVR
    assert sorted(res.outputs["giver_ids"]) == giver_numbers[:-1]
    assert res.outputs["receiver_ids"] == {n: live[n]["phone_number_id"] for n in [*receiver_numbers, moved]}


def test_a_declared_number_bound_out_of_band_fails_up_until_adopted(
    make_stack: MakeStack, ccc_emulator: Emulator
) -> None:
    """Up refuses a number bound behind Pulumi's back, naming it; adopt_existing=True takes it over."""
    numbers = landlines(0, 5)
    taken = numbers[3]
    taken_id = ccc_emulator.bind(taken, INSTANCE, contact_flow_id=IVR)
    stack = make_stack(Binding("support", numbers))

    with pytest.raises(ProviderError) as caught:
        stack.up()

    assert (caught.value.method, caught.value.name) == ("Create", "support")
    assert caught.value.message == (
        "ccc_numbers.errors.OwnershipError: creating the binding of 5 phone numbers to CCC instance "
        f"{INSTANCE}: 1 phone number already bound in this instance but not owned by this binding: "
        f"{taken} (PhoneNumberId {taken_id}); set adopt_existing=True to take it over (for example after "
        "an interrupted run), or bind it elsewhere first"
    )
    assert actions(ccc_emulator) == ["ListPhoneNumbers"]
    assert (stack.resources, ids_in(ccc_emulator)) == ({}, {taken: taken_id})
    stack.program = program(Binding("support", numbers, adopt_existing=True))
    ccc_emulator.clear_journal()

    res = stack.up(skip_preview=True)

    assert actions(ccc_emulator) == ["ListPhoneNumbers", "AddBulkPhoneNumbers", "ModifyPhoneNumber"]
    assert sent_numbers(entries(ccc_emulator, "AddBulkPhoneNumbers")[0]) == [n for n in numbers if n != taken]
    assert entries(ccc_emulator, "ModifyPhoneNumber")[0].params["PhoneNumberId"] == taken_id
    assert res.outputs["support_ids"] == ids_in(ccc_emulator)
    assert res.outputs["support_ids"][taken] == taken_id
    assert bound(ccc_emulator)[taken]["contact_flow_id"] == WELCOME


# --- Drift ----------------------------------------------------------------------------------------


def test_refresh_shows_numbers_unbound_behind_pulumis_back_and_up_re_adds_exactly_those(
    make_stack: MakeStack, ccc_emulator: Emulator
) -> None:
    """Refresh drops numbers unbound out of band (a binding left with none is gone); up re-adds them."""
    kept_numbers, lost_numbers = landlines(0, 6), landlines(6, 8)
    stack = make_stack(Binding("kept", kept_numbers), Binding("lost", lost_numbers))
    stack.up(skip_preview=True)
    unbound = [kept_numbers[1], kept_numbers[4]]
    for number in [*unbound, *lost_numbers]:
        ccc_emulator.unbind(number)
    ccc_emulator.clear_journal()

    res = stack.refresh()

    # The reads of one pass share one listing of the instance; refresh reads in its preview pass too.
    assert actions(ccc_emulator) == ["ListPhoneNumbers"] * 2
    assert res.drift == {"kept": "update", "lost": "delete"}
    assert list(stack.resources) == ["kept"]
    remaining = [n for n in kept_numbers if n not in unbound]
    kept = stack.resources["kept"]
    assert sorted(kept.plain_inputs["numbers"]) == remaining
    assert sorted(kept.plain_outputs["numbers"]) == remaining
    assert kept.plain_outputs["phone_number_ids"] == ids_in(ccc_emulator)
    assert sorted(kept.plain_outputs["number_details"]) == remaining
    ccc_emulator.clear_journal()

    up = stack.up(skip_preview=True)

    assert up.steps == [Step("update", "kept"), Step("create", "lost")]
    assert actions(ccc_emulator) == ["ListPhoneNumbers", "AddBulkPhoneNumbers"] * 2
    adds = entries(ccc_emulator, "AddBulkPhoneNumbers")
    assert [sent_numbers(e) for e in adds] == [unbound, lost_numbers]
    assert sorted(bound(ccc_emulator)) == sorted(kept_numbers + lost_numbers)
    assert up.outputs == {
        "kept_ids": {n: ids_in(ccc_emulator)[n] for n in kept_numbers},
        "lost_ids": {n: ids_in(ccc_emulator)[n] for n in lost_numbers},
    }


# --- Replace and destroy --------------------------------------------------------------------------


def test_changing_the_instance_replaces_deleting_the_old_binding_first(
    make_stack: MakeStack, ccc_emulator: Emulator
) -> None:
    """A new instance_id unbinds the numbers from the old instance, then binds them in the new one."""
    numbers = landlines(0, 3)
    stack = make_stack(Binding("support", numbers))
    stack.up(skip_preview=True)
    old_ids = ids_in(ccc_emulator)
    old_id = stack.resources["support"].id
    stack.program = program(
        Binding("support", numbers, instance_id=INSTANCE_2, contact_flow_id=demo.INSTANCE_2_FLOW_ID)
    )
    ccc_emulator.clear_journal()

    res = stack.up(skip_preview=True)

    diff = next(c.response for c in res.calls if c.method == "Diff")
    assert diff is not None
    assert (diff["changes"], diff["replaces"], diff["deleteBeforeReplace"]) == (
        "DIFF_SOME",
        ["instance_id"],
        True,
    )
    methods = res.methods()
    assert methods[methods.index("Diff") :] == ["Diff", "Check", "Delete", "Create"]
    assert res.steps == [
        Step("delete-replaced", "support"),
        Step("replace", "support"),
        Step("create-replacement", "support"),
    ]
    assert actions(ccc_emulator) == [
        "ListPhoneNumbers", *["RemovePhoneNumber"] * 3, "ListPhoneNumbers", "AddBulkPhoneNumbers",
    ]
    removes = entries(ccc_emulator, "RemovePhoneNumber")
    assert {e.params["InstanceId"] for e in removes} == {INSTANCE}
    assert sorted(e.params["PhoneNumberId"] for e in removes) == sorted(old_ids.values())
    assert entries(ccc_emulator, "AddBulkPhoneNumbers")[0].params["InstanceId"] == INSTANCE_2
    assert bound(ccc_emulator) == {}
    assert sorted(bound(ccc_emulator, INSTANCE_2)) == sorted([*numbers, demo.PREBOUND_NUMBER])
    new = stack.resources["support"]
    assert new.id.split("/")[0] == INSTANCE_2
    assert new.id != old_id
    assert res.outputs["support_ids"] == {n: ids_in(ccc_emulator, INSTANCE_2)[n] for n in numbers}


def test_destroy_unbinds_the_stacks_numbers_and_leaves_every_other_binding_alone(
    make_stack: MakeStack, ccc_emulator: Emulator
) -> None:
    """Destroy removes each owned number by id, last binding first, and no other binding changes."""
    ccc_emulator.bind(demo.landline(900), INSTANCE, contact_flow_id=WELCOME)
    before = sorted(ccc_emulator.bindings(), key=lambda b: b["number"])
    assert [b["number"] for b in before] == sorted([demo.landline(900), demo.PREBOUND_NUMBER])
    first, second = landlines(0, 4), landlines(4, 6)
    stack = make_stack(Binding("first", first), Binding("second", {n: {} for n in second}))
    stack.up(skip_preview=True)
    owned_ids = {**stack.outputs["first_ids"], **stack.outputs["second_ids"]}
    ccc_emulator.clear_journal()

    res = stack.destroy()

    # Each delete lists its instance once, then removes only what is still bound (issue 10.1).
    assert actions(ccc_emulator) == [
        "ListPhoneNumbers", *["RemovePhoneNumber"] * 2, "ListPhoneNumbers", *["RemovePhoneNumber"] * 4,
    ]
    removes = [e.params["PhoneNumberId"] for e in entries(ccc_emulator, "RemovePhoneNumber")]
    second_ids = {owned_ids[n] for n in second}
    assert set(removes[:2]) == second_ids
    assert sorted(removes) == sorted(owned_ids.values())
    assert res.steps == [Step("delete", "second"), Step("delete", "first")]
    assert sorted(ccc_emulator.bindings(), key=lambda b: b["number"]) == before
    assert (stack.resources, stack.outputs) == ({}, {})


# --- Secrets --------------------------------------------------------------------------------------


def strings_in(value: Any) -> Iterator[str]:
    """Every string in a state value: keys, values, secret wrappers' contents, decoded pickles."""
    if isinstance(value, Mapping):
        for key, item in value.items():
            yield str(key)
            if key == PROVIDER_KEY and isinstance(item, str):
                yield from decoded_pickle(item)
            yield from strings_in(item)
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from strings_in(item)
    elif isinstance(value, str):
        yield value


def decoded_pickle(text: str) -> Iterator[str]:
    """The base64 `__provider` pickle as text (its bytes decoded leniently)."""
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return
    yield raw.decode("latin-1")


def test_secret_access_key_never_reaches_state_logs_or_errors(
    make_stack: MakeStack, ccc_emulator: Emulator, tmp_path: Path
) -> None:
    """The secret ccc:accessKeySecret is only ever in Configure; never in state, pickles, output or errors."""
    secret_value = demo.DEMO_ACCESS_KEY_SECRET
    # DEBUG logging in every provider host, so that any log line carrying the secret is captured.
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text("import logging\nlogging.basicConfig(level=logging.DEBUG)\n")
    stack = make_stack(Binding("support", landlines(0, 3)))
    stack.env = {"PYTHONPATH": str(site)}
    states: list[Any] = []

    stack.up()
    states.append([(r.inputs, r.outputs) for r in stack.state])
    stack.program = program(Binding("support", landlines(0, 4)))
    stack.up(skip_preview=True)
    states.append([(r.inputs, r.outputs) for r in stack.state])
    stack.refresh()
    states.append([(r.inputs, r.outputs) for r in stack.state])
    stack.program = program(
        Binding("support", landlines(0, 4)), Binding("arrears", list(demo.ARREARS_NUMBERS))
    )
    with pytest.raises(ProviderError) as caught:
        stack.up(skip_preview=True)
    states.append([(r.inputs, r.outputs) for r in stack.state])
    stack.destroy(skip_preview=True)

    # The runs were real: they authenticated with the secret and logged at DEBUG.
    assert ccc_emulator.calls("AddBulkPhoneNumbers") == 3
    assert [e.code for e in ccc_emulator.journal if not e.ok] == []
    assert "in arrears" in caught.value.message
    passes = [record for result in stack.history for record in result.passes]
    # Every pass but up's preview called the API (and logged each call).
    assert ["DEBUG:ccc_numbers.client" in record.stderr for record in passes] == [False] + [True] * 6
    # Never in state, __provider pickles decoded, stack outputs.
    assert [s for s in strings_in(states) if secret_value in s] == []
    assert [r for r in stack.history if secret_value in json.dumps(r.outputs)] == []
    # Never in what the host printed, nor in the error the user reads.
    assert [r for r in passes if secret_value in r.stdout or secret_value in r.stderr] == []
    assert secret_value not in caught.value.details
    # On the wire, only the provider's config calls carry it (the stack config), never a resource's.
    carrying = [
        call.method
        for result in stack.history
        for call in result.calls
        if secret_value in json.dumps([call.request, call.response])
    ]
    assert [method for method in carrying if method not in CONFIG_METHODS] == []
    assert carrying.count("Configure") == 7
    configures = [c.request for r in stack.history for c in r.calls if c.method == "Configure"]
    assert [c["args"]["ccc:accessKeySecret"] for c in configures] == [secret(secret_value)] * 7


# --- Check failures -------------------------------------------------------------------------------


def test_invalid_numbers_fail_the_preview_naming_property_and_reason_without_api_calls(
    make_stack: MakeStack, ccc_emulator: Emulator
) -> None:
    """A 400 number with usage Outbound and a second spelling of a number fail Check at preview."""
    stack = make_stack(Binding("support", ["4001000000", "02160660000", "021 6066 0000"], usage="Outbound"))

    with pytest.raises(CheckFailedError) as caught:
        stack.preview()

    error = caught.value
    assert error.name == "support"
    assert error.failures == (
        (
            "numbers[0]",
            "4001000000 is a 400 number and can only be bound for Inbound calls, not Outbound (the usage of "
            "every number in the list); give it usage Inbound in the mapping form of numbers",
        ),
        (
            "numbers[2]",
            '"021 6066 0000" and "02160660000" at numbers[1] are the same number (02160660000); list it once',
        ),
    )
    assert str(error).startswith("Check of support failed: numbers[0]: 4001000000 is a 400 number")
    assert error.result.methods() == ["Handshake", "CheckConfig", "Configure", "Check"]
    assert ccc_emulator.journal == []
    assert stack.resources == {}


def test_invalid_mapping_fails_up_before_any_api_call(make_stack: MakeStack, ccc_emulator: Emulator) -> None:
    """In the mapping form the failure names the number's own usage; up stops at its preview pass."""
    stack = make_stack(Binding("hotline", {"4001000000": {"usage": "Outbound"}, "02160660000": {}}))

    with pytest.raises(CheckFailedError) as caught:
        stack.up()

    assert caught.value.failures == (
        (
            'numbers["4001000000"].usage',
            "4001000000 is a 400 number and can only be bound for Inbound calls, not Outbound",
        ),
    )
    assert [record.preview for record in caught.value.result.passes] == [True]
    assert caught.value.result.requests("Create") == []
    assert ccc_emulator.journal == []
    assert stack.resources == {}
