"""Tests of ccc_numbers.models: normalisation, check_inputs, the canonical form and its comparisons."""

from __future__ import annotations

import ast
import re
import string
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ccc_numbers import models
from ccc_numbers.models import (
    UNKNOWN,
    BindingSpec,
    Change,
    Settings,
    Usage,
    canonical_dict,
    canonical_equal,
    classify_change,
    is_unknown,
    spec_from_canonical,
)
from ccc_numbers.validation import (
    CheckOutcome,
    Failure,
    check_inputs,
    declared_numbers,
    is_toll_free,
    normalize_number,
    parse_usage,
)

INSTANCE = "d278629c-c687-4aa3-b044-4fe9b012e7ef"
FLOW = "8Cvg_0mcsm6K"
GROUP_A = "3f3ceb0d-d6b6-4c97-af20-f3daf04f90e0"
GROUP_B = "9a7c1e52-5b1d-4f0e-8d3a-2f6b7c8d9e01"


class Unknown:
    """Stands in for pulumi.output.Unknown, which is recognised by module and class name."""


Unknown.__module__ = "pulumi.output"


def failures(news: dict[str, Any]) -> list[tuple[str, str]]:
    """The failures of check_inputs as (property, reason) pairs."""
    return [(f.property, f.reason) for f in check_inputs(news).failures]


def canonical(news: dict[str, Any]) -> dict[str, Any]:
    """The canonical inputs, asserting that there were no failures."""
    outcome = check_inputs(news)
    assert outcome.failures == ()
    return outcome.inputs


# --- normalize_number -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "number"),
    [
        ("02160660000", "02160660000"),
        ("021 6066 0000", "02160660000"),
        ("021-6066-0000", "02160660000"),
        ("(021) 6066-0000", "02160660000"),
        ("021\t6066\t0000", "02160660000"),
        ("+86 21 6066 0000", "+862160660000"),
        (" +86 (21) 6066-0000 ", "+862160660000"),
        ("8621 6066 0000", "862160660000"),
        ("12345", "12345"),
        ("1" * 20, "1" * 20),
    ],
)
def test_normalize_number_removes_separators_and_keeps_the_plus(raw: str, number: str) -> None:
    """Spaces, tabs, dashes and parentheses go; a leading + and the digits stay as given."""
    assert normalize_number(raw) == number


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (
            "021.6066.0000",
            '"021.6066.0000" is not a phone number: "." is not allowed; write digits, with an optional'
            " leading + and spaces, dashes or parentheses between them",
        ),
        (
            "0216066000x",
            '"0216066000x" is not a phone number: "x" is not allowed; write digits, with an optional'
            " leading + and spaces, dashes or parentheses between them",
        ),
        (
            "０２１６０６６００００",
            '"０２１６０６６００００" is not a phone number: "０" is not allowed; write digits, with an'
            " optional leading + and spaces, dashes or parentheses between them",
        ),
        ("021+60660000", '"021+60660000" is not a phone number: a + may only come first'),
        ("++8621606600", '"++8621606600" is not a phone number: a + may only come first'),
        ("021-6", '"021-6" is not a phone number: it has 4 digits, and a phone number has 5 to 20'),
        ("+1234", '"+1234" is not a phone number: it has 4 digits, and a phone number has 5 to 20'),
        ("1" * 21, f'"{"1" * 21}" is not a phone number: it has 21 digits, and a phone number has 5 to 20'),
        ("", '"" is not a phone number: it has no digits'),
        (" - ", '" - " is not a phone number: it has no digits'),
    ],
)
def test_normalize_number_refuses_with_a_reason(raw: str, reason: str) -> None:
    """Anything but digits, one leading + and separators is refused, and the reason says why."""
    with pytest.raises(ValueError, match=f"^{re.escape(reason)}$"):
        normalize_number(raw)


_digits = st.text(alphabet=string.digits, min_size=5, max_size=20)


@settings(max_examples=200, deadline=None)
@given(
    plus=st.booleans(),
    digits=_digits,
    separators=st.lists(st.tuples(st.integers(0, 20), st.sampled_from(" \t-()")), max_size=6),
)
def test_separators_anywhere_do_not_change_the_number(
    plus: bool, digits: str, separators: list[tuple[int, str]]
) -> None:
    """Separators inserted anywhere normalise away, and normalising twice changes nothing."""
    number = ("+" if plus else "") + digits
    spelled = number
    for position, separator in separators:
        spelled = spelled[:position] + separator + spelled[position:]
    assert normalize_number(spelled) == number
    assert normalize_number(number) == number


@pytest.mark.parametrize(
    ("number", "toll_free"),
    [
        ("4001000000", True),
        ("864001000000", True),
        ("00864001000000", True),
        ("+864001000000", True),
        ("400100000", False),  # nine digits: not a 400 number
        ("40010000000", False),  # eleven digits
        ("+4001000000", False),  # +40 is Romania
        ("02160660000", False),
        ("86400123", False),  # an eight-digit local number that happens to start 86400
        ("+8602160660000", False),
    ],
)
def test_is_toll_free(number: str, toll_free: bool) -> None:
    """A 400 number is 400 plus seven digits, optionally after 86, 0086 or +86."""
    assert is_toll_free(number) is toll_free


# --- usage and settings -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (
            "Outboung",
            '"Outboung" is not a usage; did you mean Outbound? Use Inbound, Outbound or Bidirection',
        ),
        ("inbound", '"inbound" is not a usage; did you mean Inbound? Use Inbound, Outbound or Bidirection'),
        (
            "Bidirectional",
            '"Bidirectional" is not a usage; did you mean Bidirection? Use Inbound, Outbound or Bidirection',
        ),
        (" Inbound", '" Inbound" is not a usage; did you mean Inbound? Use Inbound, Outbound or Bidirection'),
        ("both", '"both" is not a usage; use Inbound, Outbound or Bidirection'),
        ("", '"" is not a usage; use Inbound, Outbound or Bidirection'),
    ],
)
def test_parse_usage_refuses_near_misses_with_a_hint(raw: str, reason: str) -> None:
    """A usage is spelled exactly; a near miss (the docs' Outboung, a case slip) gets a hint."""
    with pytest.raises(ValueError, match=f"^{re.escape(reason)}$"):
        parse_usage(raw)


def test_parse_usage_accepts_the_three_spellings() -> None:
    """The three usages parse to their enum members."""
    assert [parse_usage(u) for u in ("Inbound", "Outbound", "Bidirection")] == list(Usage)


def test_usage_prints_its_value() -> None:
    """A usage prints as users write it, not as Usage.INBOUND."""
    assert (str(Usage.INBOUND), f"{Usage.OUTBOUND}") == ("Inbound", "Outbound")


def test_settings_sort_and_deduplicate_skill_groups() -> None:
    """Two spellings of one skill group set make equal, equally hashed settings."""
    a = Settings(Usage.INBOUND, FLOW, (GROUP_B, GROUP_A, GROUP_B))
    b = Settings(Usage.INBOUND, FLOW, (GROUP_A, GROUP_B))
    assert (a, hash(a), a.skill_group_ids) == (b, hash(b), (GROUP_A, GROUP_B))


def test_settings_accept_a_list_and_a_plain_usage_string() -> None:
    """A caller's list of skill groups and plain usage string still make hashable, equal settings."""
    loose = Settings("Inbound", None, [GROUP_B, GROUP_A])  # type: ignore[arg-type]
    assert (loose, hash(loose) == hash(Settings(Usage.INBOUND, None, (GROUP_A, GROUP_B)))) == (
        Settings(Usage.INBOUND, None, (GROUP_A, GROUP_B)),
        True,
    )
    assert type(loose.usage) is Usage


def test_settings_sort_key_orders_every_field() -> None:
    """The sort key orders by usage, then contact flow (none first), then skill groups."""
    ordered = [
        Settings(Usage.BIDIRECTION),
        Settings(Usage.BIDIRECTION, "", ()),
        Settings(Usage.BIDIRECTION, "a", ()),
        Settings(Usage.BIDIRECTION, "a", ("g",)),
        Settings(Usage.INBOUND),
        Settings(Usage.OUTBOUND),
    ]
    shuffled = [ordered[i] for i in (3, 0, 5, 1, 4, 2)]
    assert sorted(shuffled, key=lambda s: s.sort_key) == ordered


def test_binding_spec_numbers_are_sorted_and_read_only() -> None:
    """A spec keeps its numbers sorted by number and refuses changes to them."""
    spec = BindingSpec(INSTANCE, {"2": Settings(Usage.INBOUND), "1": Settings(Usage.OUTBOUND)})
    assert list(spec.numbers) == ["1", "2"]
    with pytest.raises(TypeError):
        spec.numbers["3"] = Settings(Usage.INBOUND)  # type: ignore[index]


# --- check_inputs: canonical form -------------------------------------------------------------


def test_list_form_resolves_the_resource_level_settings_into_each_number() -> None:
    """The list form becomes a mapping by normalised number, each with the full settings."""
    assert canonical(
        {
            "instance_id": INSTANCE,
            "numbers": ["021 6066 0001", "02160660000"],
            "usage": "Outbound",
            "contact_flow_id": FLOW,
            "skill_group_ids": [GROUP_B, GROUP_A],
        }
    ) == {
        "adopt_existing": False,
        "instance_id": INSTANCE,
        "numbers": {
            "02160660000": {
                "contact_flow_id": FLOW,
                "skill_group_ids": [GROUP_A, GROUP_B],
                "usage": "Outbound",
            },
            "02160660001": {
                "contact_flow_id": FLOW,
                "skill_group_ids": [GROUP_A, GROUP_B],
                "usage": "Outbound",
            },
        },
    }


def test_default_usage_is_bidirection_and_inbound_for_400_numbers() -> None:
    """Without a usage, landlines are Bidirection and 400 numbers Inbound; no flow key, no groups."""
    assert canonical({"instance_id": INSTANCE, "numbers": ["4001000000", "02160660000"]}) == {
        "adopt_existing": False,
        "instance_id": INSTANCE,
        "numbers": {
            "02160660000": {"skill_group_ids": [], "usage": "Bidirection"},
            "4001000000": {"skill_group_ids": [], "usage": "Inbound"},
        },
    }


def test_explicit_inbound_is_allowed_for_400_numbers_in_a_list() -> None:
    """A resource-level Inbound covers 400 numbers and landlines alike."""
    numbers = canonical(
        {"instance_id": INSTANCE, "numbers": ["4001000000", "02160660000"], "usage": "Inbound"}
    )["numbers"]
    assert [v["usage"] for v in numbers.values()] == ["Inbound", "Inbound"]


def test_mapping_form_overrides_the_resource_level_settings_per_number() -> None:
    """Per-number settings win; what a number leaves out comes from the resource level."""
    assert canonical(
        {
            "instance_id": INSTANCE,
            "numbers": {
                "4001000000": {"usage": "Inbound", "contact_flow_id": "ivr"},
                "021-6066-0001": {"skill_group_ids": [GROUP_B]},
                "02160660002": {"skill_group_ids": []},
                "02160660003": {},
                "02160660004": None,
            },
            "usage": "Bidirection",
            "contact_flow_id": FLOW,
            "skill_group_ids": [GROUP_A],
            "adopt_existing": True,
        }
    ) == {
        "adopt_existing": True,
        "instance_id": INSTANCE,
        "numbers": {
            "02160660001": {"contact_flow_id": FLOW, "skill_group_ids": [GROUP_B], "usage": "Bidirection"},
            "02160660002": {"contact_flow_id": FLOW, "skill_group_ids": [], "usage": "Bidirection"},
            "02160660003": {"contact_flow_id": FLOW, "skill_group_ids": [GROUP_A], "usage": "Bidirection"},
            "02160660004": {"contact_flow_id": FLOW, "skill_group_ids": [GROUP_A], "usage": "Bidirection"},
            "4001000000": {"contact_flow_id": "ivr", "skill_group_ids": [GROUP_A], "usage": "Inbound"},
        },
    }


def test_mapping_form_gives_400_numbers_inbound_when_no_usage_is_given() -> None:
    """In the mapping form too, a 400 number without any usage defaults to Inbound."""
    numbers = canonical({"instance_id": INSTANCE, "numbers": {"4001000000": {}, "02160660000": {}}})[
        "numbers"
    ]
    assert {n: v["usage"] for n, v in numbers.items()} == {
        "02160660000": "Bidirection",
        "4001000000": "Inbound",
    }


def test_canonical_keys_are_sorted_at_every_level() -> None:
    """Top-level keys, numbers and per-number keys all come out sorted."""
    inputs = canonical(
        {"numbers": ["02160660002", "02160660001"], "instance_id": INSTANCE, "contact_flow_id": FLOW}
    )
    assert (list(inputs), list(inputs["numbers"]), list(inputs["numbers"]["02160660001"])) == (
        ["adopt_existing", "instance_id", "numbers"],
        ["02160660001", "02160660002"],
        ["contact_flow_id", "skill_group_ids", "usage"],
    )


def test_engine_keys_output_keys_and_none_values_are_ignored() -> None:
    """__provider, output-only properties and None values neither fail nor reach the result."""
    assert canonical(
        {
            "__provider": "gASV...",
            "instance_id": INSTANCE,
            "numbers": ["02160660000"],
            "contact_flow_id": None,
            "skill_group_ids": None,
            "usage": None,
            "phone_number_ids": None,
            "number_details": {"02160660000": {"trunks": 1.0}},
        }
    ) == {
        "adopt_existing": False,
        "instance_id": INSTANCE,
        "numbers": {"02160660000": {"skill_group_ids": [], "usage": "Bidirection"}},
    }


def test_tuples_are_accepted_where_lists_are() -> None:
    """A direct caller may pass tuples for numbers and skill groups."""
    assert canonical(
        {"instance_id": INSTANCE, "numbers": ("02160660000",), "skill_group_ids": (GROUP_A,)}
    ) == (canonical({"instance_id": INSTANCE, "numbers": ["02160660000"], "skill_group_ids": [GROUP_A]}))


def test_check_outcome_ok_and_failed_inputs_are_the_inputs_as_given() -> None:
    """With failures, inputs are the given ones minus engine keys; without, ok is true."""
    failed = check_inputs({"__provider": "p", "instance_id": "", "numbers": ["1"]})
    assert (failed.ok, failed.inputs) == (False, {"instance_id": "", "numbers": ["1"]})
    assert check_inputs({"instance_id": INSTANCE, "numbers": ["02160660000"]}).ok is True
    assert CheckOutcome({}).failures == ()


# --- check_inputs: failures -------------------------------------------------------------------

_ONE = ["02160660000"]
_CHARS = "write digits, with an optional leading + and spaces, dashes or parentheses between them"
_PROPERTIES = "instance_id, numbers, usage, contact_flow_id, skill_group_ids and adopt_existing"
_SETTINGS = "usage, contact_flow_id and skill_group_ids"

FAILURE_CASES: list[tuple[str, dict[str, Any], list[tuple[str, str]]]] = [
    (
        "invalid number in a list",
        {"numbers": ["02160660000", "021.6066.0001"]},
        [("numbers[1]", f'"021.6066.0001" is not a phone number: "." is not allowed; {_CHARS}')],
    ),
    (
        "invalid number as a mapping key",
        {"numbers": {"0216066000x": {}}},
        [('numbers["0216066000x"]', f'"0216066000x" is not a phone number: "x" is not allowed; {_CHARS}')],
    ),
    (
        "too few digits",
        {"numbers": ["021-6"]},
        [("numbers[0]", '"021-6" is not a phone number: it has 4 digits, and a phone number has 5 to 20')],
    ),
    (
        "the same spelling twice",
        {"numbers": ["02160660000", "02160660001", "02160660000"]},
        [("numbers[2]", '"02160660000" is listed twice (also at numbers[0])')],
    ),
    (
        "two spellings of one number in a list",
        {"numbers": ["02160660000", "021 6066 0000"]},
        [
            (
                "numbers[1]",
                '"021 6066 0000" and "02160660000" at numbers[0] are the same number (02160660000);'
                " list it once",
            )
        ],
    ),
    (
        "two spellings of one number in a mapping",
        {"numbers": {"02160660000": {}, "021-6066-0000": {}}},
        [
            (
                'numbers["02160660000"]',
                '"02160660000" and "021-6066-0000" at numbers["021-6066-0000"] are the same number'
                " (02160660000); list it once",
            )
        ],
    ),
    (
        "a number another binding of the program declared first, in a list",
        {
            "numbers": ["02160660000", "021 6066 0001", "021 6066 0001"],
            "__declared_elsewhere": {"02160660001": ["support", "numbers[3]", "02160660001"]},
        },
        [
            (
                "numbers[1]",
                "\"021 6066 0001\" is also declared by PhoneNumberBinding 'support' as \"02160660001\" at"
                " numbers[3]; a phone number can belong to one binding only: keep it in one of them",
            ),
            ("numbers[2]", '"021 6066 0001" is listed twice (also at numbers[1])'),
        ],
    ),
    (
        "a number another binding of the program declared first, in a mapping",
        {
            "numbers": {"4001000000": {"usage": "Outbound"}},
            "__declared_elsewhere": {"4001000000": ["hotline", 'numbers["4001000000"]', "4001000000"]},
        },
        [
            (
                'numbers["4001000000"]',
                "\"4001000000\" is also declared by PhoneNumberBinding 'hotline' at"
                ' numbers["4001000000"]; a phone number can belong to one binding only: keep it in one of'
                " them",
            ),
        ],
    ),
    (
        "400 number in a list with another usage",
        {"numbers": ["02160660000", "4001000000"], "usage": "Outbound"},
        [
            (
                "numbers[1]",
                "4001000000 is a 400 number and can only be bound for Inbound calls, not Outbound (the"
                " usage of every number in the list); give it usage Inbound in the mapping form of numbers",
            )
        ],
    ),
    (
        "400 number with its own usage",
        {"numbers": {"4001000000": {"usage": "Bidirection"}}},
        [
            (
                'numbers["4001000000"].usage',
                "4001000000 is a 400 number and can only be bound for Inbound calls, not Bidirection",
            )
        ],
    ),
    (
        "400 number inheriting the resource-level usage",
        {"numbers": {"+86 400 100 0000": {}}, "usage": "Bidirection"},
        [
            (
                'numbers["+86 400 100 0000"]',
                "+864001000000 is a 400 number and can only be bound for Inbound calls, not Bidirection"
                " (the resource-level usage); give this number usage Inbound",
            )
        ],
    ),
    (
        "the documentation's misspelling",
        {"numbers": _ONE, "usage": "Outboung"},
        [("usage", '"Outboung" is not a usage; did you mean Outbound? Use Inbound, Outbound or Bidirection')],
    ),
    (
        "a case slip in a per-number usage",
        {"numbers": {"02160660000": {"usage": "BIDIRECTION"}}},
        [
            (
                'numbers["02160660000"].usage',
                '"BIDIRECTION" is not a usage; did you mean Bidirection? Use Inbound, Outbound or'
                " Bidirection",
            )
        ],
    ),
    (
        "an unknown usage without a near miss",
        {"numbers": _ONE, "usage": "both"},
        [("usage", '"both" is not a usage; use Inbound, Outbound or Bidirection')],
    ),
    (
        "a usage that is not a string",
        {"numbers": _ONE, "usage": 1.0},
        [("usage", "must be one of Inbound, Outbound or Bidirection (a string), not the number 1")],
    ),
    ("an empty list", {"numbers": []}, [("numbers", "must list at least one phone number")]),
    (
        "an empty mapping",
        {"numbers": {}},
        [("numbers", "must map at least one phone number to its settings")],
    ),
    (
        "duplicate resource-level skill groups",
        {"numbers": _ONE, "skill_group_ids": [GROUP_A, GROUP_B, GROUP_A]},
        [("skill_group_ids[2]", f'"{GROUP_A}" is listed twice (also at skill_group_ids[0])')],
    ),
    (
        "duplicate per-number skill groups",
        {"numbers": {"02160660000": {"skill_group_ids": ["g", "g"]}}},
        [
            (
                'numbers["02160660000"].skill_group_ids[1]',
                '"g" is listed twice (also at numbers["02160660000"].skill_group_ids[0])',
            )
        ],
    ),
    (
        "an empty instance id",
        {"instance_id": "", "numbers": _ONE},
        [("instance_id", "must not be empty; give the id of the CCC instance to bind to")],
    ),
    (
        "an instance id with spaces around it",
        {"instance_id": f"{INSTANCE} ", "numbers": _ONE},
        [("instance_id", f'"{INSTANCE} " has spaces around it; write the id of a CCC instance without')],
    ),
    (
        "an instance id that is a number",
        {"instance_id": 5.0, "numbers": _ONE},
        [("instance_id", "must be the id of a CCC instance (a string), not the number 5")],
    ),
    (
        "nothing given",
        {"instance_id": None, "numbers": None},
        [
            ("instance_id", "is required: give the id of the CCC instance to bind the numbers to"),
            ("numbers", "is required: list the phone numbers to bind"),
        ],
    ),
    (
        "an unquoted number (a float from the engine)",
        {"numbers": [2160660000.0]},
        [
            (
                "numbers[0]",
                "must be a phone number in quotes (a string), not the number 2160660000: a leading 0 or"
                " + is lost when a number is not quoted",
            )
        ],
    ),
    (
        "an unquoted int given directly (not through the engine)",
        {"numbers": [2160660000]},
        [
            (
                "numbers[0]",
                "must be a phone number in quotes (a string), not the number 2160660000: a leading 0 or"
                " + is lost when a number is not quoted",
            )
        ],
    ),
    (
        "a number with a fraction keeps it",
        {"numbers": _ONE, "adopt_existing": 2.5},
        [("adopt_existing", "must be true or false, not the number 2.5")],
    ),
    (
        "a boolean for a number",
        {"numbers": [True]},
        [("numbers[0]", "must be a phone number (a string), not the boolean true")],
    ),
    (
        "an empty element in the list",
        {"numbers": ["02160660000", None]},
        [("numbers[1]", "must be a phone number (a string), not None (an empty value)")],
    ),
    (
        "one number as a bare string",
        {"numbers": "02160660000"},
        [
            (
                "numbers",
                "must be a list of phone numbers or a mapping from phone number to settings, not the"
                ' string "02160660000"',
            )
        ],
    ),
    (
        "a misspelt per-number setting",
        {"numbers": {"02160660000": {"usgae": "Inbound"}}},
        [
            (
                'numbers["02160660000"].usgae',
                f"is not a per-number setting; did you mean usage? The settings are {_SETTINGS}",
            )
        ],
    ),
    (
        "an unknown per-number setting",
        {"numbers": {"02160660000": {"trunks": 2.0}}},
        [('numbers["02160660000"].trunks', f"is not a per-number setting; the settings are {_SETTINGS}")],
    ),
    (
        "per-number settings that are not a mapping",
        {"numbers": {"02160660000": "Inbound"}},
        [
            (
                'numbers["02160660000"]',
                "must be a mapping of settings (usage, contact_flow_id, skill_group_ids), not the string"
                ' "Inbound"',
            )
        ],
    ),
    (
        "a misspelt property",
        {"numbers": _ONE, "skill_groups": [GROUP_A]},
        [
            (
                "skill_groups",
                f"is not a property of PhoneNumberBinding; did you mean skill_group_ids? The properties are"
                f" {_PROPERTIES}",
            )
        ],
    ),
    (
        "a property in the camelCase of other Pulumi SDKs",
        {"numbers": _ONE, "contactFlowId": "8Cvg_0mcsm6K"},
        [
            (
                "contactFlowId",
                f"is not a property of PhoneNumberBinding; did you mean contact_flow_id? The properties are"
                f" {_PROPERTIES}",
            )
        ],
    ),
    (
        "a per-number setting in camelCase",
        {"numbers": {"02160660000": {"skillGroupIds": ["g"]}}},
        [
            (
                'numbers["02160660000"].skillGroupIds',
                f"is not a per-number setting; did you mean skill_group_ids? The settings are {_SETTINGS}",
            )
        ],
    ),
    (
        "an unknown property",
        {"numbers": _ONE, "region": "cn-shanghai"},
        [("region", f"is not a property of PhoneNumberBinding; the properties are {_PROPERTIES}")],
    ),
    (
        "an empty contact flow id",
        {"numbers": _ONE, "contact_flow_id": ""},
        [("contact_flow_id", "must not be empty; leave it out for no contact flow")],
    ),
    (
        "skill groups as a bare string",
        {"numbers": _ONE, "skill_group_ids": GROUP_A},
        [("skill_group_ids", f'must be a list of skill group ids, not the string "{GROUP_A}"')],
    ),
    (
        "a skill group id that is a number",
        {"numbers": _ONE, "skill_group_ids": [1.0]},
        [("skill_group_ids[0]", "must be a skill group id (a string), not the number 1")],
    ),
    (
        "an empty skill group id",
        {"numbers": {"02160660000": {"skill_group_ids": [" "]}}},
        [('numbers["02160660000"].skill_group_ids[0]', "must not be empty; remove the empty id")],
    ),
    (
        "a skill group id that is a mapping",
        {"numbers": {"02160660000": {"skill_group_ids": [{"id": GROUP_A}]}}},
        [('numbers["02160660000"].skill_group_ids[0]', "must be a skill group id (a string), not a mapping")],
    ),
    (
        "adopt_existing as a string",
        {"numbers": _ONE, "adopt_existing": "true"},
        [("adopt_existing", 'must be true or false, not the string "true"')],
    ),
    (
        "several failures at once",
        {"numbers": ["1", "02160660000", "x"], "usage": "in", "adopt_existing": 1.0},
        [
            ("numbers[0]", '"1" is not a phone number: it has 1 digits, and a phone number has 5 to 20'),
            ("numbers[2]", f'"x" is not a phone number: "x" is not allowed; {_CHARS}'),
            ("usage", '"in" is not a usage; use Inbound, Outbound or Bidirection'),
            ("adopt_existing", "must be true or false, not the number 1"),
        ],
    ),
]


@pytest.mark.parametrize(
    ("news", "expected"), [c[1:] for c in FAILURE_CASES], ids=[c[0] for c in FAILURE_CASES]
)
def test_check_failures_name_the_property_and_the_reason(
    news: dict[str, Any], expected: list[tuple[str, str]]
) -> None:
    """Each kind of bad input fails with its exact property path and a plain sentence."""
    assert failures({"instance_id": INSTANCE, **news}) == expected


_EMPTY_INSTANCE = ("instance_id", "must not be empty; give the id of the CCC instance to bind to")
_DOT = f'"021.6066.0000" is not a phone number: "." is not allowed; {_CHARS}'

# Failures of single values and of the rules across values together: the whole list, in order (the
# single values' first, then the rules', which read only the values that passed their own check).
COMBINED_CASES: list[tuple[str, dict[str, Any], list[tuple[str, str]]]] = [
    (
        "an empty instance id and an empty list",
        {"instance_id": "", "numbers": []},
        [_EMPTY_INSTANCE, ("numbers", "must list at least one phone number")],
    ),
    (
        "an empty instance id and an empty mapping",
        {"instance_id": "", "numbers": {}},
        [_EMPTY_INSTANCE, ("numbers", "must map at least one phone number to its settings")],
    ),
    (
        "an empty instance id and two spellings of one number",
        {"instance_id": "", "numbers": ["02160660000", "021 6066 0000"]},
        [
            _EMPTY_INSTANCE,
            (
                "numbers[1]",
                '"021 6066 0000" and "02160660000" at numbers[0] are the same number (02160660000);'
                " list it once",
            ),
        ],
    ),
    (
        "a bad number is no duplicate; the good ones are still checked, 400 rule included",
        {
            "instance_id": INSTANCE,
            "numbers": ["02160660000", "021.6066.0000", "021 6066 0000", "4001000000"],
            "usage": "Outbound",
        },
        [
            ("numbers[1]", _DOT),
            (
                "numbers[2]",
                '"021 6066 0000" and "02160660000" at numbers[0] are the same number (02160660000);'
                " list it once",
            ),
            (
                "numbers[3]",
                "4001000000 is a 400 number and can only be bound for Inbound calls, not Outbound (the"
                " usage of every number in the list); give it usage Inbound in the mapping form of numbers",
            ),
        ],
    ),
    (
        "a misspelt usage decides no 400 number's conflict",
        {
            "instance_id": INSTANCE,
            "numbers": ["4001000000", "02160660000", "0216066000"],
            "usage": "Outboung",
        },
        [("usage", '"Outboung" is not a usage; did you mean Outbound? Use Inbound, Outbound or Bidirection')],
    ),
    (
        "a bad instance id, an empty and an unknown element, a number listed twice",
        {"instance_id": 5.0, "numbers": ["02160660000", UNKNOWN, None, "02160660000"]},
        [
            ("instance_id", "must be the id of a CCC instance (a string), not the number 5"),
            ("numbers[2]", "must be a phone number (a string), not None (an empty value)"),
            ("numbers[3]", '"02160660000" is listed twice (also at numbers[0])'),
        ],
    ),
    (
        "per-number settings: a misspelt usage is no guess, another unknown setting is",
        {
            "instance_id": INSTANCE,
            "numbers": {
                "4001000000": {"usgae": "Inbound"},
                "+86 400 100 0001": {"trunks": 2.0},
                "4001000002": {"usage": "inbound"},
            },
            "usage": "Bidirection",
        },
        [
            (
                'numbers["+86 400 100 0001"].trunks',
                f"is not a per-number setting; the settings are {_SETTINGS}",
            ),
            (
                'numbers["4001000000"].usgae',
                f"is not a per-number setting; did you mean usage? The settings are {_SETTINGS}",
            ),
            (
                'numbers["4001000002"].usage',
                '"inbound" is not a usage; did you mean Inbound? Use Inbound, Outbound or Bidirection',
            ),
            (
                'numbers["+86 400 100 0001"]',
                "+864001000001 is a 400 number and can only be bound for Inbound calls, not Bidirection"
                " (the resource-level usage); give this number usage Inbound",
            ),
        ],
    ),
    (
        "mapping keys are checked whatever their settings",
        {
            "instance_id": INSTANCE,
            "numbers": {"0216066000x": {"usage": 1.0}, "02160660000": "Inbound", "021-6066-0000": {}},
        },
        [
            (
                'numbers["02160660000"]',
                "must be a mapping of settings (usage, contact_flow_id, skill_group_ids), not the string"
                ' "Inbound"',
            ),
            (
                'numbers["0216066000x"].usage',
                "must be one of Inbound, Outbound or Bidirection (a string), not the number 1",
            ),
            (
                'numbers["02160660000"]',
                '"02160660000" and "021-6066-0000" at numbers["021-6066-0000"] are the same number'
                " (02160660000); list it once",
            ),
            ('numbers["0216066000x"]', f'"0216066000x" is not a phone number: "x" is not allowed; {_CHARS}'),
        ],
    ),
    (
        "a bad skill group id is no duplicate; the good ones are still checked",
        {
            "instance_id": INSTANCE,
            "numbers": {"02160660000": {"skill_group_ids": ["g", 3.0, "g", 3.0]}},
            "skill_group_ids": [" g", "g", "g"],
            "contact_flow_id": "",
        },
        [
            (
                'numbers["02160660000"].skill_group_ids[1]',
                "must be a skill group id (a string), not the number 3",
            ),
            (
                'numbers["02160660000"].skill_group_ids[3]',
                "must be a skill group id (a string), not the number 3",
            ),
            ("contact_flow_id", "must not be empty; leave it out for no contact flow"),
            ("skill_group_ids[0]", '" g" has spaces around it; write a skill group id without'),
            ("skill_group_ids[2]", '"g" is listed twice (also at skill_group_ids[1])'),
            (
                'numbers["02160660000"].skill_group_ids[2]',
                '"g" is listed twice (also at numbers["02160660000"].skill_group_ids[0])',
            ),
        ],
    ),
    (
        "numbers missing or of the wrong form, with other rules still checked",
        {"instance_id": INSTANCE, "numbers": 5.0, "skill_group_ids": ["g", "g"], "regon": "cn"},
        [
            (
                "numbers",
                "must be a list of phone numbers or a mapping from phone number to settings, not the"
                " number 5",
            ),
            ("regon", f"is not a property of PhoneNumberBinding; the properties are {_PROPERTIES}"),
            ("skill_group_ids[1]", '"g" is listed twice (also at skill_group_ids[0])'),
        ],
    ),
]


@pytest.mark.parametrize(
    ("news", "expected"), [c[1:] for c in COMBINED_CASES], ids=[c[0] for c in COMBINED_CASES]
)
def test_one_check_reports_failures_of_single_values_and_across_values(
    news: dict[str, Any], expected: list[tuple[str, str]]
) -> None:
    """A failed value does not hide the rules across values that the others can decide."""
    assert failures(news) == expected


def test_numbers_declared_elsewhere_that_this_binding_does_not_declare_change_nothing() -> None:
    """Only this binding's own numbers can conflict; an unknown hidden input (a preview) is ignored."""
    plain = canonical({"instance_id": INSTANCE, "numbers": ["02160660000"]})
    for elsewhere in ({"02160660001": ["support", "numbers[0]", "02160660001"]}, Unknown(), UNKNOWN):
        news = {"instance_id": INSTANCE, "numbers": ["02160660000"], "__declared_elsewhere": elsewhere}
        assert canonical(news) == plain


def test_declared_numbers_are_the_plain_phone_numbers_at_their_first_spelling() -> None:
    """Bad, unknown and non-string elements count as nothing; a mapping's keys count in sorted order."""
    assert declared_numbers(
        ["021 6066 0000", "021.6066", 2160660001.0, UNKNOWN, Unknown(), "02160660000", "+86 400 100 0000"]
    ) == {"02160660000": ("numbers[0]", "021 6066 0000"), "+864001000000": ("numbers[6]", "+86 400 100 0000")}
    assert declared_numbers({"02160660001": {}, "021-6066-0001": None, "x": {}}) == {
        "02160660001": ('numbers["021-6066-0001"]', "021-6066-0001")
    }
    assert [declared_numbers(v) for v in (Unknown(), "02160660000", None)] == [{}, {}, {}]


def test_failures_are_failure_values() -> None:
    """Failures are frozen Failure values, in a tuple."""
    outcome = check_inputs({"instance_id": "", "numbers": ["02160660000"]})
    assert outcome.failures == (
        Failure("instance_id", "must not be empty; give the id of the CCC instance to bind to"),
    )


def test_failures_in_a_mapping_come_out_in_key_order_whatever_the_input_order() -> None:
    """Mapping keys are checked in sorted order, so failures do not depend on the engine's order."""
    keys = ["b", "a", "0216066000c"]
    forward = failures({"instance_id": INSTANCE, "numbers": {k: {} for k in keys}})
    backward = failures({"instance_id": INSTANCE, "numbers": {k: {} for k in reversed(keys)}})
    assert forward == backward
    assert [p for p, _ in forward] == ['numbers["0216066000c"]', 'numbers["a"]', 'numbers["b"]']


# --- check_inputs: unknowns in preview --------------------------------------------------------


@pytest.mark.parametrize("unknown", [Unknown(), UNKNOWN], ids=["Unknown object", "sentinel string"])
def test_unknown_instance_and_numbers_pass_through(unknown: object) -> None:
    """An unknown instance id or numbers value is kept as it is, not validated."""
    inputs = canonical({"instance_id": unknown, "numbers": unknown, "usage": "Inbound"})
    assert inputs == {"adopt_existing": False, "instance_id": unknown, "numbers": unknown}


def test_a_list_with_an_unknown_element_becomes_unknown() -> None:
    """An unknown cannot be a mapping key, so the whole numbers value is unknown."""
    unknown = Unknown()
    assert canonical({"instance_id": INSTANCE, "numbers": ["02160660000", unknown]})["numbers"] is unknown


def test_a_list_with_an_unknown_element_still_reports_bad_known_numbers() -> None:
    """Known elements next to an unknown one are still checked."""
    assert failures({"instance_id": INSTANCE, "numbers": ["02160660000", UNKNOWN, "021 6066 0000"]}) == [
        (
            "numbers[2]",
            '"021 6066 0000" and "02160660000" at numbers[0] are the same number (02160660000); list it once',
        )
    ]


def test_unknown_per_number_values_keep_their_number_key() -> None:
    """An unknown per-number value or setting stays under its (known) number."""
    whole, usage, group = Unknown(), Unknown(), Unknown()
    numbers = canonical(
        {
            "instance_id": INSTANCE,
            "numbers": {
                "021 6066 0000": whole,
                "02160660001": {"usage": usage, "skill_group_ids": [GROUP_A, group]},
                "02160660002": {"contact_flow_id": UNKNOWN},
            },
        }
    )["numbers"]
    assert numbers == {
        "02160660000": whole,
        "02160660001": {"skill_group_ids": [GROUP_A, group], "usage": usage},
        "02160660002": {"contact_flow_id": UNKNOWN, "skill_group_ids": [], "usage": "Bidirection"},
    }


def test_unknown_resource_level_settings_reach_every_number_and_skip_the_400_rule() -> None:
    """An unknown default usage, flow or group list is copied into each number, 400 numbers too."""
    usage, groups = Unknown(), Unknown()
    numbers = canonical(
        {
            "instance_id": INSTANCE,
            "numbers": ["4001000000", "02160660000"],
            "usage": usage,
            "contact_flow_id": UNKNOWN,
            "skill_group_ids": groups,
            "adopt_existing": UNKNOWN,
        }
    )["numbers"]
    expected = {"contact_flow_id": UNKNOWN, "skill_group_ids": groups, "usage": usage}
    assert numbers == {"02160660000": expected, "4001000000": expected}


def test_is_unknown() -> None:
    """Both unknown spellings are recognised; ordinary values are not."""
    assert [is_unknown(v) for v in (Unknown(), UNKNOWN, "x", None, 1.0)] == [True, True, False, False, False]


def test_the_real_pulumi_unknown_is_recognised() -> None:
    """pulumi.output.Unknown itself, as the dynamic provider host passes it, counts as unknown."""
    from pulumi.output import Unknown as PulumiUnknown  # noqa: PLC0415 - models.py itself must not import pulumi

    assert is_unknown(PulumiUnknown()) is True


# --- the canonical form and comparisons -------------------------------------------------------

SAMPLE: dict[str, Any] = {
    "adopt_existing": False,
    "instance_id": INSTANCE,
    "numbers": {
        "02160660000": {
            "contact_flow_id": FLOW,
            "skill_group_ids": [GROUP_A, GROUP_B],
            "usage": "Bidirection",
        },
        "4001000000": {"skill_group_ids": [], "usage": "Inbound"},
    },
}


def test_spec_from_canonical_reads_settings_and_shares_equal_ones() -> None:
    """The spec holds typed settings; equal settings are one object, so grouping is cheap."""
    spec = spec_from_canonical(
        {**SAMPLE, "numbers": {**SAMPLE["numbers"], "02160660001": SAMPLE["numbers"]["02160660000"]}}
    )
    assert spec == BindingSpec(
        INSTANCE,
        {
            "02160660000": Settings(Usage.BIDIRECTION, FLOW, (GROUP_A, GROUP_B)),
            "02160660001": Settings(Usage.BIDIRECTION, FLOW, (GROUP_A, GROUP_B)),
            "4001000000": Settings(Usage.INBOUND),
        },
    )
    assert spec.numbers["02160660000"] is spec.numbers["02160660001"]


def test_spec_from_canonical_ignores_output_keys_and_defaults_adopt_existing() -> None:
    """Outputs carry extra keys and may lack adopt_existing; neither matters."""
    outputs = {
        "__provider": "gASV...",
        "instance_id": INSTANCE,
        "numbers": SAMPLE["numbers"],
        "phone_number_ids": {"02160660000": "id-1", "4001000000": "id-2"},
        "number_details": {"02160660000": {"trunks": 1.0}},
    }
    assert canonical_dict(spec_from_canonical(outputs)) == SAMPLE


def test_spec_from_canonical_refuses_unknowns() -> None:
    """Preview inputs with an unknown instance or numbers cannot become a spec."""
    for props in ({**SAMPLE, "instance_id": Unknown()}, {**SAMPLE, "numbers": UNKNOWN}):
        with pytest.raises(ValueError, match=r"^the binding's inputs are not known yet"):
            spec_from_canonical(props)


def test_round_trip_of_the_canonical_form() -> None:
    """canonical_dict inverts spec_from_canonical."""
    assert canonical_dict(spec_from_canonical(SAMPLE)) == SAMPLE


_ids = st.sampled_from(["g1", "g2", "g3", "g4"])
_settings_inputs = st.fixed_dictionaries(
    {},
    optional={
        "usage": st.sampled_from(["Inbound", "Outbound", "Bidirection"]),
        "contact_flow_id": st.sampled_from(["f1", "f2"]),
        "skill_group_ids": st.lists(_ids, unique=True, max_size=3),
    },
)
_numbers = st.builds(lambda n: f"0216066{n:04d}", st.integers(0, 9999)) | st.builds(
    lambda n: f"400100{n:04d}", st.integers(0, 9999)
)


@st.composite
def user_inputs(draw: st.DrawFn) -> dict[str, Any]:
    """Valid user inputs in the list or the mapping form, with optional resource-level settings."""
    news: dict[str, Any] = {"instance_id": INSTANCE, **draw(_settings_inputs)}
    numbers = draw(st.lists(_numbers, min_size=1, max_size=12, unique=True))
    if "usage" in news and news["usage"] != "Inbound":
        numbers = [n for n in numbers if not is_toll_free(n)] or ["02160660000"]
    if draw(st.booleans()):
        news["numbers"] = numbers
    else:
        per_number = {}
        for n in numbers:
            own = draw(_settings_inputs)
            if is_toll_free(n) and own.get("usage", "Inbound") != "Inbound":
                own["usage"] = "Inbound"
            per_number[n] = own
        news["numbers"] = per_number
    if draw(st.booleans()):
        news["adopt_existing"] = draw(st.booleans())
    return news


@settings(max_examples=200, deadline=None)
@given(news=user_inputs())
def test_canonical_inputs_are_a_fixed_point_of_check(news: dict[str, Any]) -> None:
    """Checking canonical inputs again gives them back, and they round-trip through a spec."""
    inputs = canonical(news)
    assert canonical(inputs) == inputs
    assert canonical_dict(spec_from_canonical(inputs)) == inputs


@settings(max_examples=200, deadline=None)
@given(news=user_inputs())
def test_every_number_gets_inbound_if_400_else_the_given_usage(news: dict[str, Any]) -> None:
    """A 400 number is always Inbound in the canonical inputs."""
    for number, value in canonical(news)["numbers"].items():
        if is_toll_free(number):
            assert value["usage"] == "Inbound"


def test_canonical_equal_ignores_engine_and_output_keys() -> None:
    """Stored outputs (with __provider, ids, details and float ints) equal the same new inputs."""
    outputs = {
        **SAMPLE,
        "__provider": "gASV...",
        "phone_number_ids": {"02160660000": "id-1"},
        "number_details": {"02160660000": {"trunks": 1.0, "remaining_time": 0.0}},
    }
    assert canonical_equal(outputs, {**SAMPLE, "__provider": "other"}) is True
    assert canonical_equal({k: v for k, v in SAMPLE.items() if k != "adopt_existing"}, SAMPLE) is True


@pytest.mark.parametrize(
    ("news", "change"),
    [
        (SAMPLE, Change.NONE),
        ({**SAMPLE, "adopt_existing": True}, Change.UPDATE),
        ({**SAMPLE, "numbers": {"02160660000": SAMPLE["numbers"]["02160660000"]}}, Change.UPDATE),
        ({**SAMPLE, "numbers": Unknown()}, Change.UPDATE),
        ({**SAMPLE, "numbers": {**SAMPLE["numbers"], "4001000000": Unknown()}}, Change.UPDATE),
        ({**SAMPLE, "instance_id": "6a1f0f7e-2b0c-4d7e-9a51-3c9d2e8b4f10"}, Change.REPLACE),
        ({**SAMPLE, "instance_id": Unknown()}, Change.REPLACE),
        ({**SAMPLE, "instance_id": UNKNOWN}, Change.REPLACE),
    ],
    ids=[
        "equal",
        "adopt flag",
        "number removed",
        "numbers unknown",
        "per-number value unknown",
        "instance changed",
        "instance unknown",
        "instance sentinel",
    ],
)
def test_classify_change(news: dict[str, Any], change: Change) -> None:
    """Only an instance change (or an unknown instance) replaces; any other difference updates."""
    assert classify_change({**SAMPLE, "__provider": "p", "phone_number_ids": {}}, news) is change


# --- module boundaries ------------------------------------------------------------------------

_PURE_IMPORTS = {
    "__future__",
    "collections",
    "dataclasses",
    "difflib",
    "enum",
    "itertools",
    "json",
    "re",
    "types",
    "typing",
}


@pytest.mark.parametrize(
    ("module", "allowed"),
    [
        ("models", _PURE_IMPORTS),
        ("plan", _PURE_IMPORTS),
        ("validation", _PURE_IMPORTS | {"pydantic", "pydantic_core", "typing_extensions"}),
    ],
)
def test_pure_modules_import_no_sdk_no_pulumi_and_nothing_with_io(module: str, allowed: set[str]) -> None:
    """Only the standard library's pure parts and each other; only validation.py may import pydantic."""
    source = (Path(models.__file__).parent / f"{module}.py").read_text()
    imported = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            imported |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            imported.add(node.module.split(".")[0])
    assert imported <= allowed, imported - allowed


def test_no_wire_names_in_the_pure_modules() -> None:
    """PascalCase API names (PhoneNumberId, SkillGroupId, ContactFlowId) stay out of the pure modules."""
    folder = Path(models.__file__).parent
    for module in ("models.py", "validation.py", "plan.py"):
        source = (folder / module).read_text()
        for wire in ("PhoneNumberId", "SkillGroupId", "ContactFlowId", "InstanceId", "AddBulkPhoneNumbers"):
            assert re.search(rf"\b{wire}", source) is None, (module, wire)
