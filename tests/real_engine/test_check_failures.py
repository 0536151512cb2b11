"""Bad input fails the preview, as the real CLI prints it: the reason and the user's value, no API call.

The engine prints a check failure as ``property <name> value {<the program's value>} has a problem:
<reason>`` when the property is a top-level input, and ``resource '<name>' has a problem: <reason>``
otherwise; these tests pin the exact lines users read.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from ccc_emulator import Emulator
from ccc_numbers import PhoneNumberBinding

from .conftest import MakeStack
from .programs import INSTANCE, INSTANCE_2, WELCOME

pytestmark = [pytest.mark.real_engine, pytest.mark.slow]


def one(**kwargs: Any) -> Callable[[], None]:
    """A program with one binding "support" in the demo instance, built from `kwargs`."""

    def run() -> None:
        PhoneNumberBinding("support", instance_id=INSTANCE, contact_flow_id=WELCOME, **kwargs)

    return run


def problems(text: str) -> list[str]:
    """The check failures the CLI printed, each once, from ``resource …`` / ``property …`` on.

    The diff display prints them as ``error: <type> resource 'x' has a problem: …`` (the progress
    display under ``Diagnostics:`` with the type in the heading); both carry the same sentence.
    """
    found: list[str] = []
    for line in text.splitlines():
        if "has a problem:" not in line:
            continue
        start = min(i for i in (line.find("resource '"), line.find("property ")) if i >= 0)
        if line[start:] not in found:
            found.append(line[start:])
    return found


CASES = {
    "a number with a dot": (
        one(numbers=["02160660000", "021.6066.0001"]),
        [
            "resource 'support' has a problem: numbers[1]: \"021.6066.0001\" is not a phone number: \".\" "
            "is not allowed; write digits, with an optional leading + and spaces, dashes or parentheses "
            "between them",
        ],
    ),
    "an unquoted number": (
        one(numbers=["02160660000", 2160660001]),
        [
            "resource 'support' has a problem: numbers[1] must be a phone number in quotes (a "
            "string), not the number 2160660001: a leading 0 or + is lost when a number is not quoted",
        ],
    ),
    "a misspelt usage in the mapping form": (
        one(numbers={"02160660000": {"usage": "Outboung"}}),
        [
            "resource 'support' has a problem: numbers[\"02160660000\"].usage: \"Outboung\" is not a "
            "usage; did you mean Outbound? Use Inbound, Outbound or Bidirection",
        ],
    ),
    "a misspelt keyword argument": (
        one(numbers=["02160660000"], usgae="Inbound"),
        [
            "resource 'support': property usgae value {Inbound} has a problem: is not a property of "
            "PhoneNumberBinding; did you mean usage? The properties are instance_id, numbers, usage, "
            "contact_flow_id, skill_group_ids and adopt_existing",
        ],
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_a_bad_input_fails_the_preview_with_the_users_value_and_makes_no_call(
    make_stack: MakeStack, ccc_emulator: Emulator, case: str
) -> None:
    """The CLI shows the reason with the value as written, the preview fails, nothing is called."""
    program, lines = CASES[case]
    stack = make_stack(program)

    run = stack.preview()

    assert not run.ok
    assert problems(run.text) == lines
    assert "{<nil>}" not in run.text
    assert "Traceback" not in run.text
    assert ccc_emulator.journal == []
    assert stack.resources() == []


@pytest.mark.parametrize("second_instance", [INSTANCE, INSTANCE_2])
def test_a_number_declared_by_two_bindings_is_refused_at_preview_naming_both(
    make_stack: MakeStack, ccc_emulator: Emulator, second_instance: str
) -> None:
    """Two bindings of one program declaring one number: preview fails on the second, naming the first."""

    def program() -> None:
        PhoneNumberBinding("support", instance_id=INSTANCE, numbers=["02160660000", "02160660001"])
        PhoneNumberBinding("sales", instance_id=second_instance, numbers=["021 6066 0001"])

    stack = make_stack(program)

    preview = stack.preview()

    assert not preview.ok
    assert problems(preview.text) == [
        "resource 'sales' has a problem: numbers[0]: \"021 6066 0001\" is also declared by "
        "PhoneNumberBinding 'support' as \"02160660001\" at numbers[1]; a phone number can belong to one "
        "binding only: keep it in one of them"
    ]
    assert ccc_emulator.journal == []
    assert stack.resources() == []
