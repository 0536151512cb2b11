"""Properties of check_inputs over messy inputs: whatever is wrong, one check reports it all.

The exact paths and sentences are pinned, case by case, in test_models.py; here hypothesis throws
valid, invalid, unknown and missing values at check and asserts what must hold for any of them.
"""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from ccc_numbers import models
from ccc_numbers.models import UNKNOWN, Usage
from ccc_numbers.validation import check_inputs

INSTANCE = "d278629c-c687-4aa3-b044-4fe9b012e7ef"


class Unknown:
    """Stands in for pulumi.output.Unknown, which is recognised by module and class name."""


Unknown.__module__ = "pulumi.output"

_UNKNOWNS = (UNKNOWN, Unknown())


# --- strategies: valid and invalid values, both forms of numbers --------------------------------

_plain_numbers = st.sampled_from(
    ["02160660000", "021 6066 0001", "(021) 6066-0002", "4001000000", "+86 400 100 0001", "+862160660003"]
)
_bad_numbers = st.sampled_from(["021.6066", "1", "", "021+60660000", "0216066000x"])
_number_elements = (
    _plain_numbers
    | _bad_numbers
    | st.sampled_from([*_UNKNOWNS, 2160660000.0, True, None, {"n": "02160660000"}])
)
_ids = st.sampled_from(["g1", "g2", "g3"])
_bad_ids = st.sampled_from(["", " g1", "g1 ", 3.0, {}, None, True])
_id_lists = st.lists(_ids | st.sampled_from(_UNKNOWNS) | _bad_ids, max_size=3) | st.lists(_ids, max_size=3)
_group_values = (
    _id_lists
    | _id_lists.map(tuple)
    | st.sampled_from(["g1", *_UNKNOWNS, 1.0, {"g1": True}])
    | st.lists(_ids, max_size=3, unique=True)
)
_usages = st.sampled_from(["Inbound", "Outbound", "Bidirection"])
_usage_values = _usages | st.sampled_from(["inbound", "Outboung", "", 1.0, True, Usage.INBOUND, *_UNKNOWNS])
_flow_values = st.sampled_from(["f1", "f2"]) | st.sampled_from(["", " f1", 2.0, False, *_UNKNOWNS])

_per_number_value = (
    st.none()
    | st.sampled_from(["Inbound", 1.0, ["g1"], *_UNKNOWNS])
    | st.fixed_dictionaries(
        {},
        optional={
            "usage": _usages | _usage_values,
            "contact_flow_id": _flow_values,
            "skill_group_ids": _group_values,
            "usgae": st.just("Inbound"),
            "trunks": st.just(2.0),
        },
    )
    | st.fixed_dictionaries(
        {},
        optional={
            "usage": _usages,
            "contact_flow_id": st.sampled_from(["f1", "f2"]),
            "skill_group_ids": st.lists(_ids, max_size=3, unique=True),
        },
    )
)
_mapping_keys = _plain_numbers | _bad_numbers | st.sampled_from([2160660000.0, "021-6066-0000"])

_numbers_values = (
    st.lists(_plain_numbers, max_size=5)
    | st.lists(_number_elements, max_size=5)
    | st.lists(_plain_numbers, max_size=5).map(tuple)
    | st.dictionaries(_mapping_keys, _per_number_value, max_size=5)
    | st.dictionaries(_plain_numbers, st.just({}), max_size=5)
    | st.sampled_from(["02160660000", 5.0, *_UNKNOWNS])
)


@st.composite
def messy_inputs(draw: st.DrawFn) -> dict[str, Any]:
    """Inputs as the engine or a direct caller may pass them: valid, invalid, unknown, or left out."""
    news: dict[str, Any] = {}
    if draw(st.integers(0, 9)):  # mostly given, and mostly plainly valid
        news["instance_id"] = draw(
            st.just(INSTANCE) | st.sampled_from(["", f" {INSTANCE}", 5.0, None, *_UNKNOWNS])
        )
    if draw(st.integers(0, 9)):
        news["numbers"] = draw(_numbers_values | st.none())
    optional = {
        "usage": _usages | _usage_values | st.none(),
        "contact_flow_id": st.just("f1") | _flow_values | st.none(),
        "skill_group_ids": st.lists(_ids, max_size=3, unique=True) | _group_values | st.none(),
        "adopt_existing": st.booleans() | st.sampled_from(["true", 1.0, None, *_UNKNOWNS]),
        "__provider": st.just("gASV..."),
        "phone_number_ids": st.just({"02160660000": "id-1"}) | st.none(),
    }
    for key, values in optional.items():
        if draw(st.booleans()):
            news[key] = draw(values)
    if not draw(st.integers(0, 7)):  # now and then a property that does not exist
        news[draw(st.sampled_from(["skill_groups", "region", "usgae"]))] = draw(st.just("x") | st.none())
    return news


# --- properties ------------------------------------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(news=messy_inputs())
def test_failures_come_only_with_the_given_inputs(news: dict[str, Any]) -> None:
    """With failures, inputs are the given ones; without, exactly the canonical keys."""
    outcome = check_inputs(news)
    if outcome.failures:
        assert "__provider" not in outcome.inputs
    else:
        assert list(outcome.inputs) == list(models.CANONICAL_KEYS)


@settings(max_examples=300, deadline=None)
@given(news=messy_inputs())
def test_a_failed_value_hides_no_other_failure(news: dict[str, Any]) -> None:
    """No rule reads instance_id: an empty one adds its own failure, first, and changes no other.

    The other failures are those of the same inputs with a valid instance id, whatever they are:
    single values' or the rules across values' (duplicates, 400 numbers, empty lists)."""
    others = check_inputs({**news, "instance_id": INSTANCE}).failures
    failed = check_inputs({**news, "instance_id": ""}).failures
    assert [(f.property, f.reason) for f in failed[:1]] == [
        ("instance_id", "must not be empty; give the id of the CCC instance to bind to")
    ]
    assert failed[1:] == others


@settings(max_examples=200, deadline=None)
@given(news=messy_inputs(), data=st.data())
def test_the_order_of_the_inputs_changes_nothing(news: dict[str, Any], data: st.DataObject) -> None:
    """The engine promises no order of properties or keys: the same inputs in another order give
    the same outcome, failures in the same order."""

    def shuffled(value: Any) -> Any:
        if isinstance(value, dict):
            keys = data.draw(st.permutations(list(value)))
            return {key: shuffled(value[key]) for key in keys}
        return value

    assert check_inputs(shuffled(news)) == check_inputs(news)
