"""Check failures as the real CLI prints them: the user's value shows, never ``{<nil>}``.

The CLI (v3.276.0, ``issueCheckFailures`` in pkg/resource/deploy/step_generator.go) prints a failure
with a property as ``property <p> value {<v>} has a problem: <reason>``, ``<v>`` being the top-level
input named exactly ``<p>`` among those the program registered (a path is not followed, and the
inputs check returns are not read), and a failure without one as ``has a problem: <reason>``.
`cli_lines` does the same, so these tests fail wherever the CLI would print ``{<nil>}`` or a value
in its own form (a number as ``2.16066e+09``). The real-engine tests check the CLI itself.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pulumi
from hypothesis import given, settings
from hypothesis import strategies as st
from pulumi.dynamic import CheckResult

from ccc_emulator import demo
from ccc_numbers import PhoneNumberBinding, PhoneNumberBindingArgs, PhoneNumberBindingProvider

PROVIDER_KEY = "__provider"
INSTANCE = demo.DEMO_INSTANCE_ID
N1, N2 = demo.landline(0), demo.landline(1)
_CHARS = "write digits, with an optional leading + and spaces, dashes or parentheses between them"
_PROPERTIES = "instance_id, numbers, usage, contact_flow_id, skill_group_ids and adopt_existing"


def _as_go_prints(value: object) -> str:
    """The value as the CLI's ``%v`` prints it, for the kinds the hook leaves to it."""
    if value is None:
        return "<nil>"  # the key is not a top-level input
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if value == []:
        return "[]"
    if value == {}:
        return "map[]"
    raise AssertionError(f"the CLI would print {value!r} in its own form, not as the user wrote it")


def cli_lines(goal: dict[str, Any], result: CheckResult) -> list[str]:
    """What the CLI prints after ``<type> resource '<name>'`` for each failure of `result`."""
    lines = []
    for failure in result.failures:
        if failure.property:
            shown = _as_go_prints(goal.get(failure.property))
            lines.append(f": property {failure.property} value {{{shown}}} has a problem: {failure.reason}")
        else:
            lines.append(f" has a problem: {failure.reason}")
    return lines


def check(goal: dict[str, Any]) -> CheckResult:
    """The hook's answer to the goal inputs, as the engine sends them (with the pickled provider)."""
    return PhoneNumberBindingProvider().check({}, {**goal, PROVIDER_KEY: "p"})


def test_a_bad_number_in_the_list_shows_its_path_and_value_in_the_reason() -> None:
    """numbers[1] is no top-level input: the failure goes without a property, the path leads it."""
    goal = {"instance_id": INSTANCE, "numbers": [N1, "021.6066.0001"]}
    result = check(goal)
    assert cli_lines(goal, result) == [
        f' has a problem: numbers[1]: "021.6066.0001" is not a phone number: "." is not allowed; {_CHARS}'
    ]
    # The inputs returned with failures are the ones given: a re-check after a replace reads them.
    assert result.inputs == {**goal, PROVIDER_KEY: "p"}


def test_an_int_number_reads_as_written_not_as_the_engines_float() -> None:
    """The engine hands 2160660001 over as 2160660001.0; the reason says 2160660001."""
    goal = {"instance_id": INSTANCE, "numbers": [N1, 2160660001.0]}
    assert cli_lines(goal, check(goal)) == [
        " has a problem: numbers[1] must be a phone number in quotes (a string), not the number 2160660001:"
        " a leading 0 or + is lost when a number is not quoted"
    ]


def test_top_level_inputs_that_print_as_written_keep_their_property() -> None:
    """A string, a boolean or an empty list at the top level is shown by the CLI itself."""
    goal = {
        "instance_id": "",
        "numbers": [],
        "usage": "inbound",
        "contact_flow_id": True,
        "region": "cn-shanghai",
    }
    assert cli_lines(goal, check(goal)) == [
        ": property instance_id value {} has a problem: must not be empty; give the id of the CCC"
        " instance to bind to",
        ': property usage value {inbound} has a problem: "inbound" is not a usage; did you mean Inbound?'
        " Use Inbound, Outbound or Bidirection",
        ": property contact_flow_id value {true} has a problem: must be a contact flow id (a string), not"
        " the boolean true",
        f": property region value {{cn-shanghai}} has a problem: is not a property of PhoneNumberBinding;"
        f" the properties are {_PROPERTIES}",
        ": property numbers value {[]} has a problem: must list at least one phone number",
    ]


def test_numbers_missing_and_values_the_cli_would_misprint_lead_the_reason() -> None:
    """A missing input, a number and a non-empty mapping go without a property, the path first."""
    goal = {"instance_id": 5.0, "adopt_existing": 1.0, "skill_group_ids": {"g": True}}
    assert cli_lines(goal, check(goal)) == [
        " has a problem: instance_id must be the id of a CCC instance (a string), not the number 5",
        " has a problem: numbers is required: list the phone numbers to bind",
        " has a problem: skill_group_ids must be a list of skill group ids, not a mapping",
        " has a problem: adopt_existing must be true or false, not the number 1",
    ]


def test_failures_inside_the_mapping_form_lead_with_their_path() -> None:
    """A bad key, a bad per-number usage and a misspelt setting: each path leads its reason."""
    goal = {
        "instance_id": INSTANCE,
        "numbers": {"0216066000x": {}, N1: {"usage": "Outboung"}, N2: {"usgae": "Inbound"}},
    }
    assert cli_lines(goal, check(goal)) == [
        f' has a problem: numbers["{N1}"].usage: "Outboung" is not a usage; did you mean Outbound? Use'
        " Inbound, Outbound or Bidirection",
        f' has a problem: numbers["{N2}"].usgae is not a per-number setting; did you mean usage? The'
        " settings are usage, contact_flow_id and skill_group_ids",
        f' has a problem: numbers["0216066000x"]: "0216066000x" is not a phone number: "x" is not'
        f" allowed; {_CHARS}",
    ]


_values = st.sampled_from(
    ["", " x", "x", "Outboung", "021.6066", N1, 2160660000.0, 1.0, True, None, [], {}, ["g", "g"], {"a": 1}]
)


@settings(max_examples=300, deadline=None)
@given(
    goal=st.dictionaries(
        st.sampled_from(["instance_id", "numbers", "usage", "contact_flow_id", "skill_group_ids",
                         "adopt_existing", "usgae", "contactFlowId"]),
        _values | st.lists(_values, max_size=3) | st.dictionaries(st.sampled_from([N1, "x", N2]), _values),
    )
)
def test_no_failure_ever_prints_nil_or_a_value_in_the_clis_own_form(goal: dict[str, Any]) -> None:
    """For any inputs, every failure the CLI prints with a value names a top-level input shown as written."""
    goal = {key: value for key, value in goal.items() if value is not None}  # the SDK drops None
    lines = cli_lines(goal, check(goal))  # raises for a value the CLI would print in its own form
    assert not any("{<nil>}" in line for line in lines)


# --- misspelt keyword arguments: refused by check, not by a TypeError in the program -------------


class _Mocks(pulumi.runtime.Mocks):
    def __init__(self) -> None:
        self.registered: dict[str, dict[str, Any]] = {}

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        self.registered[args.name] = {k: v for k, v in args.inputs.items() if k != PROVIDER_KEY}
        return f"{args.name}-id", dict(args.inputs)

    def call(
        self, _args: pulumi.runtime.MockCallArgs
    ) -> tuple[dict[str, Any], list[tuple[str, str]] | None]:
        return {}, None


def registered(declare: Any) -> dict[str, dict[str, Any]]:
    """The inputs each resource that `declare` constructs registers, by resource name."""
    mocks = _Mocks()
    asyncio.set_event_loop(asyncio.new_event_loop())  # pulumi's runtime uses the thread's loop
    pulumi.runtime.set_mocks(mocks, preview=True)

    @pulumi.runtime.test
    def program() -> Any:
        declare()

    program()
    return mocks.registered


def test_misspelt_keywords_reach_check_and_get_a_did_you_mean() -> None:
    """usgae= and contactFlowId= are registered as given; check names the property meant."""
    goals = registered(
        lambda: PhoneNumberBinding(
            "support",
            instance_id=INSTANCE,
            numbers=[N1],
            usgae="Inbound",  # type: ignore[arg-type]  # the misspelling under test
            contactFlowId="8Cvg_0mcsm6K",  # type: ignore[arg-type]
            skill_groupids=None,  # type: ignore[arg-type]  # None, like any unset input, is left out
        )
    )
    goal = goals["support"]
    assert goal == {
        "instance_id": INSTANCE, "numbers": [N1], "usgae": "Inbound", "contactFlowId": "8Cvg_0mcsm6K"
    }
    assert cli_lines(goal, check(goal)) == [  # unknown properties in sorted order
        f": property contactFlowId value {{8Cvg_0mcsm6K}} has a problem: is not a property of"
        f" PhoneNumberBinding; did you mean contact_flow_id? The properties are {_PROPERTIES}",
        f": property usgae value {{Inbound}} has a problem: is not a property of PhoneNumberBinding; did you"
        f" mean usage? The properties are {_PROPERTIES}",
    ]


def test_args_keep_misspelt_keywords_for_check() -> None:
    """PhoneNumberBindingArgs takes a misspelt keyword too, and the resource registers it."""
    args = PhoneNumberBindingArgs(INSTANCE, [N1], skill_groups=["g"])  # type: ignore[arg-type]
    assert args.misspelt == {"skill_groups": ["g"]}
    goal = registered(lambda: PhoneNumberBinding("support", args))["support"]
    assert goal == {"instance_id": INSTANCE, "numbers": [N1], "skill_groups": ["g"]}
    assert cli_lines(goal, check(goal)) == [
        " has a problem: skill_groups is not a property of PhoneNumberBinding; did you mean"
        f" skill_group_ids? The properties are {_PROPERTIES}"
    ]


# --- one number in two bindings of one program: refused at preview, naming both ----------------

_TWICE = "a phone number can belong to one binding only: keep it in one of them"


def test_a_number_in_two_bindings_fails_the_second_naming_the_first() -> None:
    """Same instance or not, the later binding's check refuses the number and names the first."""

    def declare() -> None:
        PhoneNumberBinding("support", instance_id=INSTANCE, numbers=[N1, N2])
        PhoneNumberBinding("sales", instance_id=demo.DEMO_INSTANCE_2_ID, numbers={"021 6066 0001": {}})
        PhoneNumberBinding("ops", instance_id=INSTANCE, numbers=["0216066000x", N2, demo.landline(2)])

    goals = registered(declare)
    assert "__declared_elsewhere" not in goals["support"]
    assert goals["sales"]["__declared_elsewhere"] == {N2: ["support", "numbers[1]", N2]}
    assert cli_lines(goals["support"], check(goals["support"])) == []
    assert cli_lines(goals["sales"], check(goals["sales"])) == [
        f' has a problem: numbers["021 6066 0001"]: "021 6066 0001" is also declared by PhoneNumberBinding'
        f" 'support' as \"{N2}\" at numbers[1]; {_TWICE}"
    ]
    # A third binding names the first one too; its bad number is its own failure, and no one's.
    assert cli_lines(goals["ops"], check(goals["ops"])) == [
        f' has a problem: numbers[0]: "0216066000x" is not a phone number: "x" is not allowed; {_CHARS}',
        f' has a problem: numbers[1]: "{N2}" is also declared by PhoneNumberBinding \'support\' at'
        f" numbers[1]; {_TWICE}",
    ]


def test_numbers_inside_outputs_are_compared_when_they_resolve() -> None:
    """A list in an Output, or with an Output element, is claimed once known, before registering."""

    def declare() -> None:
        PhoneNumberBinding("support", instance_id=INSTANCE, numbers=pulumi.Output.from_input([N1, N2]))
        PhoneNumberBinding("sales", instance_id=INSTANCE, numbers=[pulumi.Output.from_input(N2)])

    goals = registered(declare)
    # Whichever resolves later is the second: exactly one of the two carries the conflict.
    conflicts = {name: goal.get("__declared_elsewhere") for name, goal in goals.items()}
    assert conflicts in (
        {"support": None, "sales": {N2: ["support", "numbers[1]", N2]}},
        {"support": {N2: ["sales", "numbers[0]", N2]}, "sales": None},
    )


def test_each_run_of_a_program_starts_afresh() -> None:
    """A number moved from one binding to another between two runs in one process is no conflict."""
    registered(lambda: PhoneNumberBinding("support", instance_id=INSTANCE, numbers=[N1, N2]))
    goals = registered(
        lambda: (
            PhoneNumberBinding("support", instance_id=INSTANCE, numbers=[N1]),
            PhoneNumberBinding("sales", instance_id=INSTANCE, numbers=[N2]),
        )
    )
    assert [goal.get("__declared_elsewhere") for goal in goals.values()] == [None, None]
